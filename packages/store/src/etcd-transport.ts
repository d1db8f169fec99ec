/**
 * Calls to etcd: one request per call with a deadline, endpoint rotation and an overall retry
 * budget with backoff, and the classification of every failure into "certainly not applied"
 * (retried), "maybe applied" (retried only for reads) and "never retry".
 *
 * Two wires, one behaviour: every call starts on etcd's v3 JSON gateway (HTTP/1.1, cheap to set
 * up: a one-shot plugin's whole life). A process still using the store a second after its first
 * call is a long-lived one (an agent, a daemon): in the background it loads `node:http2`, checks
 * that the endpoint answers gRPC, and from then on sends its calls to etcd's gRPC API directly
 * (the gateway forwards each request over an internal gRPC connection: a hop less, measured
 * 0.1-0.5 ms per write from idle on loopback). Watches stay on the gateway.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import { LeaseNotFoundError, StoreAuthError, StoreError, StoreTimeoutError, StoreUnavailableError } from "./errors.js";
import type { GrpcMethod } from "./etcd-proto.js";
import type { GrpcCallOptions } from "./grpc-client.js";
import type { HttpClient, HttpRequestError } from "./http-client.js";

/** The gRPC side, loaded by a long-lived process (see {@link EtcdTransport}). */
export interface GrpcLink {
  /** The gateway paths the store calls, as gRPC methods. */
  methods: Readonly<Record<string, GrpcMethod>>;
  encode(method: GrpcMethod, body: Record<string, unknown>): Uint8Array;
  /** @throws Error when the answer does not parse. */
  decode(method: GrpcMethod, answer: Uint8Array): unknown;
  /** @throws GrpcStatusError or HttpRequestError (see grpc-client.ts). */
  unary(url: URL, path: string, message: Uint8Array, options: GrpcCallOptions): Promise<Buffer>;
  /** True for a GrpcStatusError (an answer of the server). */
  isStatus(err: unknown): err is { status: number; message: string };
  close(): void;
}

/** What the transport needs. */
export interface EtcdTransportOptions {
  endpoints: URL[];
  client: HttpClient;
  callTimeoutMs: number;
  retryBudgetMs: number;
  /** Loads the gRPC side; undefined (or resolving to undefined) where it cannot be used. */
  grpc?: (() => Promise<GrpcLink | undefined>) | undefined;
}

/** A store still in use this long after its first call is a long-lived one: it moves to gRPC. */
export const GRPC_AFTER_MS = 1000;
/** After a failed move, the next try waits this much longer (up to a minute). */
const GRPC_RETRY_FACTOR = 4;

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
function gatewayFailure(status: number, body: string, where: string): Failure {
  let code = -1;
  let message = body.trim() || `HTTP ${status}`;
  try {
    const parsed = JSON.parse(body) as { code?: number; message?: string; error?: string };
    code = parsed.code ?? -1;
    message = parsed.message ?? parsed.error ?? message;
  } catch {
    // not JSON (a proxy's page): keep the text
  }
  return statusFailure(code, message, status, where);
}

/** A gRPC status (from the gateway or from etcd's gRPC API), as a store error or a retriable failure. */
function statusFailure(code: number, message: string, status: number, where: string): Failure {
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
  if (status !== 200) return { failure: gatewayFailure(status, text, where()) };
  try {
    const value = JSON.parse(text) as T & { error?: string; code?: number };
    if (typeof value.error === "string" && value.code !== undefined) return { failure: gatewayFailure(500, text, where()) };
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

/** The gateway client (and, in a long-lived process, the gRPC one): endpoints, deadlines, retries. */
export class EtcdTransport {
  private current = 0;
  /** In use once a long-lived process has moved to gRPC. */
  private grpc: GrpcLink | undefined;
  /** "idle": not scheduled yet; "scheduled"/"moving": under way; "done": on gRPC; "off": never. */
  private move: "idle" | "scheduled" | "moving" | "done" | "off";
  private moveDelayMs = GRPC_AFTER_MS;
  private moveTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(readonly options: EtcdTransportOptions) {
    this.move = options.grpc ? "idle" : "off";
  }

  /** The endpoint the next call goes to. */
  endpoint(): URL {
    return this.options.endpoints[this.current] as URL;
  }

  /** Moves to the next endpoint. */
  rotate(): void {
    this.current = (this.current + 1) % this.options.endpoints.length;
  }

  /** True once calls go over gRPC. */
  get usingGrpc(): boolean {
    return this.grpc !== undefined;
  }

  /**
   * Sends `body` (the gateway's JSON shape) to `path` (the gateway's path; its gRPC method once
   * moved), retrying within the budget. `idempotent` calls (reads, lease
   * keep-alives) are retried after any failure; other calls only when they certainly did not
   * reach the store, and otherwise fail with `outcomeUnknown`.
   */
  async call<T>(path: string, body: Record<string, unknown>, idempotent: boolean): Promise<T> {
    const grpc = this.grpc;
    const method = grpc?.methods[path];
    let text = "";
    let encoded: Uint8Array | undefined;
    if (grpc && method) {
      try {
        encoded = grpc.encode(method, body);
      } catch {
        // a request the protobuf schema does not cover: this call goes to the gateway
      }
    }
    if (!encoded) text = JSON.stringify(body);
    const budgetEnd = Date.now() + this.options.retryBudgetMs;
    const n = this.options.endpoints.length;
    let last: Failure | undefined;
    let backoff = 25;
    for (let tries = 1; ; tries++) {
      const remaining = budgetEnd - Date.now();
      if (remaining <= 0) break;
      const ep = this.endpoint();
      const timeoutMs = Math.min(this.options.callTimeoutMs, remaining);
      // one attempt (awaited here, not in a helper: each async hop costs every call)
      let r: { value: T } | { failure: Failure };
      if (encoded && grpc && method) {
        try {
          const reply = await grpc.unary(ep, method.path, encoded, { timeoutMs });
          r = { value: grpc.decode(method, reply) as T };
        } catch (err) {
          r = { failure: this.grpcFailure(grpc, err, ep, path) };
        }
      } else {
        try {
          const res = await this.options.client.request(ep, path, text, { timeoutMs });
          r = answer<T>(res.status, res.body.toString("utf8"), ep, path);
        } catch (err) {
          r = { failure: requestFailure(err as HttpRequestError) };
        }
      }
      if (!("failure" in r)) {
        if (this.move === "idle") this.scheduleMove();
        return r.value;
      }
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

  /** A failed gRPC attempt, classified like the gateway's. */
  private grpcFailure(grpc: GrpcLink, err: unknown, ep: URL, path: string): Failure {
    if (grpc.isStatus(err)) return statusFailure(err.status, err.message, 200, `${ep.host}${path}`);
    if (err instanceof Error && !("sent" in err))
      return {
        kind: "unknown",
        timeout: false,
        error: new StoreUnavailableError(`etcd ${ep.host}${path}: answer does not parse: ${err.message}`),
      };
    return requestFailure(err as HttpRequestError);
  }

  /** After the first call: move to gRPC if the process is still here {@link GRPC_AFTER_MS} later. */
  private scheduleMove(): void {
    this.move = "scheduled";
    this.moveTimer = setTimeout(() => {
      this.moveTimer = undefined;
      void this.useGrpc();
    }, this.moveDelayMs);
    this.moveTimer.unref(); // a one-shot process exits long before
  }

  /**
   * Moves the calls to gRPC now: loads `node:http2`, sends one read to the current endpoint
   * (any answer of etcd's gRPC server will do: a permission error is an answer), and switches.
   * Resolves false when gRPC cannot be used here (Bun, no `node:http2`) or the endpoint did not
   * answer (tried again later, after a longer wait). Calls already running finish on the gateway.
   */
  async useGrpc(): Promise<boolean> {
    if (this.grpc) return true;
    if (this.closed || this.move === "off" || this.move === "moving" || !this.options.grpc) return false;
    if (this.moveTimer) clearTimeout(this.moveTimer);
    this.moveTimer = undefined;
    this.move = "moving";
    let link: GrpcLink | undefined;
    try {
      link = await this.options.grpc();
      if (!link) {
        this.move = "off";
        return false;
      }
      const range = link.methods["/v3/kv/range"] as GrpcMethod;
      const probe = link.encode(range, { key: "AA==", count_only: true });
      try {
        await link.unary(this.endpoint(), range.path, probe, { timeoutMs: this.options.callTimeoutMs, ref: false });
      } catch (err) {
        if (!link.isStatus(err)) throw err;
      }
      if (this.closed) throw new Error("closed");
      this.grpc = link;
      this.move = "done";
      return true;
    } catch {
      link?.close();
      this.moveDelayMs = Math.min(this.moveDelayMs * GRPC_RETRY_FACTOR, 60_000);
      this.move = this.closed ? "off" : "idle"; // tried again after the next call that works
      return false;
    }
  }

  /**
   * Pins the wire: "grpc" moves now ({@link useGrpc}), "gateway" stays on (or goes back to) the
   * JSON gateway for good. For tests, which run the same suites over both.
   */
  async setWire(wire: "gateway" | "grpc"): Promise<boolean> {
    if (wire === "grpc") {
      if (this.move === "off" && this.options.grpc && !this.closed) this.move = "idle";
      return this.useGrpc();
    }
    this.move = "off";
    if (this.moveTimer) clearTimeout(this.moveTimer);
    this.moveTimer = undefined;
    this.grpc?.close();
    this.grpc = undefined;
    return true;
  }

  /** Closes every connection. */
  close(): void {
    this.closed = true;
    this.move = "off";
    if (this.moveTimer) clearTimeout(this.moveTimer);
    this.grpc?.close();
    this.options.client.close();
  }
}
