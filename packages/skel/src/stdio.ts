/**
 * The real process's stdin, stdout and stderr for `plugin.main()`, without Node's stream objects
 * where they are not needed: a plugin reads one document and writes one, so stdin is read with a
 * `readSync` loop on fd 0 and the reply written with `writeSync` on fd 1. Creating
 * `process.stdin`/`process.stdout`/`process.stderr` costs milliseconds per call (each is a lazy
 * getter that builds a socket or tty object); they are only created when a handler touches them,
 * or as the fallback when a descriptor is non-blocking (EAGAIN) or stdin is a terminal.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
import { fileOps } from "@cnikit/native/files";
import { MAX_STDIN_BYTES, type PluginIo, type TextSink } from "./io.js";

/** The two output streams skel manages. */
export type StdStreamName = "stdout" | "stderr";

/** The fs calls the helpers use; injectable so tests can simulate EAGAIN and EPIPE. */
export interface SyncFs {
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: null): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
}

const realFs: SyncFs = {
  readSync: (fd, buffer, offset, length, position) => fileOps.readSync(fd, buffer, offset, length, position),
  writeSync: (fd, buffer, offset, length) => fileOps.writeSync(fd, buffer, offset, length),
};

interface Slot {
  /** process[name] has been replaced by the tracking getter. */
  tracked: boolean;
  /** The stream, once something created it (only known when tracked). */
  stream: NodeJS.WriteStream | undefined;
  /** The first 'error' the stream emitted. */
  error: Error | undefined;
  /** Called once when the stream gets created (stdout-guard patches it there). */
  onCreate: Array<(stream: NodeJS.WriteStream) => void>;
}

const slots: Record<StdStreamName, Slot> = {
  stdout: { tracked: false, stream: undefined, error: undefined, onCreate: [] },
  stderr: { tracked: false, stream: undefined, error: undefined, onCreate: [] },
};

function created(name: StdStreamName, stream: NodeJS.WriteStream): void {
  const slot = slots[name];
  slot.stream = stream;
  // A closed pipe (EPIPE: the runtime stopped reading) must not crash the plugin with an
  // "Unhandled 'error' event": stdout's first error is kept (the reply was lost), stderr's dropped.
  stream.on("error", (err: Error) => {
    slot.error ??= err;
  });
  for (const hook of slot.onCreate.splice(0)) hook(stream);
}

/**
 * Replaces the lazy `process.stdout`/`process.stderr` getters with ones that record when the
 * stream gets created, so skel can tell "nobody has it" (write to the fd directly) from "someone
 * has it" (keep using the stream, in order). Idempotent; creates neither stream.
 * @internal
 */
export function trackProcessStreams(): void {
  for (const name of ["stdout", "stderr"] as const) {
    const slot = slots[name];
    if (slot.tracked) continue;
    // Bun (cnikit-build --target bun): the streams are lazy data properties with no getter to
    // wrap, and reading them, even their descriptor, creates them (~2.5 ms each; writing the
    // reply through one costs ~5 ms more). Leave them alone and count them as not created: the
    // reply goes out with writeSync, and console.* in handlers is still redirected (a handler
    // that writes to process.stdout itself is not, under Bun).
    if (process.versions.bun) {
      slot.tracked = true;
      continue;
    }
    const desc = Object.getOwnPropertyDescriptor(process, name);
    const original = desc?.get;
    if (!desc || !original || !desc.configurable) continue;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: desc.enumerable ?? true,
      get() {
        const stream = original.call(process) as NodeJS.WriteStream;
        if (slot.stream !== stream) created(name, stream);
        return stream;
      },
    });
    slot.tracked = true;
  }
}

/**
 * The stream if it exists, `undefined` if it certainly does not (tracked and never created),
 * `"unknown"` when the getter is not tracked (then it may exist: treat it as existing).
 * @internal
 */
export function existingStream(name: StdStreamName): NodeJS.WriteStream | undefined | "unknown" {
  const slot = slots[name];
  if (!slot.tracked) return "unknown";
  return slot.stream;
}

/**
 * Runs `hook` when the (tracked) stream gets created; returns a function that cancels it.
 * @internal
 */
export function onStreamCreated(name: StdStreamName, hook: (stream: NodeJS.WriteStream) => void): () => void {
  const hooks = slots[name].onCreate;
  hooks.push(hook);
  return () => {
    const i = hooks.indexOf(hook);
    if (i >= 0) hooks.splice(i, 1);
  };
}

/** The first error the real stream emitted (EPIPE...), if it exists and failed. @internal */
export function streamError(name: StdStreamName): Error | undefined {
  return slots[name].error;
}

function errnoOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** "write EPIPE" (what the stream would have said), else the error's message. */
function writeErrorOf(err: unknown): Error {
  const code = errnoOf(err);
  if (code === undefined) return err instanceof Error ? err : new Error(String(err));
  const e = new Error(`write ${code}`) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

/**
 * A sink on fd 1 or 2 that writes synchronously with `writeSync` (looping until every byte is
 * written) and never creates the process stream, except:
 * - when the stream already exists with data queued (so output stays in order), or the getter
 *   is not tracked: it writes through the stream, as Node would;
 * - on EAGAIN (a non-blocking pipe that is full): the rest, and everything after, goes through
 *   the stream, which waits for the reader (flush it before exiting).
 *
 * The first write error (EPIPE: the reader went away) is kept in `error` and later writes are
 * dropped.
 *
 * @example
 * const out = new FdSink(1, "stdout");
 * out.write('{"cniVersion":"1.1.0"}\n');
 * if (out.error) process.exitCode = 1;
 * @internal
 */
export class FdSink implements TextSink {
  /** The first write error (`write EPIPE`...). */
  error: Error | undefined;
  /** The process stream this sink has written through (must be flushed before exit). */
  stream: NodeJS.WriteStream | undefined;

  constructor(
    readonly fd: 1 | 2,
    readonly name: StdStreamName,
    protected readonly fs: SyncFs = realFs,
  ) {}

  write(chunk: string): boolean {
    if (this.error !== undefined) return false;
    if (this.stream !== undefined) return this.viaStream(this.stream, chunk);
    const existing = this.existing();
    if (existing === "unknown" || (existing !== undefined && existing.writableLength > 0)) {
      return this.viaStream(existing === "unknown" ? this.processStream() : existing, chunk);
    }
    const bytes = Buffer.from(chunk, "utf8");
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += this.fs.writeSync(this.fd, bytes, offset, bytes.length - offset);
      } catch (err) {
        const code = errnoOf(err);
        if (code === "EINTR") continue;
        if (code === "EAGAIN" || code === "EWOULDBLOCK") {
          return this.viaStream(this.processStream(), bytes.subarray(offset));
        }
        this.error = writeErrorOf(err);
        return false;
      }
    }
    return true;
  }

  /** The process stream as far as it is known to exist (see {@link existingStream}). */
  protected existing(): NodeJS.WriteStream | undefined | "unknown" {
    return existingStream(this.name);
  }

  /** The process stream, created if need be. */
  protected processStream(): NodeJS.WriteStream {
    return process[this.name];
  }

  private viaStream(stream: NodeJS.WriteStream, chunk: string | Uint8Array): boolean {
    this.stream = stream;
    try {
      return stream.write(chunk);
    } catch (err) {
      this.error ??= writeErrorOf(err);
      return false;
    }
  }
}

/**
 * Whether fd 0 is a terminal (a character device that is not one of the memory devices such as
 * /dev/null): a blocking read there could not be interrupted by Ctrl-C, so it is read as a stream.
 */
function stdinIsTerminalLike(fd: number): boolean {
  try {
    const st = fileOps.fstatSync(fd);
    if (!st.isCharacterDevice()) return false;
    const major = (st.rdev >> 8) & 0xfff;
    return major !== 1; // 1: mem devices (/dev/null, /dev/zero, /dev/urandom ...)
  } catch {
    return false;
  }
}

/** Reads the rest of `process.stdin` after `head` (bytes already read synchronously). */
async function readStreamRest(head: Buffer[], size: number, limit: number): Promise<Buffer> {
  const chunks = head;
  let total = size;
  for await (const chunk of process.stdin) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    total += buf.length;
    if (total > limit) throw new Error(`input is larger than ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}

/** What {@link readFdSync} got: all of it (`done`), or what it read before the fd would block. */
export interface SyncReadOutcome {
  done: boolean;
  chunks: Buffer[];
  size: number;
}

/**
 * Reads `fd` to EOF with `readSync`, refusing more than `limit` bytes. Stops early, with
 * `done: false` and what it has read, when the fd is non-blocking and has no data yet (EAGAIN).
 *
 * @example
 * const r = readFdSync(0, 64 * 1024 * 1024);
 * @throws Error when reading fails or the input exceeds `limit`.
 * @internal
 */
export function readFdSync(fd: number, limit: number, fs: SyncFs = realFs): SyncReadOutcome {
  const chunks: Buffer[] = [];
  let size = 0;
  let buf = Buffer.allocUnsafe(64 * 1024);
  let used = 0;
  for (;;) {
    if (used === buf.length) {
      chunks.push(buf);
      buf = Buffer.allocUnsafe(Math.min(Math.max(buf.length * 2, 64 * 1024), 8 * 1024 * 1024));
      used = 0;
    }
    let n: number;
    try {
      n = fs.readSync(fd, buf, used, buf.length - used, null);
    } catch (err) {
      const code = errnoOf(err);
      if (code === "EINTR") continue;
      if (code === "EAGAIN" || code === "EWOULDBLOCK") {
        if (used > 0) chunks.push(buf.subarray(0, used));
        return { done: false, chunks, size };
      }
      throw err;
    }
    if (n === 0) break;
    used += n;
    size += n;
    if (size > limit) throw new Error(`input is larger than ${limit} bytes`);
  }
  if (used > 0) chunks.push(buf.subarray(0, used));
  return { done: true, chunks, size };
}

/**
 * Reads all of the process's stdin: synchronously on fd 0 (a pipe, a file, /dev/null), as a
 * stream when fd 0 is a terminal, and the rest as a stream when fd 0 turns out non-blocking.
 *
 * @example
 * const bytes = await readProcessStdin(64 * 1024 * 1024);
 * @throws Error when stdin fails or exceeds `limit` (skel reports it as code 5).
 * @internal
 */
export async function readProcessStdin(limit: number): Promise<Buffer> {
  if (stdinIsTerminalLike(0)) return readStreamRest([], 0, limit);
  const r = readFdSync(0, limit);
  if (!r.done) return readStreamRest(r.chunks, r.size, limit);
  return r.chunks.length === 1 ? (r.chunks[0] as Buffer) : Buffer.concat(r.chunks, r.size);
}

/**
 * Resolves once everything written so far to `stream` has been handed to the OS (a pipe
 * reader may be slow: the data waits in Node's buffer until then). Never rejects.
 * @internal
 */
export function flushStream(stream: NodeJS.WritableStream): Promise<Error | undefined> {
  return new Promise((resolve) => {
    try {
      stream.write("", (err?: Error | null) => resolve(err ?? undefined));
    } catch (err) {
      resolve(err as Error);
    }
  });
}

/** What Bun offers for writing to fd 1 and 2 without `node:fs` (the subset skel uses). */
export interface BunWriter {
  write(destination: unknown, data: string): Promise<number>;
  readonly stdout: unknown;
  readonly stderr: unknown;
  readonly peek: { status(promise: Promise<unknown>): "pending" | "fulfilled" | "rejected" } & ((
    promise: Promise<unknown>,
  ) => unknown);
}

/** Bun's global, when running under Bun. */
function bunGlobal(): BunWriter | undefined {
  return process.versions.bun ? (globalThis as { Bun?: BunWriter }).Bun : undefined;
}

/**
 * The sink on fd 1 or 2 under Bun: `Bun.write(Bun.stdout, …)`, which writes a small chunk at
 * once (its promise is already settled when it returns) and the rest of a large one when the
 * pipe drains. It needs no `node:fs`, whose loading costs a Bun plugin ~1.5 ms and ~4 MB (a
 * VERSION call loads nothing else). Chunks are written in order; {@link settled} resolves when
 * all are written. The first write error (`write EPIPE`) is kept in `error`, later writes are
 * dropped.
 *
 * @example
 * const out = new BunSink(1, Bun);
 * out.write('{"cniVersion":"1.1.0"}\n');
 * await out.settled();
 * @internal
 */
export class BunSink implements TextSink {
  /** The first write error (`write EPIPE`...). */
  error: Error | undefined;
  /** Never a process stream (kept for the shape {@link ProcessIo} shares with {@link FdSink}). */
  readonly stream: undefined = undefined;
  private pending: Promise<void> | undefined;

  constructor(
    readonly fd: 1 | 2,
    private readonly bun: BunWriter,
  ) {}

  write(chunk: string): boolean {
    if (this.error !== undefined) return false;
    if (this.pending !== undefined) {
      this.pending = this.pending.then(() => this.start(chunk));
      return true;
    }
    this.pending = this.start(chunk);
    return this.error === undefined;
  }

  /** Resolves when every chunk written so far has reached the OS (or failed: see `error`). */
  async settled(): Promise<void> {
    while (this.pending !== undefined) {
      const p = this.pending;
      await p;
      if (this.pending === p) this.pending = undefined;
    }
  }

  /** Writes `chunk`; a promise only while Bun is still writing it. */
  private start(chunk: string): Promise<void> | undefined {
    if (this.error !== undefined) return undefined;
    let p: Promise<number>;
    try {
      p = this.bun.write(this.fd === 1 ? this.bun.stdout : this.bun.stderr, chunk);
    } catch (err) {
      this.error = writeErrorOf(err);
      return undefined;
    }
    const status = this.bun.peek.status(p);
    if (status === "fulfilled") return undefined;
    if (status === "rejected") {
      p.catch(() => {});
      this.error = writeErrorOf(this.bun.peek(p));
      return undefined;
    }
    return p.then(
      () => {},
      (err: unknown) => {
        this.error ??= writeErrorOf(err);
      },
    );
  }
}

/** {@link PluginIo} on the real process, with the lazy sinks above (see {@link processIo}). */
export interface ProcessIo extends PluginIo {
  stdout: FdSink | BunSink;
  stderr: FdSink | BunSink;
}

/**
 * The real process as a PluginIo: env, stdin read synchronously where it can be, and fd sinks
 * for stdout and stderr that create no stream unless they must ({@link BunSink}s under Bun).
 *
 * @example
 * const io = processIo();
 * io.stdout.write("{}\n");
 * @internal
 */
export function processIo(): ProcessIo {
  const bun = bunGlobal();
  return {
    env: process.env,
    readStdin: () => readProcessStdin(MAX_STDIN_BYTES),
    stdout: bun ? new BunSink(1, bun) : new FdSink(1, "stdout"),
    stderr: bun ? new BunSink(2, bun) : new FdSink(2, "stderr"),
  };
}
