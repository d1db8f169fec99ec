/**
 * rtnetlink neighbour operations (RTM_*NEIGH): the ARP/NDP table (AF_INET, AF_INET6) and the
 * bridge forwarding database (AF_BRIDGE: a bridge's or a vxlan device's FDB).
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 * @internal
 */
import { bytesToIp, CniError, ErrorCode, type IpFamily, tryParseIp } from "@cnikit/spec";
import { LinkNotFoundError, NetlinkError } from "./errors.js";
import { getLink, listLinks, macToString, parseMac } from "./links.js";
import { type AttrInput, attrMap, bytes, encodeAttrs, ipAttr, readU32, u16, u16be, u32 } from "./netlink-attrs.js";
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, type RtnlSocket } from "./netlink-socket.js";
import type { LinkRef } from "./netns.js";

const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const RTM_GETNEIGH = 30;
const NDA_DST = 1;
const NDA_LLADDR = 2;
const NDA_VLAN = 5;
const NDA_PORT = 6;
const NDA_VNI = 7;
const NDA_MASTER = 9;
const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_BRIDGE = 7;
const AF_INET6 = 10;
const NTF_SELF = 0x02;
const NTF_MASTER = 0x04;
const NTF_PROXY = 0x08;
const NTF_ROUTER = 0x80;

/** NUD_* bits, in the order a state with several bits is named by. */
const NUD = {
  permanent: 0x80,
  noarp: 0x40,
  reachable: 0x02,
  stale: 0x04,
  delay: 0x08,
  probe: 0x10,
  failed: 0x20,
  incomplete: 0x01,
  none: 0x00,
} as const;
/** States in which the kernel uses the link-layer address (NUD_VALID): they need one. */
const NUD_VALID = NUD.permanent | NUD.noarp | NUD.reachable | NUD.probe | NUD.stale | NUD.delay;

/**
 * A neighbour entry's state (NUD_*), as `ip neigh ... nud <state>` names it.
 *
 * @example
 * const state: NeighbourState = "permanent"; // never expires, never re-resolved
 * await ns.addNeighbour({ link: "vx.1", ip: "10.244.1.0", mac: "0a:58:0a:f4:01:00", state });
 */
export type NeighbourState = keyof typeof NUD;

/**
 * A neighbour (ARP or NDP entry) to add, replace or delete: `ip neigh add <ip> lladdr <mac> dev <link>`.
 *
 * @example
 * const n: NeighbourInput = { link: "vx.1", ip: "10.244.1.0", mac: "0a:58:0a:f4:01:00" };
 * await ns.addNeighbour(n); // permanent by default
 */
export interface NeighbourInput {
  /** The device the neighbour is reached on: name or index. */
  link: LinkRef;
  /** The neighbour's IPv4 or IPv6 address. */
  ip: string;
  /** Its link-layer address, `aa:bb:cc:dd:ee:ff`; needed for every state that uses one (`permanent`, `noarp`, `reachable`, `stale`, `delay`, `probe`) unless `proxy`. */
  mac?: string | undefined;
  /** Default `permanent`. Ignored for a proxy entry. */
  state?: NeighbourState | undefined;
  /** A proxy ARP/NDP entry (`ip neigh add proxy <ip> dev <link>`): answer for `ip` on `link`; no `mac`. */
  proxy?: boolean | undefined;
}

/**
 * A neighbour entry as the kernel reports it.
 *
 * @example
 * const [n]: Neighbour[] = await ns.listNeighbours({ link: "vx.1", family: 4 });
 * // { ip: "10.244.1.0", mac: "0a:58:0a:f4:01:00", link: "vx.1", linkIndex: 5, state: "permanent", proxy: false, router: false }
 */
export interface Neighbour {
  /** The neighbour's address. */
  ip: string;
  /** Its link-layer address (absent for an unresolved entry and for proxy entries). */
  mac?: string;
  /** Name of the device it is on ("" if the device vanished while listing). */
  link: string;
  /** Index of the device it is on. */
  linkIndex: number;
  /** NUD state; a proxy entry reports `none`. */
  state: NeighbourState;
  /** A proxy ARP/NDP entry. */
  proxy: boolean;
  /** NTF_ROUTER: the IPv6 neighbour advertised itself as a router. */
  router: boolean;
}

/**
 * Which neighbours {@link Netns.listNeighbours} returns; unset fields match anything.
 *
 * @example
 * const filter: NeighbourFilter = { link: "eth0", family: 6 };
 * const v6 = await ns.listNeighbours(filter);
 */
export interface NeighbourFilter {
  /** Only the entries on this device (name or index). */
  link?: LinkRef | undefined;
  /** Only IPv4 (ARP) or IPv6 (NDP) entries. */
  family?: IpFamily | undefined;
}

/**
 * A bridge FDB entry's state, as `bridge fdb` names it: `permanent` (NUD_PERMANENT; on a bridge
 * itself, a MAC that is local to the bridge), `static` (never ages out), `dynamic` (ages out).
 * A vxlan device takes `permanent` and `static`; a listed bridge entry that has aged is `dynamic`.
 *
 * @example
 * const state: FdbState = "permanent";
 * await ns.addFdbEntry({ link: "vx.1", mac: "0a:58:0a:f4:01:00", dst: "192.168.0.12", state });
 */
export type FdbState = "permanent" | "static" | "dynamic";

const FDB_NUD: Record<FdbState, number> = {
  permanent: NUD.permanent | NUD.noarp,
  static: NUD.noarp | NUD.reachable,
  dynamic: NUD.reachable,
};

/**
 * A bridge FDB entry to add, replace or delete: `bridge fdb add <mac> dev <link> dst <ip> self permanent`.
 * On a vxlan device, it says which remote VTEP (`dst`) frames for `mac` are sent to; the
 * all-zero MAC is the default destination (flooding), which can hold several `dst` (append them).
 *
 * @example
 * const e: FdbEntryInput = { link: "vx.1", mac: "0a:58:0a:f4:01:00", dst: "192.168.0.12" };
 * await ns.addFdbEntry(e); // self, permanent
 * await ns.addFdbEntry({ link: "vx.1", mac: "00:00:00:00:00:00", dst: "192.168.0.13" }, { append: true });
 */
export interface FdbEntryInput {
  /** The device: a vxlan device or a bridge (`self`), or a bridge port (`master`). Name or index. */
  link: LinkRef;
  /** The MAC address the entry is for. */
  mac: string;
  /** Remote VTEP address (NDA_DST), for a vxlan device. */
  dst?: string | undefined;
  /** Remote UDP port (NDA_PORT); default the device's port. */
  port?: number | undefined;
  /** Remote VNI (NDA_VNI); default the device's VNI. */
  vni?: number | undefined;
  /** VLAN id (NDA_VLAN), for a VLAN-filtering bridge. */
  vlan?: number | undefined;
  /** NTF_SELF: the entry goes into the device's own table (a vxlan device's). Default true, unless `master` is set. */
  self?: boolean | undefined;
  /** NTF_MASTER: the entry goes into the table of the bridge `link` is a port of. Default false. */
  master?: boolean | undefined;
  /** Default `permanent`. */
  state?: FdbState | undefined;
}

/**
 * A bridge FDB entry as the kernel reports it (one per destination: an all-zero MAC with three
 * appended `dst` is three entries).
 *
 * @example
 * const fdb: FdbEntry[] = await ns.listFdbEntries({ link: "vx.1" });
 * // [{ mac: "0a:58:0a:f4:01:00", link: "vx.1", linkIndex: 5, dst: "192.168.0.12", self: true, master: false, state: "permanent" }]
 */
export interface FdbEntry {
  /** The MAC address. */
  mac: string;
  /** Name of the device ("" if it vanished while listing). */
  link: string;
  /** Index of the device. */
  linkIndex: number;
  /** Remote VTEP address (vxlan). */
  dst?: string;
  /** Remote UDP port, only when it differs from the device's port. */
  port?: number;
  /** Remote VNI, only when it differs from the device's VNI. */
  vni?: number;
  /** VLAN id. */
  vlan?: number;
  /** In the device's own table (NTF_SELF). */
  self: boolean;
  /** In the table of the bridge the device is a port of (NTF_MASTER). */
  master: boolean;
  /** `permanent`, `static` or `dynamic` (an aged bridge entry is `dynamic`). */
  state: FdbState;
}

/**
 * Which FDB entries {@link Netns.listFdbEntries} returns.
 *
 * @example
 * const filter: FdbFilter = { link: "vx.1" };
 * const entries = await ns.listFdbEntries(filter);
 */
export interface FdbFilter {
  /** Only the entries of this device (name or index). */
  link?: LinkRef | undefined;
}

/** How a new FDB entry meets an existing one: EEXIST, replace it, or append a destination. */
type FdbMode = "add" | "replace" | "append";

function ndmsg(family: number, ifindex: number, state: number, flags: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(family, 0);
  b.writeInt32LE(ifindex, 4);
  b.writeUInt16LE(state, 8);
  b.writeUInt8(flags, 10);
  return b;
}

function invalid(what: string, msg: string): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, `${what}: ${msg}`);
}

/** The family of a bare address (a CIDR is not one). */
function familyOf(what: string, ip: string): IpFamily {
  const a = typeof ip === "string" && !ip.includes("/") ? tryParseIp(ip) : undefined;
  if (!a) invalid(what, `invalid IP address ${JSON.stringify(ip)}`);
  return a.family;
}

function macOf(what: string, mac: string): Buffer {
  try {
    return parseMac(mac);
  } catch (err) {
    throw CniError.wrap(what, err);
  }
}

function intIn(what: string, name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) invalid(what, `invalid ${name} ${v} (${min}..${max})`);
  return v;
}

function nudName(state: number): NeighbourState {
  for (const [name, bit] of Object.entries(NUD) as [NeighbourState, number][]) {
    if (bit !== 0 && (state & bit) !== 0) return name;
  }
  return "none";
}

async function indexOf(nl: RtnlSocket, link: LinkRef): Promise<number> {
  return typeof link === "number" ? link : (await getLink(nl, link)).index;
}

async function linkNames(nl: RtnlSocket): Promise<Map<number, string>> {
  return new Map((await listLinks(nl)).map((l) => [l.index, l.name]));
}

/** `what` of a request: `add neighbour 10.244.1.0 dev vx.1`. */
function neighbourWhat(op: string, n: { ip: string; link: LinkRef; proxy?: boolean | undefined }): string {
  return `${op} ${n.proxy ? "proxy " : ""}neighbour ${n.ip} dev ${n.link}`;
}

function missing(err: unknown): boolean {
  return err instanceof NetlinkError && err.errnoCode === "ENOENT";
}

/** Sends a request; ENODEV (a link index that does not exist) becomes {@link LinkNotFoundError}. */
async function send(nl: RtnlSocket, type: number, flags: number, body: Buffer, what: string, link: LinkRef): Promise<void> {
  try {
    await nl.request(type, flags, body, what);
  } catch (err) {
    if (err instanceof NetlinkError && err.errnoCode === "ENODEV") throw new LinkNotFoundError(link, { cause: err });
    throw err;
  }
}

/** Validates and encodes a neighbour (everything but the ifindex, resolved after validation). */
function encodeNeighbour(n: NeighbourInput, what: string, op: "add" | "del"): (ifindex: number) => Buffer {
  const family = familyOf(what, n.ip);
  const stateName = n.state ?? "permanent";
  if (!Object.hasOwn(NUD, stateName)) invalid(what, `invalid neighbour state ${JSON.stringify(stateName)}`);
  const state = n.proxy ? 0 : NUD[stateName];
  const attrs: AttrInput[] = [ipAttr(NDA_DST, n.ip)];
  if (n.mac !== undefined) {
    if (n.proxy) invalid(what, "a proxy entry takes no MAC address");
    attrs.push(bytes(NDA_LLADDR, macOf(what, n.mac)));
  } else if (op === "add" && !n.proxy && (state & NUD_VALID) !== 0) {
    invalid(what, `a MAC address is needed for state ${stateName}`);
  }
  const af = family === 4 ? AF_INET : AF_INET6;
  const flags = n.proxy ? NTF_PROXY : 0;
  const tail = encodeAttrs(attrs);
  return (ifindex) => Buffer.concat([ndmsg(af, ifindex, state, flags), tail]);
}

export async function addNeighbour(nl: RtnlSocket, n: NeighbourInput, mode: "add" | "replace"): Promise<void> {
  const what = neighbourWhat(mode, n);
  const body = encodeNeighbour(n, what, "add")(await indexOf(nl, n.link));
  await send(nl, RTM_NEWNEIGH, NLM_F_CREATE | (mode === "replace" ? NLM_F_REPLACE : NLM_F_EXCL), body, what, n.link);
}

export async function deleteNeighbour(nl: RtnlSocket, n: NeighbourInput, missingOk: boolean): Promise<boolean> {
  const what = neighbourWhat("delete", n);
  const body = encodeNeighbour(n, what, "del")(await indexOf(nl, n.link));
  try {
    await send(nl, RTM_DELNEIGH, 0, body, what, n.link);
    return true;
  } catch (err) {
    if (missingOk && missing(err)) return false;
    throw err;
  }
}

export function parseNeighbour(p: Buffer): Omit<Neighbour, "link"> | undefined {
  const family = p.readUInt8(0);
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  const a = attrMap(p, 12);
  const dst = a.get(NDA_DST);
  if (!dst) return undefined;
  const flags = p.readUInt8(10);
  const out: Omit<Neighbour, "link"> = {
    ip: bytesToIp(dst),
    linkIndex: p.readInt32LE(4),
    state: nudName(p.readUInt16LE(8)),
    proxy: (flags & NTF_PROXY) !== 0,
    router: (flags & NTF_ROUTER) !== 0,
  };
  const ll = a.get(NDA_LLADDR);
  if (ll && ll.length > 0) out.mac = macToString(ll);
  return out;
}

export async function listNeighbours(nl: RtnlSocket, f: NeighbourFilter = {}): Promise<Neighbour[]> {
  const linkIndex = f.link === undefined ? undefined : await indexOf(nl, f.link);
  const af = f.family === 4 ? AF_INET : f.family === 6 ? AF_INET6 : AF_UNSPEC;
  // the kernel dumps either the neighbour tables or (ndm_flags == NTF_PROXY) the proxy tables
  const msgs = [
    ...(await nl.dump(RTM_GETNEIGH, ndmsg(af, 0, 0, 0), "list neighbours")),
    ...(await nl.dump(RTM_GETNEIGH, ndmsg(af, 0, 0, NTF_PROXY), "list proxy neighbours")),
  ];
  const names = await linkNames(nl);
  const out: Neighbour[] = [];
  for (const m of msgs) {
    const n = parseNeighbour(m);
    if (!n) continue;
    if (linkIndex !== undefined && n.linkIndex !== linkIndex) continue;
    out.push({ ...n, link: names.get(n.linkIndex) ?? "" });
  }
  return out;
}

// ---- bridge FDB (AF_BRIDGE) ----

function fdbWhat(op: string, e: FdbEntryInput): string {
  return `${op} fdb entry ${e.mac}${e.dst !== undefined ? ` dst ${e.dst}` : ""} dev ${e.link}`;
}

function encodeFdb(e: FdbEntryInput, what: string): (ifindex: number) => Buffer {
  const mac = macOf(what, e.mac);
  const attrs: AttrInput[] = [bytes(NDA_LLADDR, mac)];
  if (e.dst !== undefined) {
    familyOf(what, e.dst);
    attrs.push(ipAttr(NDA_DST, e.dst));
  }
  if (e.port !== undefined) attrs.push(u16be(NDA_PORT, intIn(what, "port", e.port, 1, 65535)));
  if (e.vni !== undefined) attrs.push(u32(NDA_VNI, intIn(what, "VNI", e.vni, 0, 0xffffff)));
  if (e.vlan !== undefined) attrs.push(u16(NDA_VLAN, intIn(what, "VLAN id", e.vlan, 1, 4094)));
  const stateName = e.state ?? "permanent";
  if (!Object.hasOwn(FDB_NUD, stateName)) invalid(what, `invalid FDB entry state ${JSON.stringify(stateName)}`);
  const master = e.master === true;
  const self = e.self ?? !master;
  if (!self && !master) invalid(what, "an FDB entry needs self or master");
  const flags = (self ? NTF_SELF : 0) | (master ? NTF_MASTER : 0);
  const tail = encodeAttrs(attrs);
  return (ifindex) => Buffer.concat([ndmsg(AF_BRIDGE, ifindex, FDB_NUD[stateName], flags), tail]);
}

export async function addFdbEntry(nl: RtnlSocket, e: FdbEntryInput, mode: FdbMode): Promise<void> {
  const what = fdbWhat(mode, e);
  const body = encodeFdb(e, what)(await indexOf(nl, e.link));
  const flags = NLM_F_CREATE | (mode === "replace" ? NLM_F_REPLACE : mode === "append" ? NLM_F_APPEND : NLM_F_EXCL);
  await send(nl, RTM_NEWNEIGH, flags, body, what, e.link);
}

export async function deleteFdbEntry(nl: RtnlSocket, e: FdbEntryInput, missingOk: boolean): Promise<boolean> {
  const what = fdbWhat("delete", e);
  const body = encodeFdb(e, what)(await indexOf(nl, e.link));
  try {
    await send(nl, RTM_DELNEIGH, 0, body, what, e.link);
    return true;
  } catch (err) {
    if (missingOk && missing(err)) return false;
    throw err;
  }
}

export function parseFdbEntry(p: Buffer): Omit<FdbEntry, "link"> | undefined {
  if (p.readUInt8(0) !== AF_BRIDGE) return undefined;
  const a = attrMap(p, 12);
  const ll = a.get(NDA_LLADDR);
  if (!ll) return undefined;
  const state = p.readUInt16LE(8);
  const flags = p.readUInt8(10);
  const out: Omit<FdbEntry, "link"> = {
    mac: macToString(ll),
    linkIndex: p.readInt32LE(4),
    self: (flags & NTF_SELF) !== 0,
    // a bridge reports its entries with NDA_MASTER (its index), not NTF_MASTER
    master: (flags & NTF_MASTER) !== 0 || a.has(NDA_MASTER),
    state: state & NUD.permanent ? "permanent" : state & NUD.noarp ? "static" : "dynamic",
  };
  const dst = a.get(NDA_DST);
  if (dst && (dst.length === 4 || dst.length === 16)) out.dst = bytesToIp(dst);
  const port = a.get(NDA_PORT);
  if (port && port.length >= 2) out.port = port.readUInt16BE(0);
  const vni = readU32(a.get(NDA_VNI));
  if (vni !== undefined) out.vni = vni;
  const vlan = a.get(NDA_VLAN);
  if (vlan && vlan.length >= 2) out.vlan = vlan.readUInt16LE(0);
  return out;
}

export async function listFdbEntries(nl: RtnlSocket, f: FdbFilter = {}): Promise<FdbEntry[]> {
  const linkIndex = f.link === undefined ? undefined : await indexOf(nl, f.link);
  const msgs = await nl.dump(RTM_GETNEIGH, ndmsg(AF_BRIDGE, 0, 0, 0), "list fdb entries");
  const names = await linkNames(nl);
  const out: FdbEntry[] = [];
  for (const m of msgs) {
    const e = parseFdbEntry(m);
    if (!e) continue;
    if (linkIndex !== undefined && e.linkIndex !== linkIndex) continue;
    out.push({ ...e, link: names.get(e.linkIndex) ?? "" });
  }
  return out;
}
