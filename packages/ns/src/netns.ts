/**
 * Network namespace handles. A handle owns an fd on the netns and, lazily, a NETLINK_ROUTE
 * socket created inside it; every link/address/route method talks to that socket, so no
 * async work ever runs "inside" a namespace. `run(fn)` switches the main thread into the
 * netns with setns(2) for a synchronous `fn` only, and back in `finally`.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters (CNI_NETNS)
 */
import { stat } from "node:fs";
import { CniError, ErrorCode } from "@cnikit/spec";
import * as addr from "./addresses.js";
import { NetnsClosedError, NetnsNotFoundError, NotANetnsError } from "./errors.js";
import { checkSyscall, fileOps, getLibc, lastErrno, SyscallError } from "@cnikit/native";
import * as links from "./links.js";
import * as neigh from "./neighbours.js";
import { RtnlSocket } from "./netlink-socket.js";
import { openRouteSocket, requestOnPoolThread } from "./pool-request.js";
import * as routes from "./routes.js";
import { readFd, sysctlError, sysctlPath, writeFd } from "./sysctl.js";

const CLONE_NEWNET = 0x40000000;
const NS_GET_NSTYPE = 0xb703;
const MS_BIND = 4096;
const MS_REC = 16384;
const MS_SHARED = 1 << 20;
const MNT_DETACH = 2;

/**
 * Where named namespaces live (as with `ip netns add`).
 *
 * @example
 * const ns = await Netns.open(`${NETNS_RUN_DIR}/blue`); // what Netns.create("blue") makes
 */
export const NETNS_RUN_DIR = "/var/run/netns";

let hostFd = -1;
let currentFd = -1;
let hostHandle: Netns | undefined;

/**
 * First-use set-up, always outside any namespace window: remember the main thread's netns,
 * and make libuv create its thread pool now, in this netns. Pool threads are created lazily
 * and inherit the netns of the creating thread, so creating them here means no async call
 * made later (even, by mistake, inside a window) can start a pool thread inside a container.
 */
function init(): void {
  if (hostFd !== -1) return;
  const bun = (globalThis as { Bun?: { file(path: string): { stat(): Promise<unknown> } } }).Bun;
  // under Bun, its own file API starts the same pool as node:fs's async calls, without loading node:fs
  if (bun) bun.file("/").stat().catch(() => {});
  else stat("/", () => {});
  hostFd = fileOps.openSync("/proc/thread-self/ns/net", fileOps.constants.O_RDONLY);
  currentFd = hostFd;
}

function setnsOrDie(fd: number): void {
  const libc = getLibc();
  for (let i = 0; i < 3; i++) {
    if (libc.setns(fd, CLONE_NEWNET) === 0) return;
  }
  const { errno, code } = lastErrno();
  throw new CniError(
    ErrorCode.Internal,
    "failed to switch the main thread back to its network namespace",
    `setns: ${code}; the process must exit`,
    { cause: new SyscallError("setns", errno, code) },
  );
}

/** @internal Runs `fn` with the main thread inside the netns `fd`; always switches back. */
function inNetns<T>(fd: number, fn: () => T): T {
  init();
  if (fd === currentFd) return checkSync(fn());
  const prev = currentFd;
  checkSyscall(getLibc().setns(fd, CLONE_NEWNET), "setns");
  currentFd = fd;
  try {
    return checkSync(fn());
  } finally {
    setnsOrDie(prev);
    currentFd = prev;
  }
}

function checkSync<T>(value: T): T {
  if (value && typeof (value as { then?: unknown }).then === "function") {
    (value as unknown as Promise<unknown>).then(undefined, () => {});
    throw new CniError(
      ErrorCode.Internal,
      "Netns.run() takes a synchronous function",
      "async work is not bound to the namespace; use the handle's methods (they use a socket bound to the netns)",
    );
  }
  return value;
}

function openNsFd(path: string): number {
  let fd: number;
  try {
    fd = fileOps.openSync(path, fileOps.constants.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new NetnsNotFoundError(path, { cause: err });
    throw new CniError(ErrorCode.InvalidNetns, `failed to open netns "${path}"`, code, { cause: err });
  }
  const type = getLibc().ioctl(fd, NS_GET_NSTYPE, 0);
  if (type !== CLONE_NEWNET) {
    const detail =
      type === -1 ? `not a namespace file (${lastErrno().code})` : "a namespace, but not a network namespace";
    fileOps.closeSync(fd);
    throw new NotANetnsError(path, detail);
  }
  return fd;
}

function netnsPathFor(nameOrPath: string): string {
  if (nameOrPath.includes("/")) return nameOrPath;
  if (nameOrPath === "" || nameOrPath === "." || nameOrPath === ".." || !/^[A-Za-z0-9_.-]{1,200}$/.test(nameOrPath)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid netns name "${nameOrPath}"`);
  }
  return `${NETNS_RUN_DIR}/${nameOrPath}`;
}

/** Makes /var/run/netns a shared mount point, as `ip netns add` does, so the bind mounts propagate. */
function ensureSharedRunDir(): void {
  fileOps.mkdirSync(NETNS_RUN_DIR, { recursive: true, mode: 0o755 });
  const libc = getLibc();
  if (libc.mount("none", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, null) === 0) return;
  const first = lastErrno();
  if (first.code !== "EINVAL")
    throw new SyscallError("mount", first.errno, first.code, `--make-shared ${NETNS_RUN_DIR}`);
  checkSyscall(libc.mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, null), "mount", `--bind ${NETNS_RUN_DIR}`);
  checkSyscall(libc.mount("none", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, null), "mount", `--make-shared ${NETNS_RUN_DIR}`);
}

/**
 * A link given by name or by index.
 *
 * @example
 * const byName: LinkRef = "eth0";
 * const byIndex: LinkRef = (await ns.getLink(byName)).index;
 */
export type LinkRef = string | number;

/**
 * The namespace a helper acts in, as every `@cnikit/ns` helper takes it: `netns` absent (or
 * `undefined`) means the process's own netns ({@link Netns.host}).
 *
 * @example
 * await enableIpForward([4], { netns });            // inside `netns`
 * await getSysctl("net.ipv4.ip_forward");           // the process's own netns
 * await ensureBridge({ name: "cni0", netns: undefined }); // same: undefined is the default
 */
export interface NetnsOption {
  /** The namespace to act in; default the process's own ({@link Netns.host}). */
  netns?: Netns | undefined;
}

/**
 * A handle on one network namespace. Methods act inside it; `close()` releases it.
 *
 * @example
 * const ns = await Netns.open("/var/run/netns/ctr1");
 * try {
 *   await ns.setLinkUp("lo");
 *   await ns.addAddress("eth0", "10.22.0.5/16");
 *   await ns.addRoute({ dst: "0.0.0.0/0", gw: "10.22.0.1" });
 * } finally {
 *   ns.close();
 * }
 */
export class Netns {
  /** The path this handle was opened from. */
  readonly path: string;
  #fd: number;
  #nl: RtnlSocket | undefined;
  #persistent: boolean;

  private constructor(path: string, fd: number, persistent = false) {
    this.path = path;
    this.#fd = fd;
    this.#persistent = persistent;
  }

  /**
   * Opens a netns by path (`/var/run/netns/X`, `/proc/<pid>/ns/net`, ...).
   *
   * @example
   * const ns = await Netns.open(process.env.CNI_NETNS!);
   * @throws {NetnsNotFoundError} when the path does not exist.
   * @throws {NotANetnsError} when the path is not a network namespace.
   */
  static async open(path: string): Promise<Netns> {
    return Netns.openSync(path);
  }

  /**
   * Synchronous {@link Netns.open}.
   *
   * @example
   * const ns = Netns.openSync("/proc/1/ns/net");
   * @throws {NetnsNotFoundError} when the path does not exist.
   * @throws {NotANetnsError} when the path is not a network namespace.
   */
  static openSync(path: string): Netns {
    return new Netns(path, openNsFd(path));
  }

  /**
   * Opens a netns, or returns `undefined` when the path is empty or gone (the DEL case).
   *
   * @example
   * const ns = await Netns.openIfExists(netns);
   * await ns?.deleteLink(ifName, { missingOk: true });
   * @throws {NotANetnsError} when the path exists but is not a network namespace.
   */
  static async openIfExists(path: string | undefined): Promise<Netns | undefined> {
    if (!path) return undefined;
    try {
      return Netns.openSync(path);
    } catch (err) {
      if (err instanceof NetnsNotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * A new handle on the calling thread's current netns (Go's `GetCurrentNS`).
   *
   * @example
   * const here = Netns.current();
   */
  static current(): Netns {
    init();
    return new Netns("/proc/thread-self/ns/net", openNsFd("/proc/thread-self/ns/net"));
  }

  /**
   * The netns the process started in (the host), shared and never closed. Host-side helpers
   * (setupVeth's host end, ensureBridge, enableIpForward, host sysctls) use it.
   *
   * @example
   * const links = await Netns.host().listLinks();
   */
  static host(): Netns {
    init();
    hostHandle ??= new Netns(`/proc/${process.pid}/ns/net`, hostFd, true);
    return hostHandle;
  }

  /**
   * Creates a named netns like `ip netns add NAME`: an empty file under /var/run/netns
   * bind-mounted onto a new netns (made in-process with unshare(2) inside a window).
   * The new netns's `lo` is down, as with `ip netns add`.
   *
   * @example
   * const ns = await Netns.create("ck1a2b3c");
   * @throws {CniError} when the name is invalid, already exists, or the mount fails.
   */
  static async create(name: string): Promise<Netns> {
    const path = netnsPathFor(name);
    init();
    ensureSharedRunDir();
    let fd: number;
    try {
      fd = fileOps.openSync(path, fileOps.constants.O_RDONLY | fileOps.constants.O_CREAT | fileOps.constants.O_EXCL, 0);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CniError(
        ErrorCode.Internal,
        code === "EEXIST" ? `netns "${name}" already exists` : `failed to create netns file ${path}`,
        code,
        { cause: err },
      );
    }
    fileOps.closeSync(fd);
    const libc = getLibc();
    const prev = currentFd;
    let failure: unknown;
    try {
      checkSyscall(libc.unshare(CLONE_NEWNET), "unshare", "(CLONE_NEWNET)");
      currentFd = -2; // unknown (a new netns with no fd of ours)
      checkSyscall(libc.mount("/proc/thread-self/ns/net", path, "none", MS_BIND, null), "mount", `--bind ${path}`);
    } catch (err) {
      failure = err;
    } finally {
      if (currentFd !== prev) setnsOrDie(prev);
      currentFd = prev;
    }
    if (failure !== undefined) {
      try {
        fileOps.unlinkSync(path);
      } catch {
        /* already gone */
      }
      throw new CniError(ErrorCode.Internal, `failed to create netns "${name}"`, (failure as Error).message, {
        cause: failure,
      });
    }
    return Netns.openSync(path);
  }

  /**
   * Deletes a named netns like `ip netns delete NAME` (lazy unmount, then unlink). The kernel
   * frees the namespace once no process or fd uses it.
   *
   * @example
   * await Netns.remove("ck1a2b3c");
   * @throws {NetnsNotFoundError} when there is no such netns.
   */
  static async remove(nameOrPath: string): Promise<void> {
    const path = netnsPathFor(nameOrPath);
    const libc = getLibc();
    if (libc.umount2(path, MNT_DETACH) !== 0) {
      const { errno, code } = lastErrno();
      if (code === "ENOENT") throw new NetnsNotFoundError(path);
      if (code !== "EINVAL") {
        throw new CniError(ErrorCode.Internal, `failed to unmount netns ${path}`, code, {
          cause: new SyscallError("umount2", errno, code),
        });
      }
    }
    try {
      fileOps.unlinkSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new NetnsNotFoundError(path, { cause: err });
      throw new CniError(ErrorCode.Internal, `failed to remove netns ${path}`, code, { cause: err });
    }
  }

  /**
   * The fd on the namespace (valid until `close()`).
   *
   * @example await ctr.createVeth({ name: "eth0", peer: { name: "veth01", netnsFd: Netns.host().fd } });
   * @throws {NetnsClosedError} after close.
   */
  get fd(): number {
    if (this.#fd < 0) throw new NetnsClosedError(this.path);
    return this.#fd;
  }

  /**
   * Whether `close()` was called.
   *
   * @example if (!ns.closed) ns.close();
   */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * The namespace's inode number: equal inodes (and devices) mean the same netns.
   *
   * @example
   * (await Netns.open(p)).inode === Netns.host().inode
   */
  get inode(): number {
    return fileOps.fstatSync(this.fd).ino;
  }

  /**
   * Releases the fd and the netlink socket. Idempotent; a no-op on {@link Netns.host}.
   *
   * @example
   * ns.close();
   */
  close(): void {
    if (this.#persistent || this.#fd < 0) return;
    this.#nl?.close();
    this.#nl = undefined;
    fileOps.closeSync(this.#fd);
    this.#fd = -1;
  }

  /**
   * Runs a **synchronous** function with the main thread inside this netns, and switches back
   * in `finally` (also when `fn` throws). Use it for things that bind to the netns at creation
   * time (sockets, /proc/sys fds). Never await inside: async work is not in the netns.
   *
   * @example
   * const devs = ns.run(() => readFileSync("/proc/thread-self/net/dev", "utf8"));
   * @throws {CniError} when `fn` returns a promise, or when setns fails.
   */
  run<T>(fn: () => T): T {
    return inNetns(this.fd, fn);
  }

  /** @internal the netlink socket bound to this netns (created on first use, inside it). */
  nl(): RtnlSocket {
    const fd = this.fd;
    if (!this.#nl || this.#nl.closed) this.#nl = inNetns(fd, () => new RtnlSocket());
    return this.#nl;
  }

  async #index(link: LinkRef): Promise<number> {
    return typeof link === "number" ? link : (await links.getLink(this.nl(), link)).index;
  }

  // ---- links ----

  /**
   * Lists every link in the netns.
   *
   * @example
   * const names = (await ns.listLinks()).map((l) => l.name);
   */
  async listLinks(): Promise<links.Link[]> {
    return links.listLinks(this.nl());
  }

  /**
   * Gets a link by name or index.
   *
   * @example
   * const eth0 = await ns.getLink("eth0");
   * @throws {LinkNotFoundError} when there is no such link.
   */
  async getLink(link: LinkRef): Promise<links.Link> {
    return links.getLink(this.nl(), link);
  }

  /**
   * Like {@link Netns.getLink} but resolves `undefined` when the link does not exist.
   *
   * @example
   * if (!(await ns.findLink("eth0"))) ...
   */
  async findLink(link: LinkRef): Promise<links.Link | undefined> {
    return links.findLink(this.nl(), link);
  }

  /**
   * Sets a link administratively up.
   *
   * @example
   * await ns.setLinkUp("lo");
   * @throws {LinkNotFoundError} when there is no such link.
   */
  async setLinkUp(link: LinkRef): Promise<void> {
    return links.setLinkUp(this.nl(), link, true);
  }

  /**
   * Sets a link administratively down.
   *
   * @example
   * await ns.setLinkDown("eth0");
   * @throws {LinkNotFoundError} when there is no such link.
   */
  async setLinkDown(link: LinkRef): Promise<void> {
    return links.setLinkUp(this.nl(), link, false);
  }

  /**
   * Sets the MTU.
   *
   * @example
   * await ns.setMtu("eth0", 1450);
   * @throws {LinkNotFoundError} when there is no such link.
   */
  async setMtu(link: LinkRef, mtu: number): Promise<void> {
    return links.setMtu(this.nl(), link, mtu);
  }

  /**
   * Sets the hardware address.
   *
   * @example
   * await ns.setMac("eth0", "02:42:ac:11:00:02");
   * @throws {LinkNotFoundError} when there is no such link.
   */
  async setMac(link: LinkRef, mac: string): Promise<void> {
    return links.setMac(this.nl(), link, mac);
  }

  /**
   * Sets or clears promiscuous mode.
   *
   * @example
   * await ns.setPromisc("cni0", true);
   * @throws {LinkNotFoundError} when there is no such link.
   */
  async setPromisc(link: LinkRef, on: boolean): Promise<void> {
    return links.setPromisc(this.nl(), link, on);
  }

  /**
   * Enslaves a link to a master (bridge) in the same netns, or frees it with `null`.
   *
   * @example
   * await host.setMaster("veth1234abcd", "cni0");
   * @throws {LinkNotFoundError} when the link or the master does not exist.
   */
  async setMaster(link: LinkRef, master: LinkRef | null): Promise<void> {
    return links.setMaster(this.nl(), link, master);
  }

  /**
   * Renames a link (it must be down for most kinds).
   *
   * @example
   * await ns.renameLink("tmp0", "eth0");
   * @throws {LinkNotFoundError} when `from` does not exist.
   * @throws {LinkExistsError} when `to` is taken.
   */
  async renameLink(from: LinkRef, to: string): Promise<void> {
    return links.renameLink(this.nl(), from, to);
  }

  /**
   * Deletes a link (a veth takes its peer with it). Resolves true if it deleted something.
   *
   * @example
   * await ns.deleteLink("eth0", { missingOk: true });
   * @throws {LinkNotFoundError} when it does not exist and `missingOk` is not set.
   */
  async deleteLink(link: LinkRef, options?: { missingOk?: boolean | undefined }): Promise<boolean> {
    // The kernel takes long over a delete (a veth: ~20 ms of RCU grace periods, in sendmsg(2)):
    // it runs on a pool thread, on a socket of its own, and the event loop keeps going meanwhile.
    const onPool = {
      request: async (type: number, flags: number, body: Buffer, what: string) => {
        await requestOnPoolThread(this.run(openRouteSocket), type, flags, body, what);
        return [];
      },
    };
    return links.deleteLink(onPool, link, options?.missingOk === true);
  }

  /**
   * Creates a veth pair in this netns; the peer can be born directly in another netns. Resolves
   * with the new link (`options.name`, see {@link Netns.createBridge} for what it holds); the
   * peer's index in its netns is its `parentIndex`.
   *
   * @example
   * const eth0 = await ctr.createVeth({ name: "eth0", peer: { name: "veth01", netnsFd: Netns.host().fd } });
   * @throws {LinkExistsError} when a name is taken.
   */
  async createVeth(options: links.CreateVethOptions): Promise<links.Link> {
    return links.createVeth(this.nl(), options);
  }

  /**
   * Creates a Linux bridge. Resolves with the new link as the kernel reported it on creation
   * (index, MAC, MTU, flags; `master` as requested): its operational state and port attributes
   * such as `slaveKind` may lag, {@link Netns.getLink} reads them later.
   *
   * @example
   * const br = await ns.createBridge({ name: "br0", mtu: 1500 });
   * @throws {LinkExistsError} when the name is taken.
   */
  async createBridge(options: links.CreateBridgeOptions): Promise<links.Link> {
    return links.createBridge(this.nl(), options);
  }

  /**
   * Creates a VXLAN device. Resolves with the new link (see {@link Netns.createBridge} for what it holds).
   *
   * @example
   * const vx = await ns.createVxlan({ name: "vx0", id: 42, local: "10.0.0.1", remote: "10.0.0.2", port: 4789 });
   * @throws {LinkExistsError} when the name is taken.
   */
  async createVxlan(options: links.CreateVxlanOptions): Promise<links.Link> {
    return links.createVxlan(this.nl(), options);
  }

  /**
   * Sets bridge-port flags (hairpin, learning, isolated, ...) on an enslaved link.
   *
   * @example
   * await host.setBridgePort("veth1234abcd", { hairpin: true });
   * @throws {LinkNotFoundError} when there is no such link.
   */
  async setBridgePort(link: LinkRef, flags: links.BridgePortFlags): Promise<void> {
    return links.setBridgePort(this.nl(), link, flags);
  }

  // ---- addresses ----

  /**
   * Adds an address (`ip/prefix`, v4 or v6) to a link.
   *
   * @example
   * await ns.addAddress("eth0", "10.22.0.5/16");
   * await ns.addAddress("eth0", "fd00::5/64", { noDad: true });
   * @throws {LinkNotFoundError} when there is no such link.
   * @throws {NetlinkError} with errnoCode EEXIST when the address is already there.
   */
  async addAddress(link: LinkRef, cidr: string, options?: addr.AddAddressOptions): Promise<void> {
    return addr.addAddress(this.nl(), await this.#index(link), cidr, options);
  }

  /**
   * Removes an address from a link.
   *
   * @example
   * await ns.deleteAddress("eth0", "10.22.0.5/16");
   * @throws {LinkNotFoundError} when there is no such link.
   * @throws {NetlinkError} (EADDRNOTAVAIL) when the address is not there.
   */
  async deleteAddress(link: LinkRef, cidr: string): Promise<void> {
    return addr.deleteAddress(this.nl(), await this.#index(link), cidr);
  }

  /**
   * Lists addresses, of one link or of all.
   *
   * @example
   * const v4 = (await ns.listAddresses("eth0")).filter((a) => a.family === 4);
   * @throws {LinkNotFoundError} when the link does not exist.
   */
  async listAddresses(link?: LinkRef, options?: { family?: 4 | 6 | undefined }): Promise<addr.Address[]> {
    const idx = link === undefined ? undefined : await this.#index(link);
    return addr.listAddresses(this.nl(), idx, options?.family);
  }

  // ---- routes ----

  /**
   * Adds a route (fails with EEXIST if an identical one exists; `append` adds an ECMP path).
   *
   * @example
   * await ns.addRoute({ dst: "0.0.0.0/0", gw: "10.22.0.1", dev: "eth0" });
   * await ns.addRoute({ dst: "10.99.0.0/16", dev: "eth0", scope: "link" });
   * @throws {LinkNotFoundError} when `dev` does not exist.
   * @throws {NetlinkError} when the kernel refuses (EEXIST, ENETUNREACH, ...).
   */
  async addRoute(route: routes.RouteInput, options?: { append?: boolean | undefined }): Promise<void> {
    const dev = route.dev === undefined ? undefined : await this.#index(route.dev);
    return routes.addRoute(this.nl(), route, dev, options?.append ? "append" : "add");
  }

  /**
   * Adds or replaces a route.
   *
   * @example
   * await ns.replaceRoute({ dst: "default", gw: "10.22.0.254" });
   * @throws {LinkNotFoundError} when `dev` does not exist.
   * @throws {NetlinkError} when the kernel refuses.
   */
  async replaceRoute(route: routes.RouteInput): Promise<void> {
    const dev = route.dev === undefined ? undefined : await this.#index(route.dev);
    return routes.addRoute(this.nl(), route, dev, "replace");
  }

  /**
   * Deletes a route (unset fields match anything).
   *
   * @example
   * await ns.deleteRoute({ dst: "10.99.0.0/16" });
   * @throws {NetlinkError} (ESRCH) when no such route exists.
   */
  async deleteRoute(route: routes.RouteInput): Promise<void> {
    const dev = route.dev === undefined ? undefined : await this.#index(route.dev);
    return routes.deleteRoute(this.nl(), route, dev);
  }

  /**
   * Lists routes of the main table (or `table`), optionally for one device/family.
   *
   * @example
   * const defaults = (await ns.listRoutes({ family: 4 })).filter((r) => r.dst === "0.0.0.0/0");
   * @throws {LinkNotFoundError} when `dev` does not exist.
   */
  async listRoutes(filter?: {
    family?: 4 | 6 | undefined;
    dev?: LinkRef | undefined;
    table?: number | "all" | undefined;
  }): Promise<routes.RouteEntry[]> {
    const dev = filter?.dev === undefined ? undefined : await this.#index(filter.dev);
    return routes.listRoutes(this.nl(), { family: filter?.family, table: filter?.table, dev });
  }

  // ---- neighbours and FDB ----

  /**
   * Adds a neighbour (ARP/NDP entry), like `ip neigh add <ip> lladdr <mac> dev <link> nud permanent`.
   *
   * @example
   * await ns.addNeighbour({ link: "vx.1", ip: "10.244.1.0", mac: "0a:58:0a:f4:01:00" });
   * await ns.addNeighbour({ link: "eth0", ip: "10.22.0.9", proxy: true });
   * @throws {CniError} code 7 when the IP, MAC or state is invalid (`add neighbour <ip> dev <link>: ...`).
   * @throws {LinkNotFoundError} when `link` does not exist.
   * @throws {NetlinkError} (EEXIST) when an entry for `ip` on `link` exists.
   */
  async addNeighbour(neighbour: neigh.NeighbourInput): Promise<void> {
    return neigh.addNeighbour(this.nl(), neighbour, "add");
  }

  /**
   * Adds or replaces a neighbour, like `ip neigh replace`.
   *
   * @example
   * await ns.replaceNeighbour({ link: "vx.1", ip: "10.244.1.0", mac: "0a:58:0a:f4:01:01" });
   * @throws {CniError} code 7 when the IP, MAC or state is invalid.
   * @throws {LinkNotFoundError} when `link` does not exist.
   * @throws {NetlinkError} when the kernel refuses.
   */
  async replaceNeighbour(neighbour: neigh.NeighbourInput): Promise<void> {
    return neigh.addNeighbour(this.nl(), neighbour, "replace");
  }

  /**
   * Deletes the neighbour for `ip` on `link` (`mac` and `state` are not compared; set `proxy`
   * for a proxy entry). Resolves true if it deleted something.
   *
   * @example
   * await ns.deleteNeighbour({ link: "vx.1", ip: "10.244.1.0" }, { missingOk: true });
   * @throws {CniError} code 7 when the IP is invalid.
   * @throws {LinkNotFoundError} when `link` does not exist.
   * @throws {NetlinkError} (ENOENT) when there is no such entry and `missingOk` is not set.
   */
  async deleteNeighbour(
    neighbour: neigh.NeighbourInput,
    options?: { missingOk?: boolean | undefined },
  ): Promise<boolean> {
    return neigh.deleteNeighbour(this.nl(), neighbour, options?.missingOk === true);
  }

  /**
   * Lists neighbours (ARP and NDP entries, proxy entries included), of one link or family or all.
   *
   * @example
   * const peers = (await ns.listNeighbours({ link: "vx.1", family: 4 })).filter((n) => n.state === "permanent");
   * @throws {LinkNotFoundError} when `filter.link` does not exist.
   */
  async listNeighbours(filter?: neigh.NeighbourFilter): Promise<neigh.Neighbour[]> {
    return neigh.listNeighbours(this.nl(), filter);
  }

  /**
   * Adds a bridge FDB entry, like `bridge fdb add <mac> dev <link> dst <ip> self permanent`;
   * `append` adds one more destination to an entry (NLM_F_APPEND, `bridge fdb append`), which a
   * vxlan device allows for the all-zero MAC (flooding to several VTEPs) and multicast MACs.
   *
   * @example
   * await ns.addFdbEntry({ link: "vx.1", mac: "0a:58:0a:f4:01:00", dst: "192.168.0.12" });
   * await ns.addFdbEntry({ link: "vx.1", mac: "00:00:00:00:00:00", dst: "192.168.0.13" }, { append: true });
   * @throws {CniError} code 7 when the MAC, dst, port, VNI, VLAN or state is invalid.
   * @throws {LinkNotFoundError} when `link` does not exist.
   * @throws {NetlinkError} (EEXIST) when an entry for `mac` exists and `append` is not set.
   */
  async addFdbEntry(entry: neigh.FdbEntryInput, options?: { append?: boolean | undefined }): Promise<void> {
    return neigh.addFdbEntry(this.nl(), entry, options?.append ? "append" : "add");
  }

  /**
   * Adds or replaces a bridge FDB entry, like `bridge fdb replace` (on a vxlan device: moves a
   * unicast MAC to a new `dst`; the kernel refuses it for the all-zero and multicast MACs).
   *
   * @example
   * await ns.replaceFdbEntry({ link: "vx.1", mac: "0a:58:0a:f4:01:00", dst: "192.168.0.14" });
   * @throws {CniError} code 7 when the MAC, dst, port, VNI, VLAN or state is invalid.
   * @throws {LinkNotFoundError} when `link` does not exist.
   * @throws {NetlinkError} when the kernel refuses (EOPNOTSUPP for a non-unicast MAC on vxlan).
   */
  async replaceFdbEntry(entry: neigh.FdbEntryInput): Promise<void> {
    return neigh.addFdbEntry(this.nl(), entry, "replace");
  }

  /**
   * Deletes a bridge FDB entry, like `bridge fdb del`: with `dst`, only that destination; without,
   * the entry with all its destinations. Resolves true unless the entry was missing and
   * `missingOk` is set. On a vxlan device a destination matches on `dst`, `port` and `vni` (unset:
   * the device's), and the kernel answers success when `mac` exists but no destination matches.
   *
   * @example
   * await ns.deleteFdbEntry({ link: "vx.1", mac: "0a:58:0a:f4:01:00", dst: "192.168.0.12" }, { missingOk: true });
   * @throws {CniError} code 7 when the MAC or dst is invalid.
   * @throws {LinkNotFoundError} when `link` does not exist.
   * @throws {NetlinkError} (ENOENT) when there is no such entry and `missingOk` is not set.
   */
  async deleteFdbEntry(entry: neigh.FdbEntryInput, options?: { missingOk?: boolean | undefined }): Promise<boolean> {
    return neigh.deleteFdbEntry(this.nl(), entry, options?.missingOk === true);
  }

  /**
   * Lists bridge FDB entries (`bridge fdb show`), of one link or of all.
   *
   * @example
   * const vteps = (await ns.listFdbEntries({ link: "vx.1" })).map((e) => e.dst);
   * @throws {LinkNotFoundError} when `filter.link` does not exist.
   */
  async listFdbEntries(filter?: neigh.FdbFilter): Promise<neigh.FdbEntry[]> {
    return neigh.listFdbEntries(this.nl(), filter);
  }

  // ---- sysctl ----

  /**
   * Reads a sysctl as seen inside this netns (`net.ipv4.ip_forward` or `net/ipv4/ip_forward`).
   *
   * @example
   * await ns.getSysctl("net.ipv6.conf.all.disable_ipv6") // "0"
   * @throws {CniError} code 5 when it cannot be read.
   */
  async getSysctl(name: string): Promise<string> {
    return this.getSysctlSync(name);
  }

  /** Synchronous {@link Netns.getSysctl}. @example ns.getSysctlSync("net.ipv4.ip_forward") @throws {CniError} code 5 */
  getSysctlSync(name: string): string {
    const path = sysctlPath(name);
    let fd: number;
    try {
      fd = this.run(() => fileOps.openSync(path, fileOps.constants.O_RDONLY));
    } catch (err) {
      if (err instanceof CniError) throw err;
      throw sysctlError(name, "read", err);
    }
    try {
      return readFd(fd);
    } catch (err) {
      throw sysctlError(name, "read", err);
    }
  }

  /**
   * Writes a sysctl inside this netns.
   *
   * @example
   * await ns.setSysctl("net.ipv4.conf.eth0.arp_notify", "1");
   * @throws {CniError} code 5 when it cannot be written.
   */
  async setSysctl(name: string, value: string | number): Promise<void> {
    this.setSysctlSync(name, value);
  }

  /** Synchronous {@link Netns.setSysctl}. @example ns.setSysctlSync("net.ipv4.ip_forward", 1) @throws {CniError} code 5 */
  setSysctlSync(name: string, value: string | number): void {
    const path = sysctlPath(name);
    let fd: number;
    try {
      fd = this.run(() => fileOps.openSync(path, fileOps.constants.O_WRONLY));
    } catch (err) {
      if (err instanceof CniError) throw err;
      throw sysctlError(name, "write", err);
    }
    try {
      writeFd(fd, String(value));
    } catch (err) {
      throw sysctlError(name, "write", err);
    }
  }
}
