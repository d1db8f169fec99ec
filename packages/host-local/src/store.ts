/**
 * The on-disk lease store of host-local, compatible with Go's
 * (`plugins/ipam/host-local/backend/disk`): one directory per network, one file per leased IP
 * named by the IP text and holding `<containerID>\r\n<ifname>`, `last_reserved_ip.<rangeIdx>`
 * for round-robin, and a `lock` file taken with flock. Go and TypeScript plugins can share a
 * data dir.
 *
 * @see https://www.cni.dev/plugins/current/ipam/host-local/
 */
import { fileOps, type FileStat, flock, joinPath } from "@cnikit/native";
import { type Attachment, CniError, ErrorCode, tryParseIp } from "@cnikit/spec";

/**
 * Go host-local's default data dir.
 *
 * @example
 * const store = await HostLocalStore.open("mynet", { dataDir: config.ipam.dataDir ?? DEFAULT_DATA_DIR });
 */
export const DEFAULT_DATA_DIR = "/var/lib/cni/networks";

const LAST_IP_PREFIX = "last_reserved_ip.";
const LOCK_FILE = "lock";
const LINE_BREAK = "\r\n";
/** Files being written under the lock (never an IP, so never a lease, for Go's plugin either). */
const TMP_PREFIX = ".tmp-";

/**
 * Takes and drops an exclusive lock on an open file descriptor. The default is flock(2)
 * through `@cnikit/native` (the lock Go's host-local takes).
 *
 * @example
 * const noLock: FileLocker = { lock() {}, unlock() {} }; // single-process tests only
 * const store = await HostLocalStore.open("mynet", { dataDir: tmp, locker: noLock });
 */
export interface FileLocker {
  lock(fd: number): void | Promise<void>;
  unlock(fd: number): void | Promise<void>;
}

/**
 * A lease found on disk. `ifName` is undefined for leases written in the old (ID only) format.
 *
 * @example
 * const lease: Lease = { ip: "10.1.0.5", containerId: "ctr1", ifName: "eth0" };
 * store.listLeases().filter((l) => l.containerId === "ctr1");
 */
export interface Lease {
  ip: string;
  containerId: string;
  ifName: string | undefined;
}

/**
 * Options of {@link HostLocalStore.open}.
 *
 * @example
 * const opts: HostLocalStoreOptions = { dataDir: "/run/cni/networks" };
 * const store = await HostLocalStore.open("mynet", opts);
 */
export interface HostLocalStoreOptions {
  /** Root of the data dirs (`ipam.dataDir`); default `/var/lib/cni/networks`. */
  dataDir?: string | undefined;
  /** How the `lock` file is locked; default flock(2) via `@cnikit/native`. */
  locker?: FileLocker | undefined;
}

const flockLocker: FileLocker = {
  lock(fd) {
    flock(fd, "ex");
  },
  unlock(fd) {
    flock(fd, "un");
  },
};

/** In-process queue per directory: flock conflicts between two fds of one process too. */
const localQueues = new Map<string, Promise<void>>();

function ioError(err: unknown, what: string): CniError {
  return new CniError(ErrorCode.Internal, `${what}: ${(err as Error).message}`, undefined, { cause: err });
}

/**
 * The network name must be one plain path component and the data dir absolute without `..`:
 * nothing host-local writes may land outside `<dataDir>/<network>/`.
 */
function assertContained(network: string, dataDir: string): void {
  if (network === "" || network === "." || network === ".." || network.includes("/") || network.includes("\0")) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid network name for a host-local data dir: ${JSON.stringify(network)}`);
  }
  if (!dataDir.startsWith("/") || dataDir.split("/").includes("..") || dataDir.includes("\0")) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid host-local dataDir ${JSON.stringify(dataDir)}: must be an absolute path without ".."`,
    );
  }
}

/** Creates `path` exclusively with `text` (a symlink or file left there is removed, never followed). */
function writeNew(path: string, text: string): void {
  try {
    fileOps.writeFileSync(path, text, { mode: 0o600, flag: "wx" });
  } catch (err) {
    // O_EXCL: the name is taken (a writer killed mid-write, or something planted): replace it
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    removeQuietly(path);
    fileOps.writeFileSync(path, text, { mode: 0o600, flag: "wx" });
  }
}

function removeQuietly(path: string): void {
  try {
    fileOps.unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/**
 * Writes `text` over the regular file `path` in place and cuts it to that length (creating it
 * when missing, and removing what it created when the write fails): no new inode and no rename or truncation to zero, either of which makes ext4
 * write the data out at once (its `auto_da_alloc`: ≈ 0.2 ms per ADD here). Meant for
 * `last_reserved_ip`, a round-robin hint only read under the lock: a crash mid-write can leave a
 * mix of the old and the new text, which reads as another IP or none, so the next search starts
 * elsewhere (the lease files decide what is free). A symlink, FIFO or anything else that is not
 * a regular file there is replaced, never followed or opened for writing.
 */
function overwriteFile(path: string, text: string): void {
  let fd = -1;
  try {
    fd = fileOps.openSync(path, fileOps.constants.O_WRONLY | fileOps.constants.O_NOFOLLOW | fileOps.constants.O_NONBLOCK);
  } catch {
    // ENOENT; ELOOP: a symlink; ENXIO: a FIFO nobody reads...: (re)created below
  }
  if (fd >= 0 && !fileOps.fstatSync(fd).isFile()) {
    fileOps.closeSync(fd);
    fd = -1;
  }
  if (fd < 0) {
    try {
      writeNew(path, text);
    } catch (err) {
      removeQuietly(path); // created but not written (ENOSPC): no empty file left
      throw err;
    }
    return;
  }
  try {
    const bytes = Buffer.from(text, "utf8");
    if (fileOps.writeSync(fd, bytes, 0, bytes.length, 0) !== bytes.length) throw new Error(`short write to ${path}`);
    fileOps.ftruncateSync(fd, bytes.length);
  } finally {
    fileOps.closeSync(fd);
  }
}

function leaseKey(containerId: string, ifName: string): string {
  return `${containerId.trim()}${LINE_BREAK}${ifName}`;
}

/**
 * Go host-local's disk store. Methods other than {@link withLock} and {@link close} do not lock:
 * call them inside `withLock` (as {@link HostLocalAllocator} does).
 *
 * @example
 * const store = await HostLocalStore.open("mynet", { dataDir: "/tmp/cni" });
 * try {
 *   const ok = await store.withLock(() => store.reserve("ctr1", "eth0", "10.1.0.5", "0"));
 * } finally {
 *   store.close();
 * }
 */
export class HostLocalStore {
  /** `<dataDir>/<network>`: where the lease files live. */
  readonly dir: string;
  readonly #lockFd: number;
  readonly #locker: FileLocker;
  #closed = false;

  private constructor(dir: string, lockFd: number, locker: FileLocker) {
    this.dir = dir;
    this.#lockFd = lockFd;
    this.#locker = locker;
  }

  /**
   * Opens (creating with mode 0755 if needed) `<dataDir>/<network>` and its `lock` file.
   * Nothing is ever written outside that directory: the network name must be one path
   * component, the data dir absolute without `..`, the directory itself not a symlink, and
   * symlinks planted in it are replaced, never followed.
   *
   * @throws CniError code 7 for a network name or data dir that would escape, or a symlinked
   *   network dir; code 999 when the directory or lock file cannot be created.
   * @example const store = await HostLocalStore.open("mynet");
   */
  static async open(network: string, options: HostLocalStoreOptions = {}): Promise<HostLocalStore> {
    const dataDir = options.dataDir === undefined || options.dataDir === "" ? DEFAULT_DATA_DIR : options.dataDir;
    assertContained(network, dataDir);
    const dir = joinPath(dataDir, network);
    // a symlink planted at <dataDir>/<network> would send every lease write elsewhere
    let st: FileStat | undefined;
    try {
      st = fileOps.lstatSync(dir, { throwIfNoEntry: false });
    } catch {
      st = undefined; // ENOTDIR, EACCES...: mkdir says which
    }
    if (st === undefined) {
      try {
        fileOps.mkdirSync(dir, { recursive: true, mode: 0o755 });
      } catch (err) {
        throw ioError(err, `mkdir ${dir}`);
      }
      st = fileOps.lstatSync(dir, { throwIfNoEntry: false });
    }
    if (st?.isDirectory() !== true) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `host-local data dir ${dir} is not a directory (a symlink?): refused`);
    }
    let fd: number;
    try {
      fd = fileOps.openSync(joinPath(dir, LOCK_FILE), fileOps.constants.O_RDONLY | fileOps.constants.O_CREAT | fileOps.constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      throw ioError(err, `open ${joinPath(dir, LOCK_FILE)}`);
    }
    return new HostLocalStore(dir, fd, options.locker ?? flockLocker);
  }

  /**
   * Runs `fn` holding the store's exclusive lock (an in-process queue plus flock on `lock`, so
   * other processes, Go's host-local included, wait).
   *
   * @throws whatever `fn` throws; CniError if the lock cannot be taken.
   * @example await store.withLock(() => store.releaseById("ctr1", "eth0"));
   */
  async withLock<T>(fn: () => T | Promise<T>): Promise<T> {
    if (this.#closed) throw new CniError(ErrorCode.Internal, "host-local store is closed");
    const previous = localQueues.get(this.dir) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = previous.then(() => mine);
    localQueues.set(this.dir, tail);
    await previous;
    try {
      await this.#locker.lock(this.#lockFd);
      try {
        return await fn();
      } finally {
        await this.#locker.unlock(this.#lockFd);
      }
    } finally {
      release();
      if (localQueues.get(this.dir) === tail) localQueues.delete(this.dir);
    }
  }

  /**
   * Closes the lock file. The store cannot be used afterwards.
   *
   * @example
   * try { await store.withLock(() => store.releaseById("ctr1", "eth0")); } finally { store.close(); }
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      fileOps.closeSync(this.#lockFd);
    } catch {
      /* already closed */
    }
  }

  /**
   * Reserves `ip` for (containerId, ifName) and records it in `last_reserved_ip.<rangeId>`.
   * Returns false when the IP is already taken. Crash- and disk-full-safe: the lease file is
   * written in full under a temporary name, then linked to its IP name (link(2) fails when the
   * name exists, as Go's O_EXCL create does), so a lease file is never empty or partial;
   * `last_reserved_ip` (a round-robin hint) is overwritten in place, which ext4 does without
   * flushing. When anything fails, nothing is left reserved.
   *
   * @throws CniError code 999 on an I/O error other than "exists" (`write <dir>/<ip>: ENOSPC: no space left on device, ...`).
   * @example store.reserve("ctr1", "eth0", "10.1.0.5", "0") // true
   */
  reserve(containerId: string, ifName: string, ip: string, rangeId: string): boolean {
    const path = joinPath(this.dir, ip);
    const tmp = joinPath(this.dir, `${TMP_PREFIX}${ip}`);
    try {
      writeNew(tmp, leaseKey(containerId, ifName));
      fileOps.linkSync(tmp, path);
    } catch (err) {
      removeQuietly(tmp);
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw ioError(err, `write ${path}`);
    }
    removeQuietly(tmp);
    const lastPath = joinPath(this.dir, LAST_IP_PREFIX + rangeId);
    try {
      overwriteFile(lastPath, ip);
    } catch (err) {
      removeQuietly(path);
      throw ioError(err, `write ${lastPath}`);
    }
    return true;
  }

  /**
   * The text of `last_reserved_ip.<rangeId>`, or undefined when there is none.
   *
   * @example store.lastReservedIp("0") // "10.1.0.5" after store.reserve("ctr1", "eth0", "10.1.0.5", "0")
   */
  lastReservedIp(rangeId: string): string | undefined {
    try {
      return fileOps.readFileSync(joinPath(this.dir, LAST_IP_PREFIX + rangeId), "utf8");
    } catch {
      return undefined;
    }
  }

  /** Every lease file's (name, trimmed content), skipping `lock` and `last_reserved_ip.*`. */
  *#entries(): Generator<{ name: string; path: string; content: string }> {
    let names: string[];
    try {
      names = fileOps.readdirSync(this.dir, { withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => d.name);
    } catch {
      return;
    }
    for (const name of names) {
      if (name === LOCK_FILE || name.startsWith(LAST_IP_PREFIX) || name.startsWith(TMP_PREFIX)) continue;
      const path = joinPath(this.dir, name);
      let content: string;
      try {
        content = fileOps.readFileSync(path, "utf8").trim();
      } catch {
        continue;
      }
      yield { name, path, content };
    }
  }

  /** Removes every lease whose trimmed content equals `match`; returns the file names removed. */
  #releaseByKey(match: string): string[] {
    const released: string[] = [];
    for (const e of this.#entries()) {
      if (e.content !== match) continue;
      try {
        fileOps.unlinkSync(e.path);
        released.push(e.name);
      } catch {
        /* release as much as possible */
      }
    }
    return released;
  }

  /**
   * Releases the leases of (containerId, ifName); when there are none, those of a lease file in
   * the old format holding only `containerId`. Errors are swallowed (release as much as possible).
   * Returns the IPs released.
   *
   * @example await store.withLock(() => store.releaseById("ctr1", "eth0")) // ["10.1.0.5"]
   */
  releaseById(containerId: string, ifName: string): string[] {
    const released = this.#releaseByKey(leaseKey(containerId, ifName));
    if (released.length > 0) return released;
    return this.#releaseByKey(containerId.trim());
  }

  /**
   * True when (containerId, ifName) holds a lease (or an old-format lease of containerId exists).
   *
   * @example if (!store.findById("ctr1", "eth0")) throw new CniError(ErrorCode.Internal, "no lease for ctr1/eth0");
   */
  findById(containerId: string, ifName: string): boolean {
    const key = leaseKey(containerId, ifName);
    const bare = containerId.trim();
    let legacy = false;
    for (const e of this.#entries()) {
      if (e.content === key) return true;
      if (e.content === bare) legacy = true;
    }
    return legacy;
  }

  /**
   * The IPs leased to (containerId, ifName), old-format leases of containerId included.
   *
   * @example store.getById("ctr1", "eth0") // ["10.1.0.5", "fd00::5"]
   */
  getById(containerId: string, ifName: string): string[] {
    const key = leaseKey(containerId, ifName);
    const bare = containerId.trim();
    const out: string[] = [];
    for (const e of this.#entries()) {
      if ((e.content === key || e.content === bare) && tryParseIp(e.name)) out.push(e.name);
    }
    return out;
  }

  /**
   * Every lease in the directory (files whose name is an IP).
   *
   * @example store.listLeases() // [{ ip: "10.1.0.5", containerId: "ctr1", ifName: "eth0" }]
   */
  listLeases(): Lease[] {
    const out: Lease[] = [];
    for (const e of this.#entries()) {
      if (!tryParseIp(e.name)) continue;
      const sep = e.content.indexOf(LINE_BREAK);
      out.push(
        sep < 0
          ? { ip: e.name, containerId: e.content, ifName: undefined }
          : { ip: e.name, containerId: e.content.slice(0, sep), ifName: e.content.slice(sep + LINE_BREAK.length) },
      );
    }
    return out;
  }

  /**
   * GC: releases every lease not held by one of `valid` (SPEC "GC", `cni.dev/valid-attachments`).
   * An old-format lease (ID only) is kept when any valid attachment has that container ID.
   * `lock`, `last_reserved_ip.*` and files whose name is not an IP are never touched, except the
   * temporary files (`.tmp-*`) a writer killed mid-write left.
   * Returns the IPs released.
   *
   * @throws CniError code 999 when a stale lease file exists but cannot be removed.
   * @example store.releaseStale([{ containerID: "ctr1", ifname: "eth0" }])
   */
  releaseStale(valid: readonly Attachment[]): string[] {
    const keep = new Set(valid.map((a) => leaseKey(a.containerID, a.ifname)));
    const keepIds = new Set(valid.map((a) => a.containerID.trim()));
    const released: string[] = [];
    // a temporary file seen under the lock is a leftover of a writer that died (SIGKILL, power loss)
    try {
      for (const name of fileOps.readdirSync(this.dir)) if (name.startsWith(TMP_PREFIX)) removeQuietly(joinPath(this.dir, name));
    } catch {
      /* the directory is read again below */
    }
    for (const lease of this.listLeases()) {
      const held =
        lease.ifName === undefined ? keepIds.has(lease.containerId) : keep.has(leaseKey(lease.containerId, lease.ifName));
      if (held) continue;
      try {
        fileOps.unlinkSync(joinPath(this.dir, lease.ip));
        released.push(lease.ip);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw ioError(err, `remove ${lease.ip}`);
      }
    }
    return released;
  }
}
