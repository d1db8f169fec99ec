/**
 * The file calls cnikit's packages make on a plugin's path (stat a path, read stdin, open a
 * sysctl, a host-local lease...), in one place: `node:fs` under Node, where it is loaded before
 * the plugin starts; under Bun (Linux x64), libc through `bun:ffi`, which a plugin loads anyway
 * for netlink, instead of `node:fs`, whose first use costs a Bun plugin ~1.5–2 ms and a few MB
 * of RSS. Errors are Node's system errors under both: the same `code`, `errno`, `syscall`,
 * `path` and message (`ENOENT: no such file or directory, open '/x'`), so callers and the texts
 * of the CNI errors built from them do not change. Only what the packages use is here; it is not
 * a general `fs`.
 */
import {
  accessSync,
  closeSync,
  fstatSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  mkdirSync,
  constants as nodeFsConstants,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { constants as osConstants } from "node:os";
// bun:ffi directly, not backend.ts: a Node plugin that only uses fileOps (skel) must not bundle koffi's loader
import { type BunFunction, bunBind, bunErrno, bunMemory } from "./bun-ffi.js";

type BoundFunction = BunFunction;
const lastCallErrno = bunErrno;

/**
 * What a stat call returns: Node's `fs.Stats` under Node, the same fields and tests under Bun.
 *
 * @example
 * const st: FileStat = fileOps.statSync("/proc/self/ns/net");
 * st.isFile(); // false
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 */
export interface FileStat {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
}

/**
 * One directory entry of {@link FileOps.readdirSync} with `withFileTypes`.
 *
 * @example
 * fileOps.readdirSync("/run/netns", { withFileTypes: true }).filter((d: DirEntry) => d.isFile());
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 */
export interface DirEntry {
  name: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/**
 * Linux's open and access flags (`fs.constants`' names), see {@link FileOps.constants}.
 *
 * @example
 * const { O_RDONLY, O_NOFOLLOW }: FileConstants = fileOps.constants;
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 */
export interface FileConstants {
  O_RDONLY: number;
  O_WRONLY: number;
  O_RDWR: number;
  O_CREAT: number;
  O_EXCL: number;
  O_TRUNC: number;
  O_APPEND: number;
  O_NONBLOCK: number;
  O_NOFOLLOW: number;
  O_DIRECTORY: number;
  F_OK: number;
  R_OK: number;
  W_OK: number;
  X_OK: number;
}

/**
 * The file calls of {@link fileOps}: the `node:fs` functions of the same names, with the
 * arguments the packages pass (flags as numbers or as `"r"`, `"w"`, `"wx"`, `"a+"`; strings
 * as UTF-8).
 *
 * @example
 * const fd = fileOps.openSync("/dev/urandom", "r");
 * try { fileOps.readSync(fd, buf, 0, buf.length, null); } finally { fileOps.closeSync(fd); }
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 */
export interface FileOps {
  /** `fs.constants`' open and access flags (Node's own under Node). */
  readonly constants: FileConstants;
  statSync(path: string): FileStat;
  statSync(path: string, options: { throwIfNoEntry: false }): FileStat | undefined;
  lstatSync(path: string): FileStat;
  lstatSync(path: string, options: { throwIfNoEntry: false }): FileStat | undefined;
  fstatSync(fd: number): FileStat;
  openSync(path: string, flags: number | OpenFlagString, mode?: number): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): number;
  writeSync(fd: number, data: string | Uint8Array, offset?: number, length?: number, position?: number | null): number;
  ftruncateSync(fd: number, length: number): void;
  accessSync(path: string, mode: number): void;
  mkdirSync(path: string, options: { recursive?: boolean | undefined; mode?: number | undefined }): void;
  unlinkSync(path: string): void;
  linkSync(existing: string, newPath: string): void;
  readFileSync(path: string, encoding: "utf8"): string;
  writeFileSync(
    path: string,
    text: string,
    options: { mode?: number | undefined; flag?: OpenFlagString | undefined },
  ): void;
  readdirSync(path: string): string[];
  readdirSync(path: string, options: { withFileTypes: true }): DirEntry[];
}

/**
 * The string flags {@link FileOps.openSync} takes (as `fs.openSync`).
 *
 * @example
 * const flag: OpenFlagString = "wx"; // create, fail with EEXIST when it exists
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 */
export type OpenFlagString = "r" | "r+" | "w" | "wx" | "a" | "a+";

// ---------------------------------------------------------------------------------------------
// Linux (x86-64) values, checked against Node's own tables by the tests

const C: FileConstants = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
  F_OK: 0,
  R_OK: 4,
  W_OK: 2,
  X_OK: 1,
};
const O_CLOEXEC = 0o2000000; // libuv opens every file with it
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const S_IFMT = 0o170000;

/**
 * Linux's errno numbers by name (the same on every Linux architecture Node and Bun run on), in
 * the order of Node's `os.constants.errno`, with libuv's message where it has one.
 */
const ERRNO: ReadonlyArray<readonly [string, number, string?]> = [
  ["E2BIG", 7, "argument list too long"],
  ["EACCES", 13, "permission denied"],
  ["EADDRINUSE", 98, "address already in use"],
  ["EADDRNOTAVAIL", 99, "address not available"],
  ["EAFNOSUPPORT", 97, "address family not supported"],
  ["EAGAIN", 11, "resource temporarily unavailable"],
  ["EALREADY", 114, "connection already in progress"],
  ["EBADF", 9, "bad file descriptor"],
  ["EBADMSG", 74],
  ["EBUSY", 16, "resource busy or locked"],
  ["ECANCELED", 125, "operation canceled"],
  ["ECHILD", 10],
  ["ECONNABORTED", 103, "software caused connection abort"],
  ["ECONNREFUSED", 111, "connection refused"],
  ["ECONNRESET", 104, "connection reset by peer"],
  ["EDEADLK", 35],
  ["EDESTADDRREQ", 89, "destination address required"],
  ["EDOM", 33],
  ["EDQUOT", 122],
  ["EEXIST", 17, "file already exists"],
  ["EFAULT", 14, "bad address in system call argument"],
  ["EFBIG", 27, "file too large"],
  ["EHOSTUNREACH", 113, "host is unreachable"],
  ["EIDRM", 43],
  ["EILSEQ", 84, "illegal byte sequence"],
  ["EINPROGRESS", 115],
  ["EINTR", 4, "interrupted system call"],
  ["EINVAL", 22, "invalid argument"],
  ["EIO", 5, "i/o error"],
  ["EISCONN", 106, "socket is already connected"],
  ["EISDIR", 21, "illegal operation on a directory"],
  ["ELOOP", 40, "too many symbolic links encountered"],
  ["EMFILE", 24, "too many open files"],
  ["EMLINK", 31, "too many links"],
  ["EMSGSIZE", 90, "message too long"],
  ["EMULTIHOP", 72],
  ["ENAMETOOLONG", 36, "name too long"],
  ["ENETDOWN", 100, "network is down"],
  ["ENETRESET", 102],
  ["ENETUNREACH", 101, "network is unreachable"],
  ["ENFILE", 23, "file table overflow"],
  ["ENOBUFS", 105, "no buffer space available"],
  ["ENODATA", 61, "no data available"],
  ["ENODEV", 19, "no such device"],
  ["ENOENT", 2, "no such file or directory"],
  ["ENOEXEC", 8],
  ["ENOLCK", 37],
  ["ENOLINK", 67],
  ["ENOMEM", 12, "not enough memory"],
  ["ENOMSG", 42],
  ["ENOPROTOOPT", 92, "protocol not available"],
  ["ENOSPC", 28, "no space left on device"],
  ["ENOSR", 63],
  ["ENOSTR", 60],
  ["ENOSYS", 38, "function not implemented"],
  ["ENOTCONN", 107, "socket is not connected"],
  ["ENOTDIR", 20, "not a directory"],
  ["ENOTEMPTY", 39, "directory not empty"],
  ["ENOTSOCK", 88, "socket operation on non-socket"],
  ["ENOTSUP", 95, "operation not supported on socket"],
  ["ENOTTY", 25, "inappropriate ioctl for device"],
  ["ENXIO", 6, "no such device or address"],
  ["EOPNOTSUPP", 95, "operation not supported on socket"],
  ["EOVERFLOW", 75, "value too large for defined data type"],
  ["EPERM", 1, "operation not permitted"],
  ["EPIPE", 32, "broken pipe"],
  ["EPROTO", 71, "protocol error"],
  ["EPROTONOSUPPORT", 93, "protocol not supported"],
  ["EPROTOTYPE", 91, "protocol wrong type for socket"],
  ["ERANGE", 34, "result too large"],
  ["EROFS", 30, "read-only file system"],
  ["ESPIPE", 29, "invalid seek"],
  ["ESRCH", 3, "no such process"],
  ["ESTALE", 116],
  ["ETIME", 62],
  ["ETIMEDOUT", 110, "connection timed out"],
  ["ETXTBSY", 26, "text file is busy"],
  ["EWOULDBLOCK", 11, "resource temporarily unavailable"],
  ["EXDEV", 18, "cross-device link not permitted"],
];

/** Whether this process uses libc for files: Bun on Linux x86-64 (the stat layout below). */
function onBunLinuxX64(): boolean {
  return typeof process.versions.bun === "string" && process.platform === "linux" && process.arch === "x64";
}

/**
 * errno numbers by name (`os.constants.errno` under Node; Linux's table under Bun, which does
 * not load `node:os` for it).
 *
 * @example errnoNumbers().EINTR // 4
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 * @internal
 */
export function errnoNumbers(): Readonly<Record<string, number>> {
  if (typeof process.versions.bun !== "string") return osConstants.errno;
  errnoTable ??= Object.fromEntries(ERRNO.map(([name, n]) => [name, n]));
  return errnoTable;
}
let errnoTable: Record<string, number> | undefined;

/** The name of an errno number as Node gives it (its first name in `os.constants.errno`). */
export function errnoCode(errno: number): string | undefined {
  if (typeof process.versions.bun !== "string") {
    for (const [k, v] of Object.entries(osConstants.errno)) if (v === errno) return k;
    return undefined;
  }
  return ERRNO.find(([, n]) => n === errno)?.[0];
}

/**
 * A Node-style system error: `ENOENT: no such file or directory, open '/x'`, with `errno`
 * (negative, as Node's), `code`, `syscall`, `path` and `dest`.
 */
function systemError(errno: number, syscall: string, path?: string, dest?: string): NodeJS.ErrnoException {
  const entry = ERRNO.find(([, n]) => n === errno);
  const code = entry?.[0] ?? "UNKNOWN";
  const desc = entry?.[2] ?? `Unknown system error -${errno}`;
  let message = `${code}: ${desc}, ${syscall}`;
  if (path !== undefined) message += ` '${path}'`;
  if (dest !== undefined) message += ` -> '${dest}'`;
  const err = new Error(message) as NodeJS.ErrnoException & { dest?: string };
  err.errno = -errno;
  err.code = code;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  if (dest !== undefined) err.dest = dest;
  return err;
}

// ---------------------------------------------------------------------------------------------
// libc through bun:ffi

/** The calls every plugin makes (stdin, stat, sysctls): bound first. */
interface CoreFileLibc {
  open: BoundFunction;
  close: BoundFunction;
  read: BoundFunction;
  write: BoundFunction;
  fstatat: BoundFunction;
}

/** The rest (host-local's store, netns files): bound on first use. */
interface MoreFileLibc {
  pread: BoundFunction;
  pwrite: BoundFunction;
  ftruncate: BoundFunction;
  access: BoundFunction;
  mkdir: BoundFunction;
  unlink: BoundFunction;
  link: BoundFunction;
  opendir: BoundFunction;
  readdir: BoundFunction;
  closedir: BoundFunction;
}

// two sets: bun:ffi compiles a trampoline per bound function, and a bridge's ADD needs only the first
let coreLibc: CoreFileLibc | undefined;
let moreLibc: MoreFileLibc | undefined;
function lc(): CoreFileLibc {
  if (coreLibc) return coreLibc;
  coreLibc = bunBind({
    open: "int open(const char *path, int flags, int mode)",
    close: "int close(int fd)",
    read: "long read(int fd, void *buf, size_t count)",
    write: "long write(int fd, const void *buf, size_t count)",
    fstatat: "int fstatat(int dirfd, const char *path, void *buf, int flags)",
  });
  return coreLibc;
}
function lc2(): MoreFileLibc {
  if (moreLibc) return moreLibc;
  moreLibc = bunBind({
    pread: "long pread(int fd, void *buf, size_t count, long offset)",
    pwrite: "long pwrite(int fd, const void *buf, size_t count, long offset)",
    ftruncate: "int ftruncate(int fd, long length)",
    access: "int access(const char *path, int mode)",
    mkdir: "int mkdir(const char *path, int mode)",
    unlink: "int unlink(const char *path)",
    link: "int link(const char *existing, const char *newpath)",
    opendir: "void *opendir(const char *path)",
    readdir: "void *readdir64(void *dir)",
    closedir: "int closedir(void *dir)",
  });
  return moreLibc;
}

const EINTR = 4;
const ENOENT = 2;
const EEXIST = 17;

/** Runs a call, again on EINTR (as libuv does), and throws a Node-style error on -1. */
function sys(call: () => number, syscall: string, path?: string, dest?: string): number {
  for (;;) {
    const rc = call();
    if (rc !== -1) return rc;
    const errno = lastCallErrno();
    if (errno === EINTR) continue;
    throw systemError(errno, syscall, path, dest);
  }
}

/** struct stat on x86-64 (144 bytes). */
class LibcStat implements FileStat {
  dev: number;
  ino: number;
  nlink: number;
  mode: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  constructor(b: Uint8Array) {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    this.dev = Number(v.getBigUint64(0, true));
    this.ino = Number(v.getBigUint64(8, true));
    this.nlink = Number(v.getBigUint64(16, true));
    this.mode = v.getUint32(24, true);
    this.uid = v.getUint32(28, true);
    this.gid = v.getUint32(32, true);
    this.rdev = Number(v.getBigUint64(40, true));
    this.size = Number(v.getBigInt64(48, true));
  }
  isFile(): boolean {
    return (this.mode & S_IFMT) === 0o100000;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === 0o040000;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === 0o120000;
  }
  isFIFO(): boolean {
    return (this.mode & S_IFMT) === 0o010000;
  }
  isCharacterDevice(): boolean {
    return (this.mode & S_IFMT) === 0o020000;
  }
}

function statAt(
  fd: number,
  path: string,
  flags: number,
  syscall: string,
  throwIfNoEntry: boolean,
): LibcStat | undefined {
  const buf = new Uint8Array(144);
  const rc = lc().fstatat(fd, path, buf, flags);
  if (rc === 0) return new LibcStat(buf);
  const errno = lastCallErrno();
  if (errno === EINTR) return statAt(fd, path, flags, syscall, throwIfNoEntry);
  if (errno === ENOENT && !throwIfNoEntry) return undefined;
  throw systemError(errno, syscall, syscall === "fstat" ? undefined : path);
}

function openFlags(flags: number | OpenFlagString): number {
  if (typeof flags === "number") return flags;
  switch (flags) {
    case "r":
      return C.O_RDONLY;
    case "r+":
      return C.O_RDWR;
    case "w":
      return C.O_TRUNC | C.O_CREAT | C.O_WRONLY;
    case "wx":
      return C.O_TRUNC | C.O_CREAT | C.O_WRONLY | C.O_EXCL;
    case "a":
      return C.O_APPEND | C.O_CREAT | C.O_WRONLY;
    case "a+":
      return C.O_APPEND | C.O_CREAT | C.O_RDWR;
  }
}

function bytesOf(data: string | Uint8Array, offset = 0, length?: number): Uint8Array {
  const b = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return offset === 0 && (length === undefined || length === b.length)
    ? b
    : b.subarray(offset, offset + (length ?? b.length - offset));
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += libcOps.writeSync(fd, bytes, off, bytes.length - off);
}

function mkdirp(path: string, mode: number): void {
  const rc = lc2().mkdir(path, mode);
  if (rc === 0) return;
  const errno = lastCallErrno();
  if (errno === EINTR) {
    mkdirp(path, mode);
    return;
  }
  if (errno === EEXIST) {
    if (statAt(AT_FDCWD, path, 0, "mkdir", true)?.isDirectory()) return;
    throw systemError(EEXIST, "mkdir", path);
  }
  const parent = path.replace(/\/+[^/]*\/*$/, "");
  if (errno === ENOENT && parent !== "" && parent !== path) {
    mkdirp(parent, mode);
    sys(() => lc2().mkdir(path, mode), "mkdir", path);
    return;
  }
  throw systemError(errno, "mkdir", path);
}

const DT_DIR = 4;
const DT_REG = 8;
const DT_LNK = 10;
const DT_UNKNOWN = 0;

function pointer(p: unknown): number {
  return p === null || p === undefined ? 0 : Number(p);
}

const libcOps: FileOps = {
  constants: C,
  statSync: ((path: string, options?: { throwIfNoEntry?: boolean }) =>
    statAt(AT_FDCWD, path, 0, "stat", options?.throwIfNoEntry !== false)) as FileOps["statSync"],
  lstatSync: ((path: string, options?: { throwIfNoEntry?: boolean }) =>
    statAt(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, "lstat", options?.throwIfNoEntry !== false)) as FileOps["lstatSync"],
  fstatSync: (fd) => statAt(fd, "", AT_EMPTY_PATH, "fstat", true) as LibcStat,
  openSync: (path, flags, mode = 0o666) => sys(() => lc().open(path, openFlags(flags) | O_CLOEXEC, mode), "open", path),
  closeSync: (fd) => {
    // close is not retried on EINTR: the descriptor is gone either way on Linux
    if (lc().close(fd) !== 0) {
      const errno = lastCallErrno();
      if (errno !== EINTR) throw systemError(errno, "close");
    }
  },
  readSync: (fd, buffer, offset, length, position) => {
    const view = buffer.subarray(offset, offset + length);
    return position === null || position === undefined
      ? sys(() => lc().read(fd, view, view.length), "read")
      : sys(() => lc2().pread(fd, view, view.length, position), "read");
  },
  writeSync: (fd, data, offset, length, position) => {
    const view = bytesOf(data, offset, length);
    return position === null || position === undefined
      ? sys(() => lc().write(fd, view, view.length), "write")
      : sys(() => lc2().pwrite(fd, view, view.length, position), "write");
  },
  ftruncateSync: (fd, length) => {
    sys(() => lc2().ftruncate(fd, length), "ftruncate");
  },
  accessSync: (path, mode) => {
    sys(() => lc2().access(path, mode), "access", path);
  },
  mkdirSync: (path, options) => {
    const mode = options.mode ?? 0o777;
    if (options.recursive) mkdirp(path, mode);
    else sys(() => lc2().mkdir(path, mode), "mkdir", path);
  },
  unlinkSync: (path) => {
    sys(() => lc2().unlink(path), "unlink", path);
  },
  linkSync: (existing, newPath) => {
    sys(() => lc2().link(existing, newPath), "link", existing, newPath);
  },
  readFileSync: (path) => {
    const fd = libcOps.openSync(path, C.O_RDONLY);
    try {
      const chunks: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        const buf = Buffer.allocUnsafe(total < 8192 ? 8192 : 65536);
        const n = libcOps.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        chunks.push(buf.subarray(0, n));
        total += n;
      }
      return Buffer.concat(chunks, total).toString("utf8");
    } finally {
      libcOps.closeSync(fd);
    }
  },
  writeFileSync: (path, text, options) => {
    const fd = libcOps.openSync(path, options.flag ?? "w", options.mode ?? 0o666);
    try {
      writeAll(fd, Buffer.from(text, "utf8"));
    } finally {
      libcOps.closeSync(fd);
    }
  },
  readdirSync: ((path: string, options?: { withFileTypes?: boolean }) => {
    const c = lc2();
    const dir = pointer(c.opendir(path));
    if (dir === 0) throw systemError(lastCallErrno(), "scandir", path);
    const mem = bunMemory();
    const entries: { name: string; type: number }[] = [];
    try {
      for (;;) {
        const ent = pointer(c.readdir(dir));
        if (ent === 0) break; // the end (readdir errors are as rare as they are unhelpful here)
        // struct dirent64: d_ino 8, d_off 8, d_reclen 2, d_type 1, d_name
        const name = mem.cstring(ent, 19);
        if (name === "." || name === "..") continue;
        entries.push({ name, type: mem.u8(ent, 18) });
      }
    } finally {
      c.closedir(dir);
    }
    // as libuv's scandir: sorted by name
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (!options?.withFileTypes) return entries.map((e) => e.name);
    return entries.map(({ name, type }): DirEntry => {
      let t = type;
      if (t === DT_UNKNOWN) {
        const st = statAt(AT_FDCWD, `${path}/${name}`, AT_SYMLINK_NOFOLLOW, "lstat", false);
        t = st?.isDirectory() ? DT_DIR : st?.isFile() ? DT_REG : st?.isSymbolicLink() ? DT_LNK : -1;
      }
      return { name, isFile: () => t === DT_REG, isDirectory: () => t === DT_DIR, isSymbolicLink: () => t === DT_LNK };
    });
  }) as FileOps["readdirSync"],
};

const nodeOps: FileOps = {
  get constants() {
    return nodeFsConstants;
  },
  statSync: ((path: string, options?: { throwIfNoEntry: false }) => statSync(path, options)) as FileOps["statSync"],
  lstatSync: ((path: string, options?: { throwIfNoEntry: false }) => lstatSync(path, options)) as FileOps["lstatSync"],
  fstatSync: (fd) => fstatSync(fd),
  openSync: (path, flags, mode) => openSync(path, flags, mode),
  closeSync: (fd) => closeSync(fd),
  readSync: (fd, buffer, offset, length, position) => readSync(fd, buffer, offset, length, position),
  writeSync: (fd, data, offset, length, position) =>
    typeof data === "string" ? writeSync(fd, data) : writeSync(fd, data, offset, length, position),
  ftruncateSync: (fd, length) => ftruncateSync(fd, length),
  accessSync: (path, mode) => accessSync(path, mode),
  mkdirSync: (path, options) => {
    mkdirSync(path, options);
  },
  unlinkSync: (path) => unlinkSync(path),
  linkSync: (existing, newPath) => linkSync(existing, newPath),
  readFileSync: (path, encoding) => readFileSync(path, encoding),
  writeFileSync: (path, text, options) => writeFileSync(path, text, options),
  readdirSync: ((path: string, options?: { withFileTypes: true }) =>
    options ? readdirSync(path, options) : readdirSync(path)) as FileOps["readdirSync"],
};

let chosen: FileOps | undefined;

function choose(): FileOps {
  if (chosen) return chosen;
  chosen = nodeOps;
  if (onBunLinuxX64()) {
    try {
      lc();
      chosen = libcOps;
    } catch {
      // no bun:ffi or an older libc (fstatat appeared in glibc 2.33): node:fs
    }
  }
  return chosen;
}

/**
 * The file calls of cnikit's packages (see {@link FileOps}): `node:fs` under Node; under Bun on
 * Linux x86-64, libc through `bun:ffi`, with Node's error codes and messages. Internal to
 * cnikit's packages: a plugin uses `node:fs`.
 *
 * @example
 * const st = fileOps.statSync("/var/run/netns/x", { throwIfNoEntry: false });
 * @throws Node-style system errors (`code`, `errno`, `syscall`, `path`), as `node:fs`.
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 * @internal
 */
export const fileOps: FileOps = {
  get constants() {
    return choose().constants;
  },
  statSync: ((path: string, options?: { throwIfNoEntry: false }) =>
    options ? choose().statSync(path, options) : choose().statSync(path)) as FileOps["statSync"],
  lstatSync: ((path: string, options?: { throwIfNoEntry: false }) =>
    options ? choose().lstatSync(path, options) : choose().lstatSync(path)) as FileOps["lstatSync"],
  fstatSync: (fd) => choose().fstatSync(fd),
  openSync: (path, flags, mode) => choose().openSync(path, flags, mode),
  closeSync: (fd) => choose().closeSync(fd),
  readSync: (fd, buffer, offset, length, position) => choose().readSync(fd, buffer, offset, length, position),
  writeSync: (fd, data, offset, length, position) => choose().writeSync(fd, data, offset, length, position),
  ftruncateSync: (fd, length) => choose().ftruncateSync(fd, length),
  accessSync: (path, mode) => choose().accessSync(path, mode),
  mkdirSync: (path, options) => choose().mkdirSync(path, options),
  unlinkSync: (path) => choose().unlinkSync(path),
  linkSync: (existing, newPath) => choose().linkSync(existing, newPath),
  readFileSync: (path, encoding) => choose().readFileSync(path, encoding),
  writeFileSync: (path, text, options) => choose().writeFileSync(path, text, options),
  readdirSync: ((path: string, options?: { withFileTypes: true }) =>
    options ? choose().readdirSync(path, options) : choose().readdirSync(path)) as FileOps["readdirSync"],
};

/**
 * Joins path segments with `/` and normalises the result as `path.posix.join` does, without
 * loading `node:path` (under Bun its first use costs ~0.3–0.6 ms).
 *
 * @example joinPath("/var/lib/cni/networks", "mynet", "lock") // "/var/lib/cni/networks/mynet/lock"
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 * @internal
 */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== "").join("/");
  if (joined === "") return ".";
  const absolute = joined.startsWith("/");
  const trailing = joined.endsWith("/");
  const out: string[] = [];
  for (const seg of joined.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(seg);
  }
  let result = out.join("/");
  if (absolute) result = `/${result}`;
  else if (result === "") result = ".";
  if (trailing && result !== "/" && result !== ".") result += "/";
  else if (trailing && result === ".") result = "./";
  return result;
}
