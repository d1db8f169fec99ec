/**
 * A small HTTP/1.1 client over libuv TCP handles (raw-tcp.ts) or `node:net` (and `node:tls` for HTTPS), made for etcd's v3 JSON
 * gateway: POST a JSON body, read a `Content-Length`, chunked or read-until-close answer, keep
 * connections alive between calls, and stream a long-poll answer (a watch) chunk by chunk.
 *
 * Why not `node:http`: a plugin runs once per call, and loading `node:http` (its agent, outgoing
 * and client modules) costs a one-shot ADD more than the whole exchange with etcd on loopback.
 * What this client leaves out: redirects, proxies, compression, pipelining, `Expect: 100-continue`,
 * request bodies of unknown length.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import type * as Net from "node:net";
import type * as Tls from "node:tls";
import type { RawTcp, Wire, WireEvents } from "./raw-tcp.js";

/** TLS material, already read from files (PEM). */
export interface TlsFiles {
  /** The client certificate. */
  cert?: Buffer;
  /** The client certificate's key. */
  key?: Buffer;
  /** The CA(s) to verify the server with (default: the system's). */
  ca?: Buffer;
}

/**
 * What the client is built from: the modules are passed in, so that each is loaded only when used.
 * `http:` connections to IP addresses use `rawTcp` when given, anything else `net` (or `tls`).
 */
export interface HttpClientOptions {
  /** Required for `http:` URLs that `rawTcp` does not serve (host names, or no `rawTcp`). */
  net?: typeof Net | undefined;
  /** libuv TCP handles without `node:net` (see raw-tcp.ts). */
  rawTcp?: RawTcp | undefined;
  /** Required for `https:` URLs. */
  tls?: typeof Tls | undefined;
  tlsFiles?: TlsFiles | undefined;
  /** Idle connections kept per origin (default 4). */
  maxIdlePerOrigin?: number | undefined;
}

/** A whole answer. */
export interface HttpResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Map<string, string>;
  body: Buffer;
}

/** Options of one request. */
export interface HttpRequestOptions {
  /** Give up (and close the connection) after this long without the whole answer. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** How a streamed answer is delivered. */
export interface HttpStreamHandlers {
  /** The status line and headers arrived. */
  head(status: number, headers: Map<string, string>): void;
  /** A piece of the (de-chunked) body. */
  data(chunk: Buffer): void;
  /** The stream ended: `error` is undefined when the answer was complete. Called once. */
  end(error?: HttpRequestError): void;
}

/**
 * Why a request failed, with what the caller needs to decide whether to send it again.
 *
 * `code` is the socket's (`ECONNREFUSED`, `ECONNRESET`, a TLS code such as
 * `UNABLE_TO_VERIFY_LEAF_SIGNATURE`) or one of `ETIMEDOUT`, `ABORT_ERR`, `HTTP_PARSE`.
 */
export class HttpRequestError extends Error {
  /** What went wrong, as a stable string. */
  readonly code: string;
  /** True when the request may have reached the server (the connection was up when it failed). */
  readonly sent: boolean;
  /** True when the deadline passed. */
  readonly timeout: boolean;

  constructor(message: string, code: string, sent: boolean, options?: { cause?: unknown; timeout?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HttpRequestError";
    this.code = code;
    this.sent = sent;
    this.timeout = options?.timeout ?? false;
  }
}

/** A malformed answer. */
class ParseError extends Error {}

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");
const MAX_HEAD = 64 * 1024;
const MAX_LINE = 4096;

type BodyMode = "none" | "length" | "chunked" | "close";
type State = "head" | "length" | "chunk-size" | "chunk-data" | "chunk-end" | "trailers" | "close" | "done";

/**
 * An incremental parser of one HTTP/1.x answer: feed it the bytes as they arrive (split
 * anywhere), get the head, the de-chunked body pieces and the end.
 */
export class ResponseParser {
  private state: State = "head";
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  /** The server lets the connection be used again after this answer. */
  keepAlive = false;
  /** Bytes arrived after the end of the answer (the connection must not be reused). */
  trailingGarbage = false;
  /** Any byte of the answer arrived. */
  started = false;

  constructor(private readonly on: Omit<HttpStreamHandlers, "end"> & { end(): void }) {}

  /** True once the whole answer was read. */
  get complete(): boolean {
    return this.state === "done";
  }

  /**
   * Feeds bytes.
   * @throws Error when the answer is malformed.
   */
  push(chunk: Buffer): void {
    if (chunk.length > 0) this.started = true;
    if (this.state === "done") {
      if (chunk.length > 0) this.trailingGarbage = true;
      return;
    }
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (!this.complete) {
      if (!this.step()) break;
    }
    if (this.complete) {
      this.trailingGarbage = this.pending.length > 0;
      this.pending = Buffer.alloc(0);
      this.on.end();
    }
  }

  /**
   * The connection closed: completes a read-until-close body.
   * @throws Error when the answer was not complete.
   */
  eof(): void {
    if (this.state === "close") {
      this.state = "done";
      this.on.end();
      return;
    }
    if (this.state !== "done") throw new ParseError(`the connection closed in the middle of the answer (${this.state})`);
  }

  private finish(): void {
    this.state = "done";
  }

  private line(): string | undefined {
    const nl = this.pending.indexOf(0x0a);
    if (nl < 0) {
      if (this.pending.length > MAX_LINE) throw new ParseError("a line of the answer is too long");
      return undefined;
    }
    const end = nl > 0 && this.pending[nl - 1] === 0x0d ? nl - 1 : nl;
    const text = this.pending.subarray(0, end).toString("latin1");
    this.pending = this.pending.subarray(nl + 1);
    return text;
  }

  /** One step of the state machine; false when more bytes are needed. */
  private step(): boolean {
    switch (this.state) {
      case "head": {
        const end = this.pending.indexOf(HEAD_END);
        if (end < 0) {
          if (this.pending.length > MAX_HEAD) throw new ParseError("the answer's header is too large");
          return false;
        }
        const head = this.pending.subarray(0, end).toString("latin1");
        this.pending = this.pending.subarray(end + HEAD_END.length);
        this.head(head);
        return true;
      }
      case "length":
      case "chunk-data": {
        if (this.pending.length === 0) return false;
        const n = Math.min(this.remaining, this.pending.length);
        const piece = this.pending.subarray(0, n);
        this.pending = this.pending.subarray(n);
        this.remaining -= n;
        this.on.data(piece);
        if (this.remaining === 0) {
          if (this.state === "length") this.finish();
          else this.state = "chunk-end";
        }
        return true;
      }
      case "chunk-size": {
        const text = this.line();
        if (text === undefined) return false;
        const size = (text.split(";", 1)[0] as string).trim();
        if (!/^[0-9a-fA-F]{1,8}$/.test(size)) throw new ParseError(`bad chunk size line ${JSON.stringify(text.slice(0, 40))}`);
        this.remaining = Number.parseInt(size, 16);
        this.state = this.remaining === 0 ? "trailers" : "chunk-data";
        return true;
      }
      case "chunk-end": {
        if (this.pending.length < 2 && !(this.pending.length === 1 && this.pending[0] === 0x0a)) return false;
        if (this.pending[0] === 0x0a) this.pending = this.pending.subarray(1);
        else if (this.pending.subarray(0, 2).equals(CRLF)) this.pending = this.pending.subarray(2);
        else throw new ParseError("a chunk is longer than its size says");
        this.state = "chunk-size";
        return true;
      }
      case "trailers": {
        const text = this.line();
        if (text === undefined) return false;
        if (text === "") this.finish();
        return true;
      }
      case "close": {
        if (this.pending.length === 0) return false;
        const piece = this.pending;
        this.pending = Buffer.alloc(0);
        this.on.data(piece);
        return true;
      }
      case "done":
        return false;
    }
  }

  private head(text: string): void {
    const lines = text.split(/\r?\n/);
    const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
    if (!m) throw new ParseError(`not an HTTP/1.x answer: ${JSON.stringify((lines[0] ?? "").slice(0, 60))}`);
    const status = Number(m[2]);
    const headers = new Map<string, string>();
    for (const l of lines.slice(1)) {
      const colon = l.indexOf(":");
      if (colon <= 0) throw new ParseError(`bad header line ${JSON.stringify(l.slice(0, 60))}`);
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim();
      const prev = headers.get(name);
      headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
    }
    if (status >= 100 && status < 200) return; // an interim answer (100 Continue): the real one follows
    const connection = (headers.get("connection") ?? "").toLowerCase();
    this.keepAlive = m[1] === "1" ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
    let mode: BodyMode;
    const te = headers.get("transfer-encoding");
    const cl = headers.get("content-length");
    if (status === 204 || status === 304) mode = "none";
    else if (te !== undefined) {
      if (!/(^|,)\s*chunked\s*$/i.test(te)) throw new ParseError(`unsupported transfer-encoding "${te}"`);
      mode = "chunked";
    } else if (cl !== undefined) {
      if (!/^\d{1,15}$/.test(cl)) throw new ParseError(`bad content-length "${cl}"`);
      this.remaining = Number(cl);
      mode = this.remaining === 0 ? "none" : "length";
    } else {
      mode = "close";
      this.keepAlive = false;
    }
    this.on.head(status, headers);
    if (mode === "none") this.finish();
    else this.state = mode === "chunked" ? "chunk-size" : mode;
  }
}

/** The per-request side of a connection. */
interface Exchange {
  data(chunk: Buffer): void;
  error(err: Error): void;
  close(): void;
}

interface Connection {
  wire: Wire;
  key: string;
  /** The handshake is done: bytes written from now on may reach the server. */
  up: boolean;
  current: Exchange | undefined;
}

const isIp = (host: string) => /^[\d.]+$/.test(host) || host.includes(":");

/** A `net.Socket` (or TLS socket) as a {@link Wire}. */
function socketWire(socket: Net.Socket, connectEvent: "connect" | "secureConnect", events: WireEvents): Wire {
  socket.setNoDelay(true);
  socket.once(connectEvent, () => events.connect());
  socket.on("data", (chunk: Buffer) => events.data(chunk));
  socket.on("error", (err) => events.error(err));
  socket.on("close", () => events.close());
  return {
    get done() {
      return socket.destroyed || !socket.writable;
    },
    write: (data) => void socket.write(data),
    destroy: () => void socket.destroy(),
    ref: () => void socket.ref(),
    unref: () => void socket.unref(),
    keepAlive: (delayMs) => void socket.setKeepAlive(true, delayMs),
  };
}

/**
 * The client: a pool of keep-alive connections per origin; `request` for a whole answer,
 * `stream` for a long poll on a connection of its own.
 */
export class HttpClient {
  private readonly idle = new Map<string, Connection[]>();
  private readonly busy = new Set<Connection>();
  /** Per endpoint URL: its pool key and Host header (URL getters cost more than a lookup). */
  private readonly origins = new WeakMap<URL, { key: string; host: string }>();
  private closed = false;

  constructor(private readonly options: HttpClientOptions) {}

  private connect(url: URL, key: string): Connection {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const https = url.protocol === "https:";
    const port = Number(url.port || (https ? 443 : 80));
    const conn = { key, up: false, current: undefined } as Connection;
    const events: WireEvents = {
      connect: () => {
        conn.up = true;
      },
      data: (chunk) => {
        if (conn.current) conn.current.data(chunk);
        else conn.wire.destroy(); // bytes on an idle connection: the server is confused; drop it
      },
      error: (err) => conn.current?.error(err),
      close: () => {
        this.forget(conn);
        conn.current?.close();
      },
    };
    if (https) {
      const tls = this.options.tls;
      if (!tls) throw new HttpRequestError(`${url.origin}: https needs node:tls`, "ERR_TLS_UNAVAILABLE", false);
      const socket = tls.connect({
        host,
        port,
        ...(isIp(host) ? {} : { servername: host }),
        ...(this.options.tlsFiles ?? {}),
      });
      conn.wire = socketWire(socket, "secureConnect", events);
    } else if (this.options.rawTcp && isIp(host)) {
      conn.wire = this.options.rawTcp.connect(host, port, events);
    } else {
      const net = this.options.net;
      if (!net) throw new HttpRequestError(`${url.origin}: needs node:net`, "ERR_NET_UNAVAILABLE", false);
      conn.wire = socketWire(net.connect({ host, port }), "connect", events);
    }
    return conn;
  }

  private origin(url: URL): { key: string; host: string } {
    let o = this.origins.get(url);
    if (!o) {
      o = { key: `${url.protocol}//${url.host}`, host: url.host };
      this.origins.set(url, o);
    }
    return o;
  }

  private forget(conn: Connection): void {
    this.busy.delete(conn);
    const list = this.idle.get(conn.key);
    const i = list?.indexOf(conn) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  private take(url: URL): { conn: Connection; reused: boolean } {
    if (this.closed) throw new HttpRequestError(`${url.origin}: the client is closed`, "ERR_CLIENT_CLOSED", false);
    const key = this.origin(url).key;
    const list = this.idle.get(key);
    while (list && list.length > 0) {
      const conn = list.pop() as Connection;
      if (conn.wire.done) {
        conn.wire.destroy();
        continue;
      }
      conn.wire.ref();
      this.busy.add(conn);
      return { conn, reused: true };
    }
    const conn = this.connect(url, key);
    this.busy.add(conn);
    return { conn, reused: false };
  }

  private release(conn: Connection, reusable: boolean): void {
    conn.current = undefined;
    this.busy.delete(conn);
    const list = this.idle.get(conn.key) ?? [];
    if (!reusable || this.closed || conn.wire.done || list.length >= (this.options.maxIdlePerOrigin ?? 4)) {
      conn.wire.destroy();
      return;
    }
    conn.wire.unref(); // an idle connection does not keep the process alive
    list.push(conn);
    this.idle.set(conn.key, list);
  }

  /**
   * Runs one exchange on `conn`: writes the request, feeds the parser, reports the end once.
   * `handlers.end` gets an error unless the whole answer arrived.
   */
  private exchange(
    url: URL,
    path: string,
    body: string,
    handlers: HttpStreamHandlers,
    options: HttpRequestOptions & { dedicated?: boolean; headTimeout?: boolean },
  ): () => void {
    let conn: Connection;
    let reused: boolean;
    try {
      if (options.dedicated) {
        if (this.closed) throw new HttpRequestError(`${url.origin}: the client is closed`, "ERR_CLIENT_CLOSED", false);
        conn = this.connect(url, `${url.protocol}//${url.host}#stream`);
        this.busy.add(conn);
        reused = false;
        conn.wire.keepAlive(1000);
      } else ({ conn, reused } = this.take(url));
    } catch (err) {
      const e = err as HttpRequestError;
      queueMicrotask(() => handlers.end(e));
      return () => undefined;
    }
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const sent = () => reused || conn.up;
    const end = (error?: HttpRequestError) => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (error || options.dedicated) {
        conn.current = undefined;
        this.busy.delete(conn);
        conn.wire.destroy();
      } else this.release(conn, parser.keepAlive && !parser.trailingGarbage);
      handlers.end(error);
    };
    const fail = (message: string, code: string, extra?: { cause?: unknown; timeout?: boolean }) =>
      end(new HttpRequestError(`${url.host}${path}: ${message}`, code, sent(), extra));
    const onAbort = () => fail("aborted", "ABORT_ERR");
    const parser = new ResponseParser({
      head: (status, headers) => {
        if (options.headTimeout && timer) clearTimeout(timer);
        handlers.head(status, headers);
      },
      data: (chunk) => handlers.data(chunk),
      end: () => end(),
    });
    conn.current = {
      data(chunk) {
        try {
          parser.push(chunk);
        } catch (err) {
          fail(`bad answer: ${(err as Error).message}`, "HTTP_PARSE", { cause: err });
        }
      },
      error(err) {
        const code = (err as NodeJS.ErrnoException).code ?? "ERR_SOCKET";
        fail(err.message, code, { cause: err });
      },
      close() {
        try {
          parser.eof();
        } catch (err) {
          fail(
            parser.started ? (err as Error).message : "the connection closed before an answer",
            "ECONNRESET",
            { cause: err },
          );
        }
      },
    };
    if (options.signal?.aborted) {
      queueMicrotask(onAbort);
      return () => onAbort();
    }
    const length = Buffer.byteLength(body);
    conn.wire.write(
      `POST ${path} HTTP/1.1\r\nHost: ${this.origin(url).host}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${body}`,
    );
    // the deadline is armed once the request is on its way: the server works meanwhile (a
    // process's first timer costs a few tenths of a millisecond)
    if (!done) {
      if (options.timeoutMs !== undefined)
        timer = setTimeout(() => fail(`no answer within ${options.timeoutMs} ms`, "ETIMEDOUT", { timeout: true }), options.timeoutMs);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    }
    return () => fail("closed by the caller", "ABORT_ERR");
  }

  /**
   * POSTs a JSON body and reads the whole answer.
   * @throws HttpRequestError when no whole answer arrives (refused, reset, timed out, aborted, malformed).
   * @example const r = await client.request(new URL("http://127.0.0.1:2379"), "/v3/kv/range", "{}", { timeoutMs: 400 });
   */
  request(url: URL, path: string, body: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      let status = 0;
      let headers = new Map<string, string>();
      const chunks: Buffer[] = [];
      this.exchange(
        url,
        path,
        body,
        {
          head(s, h) {
            status = s;
            headers = h;
          },
          data: (c) => chunks.push(c),
          end(error) {
            if (error) reject(error);
            else resolve({ status, headers, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) });
          },
        },
        options,
      );
    });
  }

  /**
   * POSTs a JSON body on a connection of its own and delivers the answer as it streams (a watch).
   * `timeoutMs` bounds the wait for the head only. Returns a function that closes the stream
   * (`end` is then called with an `ABORT_ERR`).
   * @example const close = client.stream(url, "/v3/watch", body, { head() {}, data: onBytes, end: onEnd });
   */
  stream(url: URL, path: string, body: string, handlers: HttpStreamHandlers, options: HttpRequestOptions = {}): () => void {
    return this.exchange(url, path, body, handlers, { ...options, dedicated: true, headTimeout: true });
  }

  /** Closes every connection (idle and busy); later requests fail. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const c of list) c.wire.destroy();
    this.idle.clear();
    for (const c of [...this.busy]) c.wire.destroy();
  }
}
