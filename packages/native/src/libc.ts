/**
 * The few libc calls cnikit needs, bound lazily (the first call of a getter loads the FFI and
 * binds them): through koffi under Node, through `bun:ffi` under Bun (see backend.ts). All are
 * called synchronously except send/recv on a netlink socket (`@cnikit/ns` sends a request from
 * a pool thread): never call setns/unshare through the async API, which under Node runs them on
 * a libuv pool thread that would then stay in that namespace.
 */
import { CniError, ErrorCode } from "@cnikit/spec";
import { bindLibc, lastCallErrno } from "./backend.js";
import { errnoCode, errnoNumbers, fileOps } from "./files.js";

/**
 * A libc function bound through the FFI (koffi under Node, `bun:ffi` under Bun): numbers,
 * buffers and strings in, the C return value out.
 *
 * @example
 * const rc: number = getLibc().setns(fd, 0x40000000);
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export type LibcFunction = (...args: unknown[]) => number;

/**
 * A libc function that can also be called off the current event-loop turn
 * (`fn.async(...args, callback)`): on a libuv pool thread under Node (koffi's async call); under
 * Bun (`bun:ffi` has no async call) on the JS thread, one turn later.
 *
 * @example
 * getSocketLibc().recv.async(fd, buf, buf.length, 0, (err: unknown, n: number) => {});
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export type AsyncLibcFunction = LibcFunction & { async: (...args: unknown[]) => void };

type Fn = LibcFunction;

/**
 * The namespace and file calls of {@link getLibc}: setns, unshare, mount, umount2, flock, ioctl.
 *
 * @example
 * const { setns }: Libc = getLibc();
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export interface Libc {
  setns: Fn;
  unshare: Fn;
  mount: Fn;
  umount2: Fn;
  flock: Fn;
  ioctl: Fn;
}

let libc: Libc | undefined;

/**
 * libc's setns, unshare, mount, umount2, flock and ioctl, bound on first call (which loads koffi,
 * or `bun:ffi` under Bun).
 * They return what C returns (-1 on failure: read {@link lastErrno}, or use {@link checkSyscall}).
 *
 * @example
 * checkSyscall(getLibc().setns(fd, 0x40000000), "setns");
 * @throws {CniError} code 999 when the FFI cannot be loaded.
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export function getLibc(): Libc {
  if (libc) return libc;
  const bound = bindLibc({
    setns: "int setns(int fd, int nstype)",
    unshare: "int unshare(int flags)",
    mount: "int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)",
    umount2: "int umount2(const char *target, int flags)",
    flock: "int flock(int fd, int operation)",
    ioctl: "int ioctl(int fd, unsigned long request, unsigned long arg)",
  });
  if (typeof process.versions.bun === "string") {
    // Bun runs every call on the JS thread: note its netns before it first leaves it (see jsThreadAtHome)
    for (const name of ["setns", "unshare"] as const) {
      const call = bound[name];
      const noted = (...args: unknown[]) => {
        homeNetns ??= netnsOfJsThread();
        return call(...args);
      };
      bound[name] = Object.assign(noted, { async: call.async });
    }
  }
  libc = bound;
  return libc;
}

/** Under Bun: the JS thread's network namespace (`dev:ino`) before its first setns or unshare. */
let homeNetns: string | undefined;

/** The JS thread's network namespace as `dev:ino`, "" when it cannot be read. */
function netnsOfJsThread(): string {
  try {
    const st = fileOps.statSync("/proc/thread-self/ns/net");
    return `${st.dev}:${st.ino}`;
  } catch {
    return "";
  }
}

/**
 * Under Bun (where {@link getLibc}'s calls run on the JS thread): whether the JS thread is in the
 * network namespace it started in, i.e. not inside a `Netns.run` window. True without a stat
 * while nothing has called setns or unshare through {@link getLibc}; false when its namespace
 * cannot be read.
 * @internal
 */
export function jsThreadAtHome(): boolean {
  if (homeNetns === undefined) return true;
  return homeNetns !== "" && netnsOfJsThread() === homeNetns;
}

/**
 * The socket calls of {@link getSocketLibc}: socket, poll, send, recv (also async), close.
 *
 * @example
 * const { socket, close }: SocketLibc = getSocketLibc();
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export interface SocketLibc {
  socket: Fn;
  poll: Fn;
  send: AsyncLibcFunction;
  recv: AsyncLibcFunction;
  close: Fn;
}

let socketLibc: SocketLibc | undefined;

/**
 * libc's socket, poll, send, recv and close (`@cnikit/ns`'s netlink socket), bound on first call.
 *
 * @example
 * const fd = checkSyscall(getSocketLibc().socket(16, 3 | 0x80000, 0), "socket", "(netlink)");
 * @throws {CniError} code 999 when the FFI cannot be loaded.
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export function getSocketLibc(): SocketLibc {
  socketLibc ??= bindLibc({
    socket: "int socket(int domain, int type, int protocol)",
    poll: "int poll(void *fds, unsigned long nfds, int timeout)",
    send: "long send(int fd, const void *buf, size_t len, int flags)",
    recv: "long recv(int fd, _Out_ void *buf, size_t len, int flags)",
    close: "int close(int fd)",
  });
  return socketLibc;
}

/**
 * The symbolic name of an errno number (`ENOENT`), or `errno <n>` for one Node does not name.
 *
 * @example errnoName(2) // "ENOENT"
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export function errnoName(errno: number): string {
  return errnoCode(errno) ?? `errno ${errno}`;
}

/**
 * The errno of the last failed libc call made through these bindings on the JS thread, with its
 * name (koffi saves errno after each call; under Bun each binding reads it through
 * `__errno_location()` as soon as the call returns).
 *
 * @example
 * if (getLibc().setns(fd, 0x40000000) === -1) console.error(lastErrno().code); // "EINVAL"
 * @throws {CniError} code 999 when the FFI cannot be loaded.
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export function lastErrno(): { errno: number; code: string } {
  const errno = lastCallErrno();
  return { errno, code: errnoName(errno) };
}

/**
 * A failed libc call: an Error carrying `errno`, `code` and `syscall` like Node's system errors.
 *
 * @example
 * throw new SyscallError("setns", 22, "EINVAL", "(fd 7)"); // message "setns (fd 7): EINVAL"
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export class SyscallError extends Error {
  /** The errno number (positive, as C sets it). */
  readonly errno: number;
  /** Its symbolic name (`EINVAL`). */
  readonly code: string;
  /** The libc function that failed. */
  readonly syscall: string;
  constructor(syscall: string, errno: number, code: string, detail?: string) {
    super(`${syscall}${detail ? ` ${detail}` : ""}: ${code}`);
    this.name = "SyscallError";
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
  }
}

/**
 * Returns `rc`, or throws a {@link SyscallError} from the current errno when `rc` is -1.
 *
 * @example
 * const fd = checkSyscall(getSocketLibc().socket(16, 3, 0), "socket", "(netlink)");
 * @throws {SyscallError} when `rc` is -1.
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export function checkSyscall(rc: number, syscall: string, detail?: string): number {
  if (rc === -1) {
    const { errno, code } = lastErrno();
    throw new SyscallError(syscall, errno, code, detail);
  }
  return rc;
}

/**
 * flock(2) operations: exclusive, shared, unlock.
 *
 * @example
 * const mode: FlockMode = "ex";
 * flock(fd, mode);
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export type FlockMode = "ex" | "sh" | "un";

/**
 * Options of {@link flock}.
 *
 * @example
 * const got = flock(fd, "ex", { nonBlocking: true } satisfies FlockOptions);
 * @see https://github.com/cnikit/cnikit/blob/main/docs/ipam-plugin.md
 */
export interface FlockOptions {
  /** Return `false` instead of waiting when the lock is held. */
  nonBlocking?: boolean | undefined;
}

const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

/**
 * flock(2) on an open file descriptor: `"ex"` exclusive, `"sh"` shared, `"un"` unlock.
 * Blocking by default (it blocks the event loop while waiting, like Go's host-local); pass
 * `{ nonBlocking: true }` to get `false` back instead of waiting when the lock is held.
 *
 * @example
 * const fd = openSync("/var/lib/cni/networks/mynet/lock", "a+");
 * flock(fd, "ex");
 * try { ... } finally { flock(fd, "un"); closeSync(fd); }
 * @returns true when the operation succeeded, false only for a non-blocking attempt on a held lock.
 * @throws {CniError} code 5 (IoFailure) when flock fails (bad fd, ...).
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export function flock(fd: number, mode: FlockMode, options?: FlockOptions): boolean {
  let op = mode === "ex" ? LOCK_EX : mode === "sh" ? LOCK_SH : mode === "un" ? LOCK_UN : -1;
  if (op === -1) throw new CniError(ErrorCode.Internal, `flock: invalid mode ${String(mode)}`);
  if (options?.nonBlocking && mode !== "un") op |= LOCK_NB;
  const c = getLibc();
  for (;;) {
    const rc = c.flock(fd, op);
    if (rc === 0) return true;
    const { errno, code } = lastErrno();
    if (errno === errnoNumbers().EINTR) continue;
    if (errno === errnoNumbers().EWOULDBLOCK && options?.nonBlocking) return false;
    throw new CniError(ErrorCode.IoFailure, `flock(${fd}, ${mode}) failed: ${code}`, undefined, {
      cause: new SyscallError("flock", errno, code),
    });
  }
}
