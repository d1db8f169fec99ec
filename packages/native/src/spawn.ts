/**
 * Running a program the way Go's os/exec does on Linux: posix_spawn(3) (glibc: clone with
 * CLONE_VM|CLONE_VFORK) instead of libuv's fork(2). A fork copies the page tables of the whole
 * ~45 MB Node process on the event loop thread (3–4 ms here, more on a busy host); posix_spawn
 * costs ~0.3 ms however big the parent is. A plugin that delegates to IPAM pays this on every ADD.
 *
 * posix_spawn itself runs on a libuv pool thread (koffi's async call: the calling thread waits
 * until the child has exec'd), the child's stdout and stderr are read on pool threads (`fs.read`
 * on the pipes), stdin is written without blocking the event loop, and the child is reaped with
 * `waitpid(WNOHANG)` once both pipes are closed, so no thread waits on the child itself.
 *
 * Under Bun the calls go through `bun:ffi`, which has no asynchronous call: posix_spawn runs on
 * the JS thread, at once, or in a microtask when `posixSpawn` is called inside a synchronous
 * `Netns.run` window (never inside one; the thread is suspended until the child has exec'd, ~0.3 ms),
 * the pipes are read on Bun's own threads, and the child is reaped by polling `waitpid(WNOHANG)` (a few
 * event-loop turns, then back-off timers) instead of a blocking waitpid on a pool thread.
 */
import { close as fsClose, read as fsRead, write as fsWrite } from "node:fs";
import { constants as osConstants } from "node:os";
import { CniError, ErrorCode } from "@cnikit/spec";
import { asyncOnPoolThread, bindLibc, lastCallErrno } from "./backend.js";
import { fileOps } from "./files.js";
import { errnoName, jsThreadAtHome } from "./libc.js";

/**
 * One program to run: what a {@link Spawner} (`posixSpawn`, or `@cnikit/invoke`'s `nodeSpawn`)
 * is asked to start.
 *
 * @example
 * const req: SpawnRequest = { pluginPath: "/opt/cni/bin/host-local", stdin: conf, env: { CNI_COMMAND: "VERSION" } };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export interface SpawnRequest {
  /** Absolute path of the program (run with argv `[pluginPath, ...args]`). */
  readonly pluginPath: string;
  /** Arguments after argv[0] (a CNI plugin gets none). */
  readonly args?: readonly string[] | undefined;
  /** Bytes written to its stdin, which is then closed. */
  readonly stdin: string | Uint8Array;
  /** Its complete environment (nothing else is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** SIGKILL the child after this many milliseconds. */
  readonly timeoutMs?: number | undefined;
  /** SIGKILL the child when this signal aborts. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * How a program run by a {@link Spawner} ended.
 *
 * @example
 * const { code, stdout } = await posixSpawn(req);
 * if (code === 0) JSON.parse(stdout.toString());
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export interface SpawnOutcome {
  /** Exit status, `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it, else `null`. */
  signal: NodeJS.Signals | null;
  /** Everything it wrote to stdout. */
  stdout: Buffer;
  /** Everything it wrote to stderr. */
  stderr: Buffer;
  /** It was killed because `timeoutMs` passed. */
  timedOut: boolean;
  /** It was killed (or never started) because `signal` aborted. */
  aborted: boolean;
}

/**
 * Starts one process and resolves once it has exited and closed its output; rejects with a
 * Node-style system error (`code` ENOENT, EACCES, ETXTBSY...) when it cannot be started.
 * {@link posixSpawn} is one; `@cnikit/invoke` has `nodeSpawn` (child_process) and chooses
 * between them for every plugin it runs.
 *
 * @example
 * const spawner: Spawner = posixSpawnAvailable() ? posixSpawn : nodeSpawn;
 * const exec = createRawExec(spawner); // @cnikit/invoke
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export type Spawner = (request: SpawnRequest) => Promise<SpawnOutcome>;

type Fn = (...args: unknown[]) => number;
type AsyncFn = Fn & { async: (...args: unknown[]) => void };

interface SpawnLibc {
  posix_spawn: AsyncFn;
  fa_init: Fn;
  fa_destroy: Fn;
  fa_adddup2: Fn;
  attr_init: Fn;
  attr_destroy: Fn;
  attr_setflags: Fn;
  attr_setsigmask: Fn;
  attr_setsigdefault: Fn;
  sigemptyset: Fn;
  sigfillset: Fn;
  pipe2: Fn;
  fcntl: Fn;
  kill: Fn;
  waitpid: AsyncFn;
  close: Fn;
}

let spawnLibc: SpawnLibc | undefined;

function libc(): SpawnLibc {
  spawnLibc ??= bindLibc({
    posix_spawn:
      "int posix_spawn(_Out_ int *pid, const char *path, const void *fa, const void *attr, const char **argv, const char **envp)",
    fa_init: "int posix_spawn_file_actions_init(void *fa)",
    fa_destroy: "int posix_spawn_file_actions_destroy(void *fa)",
    fa_adddup2: "int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)",
    attr_init: "int posix_spawnattr_init(void *attr)",
    attr_destroy: "int posix_spawnattr_destroy(void *attr)",
    attr_setflags: "int posix_spawnattr_setflags(void *attr, short flags)",
    attr_setsigmask: "int posix_spawnattr_setsigmask(void *attr, const void *set)",
    attr_setsigdefault: "int posix_spawnattr_setsigdefault(void *attr, const void *set)",
    sigemptyset: "int sigemptyset(void *set)",
    sigfillset: "int sigfillset(void *set)",
    pipe2: "int pipe2(_Out_ int *fds, int flags)",
    fcntl: "int fcntl(int fd, int cmd, int arg)",
    kill: "int kill(int pid, int sig)",
    waitpid: "int waitpid(int pid, _Out_ int *status, int options)",
    close: "int close(int fd)",
  });
  return spawnLibc;
}

/**
 * Whether {@link posixSpawn} can run here (the FFI loads and libc has posix_spawn).
 *
 * @example
 * const spawner = posixSpawnAvailable() ? posixSpawn : nodeSpawn;
 * @throws never: any failure to load is `false`.
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 */
export function posixSpawnAvailable(): boolean {
  if (process.platform !== "linux") return false;
  try {
    libc();
    return true;
  } catch {
    return false;
  }
}

const O_CLOEXEC = 0x80000;
const F_GETPIPE_SZ = 1032;
const WNOHANG = 1;
const SIGKILL = 9;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
/** Bigger than glibc's posix_spawn_file_actions_t (80 bytes) and posix_spawnattr_t (336). */
const OPAQUE_BYTES = 512;
/** sigset_t is 128 bytes in glibc. */
const SIGSET_BYTES = 128;
const READ_CHUNK = 64 * 1024;
/** Under Bun: event-loop turns spent polling waitpid before falling back to timers. */
const POLL_TURNS = 200;

function signalName(n: number): NodeJS.Signals | null {
  for (const [k, v] of Object.entries(osConstants.signals)) if (v === n) return k as NodeJS.Signals;
  return null;
}

/** An Error shaped like the one `child_process.spawn` emits (code, negative errno, syscall, path). */
function spawnError(path: string, errno: number): NodeJS.ErrnoException {
  const code = errnoName(errno);
  const err = new Error(`spawn ${path} ${code}`) as NodeJS.ErrnoException;
  err.errno = -errno;
  err.code = code;
  err.syscall = `spawn ${path}`;
  err.path = path;
  return err;
}

function makePipe(c: SpawnLibc): [number, number] {
  const fds = new Int32Array(2);
  if (c.pipe2(fds, O_CLOEXEC) !== 0) {
    const errno = lastCallErrno();
    throw new CniError(ErrorCode.IoFailure, `pipe2 failed: ${errnoName(errno)}`);
  }
  return [fds[0] as number, fds[1] as number];
}

/** The part of Bun's global used for the pipes under Bun. */
interface BunPipes {
  file(fd: number): { stream(): AsyncIterable<Uint8Array> };
  write(destination: unknown, data: Uint8Array): Promise<number>;
}

/**
 * Under Bun: its own poll-driven pipe reader and writer. Its fs.read/fs.write run blocking on a
 * thread pool as small as the CPU count (2 here): one read blocked on an idle stderr and one
 * write blocked on a full stdin pipe would leave no thread to read stdout, and the child,
 * blocked writing it, would never read the rest of its stdin.
 */
function bunPipes(): BunPipes | undefined {
  return asyncOnPoolThread() ? undefined : (globalThis as unknown as { Bun: BunPipes }).Bun;
}

function closeQuietly(fd: number): void {
  try {
    fileOps.closeSync(fd);
  } catch {
    /* EBADF: nothing to release */
  }
}

/** Reads `fd` to EOF (on a pool thread; under Bun, on its event loop), then closes it. */
function drain(fd: number): Promise<Buffer> {
  const bun = bunPipes();
  if (bun) {
    return (async () => {
      const chunks: Uint8Array[] = [];
      try {
        for await (const chunk of bun.file(fd).stream()) chunks.push(chunk);
      } catch {
        // a read error ends the output as EOF does, as on the pool path
      }
      closeQuietly(fd); // libc's close under Bun: no node:fs
      return Buffer.concat(chunks);
    })();
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const next = () => {
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      fsRead(fd, buf, 0, buf.length, null, (err, n) => {
        if (!err && n > 0) {
          chunks.push(buf.subarray(0, n));
          next();
          return;
        }
        if (err && (err as NodeJS.ErrnoException).code === "EINTR") {
          next();
          return;
        }
        resolve(Buffer.concat(chunks));
        fsClose(fd, () => {});
      });
    };
    next();
  });
}

/**
 * Writes stdin bigger than the pipe (smaller stdin is written before the spawn) from a pool
 * thread while the child reads, then closes it; EPIPE (the child exited without reading it all)
 * is not our failure.
 */
function feed(fd: number, data: Buffer): void {
  const bun = bunPipes();
  if (bun) {
    const close = () => closeQuietly(fd);
    bun.write(bun.file(fd), data).then(close, close);
    return;
  }
  const writeFrom = (off: number) => {
    fsWrite(fd, data, off, data.length - off, null, (err, n) => {
      if (!err && off + n < data.length) writeFrom(off + n);
      else fsClose(fd, () => {});
    });
  };
  writeFrom(0);
}

function toCStrings(env: Readonly<Record<string, string>>): (string | null)[] {
  const out: (string | null)[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    const s = `${k}=${v}`;
    if (s.includes("\0")) throw new TypeError(`env ${k} contains a NUL byte`);
    out.push(s);
  }
  out.push(null);
  return out;
}

/**
 * Runs `pluginPath` with `env`, writes `stdin`, and resolves with its exit status and output once
 * it has exited and closed its stdout and stderr. The child starts with default signal
 * dispositions and an empty signal mask (as after libuv's spawn), in the calling thread's
 * network namespace and working directory.
 *
 * A {@link Spawner}: `@cnikit/invoke` runs plugins with it (one at a time) where it is available;
 * start-up errors reject with a Node-style system error (`code` ENOENT, EACCES, ETXTBSY, ENOEXEC…).
 *
 * @example
 * const { code, stdout } = await posixSpawn({ pluginPath: "/opt/cni/bin/host-local", stdin: conf, env: { CNI_COMMAND: "VERSION" } });
 * @throws an Error with `code`/`errno`/`syscall` like `child_process.spawn`'s when the program
 *   cannot be started; {@link CniError} code 999 when the FFI cannot be loaded.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export function posixSpawn(request: SpawnRequest): Promise<SpawnOutcome> {
  try {
    return start(request);
  } catch (err) {
    return Promise.reject(err); // no FFI, a NUL in env: rejected like a failed spawn
  }
}

function start(request: SpawnRequest): Promise<SpawnOutcome> {
  if (request.signal?.aborted) {
    return Promise.resolve({
      code: null,
      signal: null,
      stdout: Buffer.alloc(0),
      stderr: Buffer.alloc(0),
      timedOut: false,
      aborted: true,
    });
  }
  const c = libc();
  const envp = toCStrings(request.env);
  const data = typeof request.stdin === "string" ? Buffer.from(request.stdin) : Buffer.from(request.stdin);

  const fds: number[] = [];
  const fa = Buffer.alloc(OPAQUE_BYTES);
  const attr = Buffer.alloc(OPAQUE_BYTES);
  const pidOut = new Int32Array(1);
  let ready = false;
  let prefed = false;
  try {
    const [inR, inW] = makePipe(c);
    fds.push(inR, inW);
    const [outR, outW] = makePipe(c);
    fds.push(outR, outW);
    const [errR, errW] = makePipe(c);
    fds.push(errR, errW);
    c.fa_init(fa);
    c.attr_init(attr);
    ready = true;
    // dup2 onto 0/1/2 clears FD_CLOEXEC there; every other fd of ours is O_CLOEXEC
    c.fa_adddup2(fa, inR, 0);
    c.fa_adddup2(fa, outW, 1);
    c.fa_adddup2(fa, errW, 2);
    const all = Buffer.alloc(SIGSET_BYTES);
    const none = Buffer.alloc(SIGSET_BYTES);
    c.sigfillset(all);
    c.sigemptyset(none);
    c.attr_setsigdefault(attr, all); // Node ignores SIGPIPE: the child must not inherit that
    c.attr_setsigmask(attr, none);
    c.attr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    // stdin that fits in the pipe (a CNI config always does) is written now, before the child
    // exists: it finds its input at once, however long this thread is busy before it gets back
    // to the event loop (a plugin doing synchronous netlink work meanwhile)
    prefed = data.length <= c.fcntl(inW, F_GETPIPE_SZ, 0);
    if (prefed && data.length > 0) fileOps.writeSync(inW, data);
  } catch (err) {
    if (ready) {
      c.fa_destroy(fa);
      c.attr_destroy(attr);
    }
    for (const fd of fds) c.close(fd);
    return Promise.reject(err);
  }
  const [inR, inW, outR, outW, errR, errW] = fds as [number, number, number, number, number, number];
  if (prefed) c.close(inW); // all of stdin is in the pipe: the child reads it, then EOF

  // posix_spawn runs on a pool thread: the calling thread is suspended until the child has
  // exec'd (~1 ms), and that must not be the event loop. Pool threads are never inside a
  // container netns (see Netns: they are created outside any run() window), so neither is the child.
  const started = new Promise<number>((resolve, reject) => {
    const args = [pidOut, request.pluginPath, fa, attr, [request.pluginPath, ...(request.args ?? []), null], envp];
    const spawned = (err: unknown, rc: number) => {
      c.fa_destroy(fa);
      c.attr_destroy(attr);
      // the child's ends are the child's now (or nobody's)
      c.close(inR);
      c.close(outW);
      c.close(errW);
      if (err || rc !== 0) {
        if (!prefed) c.close(inW);
        c.close(outR);
        c.close(errR);
        reject(err ?? spawnError(request.pluginPath, rc));
        return;
      }
      resolve(pidOut[0] as number);
    };
    if (asyncOnPoolThread()) {
      c.posix_spawn.async(...args, spawned);
      return;
    }
    // Bun: now, on the JS thread, unless it is inside a Netns.run window (the child would start
    // in that netns); then in a microtask, as soon as the synchronous window code has returned.
    // Not one event-loop turn later as `.async` would: a plugin's synchronous netlink calls
    // (every bun:ffi call is synchronous) keep the loop from its next turn for milliseconds, and
    // a blocking request queued before (a veth delete, ~20 ms) would run first. The child runs
    // while the plugin goes on with its own work.
    const spawnNow = () => {
      let rc: number;
      try {
        rc = c.posix_spawn(...args);
      } catch (err) {
        spawned(err, -1);
        return;
      }
      spawned(null, rc);
    };
    if (jsThreadAtHome()) spawnNow();
    else queueMicrotask(spawnNow);
  });
  return started.then((pid) =>
    supervise(c, request, pid, prefed ? undefined : data, { stdinW: inW, stdoutR: outR, stderrR: errR }),
  );
}

/** Feeds stdin, collects stdout and stderr, enforces the timeout and abort, reaps the child. */
function supervise(
  c: SpawnLibc,
  request: SpawnRequest,
  pid: number,
  data: Buffer | undefined,
  { stdinW, stdoutR, stderrR }: { stdinW: number; stdoutR: number; stderrR: number },
): Promise<SpawnOutcome> {
  let timedOut = false;
  let aborted = false;
  let exited = false;
  const killChild = () => {
    if (!exited) c.kill(pid, SIGKILL);
  };
  const onAbort = () => {
    aborted = true;
    killChild();
  };
  let timer: NodeJS.Timeout | undefined;
  if (request.timeoutMs !== undefined && request.timeoutMs > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      killChild();
    }, request.timeoutMs);
  }
  if (request.signal?.aborted)
    onAbort(); // while the child was being started
  else request.signal?.addEventListener("abort", onAbort, { once: true });

  if (data !== undefined) feed(stdinW, data);
  const outputs = Promise.all([drain(stdoutR), drain(stderrR)]);

  return outputs.then(
    ([stdout, stderr]) =>
      new Promise<SpawnOutcome>((resolve) => {
        const status = new Int32Array(1);
        let delay = 1;
        let waited = false;
        let turns = 0;
        const reap = () => {
          const r = c.waitpid(pid, status, WNOHANG);
          if (r === 0) {
            if (!asyncOnPoolThread() && turns < POLL_TURNS) {
              // Bun: no thread to block in waitpid; the child is exiting (its pipes closed):
              // look again on the next event-loop turns, then with timers
              turns++;
              setImmediate(reap);
              return;
            }
            if (!waited && asyncOnPoolThread()) {
              // Its pipes close before it becomes a zombie (the kernel closes a dying process's
              // files first): wait for that on a pool thread, a matter of microseconds. Not
              // polled with timers, which would add a millisecond to most calls.
              waited = true;
              const blocking = new Int32Array(1);
              c.waitpid.async(pid, blocking, 0, (err: unknown, rc: number) => {
                if (!err && rc === pid) {
                  status[0] = blocking[0] as number;
                  finish(rc);
                } else {
                  reap(); // interrupted: look again
                }
              });
              return;
            }
            // it closed its output and waitpid was interrupted: look again soon
            setTimeout(reap, delay);
            delay = Math.min(delay * 2, 50);
            return;
          }
          finish(r);
        };
        const finish = (r: number) => {
          exited = true;
          if (timer) clearTimeout(timer);
          request.signal?.removeEventListener("abort", onAbort);
          const s = status[0] as number;
          const termSig = s & 0x7f;
          const outcome: SpawnOutcome = {
            code: termSig === 0 ? (s >> 8) & 0xff : null,
            signal: termSig === 0 ? null : signalName(termSig),
            stdout,
            stderr,
            timedOut,
            aborted,
          };
          if (r < 0) {
            // not our child any more (something else reaped it): its status is unknown
            outcome.code = null;
            outcome.signal = null;
          }
          resolve(outcome);
        };
        reap();
      }),
  );
}
