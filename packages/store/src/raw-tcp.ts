/**
 * Plain TCP connections straight on libuv's TCP handles (Node's `tcp_wrap` and `stream_wrap`
 * bindings, reached through `process.binding`), for the HTTP client's `http:` connections to IP
 * addresses. Why: a one-shot plugin that loads `node:net` (and `node:stream` with it) and creates
 * its first `net.Socket` pays ~4–5 ms before the first byte leaves; the bindings cost ~0.3 ms.
 * `net.Socket` is the same handle under a stream; this is the handle without the stream.
 *
 * Only what the client needs: connect to an IPv4/IPv6 address, write strings, read chunks, EOF,
 * errors with their errno names, ref/unref, TCP keep-alive, close. No DNS, no TLS (those use
 * `node:net`/`node:tls`). {@link loadRawTcp} answers undefined where the bindings are not Node's
 * (Bun, or a Node that no longer exposes them), and the client then uses `node:net`.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */

/** What a connection reports. */
export interface WireEvents {
  /** The connection is up (bytes written from now on may reach the peer). */
  connect(): void;
  /** Bytes arrived (the buffer is the caller's to keep). */
  data(chunk: Buffer): void;
  /** The connection failed (`code` is the errno name: `ECONNREFUSED`, `ECONNRESET`...). */
  error(err: Error & { code?: string }): void;
  /** The connection is closed (after EOF, an error or `destroy()`); called once. */
  close(): void;
}

/** One connection, whichever way it is made (a libuv handle here, a `net.Socket` in http-client.ts). */
export interface Wire {
  /** True once the connection cannot carry another request (closed, closing, or ended by the peer). */
  readonly done: boolean;
  /** Sends `data` (queued until the connection is up). */
  write(data: string): void;
  /** Closes the connection; `close` follows. */
  destroy(): void;
  /** Keeps the process alive while the connection is open (the default). */
  ref(): void;
  /** Lets the process exit while the connection is open and idle. */
  unref(): void;
  /** Turns TCP keep-alive probes on, the first after `delayMs` idle. */
  keepAlive(delayMs: number): void;
}

interface TcpHandle {
  connect(req: object, address: string, port: number): number;
  connect6(req: object, address: string, port: number): number;
  readStart(): number;
  writeUtf8String(req: object, data: string): number;
  setNoDelay(on: boolean): number;
  setKeepAlive(on: boolean, delaySeconds: number): number;
  ref(): void;
  unref(): void;
  close(cb: () => void): void;
  onread: (buffer: ArrayBuffer | undefined) => void;
}

interface Bindings {
  TCP: new (type: number) => TcpHandle;
  TCPConnectWrap: new () => { oncomplete?: (status: number) => void };
  WriteWrap: new () => { handle?: TcpHandle; async?: boolean; oncomplete?: (status: number) => void };
  socketType: number;
  state: Int32Array;
  readBytes: number;
  bufferOffset: number;
  eof: number;
}

/** libuv's UV_EOF (the same on every platform). */
const UV_EOF = -4095;

function errnoError(errno: number, syscall: string, address?: string): Error & { code: string } {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const util = typeof get === "function" ? (get.call(process, "node:util") as typeof import("node:util")) : undefined;
  let code = `E${-errno}`;
  try {
    if (util) code = util.getSystemErrorName(errno);
  } catch {
    // not a known errno: keep the number
  }
  return Object.assign(new Error(`${syscall} ${code}${address ? ` ${address}` : ""}`), { code, errno, syscall });
}

/** A connection on a libuv TCP handle. */
class RawWire implements Wire {
  done = false;
  private closed = false;
  private readonly handle: TcpHandle;
  /** `host:port`, for messages (as net.Socket's errors name it). */
  private readonly address: string;

  constructor(
    private readonly b: Bindings,
    host: string,
    port: number,
    private readonly events: WireEvents,
  ) {
    this.address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    this.handle = new b.TCP(b.socketType);
    this.handle.setNoDelay(true); // kept by libuv for the socket that connect creates
    const req = new b.TCPConnectWrap();
    req.oncomplete = (status) => this.onConnect(status);
    const err = host.includes(":") ? this.handle.connect6(req, host, port) : this.handle.connect(req, host, port);
    if (err !== 0) queueMicrotask(() => this.fail(errnoError(err, "connect", this.address)));
  }

  private onConnect(status: number): void {
    if (this.closed) return;
    if (status !== 0) {
      this.fail(errnoError(status, "connect", this.address));
      return;
    }
    this.handle.setNoDelay(true);
    this.handle.onread = (buffer) => this.read(buffer);
    const err = this.handle.readStart();
    if (err !== 0) {
      this.fail(errnoError(err, "read"));
      return;
    }
    this.events.connect();
  }

  private read(buffer: ArrayBuffer | undefined): void {
    const n = this.b.state[this.b.readBytes] as number;
    if (this.closed) return;
    if (n > 0 && buffer) {
      this.events.data(Buffer.from(buffer, this.b.state[this.b.bufferOffset] as number, n));
      return;
    }
    if (n === 0) return;
    if (n === this.b.eof) {
      this.done = true;
      this.destroy(); // the peer ended: a half-open connection is of no use to HTTP/1.1 here
      return;
    }
    this.fail(errnoError(n, "read"));
  }

  private send(data: string): void {
    const req = new this.b.WriteWrap();
    req.handle = this.handle;
    req.async = false;
    req.oncomplete = (status) => {
      if (status < 0) this.fail(errnoError(status, "write"));
    };
    const err = this.handle.writeUtf8String(req, data);
    if (err !== 0) this.fail(errnoError(err, "write"));
  }

  private fail(err: Error & { code?: string }): void {
    if (this.closed) return;
    this.events.error(err);
    this.destroy();
  }

  write(data: string): void {
    if (this.closed) {
      // as a destroyed net.Socket does: the writer hears of it (its close came before)
      queueMicrotask(() => this.events.error(Object.assign(new Error("write after the connection closed"), { code: "EPIPE" })));
      return;
    }
    // while connecting, libuv queues the write and sends it as soon as the connection is up
    this.send(data);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.done = true;
    this.handle.close(() => this.events.close());
  }

  ref(): void {
    if (!this.closed) this.handle.ref();
  }

  unref(): void {
    if (!this.closed) this.handle.unref();
  }

  keepAlive(delayMs: number): void {
    if (!this.closed) this.handle.setKeepAlive(true, Math.max(1, Math.round(delayMs / 1000)));
  }
}

/** Connects to IP addresses over libuv's TCP handles. */
export interface RawTcp {
  /**
   * Opens a connection to `host` (an IPv4 or IPv6 address, no brackets) and `port`.
   *
   * @example const wire = rawTcp.connect("127.0.0.1", 2379, { connect() {}, data() {}, error() {}, close() {} });
   */
  connect(host: string, port: number, events: WireEvents): Wire;
}

/** Node majors whose `tcp_wrap`/`stream_wrap` bindings the tests have covered (CI runs Node 20). */
const TESTED_NODE_MAJORS: readonly number[] = [20];

/**
 * Node's TCP bindings, or undefined where they are not available or not covered by the tests
 * (Bun, a Node major other than 20, a Node without them): the caller then uses `node:net`.
 *
 * @example const raw = loadRawTcp(); // undefined under Bun
 */

export function loadRawTcp(): RawTcp | undefined {
  if (process.versions.bun !== undefined) return undefined;
  // the bindings are internal: used only on the Node major the test suite runs this file on
  // (raw-tcp.test.ts, the HTTP client suite over both transports); any other uses node:net
  if (!TESTED_NODE_MAJORS.includes(Number(process.versions.node?.split(".")[0]))) return undefined;
  const binding = (process as { binding?: (name: string) => Record<string, unknown> }).binding;
  if (typeof binding !== "function") return undefined;
  try {
    const tcp = binding.call(process, "tcp_wrap") as Record<string, unknown> & { constants?: Record<string, number> };
    const stream = binding.call(process, "stream_wrap") as Record<string, unknown>;
    const b: Bindings = {
      TCP: tcp.TCP as Bindings["TCP"],
      TCPConnectWrap: tcp.TCPConnectWrap as Bindings["TCPConnectWrap"],
      WriteWrap: stream.WriteWrap as Bindings["WriteWrap"],
      socketType: tcp.constants?.SOCKET as number,
      state: stream.streamBaseState as Int32Array,
      readBytes: stream.kReadBytesOrError as number,
      bufferOffset: stream.kArrayBufferOffset as number,
      eof: UV_EOF,
    };
    if (
      typeof b.TCP !== "function" ||
      typeof b.TCPConnectWrap !== "function" ||
      typeof b.WriteWrap !== "function" ||
      typeof b.socketType !== "number" ||
      !(b.state instanceof Int32Array) ||
      typeof b.readBytes !== "number" ||
      typeof b.bufferOffset !== "number" ||
      typeof b.TCP.prototype.writeUtf8String !== "function" ||
      typeof b.TCP.prototype.readStart !== "function"
    )
      return undefined;
    return { connect: (host, port, events) => new RawWire(b, host, port, events) };
  } catch {
    return undefined;
  }
}
