/**
 * The few libc calls @cnikit/ns needs, bound lazily through koffi. All are called synchronously
 * except send/recv on a netlink socket (pool-request.ts): never call setns/unshare through
 * koffi's async API (see DESIGN "Network namespaces in Node").
 */
import { constants as osConstants } from "node:os";
import { CniError, ErrorCode } from "@cnikit/spec";
import { loadKoffi } from "./native.js";

type Fn = (...args: unknown[]) => number;

interface Libc {
  setns: Fn;
  unshare: Fn;
  mount: Fn;
  umount2: Fn;
  flock: Fn;
  ioctl: Fn;
}

let libc: Libc | undefined;
let libcLib: ReturnType<ReturnType<typeof loadKoffi>["load"]> | undefined;

function libcLibrary() {
  libcLib ??= loadKoffi().load("libc.so.6");
  return libcLib;
}

/** @internal */
export function getLibc(): Libc {
  if (libc) return libc;
  const lib = libcLibrary();
  libc = {
    setns: lib.func("int setns(int fd, int nstype)") as Fn,
    unshare: lib.func("int unshare(int flags)") as Fn,
    mount: lib.func(
      "int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)",
    ) as Fn,
    umount2: lib.func("int umount2(const char *target, int flags)") as Fn,
    flock: lib.func("int flock(int fd, int operation)") as Fn,
    ioctl: lib.func("int ioctl(int fd, unsigned long request, unsigned long arg)") as Fn,
  };
  return libc;
}

/** The socket calls of RtnlSocket and {@link requestOnPoolThread}. */
interface SocketLibc {
  socket: Fn;
  poll: Fn;
  send: KoffiFn;
  recv: KoffiFn;
  close: Fn;
}

type KoffiFn = Fn & { async: (...args: unknown[]) => void };

let socketLibc: SocketLibc | undefined;

/** @internal */
export function getSocketLibc(): SocketLibc {
  if (socketLibc) return socketLibc;
  const lib = libcLibrary();
  socketLibc = {
    socket: lib.func("int socket(int domain, int type, int protocol)") as Fn,
    poll: lib.func("int poll(void *fds, unsigned long nfds, int timeout)") as Fn,
    send: lib.func("long send(int fd, const void *buf, size_t len, int flags)") as KoffiFn,
    recv: lib.func("long recv(int fd, _Out_ void *buf, size_t len, int flags)") as KoffiFn,
    close: lib.func("int close(int fd)") as Fn,
  };
  return socketLibc;
}

/** @internal errno number → symbolic name (`ENOENT`; `errno 512` for one Node does not name). */
export function errnoName(errno: number): string {
  for (const [k, v] of Object.entries(osConstants.errno)) if (v === errno) return k;
  return `errno ${errno}`;
}

/** @internal errno of the last failed libc call, with its name. */
export function lastErrno(): { errno: number; code: string } {
  const errno = loadKoffi().errno();
  return { errno, code: errnoName(errno) };
}

/** @internal An Error carrying `errno`/`code`/`syscall` like Node's system errors. */
export class SyscallError extends Error {
  readonly errno: number;
  readonly code: string;
  readonly syscall: string;
  constructor(syscall: string, errno: number, code: string, detail?: string) {
    super(`${syscall}${detail ? ` ${detail}` : ""}: ${code}`);
    this.name = "SyscallError";
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
  }
}

/** @internal Throws a SyscallError from the current errno when `rc` is -1. */
export function check(rc: number, syscall: string, detail?: string): number {
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
export function flock(fd: number, mode: FlockMode, options?: { nonBlocking?: boolean }): boolean {
  let op = mode === "ex" ? LOCK_EX : mode === "sh" ? LOCK_SH : mode === "un" ? LOCK_UN : -1;
  if (op === -1) throw new CniError(ErrorCode.Internal, `flock: invalid mode ${String(mode)}`);
  if (options?.nonBlocking && mode !== "un") op |= LOCK_NB;
  const c = getLibc();
  for (;;) {
    const rc = c.flock(fd, op);
    if (rc === 0) return true;
    const { errno, code } = lastErrno();
    if (errno === osConstants.errno.EINTR) continue;
    if (errno === osConstants.errno.EWOULDBLOCK && options?.nonBlocking) return false;
    throw new CniError(ErrorCode.IoFailure, `flock(${fd}, ${mode}) failed: ${code}`, undefined, {
      cause: new SyscallError("flock", errno, code),
    });
  }
}
