/**
 * HTTP to etcd's v3 JSON gateway: one POST per call with a deadline, endpoint rotation and an
 * overall retry budget with backoff, and the classification of every failure into "certainly not
 * applied" (retried), "maybe applied" (retried only for reads) and "never retry".
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import type * as Http from "node:http";
import { LeaseNotFoundError, StoreAuthError, StoreError, StoreTimeoutError, StoreUnavailableError } from "./errors.js";

/** node:http or node:https (their `request` and `Agent` have the same shape). */
export interface HttpModule {
  request: typeof Http.request;
  Agent: typeof Http.Agent;
}

/** TLS material, already read from files. */
export interface TlsFiles {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

/** What the transport needs. */
export interface EtcdTransportOptions {
  endpoints: URL[];
  http: HttpModule;
  tls: TlsFiles | undefined;
  callTimeoutMs: number;
  retryBudgetMs: number;
}

type FailureKind = "not-sent" | "unknown" | "final";

interface Failure {
  kind: FailureKind;
  timeout: boolean;
  error: Error;
}

/** Messages of etcd errors returned before a request reaches raft: safe to send again. */
const NOT_APPLIED = /no leader|proposal dropped|too many requests|not capable|server stopped|not leader/i;
const NOT_CONNECTED = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
]);
const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH)/;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A gRPC status from the gateway's error body, as a store error (or a retriable failure). */
function grpcFailure(status: number, body: string, where: string): Failure {
  let code = -1;
  let message = body.trim() || `HTTP ${status}`;
  try {
    const parsed = JSON.parse(body) as { code?: number; message?: string; error?: string };
    code = parsed.code ?? -1;
    message = parsed.message ?? parsed.error ?? message;
  } catch {
    // not JSON (a proxy's page): keep the text
  }
  const text = `etcd ${where}: ${message}`;
  if (code === 16 || code === 7 || status === 401 || status === 403)
    return { kind: "final", timeout: false, error: new StoreAuthError(text) };
  if (code === 5 && /lease not found/.test(message))
    return { kind: "final", timeout: false, error: new LeaseNotFoundError(text) };
  if ([3, 6, 9, 11, 12].includes(code))
    return { kind: "final", timeout: false, error: new StoreError("invalid", text) };
  if (NOT_APPLIED.test(message)) return { kind: "not-sent", timeout: false, error: new StoreUnavailableError(text) };
  return { kind: "unknown", timeout: code === 4 || /timed out/.test(message), error: new StoreUnavailableError(text) };
}

/** A socket error: refused/unreachable means the request never left; TLS errors are auth errors. */
export function socketFailure(err: NodeJS.ErrnoException, connected: boolean, where: string): Failure {
  const code = err.code ?? "";
  const text = `etcd ${where}: ${err.message}`;
  if (TLS_ERROR.test(code)) return { kind: "final", timeout: false, error: new StoreAuthError(text, { cause: err }) };
  if (NOT_CONNECTED.has(code) || !connected)
    return { kind: "not-sent", timeout: false, error: new StoreUnavailableError(text, { cause: err }) };
  return { kind: "unknown", timeout: false, error: new StoreUnavailableError(text, { cause: err }) };
}

/** The gateway client: endpoints, deadlines, retries. */
export class EtcdTransport {
  private current = 0;
  private readonly agent: Http.Agent;
  private readonly isTls: boolean;

  constructor(readonly options: EtcdTransportOptions) {
    this.agent = new options.http.Agent({ keepAlive: true });
    this.isTls = options.endpoints.some((e) => e.protocol === "https:");
  }

  /** The endpoint the next call goes to. */
  endpoint(): URL {
    return this.options.endpoints[this.current] as URL;
  }

  /** Moves to the next endpoint. */
  rotate(): void {
    this.current = (this.current + 1) % this.options.endpoints.length;
  }

  /** Request options shared by calls and watches. */
  requestOptions(ep: URL, path: string, length: number): Http.RequestOptions & TlsFiles {
    return {
      hostname: ep.hostname.replace(/^\[|\]$/g, ""),
      port: ep.port || (ep.protocol === "https:" ? 443 : 80),
      path,
      method: "POST",
      headers: { "content-type": "application/json", "content-length": length },
      ...(this.options.tls ?? {}),
    };
  }

  /**
   * POSTs `body` to `path`, retrying within the budget. `idempotent` calls (reads, lease
   * keep-alives) are retried after any failure; other calls only when they certainly did not
   * reach the store, and otherwise fail with `outcomeUnknown`.
   */
  async call<T>(path: string, body: unknown, idempotent: boolean): Promise<T> {
    const text = JSON.stringify(body);
    const budgetEnd = Date.now() + this.options.retryBudgetMs;
    const n = this.options.endpoints.length;
    let last: Failure | undefined;
    let backoff = 25;
    for (let tries = 1; ; tries++) {
      const remaining = budgetEnd - Date.now();
      if (remaining <= 0) break;
      const ep = this.endpoint();
      const r = await this.attempt<T>(ep, path, text, Math.min(this.options.callTimeoutMs, remaining));
      if (!("failure" in r)) return r.value;
      last = r.failure;
      if (last.kind === "final") throw last.error;
      this.rotate();
      if (last.kind === "unknown" && !idempotent) {
        const message = `${last.error.message} (the write may or may not have been applied: not retried)`;
        throw last.timeout
          ? new StoreTimeoutError(message, { cause: last.error, outcomeUnknown: true })
          : new StoreUnavailableError(message, { cause: last.error, outcomeUnknown: true });
      }
      if (tries % n === 0) {
        await sleep(Math.min(backoff * (0.5 + Math.random()), Math.max(0, budgetEnd - Date.now())));
        backoff = Math.min(backoff * 2, 400);
      }
    }
    const message = `etcd ${path}: no endpoint answered within the ${this.options.retryBudgetMs} ms retry budget (last: ${last?.error.message ?? "none"})`;
    throw last?.timeout
      ? new StoreTimeoutError(message, { cause: last.error })
      : new StoreUnavailableError(message, { cause: last?.error });
  }

  private attempt<T>(
    ep: URL,
    path: string,
    body: string,
    timeoutMs: number,
  ): Promise<{ value: T } | { failure: Failure }> {
    return new Promise((resolve) => {
      const where = `${ep.host}${path}`;
      let connected = false;
      let done = false;
      const finish = (r: { value: T } | { failure: Failure }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      const req = this.options.http.request({
        ...this.requestOptions(ep, path, Buffer.byteLength(body)),
        agent: this.agent,
      });
      const timer = setTimeout(() => {
        const error = new StoreTimeoutError(`etcd ${where}: no answer within ${timeoutMs} ms`);
        finish({ failure: { kind: connected ? "unknown" : "not-sent", timeout: true, error } });
        req.destroy();
      }, timeoutMs);
      req.on("socket", (socket) => {
        if (req.reusedSocket || !socket.connecting) connected = true;
        else socket.once(this.isTls ? "secureConnect" : "connect", () => (connected = true));
      });
      req.on("error", (err) => finish({ failure: socketFailure(err, connected, where) }));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => finish({ failure: socketFailure(err, true, where) }));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) return finish({ failure: grpcFailure(res.statusCode ?? 0, text, where) });
          try {
            const value = JSON.parse(text) as T & { error?: string; code?: number };
            if (typeof value.error === "string" && value.code !== undefined)
              return finish({ failure: grpcFailure(500, text, where) });
            // a streaming endpoint (lease keep-alive) wraps its answer in `result`
            finish({ value });
          } catch (err) {
            finish({
              failure: {
                kind: "unknown",
                timeout: false,
                error: new StoreUnavailableError(`etcd ${where}: answer does not parse: ${(err as Error).message}`),
              },
            });
          }
        });
      });
      req.end(body);
    });
  }

  /** Closes idle connections. */
  close(): void {
    this.agent.destroy();
  }
}
