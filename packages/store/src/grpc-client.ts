/**
 * Unary gRPC calls over `node:http2`: one HTTP/2 connection per endpoint, one stream per call
 * (a 5-byte length prefix before the message, `content-type: application/grpc`, the status in
 * the trailers). Made for etcd, which serves gRPC and its JSON gateway on the same client port:
 * a long-lived process speaks gRPC to it directly instead of through the gateway (etcd-transport.ts
 * decides when). No compression, no streaming beyond one message each way.
 *
 * @see https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 */
import type * as Http2 from "node:http2";
import { HttpRequestError, type TlsFiles } from "./http-client.js";

/** A gRPC status other than OK, as the server sent it. */
export class GrpcStatusError extends Error {
  constructor(
    /** The gRPC status code (14 unavailable, 4 deadline exceeded, ...). */
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "GrpcStatusError";
  }
}

/** Options of one call. */
export interface GrpcCallOptions {
  /** Give up after this long without the whole answer (also sent as `grpc-timeout`). */
  timeoutMs: number;
  /** false: the call does not keep the process alive (a background call). Default true. */
  ref?: boolean | undefined;
}

interface Session {
  session: Http2.ClientHttp2Session;
  /** The connection is up: a request written from now on may reach the server. */
  up: boolean;
}

/** `RST_STREAM` code REFUSED_STREAM: the server did not process the stream. */
const REFUSED_STREAM = 7;
const CANCEL = 8;

function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The client: a session per origin, opened on first use and dropped when it closes or fails. */
export class GrpcClient {
  private readonly sessions = new Map<string, Session>();
  private closed = false;

  constructor(
    private readonly http2: typeof Http2,
    private readonly tlsFiles?: TlsFiles | undefined,
  ) {}

  private session(url: URL): Session {
    const key = url.origin;
    const known = this.sessions.get(key);
    if (known && !known.session.closed && !known.session.destroyed) return known;
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const ip = /^[\d.]+$/.test(host) || host.includes(":");
    const options: Http2.SecureClientSessionOptions =
      url.protocol === "https:" ? { ...(this.tlsFiles ?? {}), ...(ip ? {} : { servername: host }) } : {};
    const session = this.http2.connect(url.origin, options);
    const entry: Session = { session, up: false };
    const forget = () => {
      if (this.sessions.get(key) === entry) this.sessions.delete(key);
    };
    session.once("connect", () => {
      entry.up = true;
      try {
        session.socket.setNoDelay(true);
      } catch {
        // not a TCP socket: nothing to tune
      }
    });
    session.on("error", forget); // each stream reports the failure to its caller
    session.once("goaway", forget);
    session.once("close", forget);
    session.unref(); // an idle connection does not keep the process alive (a call's deadline timer does)
    this.sessions.set(key, entry);
    return entry;
  }

  /**
   * Sends one message to `path` (`/etcdserverpb.KV/Txn`) and resolves with the answer's message.
   *
   * @throws GrpcStatusError when the server answers a status other than OK.
   * @throws HttpRequestError when no answer arrives (refused, reset, timed out, malformed);
   *   `sent` is false when the request certainly did not reach the server.
   * @example const answer = await client.unary(new URL("http://127.0.0.1:2379"), "/etcdserverpb.KV/Range", request, { timeoutMs: 400 });
   */
  unary(url: URL, path: string, message: Uint8Array, options: GrpcCallOptions): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const where = `${url.host}${path}`;
      if (this.closed) return reject(new HttpRequestError(`${where}: the client is closed`, "ERR_CLIENT_CLOSED", false));
      let entry: Session;
      let stream: Http2.ClientHttp2Stream;
      try {
        entry = this.session(url);
        stream = entry.session.request(
          {
            ":method": "POST",
            ":path": path,
            "content-type": "application/grpc",
            te: "trailers",
            "grpc-timeout": `${Math.max(1, Math.ceil(options.timeoutMs))}m`,
          },
          { endStream: false },
        );
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? "ERR_HTTP2";
        return reject(new HttpRequestError(`${where}: ${(err as Error).message}`, code, false, { cause: err }));
      }
      const wasUp = entry.up;
      const sent = () => wasUp || entry.up;
      let done = false;
      let httpStatus = 0;
      let status: number | undefined;
      let statusMessage = "";
      const chunks: Buffer[] = [];
      const finish = (err: Error | undefined, value?: Buffer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) {
          if (!stream.closed) stream.close(CANCEL);
          reject(err);
        } else resolve(value as Buffer);
      };
      const timer = setTimeout(() => {
        // a server that does not answer in time may be gone behind a live-looking connection:
        // later calls get a new one (calls in flight on this one still finish)
        if (this.sessions.get(url.origin) === entry) this.sessions.delete(url.origin);
        entry.session.close();
        finish(new HttpRequestError(`${where}: no answer within ${options.timeoutMs} ms`, "ETIMEDOUT", sent(), { timeout: true }));
      }, options.timeoutMs);
      if (options.ref === false) timer.unref();
      const readStatus = (h: Http2.IncomingHttpHeaders) => {
        const s = h["grpc-status"];
        if (s === undefined) return;
        status = Number(s);
        const m = h["grpc-message"];
        statusMessage = typeof m === "string" ? percentDecode(m) : "";
      };
      stream.on("response", (h) => {
        httpStatus = Number(h[":status"]);
        readStatus(h); // a trailers-only answer (an error) has its status here
      });
      /** The answer's message once it is whole and the status says OK (else undefined). */
      const whole = (): Buffer | undefined => {
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) return undefined;
        return body.subarray(5);
      };
      stream.on("trailers", (h) => {
        readStatus(h);
        // the trailers end the stream and follow the message: answer now rather than a few
        // event-loop turns later at "close" (which still settles anything else)
        if (status === 0) {
          const message = whole();
          if (message) finish(undefined, message);
        }
      });
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", (err: NodeJS.ErrnoException) => {
        const cause = (err.cause ?? err) as NodeJS.ErrnoException;
        const code = cause.code ?? err.code ?? "ERR_HTTP2";
        finish(new HttpRequestError(`${where}: ${cause.message}`, code, sent() && stream.rstCode !== REFUSED_STREAM, { cause: err }));
      });
      stream.on("close", () => {
        if (done) return;
        if (status === undefined) {
          const refused = stream.rstCode === REFUSED_STREAM;
          const what = httpStatus && httpStatus !== 200 ? `HTTP ${httpStatus}, not a gRPC answer` : "the stream closed before an answer";
          return finish(new HttpRequestError(`${where}: ${what}`, httpStatus ? "HTTP_PARSE" : "ECONNRESET", sent() && !refused));
        }
        if (status !== 0) return finish(new GrpcStatusError(status, statusMessage || `gRPC status ${status}`));
        const message = whole();
        if (!message) return finish(new HttpRequestError(`${where}: not one uncompressed gRPC message`, "HTTP_PARSE", true));
        finish(undefined, message);
      });
      const frame = Buffer.allocUnsafe(5 + message.length);
      frame[0] = 0;
      frame.writeUInt32BE(message.length, 1);
      frame.set(message, 5);
      stream.end(frame);
    });
  }

  /** Closes every connection; later calls fail. */
  close(): void {
    this.closed = true;
    for (const { session } of this.sessions.values()) session.destroy();
    this.sessions.clear();
  }
}
