/**
 * HTTP to etcd's v3 JSON gateway: one POST per call with a deadline, endpoint rotation and an
 * overall retry budget with backoff, and the classification of every failure into "certainly not
 * applied" (retried), "maybe applied" (retried only for reads) and "never retry".
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import { LeaseNotFoundError, StoreAuthError, StoreError, StoreTimeoutError, StoreUnavailableError } from "./errors.js";
import type { HttpClient, HttpRequestError } from "./http-client.js";

/** What the transport needs. */
export interface EtcdTransportOptions {
  endpoints: URL[];
  client: HttpClient;
  callTimeoutMs: number;
  retryBudgetMs: number;
}

type FailureKind = "not-sent" | "unknown" | "final";

/** A failed attempt, classified. */
export interface Failure {
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

/**
 * A request that got no answer: refused/unreachable (or failed before the connection was up)
 * means it never left; TLS errors are auth errors; anything else may have reached etcd.
 */
export function requestFailure(err: HttpRequestError): Failure {
  const code = err.code ?? "";
  const text = `etcd ${err.message}`;
  if (TLS_ERROR.test(code)) {
    const hint = "TLS refused: cacert= must name the CA that signed etcd's certificate, and etcd must trust the cert= client certificate";
    return { kind: "final", timeout: false, error: new StoreAuthError(`${text} [${code}] (${hint})`, { cause: err }) };
  }
  if (err.timeout)
    return { kind: err.sent ? "unknown" : "not-sent", timeout: true, error: new StoreTimeoutError(text, { cause: err }) };
  if (NOT_CONNECTED.has(code) || !err.sent)
    return { kind: "not-sent", timeout: false, error: new StoreUnavailableError(text, { cause: err }) };
  return { kind: "unknown", timeout: false, error: new StoreUnavailableError(text, { cause: err }) };
}

/** An answer of the gateway: its value, or the failure it reports. */
function answer<T>(status: number, text: string, ep: URL, path: string): { value: T } | { failure: Failure } {
  const where = () => `${ep.host}${path}`; // only a failure names it
  if (status !== 200) return { failure: grpcFailure(status, text, where()) };
  try {
    const value = JSON.parse(text) as T & { error?: string; code?: number };
    if (typeof value.error === "string" && value.code !== undefined) return { failure: grpcFailure(500, text, where()) };
    // a streaming endpoint (lease keep-alive) wraps its answer in `result`
    return { value };
  } catch (err) {
    return {
      failure: {
        kind: "unknown",
        timeout: false,
        error: new StoreUnavailableError(`etcd ${where()}: answer does not parse: ${(err as Error).message}`),
      },
    };
  }
}

/** The gateway client: endpoints, deadlines, retries. */
export class EtcdTransport {
  private current = 0;

  constructor(readonly options: EtcdTransportOptions) {}

  /** The endpoint the next call goes to. */
  endpoint(): URL {
    return this.options.endpoints[this.current] as URL;
  }

  /** Moves to the next endpoint. */
  rotate(): void {
    this.current = (this.current + 1) % this.options.endpoints.length;
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
      // one attempt (awaited here, not in a helper: each async hop costs every call)
      let r: { value: T } | { failure: Failure };
      try {
        const res = await this.options.client.request(ep, path, text, {
          timeoutMs: Math.min(this.options.callTimeoutMs, remaining),
        });
        r = answer<T>(res.status, res.body.toString("utf8"), ep, path);
      } catch (err) {
        r = { failure: requestFailure(err as HttpRequestError) };
      }
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

  /** Closes every connection. */
  close(): void {
    this.options.client.close();
  }
}
