/**
 * rtnetlink link operations (RTM_*LINK), including our own IFLA_LINKINFO encoding for
 * veth, bridge and vxlan.
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 * @internal
 */
import { bytesToIp, CniError, ErrorCode, ipFamily } from "@cnikit/spec";
import { LinkExistsError, LinkNotFoundError, NetlinkError } from "./errors.js";
import {
  type AttrInput,
  attrMap,
  bytes,
  encodeAttrs,
  ipAttr,
  nested,
  readStr,
  readU32,
  readU8,
  str,
  u16be,
  u32,
  u8,
} from "./netlink-attrs.js";
import { NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, type RtnlSocket } from "./netlink-socket.js";

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_SETLINK = 19;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_MASTER = 10;
const IFLA_PROTINFO = 12;
const IFLA_TXQLEN = 13;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_IFALIAS = 20;
const IFLA_NET_NS_FD = 28;
const IFLA_LINK_NETNSID = 37;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_INFO_SLAVE_KIND = 4;
const VETH_INFO_PEER = 1;
const IFLA_BR_VLAN_FILTERING = 7;

const AF_BRIDGE = 7;
/**
 * Link flag bits (IFF_*).
 *
 * @example
 * const lo = await ns.getLink("lo");
 * const running = (lo.flags & IFF.RUNNING) !== 0;
 */
export const IFF = {
  UP: 0x1,
  BROADCAST: 0x2,
  LOOPBACK: 0x8,
  RUNNING: 0x40,
  PROMISC: 0x100,
  LOWER_UP: 0x10000,
} as const;

const OPERSTATES = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"] as const;

/**
 * A network interface as the kernel reports it.
 *
 * @example
 * const eth0: Link = await ns.getLink("eth0");
 * // { name: "eth0", index: 2, mac: "0a:58:0a:16:00:05", mtu: 1500, up: true, operState: "up", kind: "veth", ... }
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success (a result's `interfaces` entry is built from it)
 */
export interface Link {
  /** Interface name (≤ 15 bytes). */
  name: string;
  /** Interface index (unique within its netns). */
  index: number;
  /** Hardware address, lower-case `aa:bb:cc:dd:ee:ff` ("" when the link has none). */
  mac: string;
  /** MTU in bytes. */
  mtu: number;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Operational state (`up`, `down`, `lowerlayerdown`, `unknown`, ...). */
  operState: string;
  /** Raw IFF_* flags. */
  flags: number;
  /** Promiscuous mode. */
  promisc: boolean;
  /** `IFLA_INFO_KIND`: "veth", "bridge", "vxlan", ... (undefined for physical links and lo). */
  kind?: string;
  /** `IFLA_INFO_SLAVE_KIND`, e.g. "bridge" when the link is a bridge port. */
  slaveKind?: string;
  /** Index of the master (bridge) device, if enslaved. */
  master?: number;
  /** `IFLA_LINK`: for a veth, the peer's index (in the peer's netns). */
  parentIndex?: number;
  /** `IFLA_LINK_NETNSID`: the netns id (relative to this netns) where the peer/parent lives. */
  linkNetnsId?: number;
  /** Transmit queue length. */
  txqlen?: number;
  /** Interface alias, if set. */
  alias?: string;
  /** The VXLAN settings (`IFLA_INFO_DATA`) when `kind` is "vxlan". */
  vxlan?: VxlanInfo;
}

/**
 * A vxlan device's settings as the kernel reports them (`ip -d link show` shows the same).
 *
 * @example
 * const vx = (await ns.getLink("vx.1")).vxlan;
 * // { id: 1, local: "192.168.0.11", dev: 2, port: 8472, learning: false, gbp: false, ttl: 0 }
 */
export interface VxlanInfo {
  /** VXLAN network identifier (VNI). */
  id: number;
  /** Local (source) address, when set. */
  local?: string;
  /** The unicast remote or the multicast group, when set. */
  group?: string;
  /** Index of the underlay device, when set. */
  dev?: number;
  /** UDP destination port. */
  port: number;
  /** Learns remote MACs from received packets. */
  learning: boolean;
  /** Group Based Policy extension (VXLAN-GBP). */
  gbp: boolean;
  /** TTL of the outer packets (0: the kernel's default). */
  ttl: number;
}

/** Formats 6 bytes as `aa:bb:cc:dd:ee:ff`. */
export function macToString(b: Buffer | undefined): string {
  if (!b || b.length === 0) return "";
  const hex = b.toString("hex");
  let out = hex.slice(0, 2);
  for (let i = 2; i < hex.length; i += 2) out += `:${hex.slice(i, i + 2)}`;
  return out;
}

/** Parses `aa:bb:cc:dd:ee:ff` (or `-` separated) into 6 bytes. */
export function parseMac(mac: string): Buffer {
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid MAC address "${mac}"`);
  }
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

function ifinfomsg(opts: { family?: number; index?: number; flags?: number; change?: number } = {}): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(opts.family ?? 0, 0);
  b.writeInt32LE(opts.index ?? 0, 4);
  b.writeUInt32LE((opts.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((opts.change ?? 0) >>> 0, 12);
  return b;
}

/** The attributes {@link parseLink} reads. */
const LINK_ATTRS = [
  IFLA_IFNAME,
  IFLA_ADDRESS,
  IFLA_MTU,
  IFLA_OPERSTATE,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_LINK,
  IFLA_LINK_NETNSID,
  IFLA_TXQLEN,
  IFLA_IFALIAS,
];

/** Decodes an RTM_NEWLINK payload. */
export function parseLink(p: Buffer): Link {
  const index = p.readInt32LE(4);
  const flags = p.readUInt32LE(8);
  const a = attrMap(p, 16, p.length, LINK_ATTRS);
  const link: Link = {
    name: readStr(a.get(IFLA_IFNAME)) ?? "",
    index,
    mac: macToString(a.get(IFLA_ADDRESS)),
    mtu: readU32(a.get(IFLA_MTU)) ?? 0,
    up: (flags & IFF.UP) !== 0,
    operState: OPERSTATES[readU8(a.get(IFLA_OPERSTATE)) ?? 0] ?? "unknown",
    flags,
    promisc: (flags & IFF.PROMISC) !== 0,
  };
  const info = a.get(IFLA_LINKINFO);
  if (info) {
    const i = attrMap(info);
    const kind = readStr(i.get(IFLA_INFO_KIND));
    if (kind) link.kind = kind;
    const slaveKind = readStr(i.get(IFLA_INFO_SLAVE_KIND));
    if (slaveKind) link.slaveKind = slaveKind;
    const data = i.get(IFLA_INFO_DATA);
    if (kind === "vxlan" && data) link.vxlan = parseVxlan(data);
  }
  const master = readU32(a.get(IFLA_MASTER));
  if (master) link.master = master;
  const parent = readU32(a.get(IFLA_LINK));
  const nsid = a.get(IFLA_LINK_NETNSID);
  if (nsid && nsid.length >= 4) link.linkNetnsId = nsid.readInt32LE(0);
  if (parent !== undefined && (parent !== index || link.linkNetnsId !== undefined)) link.parentIndex = parent;
  const txq = readU32(a.get(IFLA_TXQLEN));
  if (txq !== undefined) link.txqlen = txq;
  const alias = readStr(a.get(IFLA_IFALIAS));
  if (alias) link.alias = alias;
  return link;
}

/** Decodes a vxlan IFLA_INFO_DATA. */
function parseVxlan(data: Buffer): VxlanInfo {
  const d = attrMap(data);
  const port = d.get(VX.PORT);
  const info: VxlanInfo = {
    id: readU32(d.get(VX.ID)) ?? 0,
    port: port && port.length >= 2 ? port.readUInt16BE(0) : 0,
    learning: (readU8(d.get(VX.LEARNING)) ?? 0) !== 0,
    gbp: d.has(VX.GBP),
    ttl: readU8(d.get(VX.TTL)) ?? 0,
  };
  const local = d.get(VX.LOCAL) ?? d.get(VX.LOCAL6);
  if (local) info.local = bytesToIp(local);
  const group = d.get(VX.GROUP) ?? d.get(VX.GROUP6);
  if (group) info.group = bytesToIp(group);
  const dev = readU32(d.get(VX.LINK));
  if (dev) info.dev = dev;
  return info;
}

/** Name or index selector attributes. */
function selector(link: string | number): { index: number; attrs: AttrInput[] } {
  if (typeof link === "number") return { index: link, attrs: [] };
  return { index: 0, attrs: [str(IFLA_IFNAME, link)] };
}

function notFound(link: string | number, err: unknown): never {
  if (err instanceof NetlinkError && (err.errnoCode === "ENODEV" || err.errnoCode === "ENOENT")) {
    throw new LinkNotFoundError(link, { cause: err });
  }
  throw err;
}

export async function listLinks(nl: RtnlSocket): Promise<Link[]> {
  const msgs = await nl.dump(RTM_GETLINK, ifinfomsg(), "list links");
  return msgs.map(parseLink);
}

export async function getLink(nl: RtnlSocket, link: string | number): Promise<Link> {
  const s = selector(link);
  try {
    const msgs = await nl.request(
      RTM_GETLINK,
      0,
      Buffer.concat([ifinfomsg({ index: s.index }), encodeAttrs(s.attrs)]),
      `get link ${link}`,
    );
    const m = msgs[0];
    if (!m) throw new LinkNotFoundError(link);
    return parseLink(m);
  } catch (err) {
    notFound(link, err);
  }
}

export async function findLink(nl: RtnlSocket, link: string | number): Promise<Link | undefined> {
  try {
    return await getLink(nl, link);
  } catch (err) {
    if (err instanceof LinkNotFoundError) return undefined;
    throw err;
  }
}

/** Changes attributes/flags of an existing link (RTM_NEWLINK without NLM_F_CREATE). */
export async function modifyLink(
  nl: RtnlSocket,
  link: string | number,
  what: string,
  change: { flags?: number; change?: number; attrs?: AttrInput[] },
): Promise<void> {
  const s = selector(link);
  const body = Buffer.concat([
    ifinfomsg({ index: s.index, flags: change.flags ?? 0, change: change.change ?? 0 }),
    encodeAttrs([...s.attrs, ...(change.attrs ?? [])]),
  ]);
  try {
    await nl.request(RTM_NEWLINK, 0, body, `${what} ${link}`);
  } catch (err) {
    notFound(link, err);
  }
}

export function setLinkUp(nl: RtnlSocket, link: string | number, up: boolean): Promise<void> {
  return modifyLink(nl, link, up ? "set up" : "set down", { flags: up ? IFF.UP : 0, change: IFF.UP });
}

export function setPromisc(nl: RtnlSocket, link: string | number, on: boolean): Promise<void> {
  return modifyLink(nl, link, "set promisc", { flags: on ? IFF.PROMISC : 0, change: IFF.PROMISC });
}

export function setMtu(nl: RtnlSocket, link: string | number, mtu: number): Promise<void> {
  return modifyLink(nl, link, `set mtu ${mtu}`, { attrs: [u32(IFLA_MTU, mtu)] });
}

export function setMac(nl: RtnlSocket, link: string | number, mac: string): Promise<void> {
  return modifyLink(nl, link, `set mac ${mac}`, { attrs: [bytes(IFLA_ADDRESS, parseMac(mac))] });
}

export async function setMaster(nl: RtnlSocket, link: string | number, master: string | number | null): Promise<void> {
  let idx = 0;
  if (master !== null) idx = typeof master === "number" ? master : (await getLink(nl, master)).index;
  return modifyLink(nl, link, master === null ? "set nomaster" : `set master ${master}`, {
    attrs: [u32(IFLA_MASTER, idx)],
  });
}

export async function renameLink(nl: RtnlSocket, from: string | number, to: string): Promise<void> {
  const idx = typeof from === "number" ? from : (await getLink(nl, from)).index;
  const body = Buffer.concat([ifinfomsg({ index: idx }), encodeAttrs([str(IFLA_IFNAME, to)])]);
  try {
    await nl.request(RTM_NEWLINK, 0, body, `rename ${from} to ${to}`);
  } catch (err) {
    if (err instanceof NetlinkError && err.errnoCode === "EEXIST")
      throw new LinkExistsError(to, undefined, { cause: err });
    notFound(from, err);
  }
}

export async function deleteLink(
  nl: Pick<RtnlSocket, "request">,
  link: string | number,
  missingOk: boolean,
): Promise<boolean> {
  const s = selector(link);
  try {
    await nl.request(
      RTM_DELLINK,
      0,
      Buffer.concat([ifinfomsg({ index: s.index }), encodeAttrs(s.attrs)]),
      `delete link ${link}`,
    );
    return true;
  } catch (err) {
    try {
      notFound(link, err);
    } catch (e) {
      if (missingOk && e instanceof LinkNotFoundError) return false;
      throw e;
    }
  }
}

/**
 * Bridge port flags (IFLA_BRPORT_*), set on a link enslaved to a bridge; unset flags stay as they are.
 *
 * @example
 * const port: BridgePortFlags = { hairpin: true, learning: false };
 * await Netns.host().setBridgePort("veth1234abcd", port);
 */
export interface BridgePortFlags {
  /** Hairpin mode (`IFLA_BRPORT_MODE`): reflect frames back out of the port they came in on. */
  hairpin?: boolean | undefined;
  /** Learn source MACs on this port. */
  learning?: boolean | undefined;
  /** Flood unknown unicast to this port. */
  unicastFlood?: boolean | undefined;
  /** Isolated port (only talks to non-isolated ports). */
  isolated?: boolean | undefined;
  /** Proxy ARP on this port. */
  proxyArp?: boolean | undefined;
  /** BPDU guard. */
  guard?: boolean | undefined;
  /** Root block. */
  rootBlock?: boolean | undefined;
  /** Fast leave for multicast snooping. */
  fastLeave?: boolean | undefined;
}

const BRPORT: Record<keyof BridgePortFlags, number> = {
  hairpin: 4,
  guard: 5,
  rootBlock: 6,
  fastLeave: 7,
  learning: 8,
  unicastFlood: 9,
  proxyArp: 10,
  isolated: 33,
};

export async function setBridgePort(nl: RtnlSocket, link: string | number, opts: BridgePortFlags): Promise<void> {
  const idx = typeof link === "number" ? link : (await getLink(nl, link)).index;
  const attrs: AttrInput[] = [];
  for (const [k, type] of Object.entries(BRPORT) as [keyof BridgePortFlags, number][]) {
    const v = opts[k];
    if (v !== undefined) attrs.push(u8(type, v ? 1 : 0));
  }
  if (attrs.length === 0) return;
  const body = Buffer.concat([
    ifinfomsg({ family: AF_BRIDGE, index: idx }),
    encodeAttrs([nested(IFLA_PROTINFO, attrs)]),
  ]);
  try {
    await nl.request(RTM_SETLINK, 0, body, `set bridge port ${link}`);
  } catch (err) {
    notFound(link, err);
  }
}

/**
 * Options common to every link we create.
 *
 * @example
 * const common: CreateLinkCommon = { name: "br0", mtu: 1500, up: true };
 * await ns.createBridge(common);
 */
export interface CreateLinkCommon {
  /** Interface name (≤ 15 bytes). */
  name: string;
  mtu?: number | undefined;
  mac?: string | undefined;
  txqlen?: number | undefined;
  /** Bring the link up as part of creation. */
  up?: boolean | undefined;
  /** Index of a master (bridge) in the same netns to enslave the link to, as part of creation. */
  master?: number | undefined;
}

async function createLink(
  nl: RtnlSocket,
  o: CreateLinkCommon,
  kind: string,
  data: AttrInput[] | undefined,
  extra: AttrInput[] = [],
  peerName?: string,
): Promise<Link> {
  const attrs: AttrInput[] = [str(IFLA_IFNAME, o.name)];
  if (o.mtu !== undefined) attrs.push(u32(IFLA_MTU, o.mtu));
  if (o.mac !== undefined) attrs.push(bytes(IFLA_ADDRESS, parseMac(o.mac)));
  if (o.txqlen !== undefined) attrs.push(u32(IFLA_TXQLEN, o.txqlen));
  if (o.master !== undefined) attrs.push(u32(IFLA_MASTER, o.master));
  attrs.push(...extra);
  const info: AttrInput[] = [str(IFLA_INFO_KIND, kind)];
  if (data) info.push(nested(IFLA_INFO_DATA, data));
  attrs.push(nested(IFLA_LINKINFO, info));
  const body = Buffer.concat([ifinfomsg(o.up ? { flags: IFF.UP, change: IFF.UP } : {}), encodeAttrs(attrs)]);
  let echoed: Buffer[];
  try {
    // NLM_F_ECHO: the kernel (Linux ≥ 6.1) sends the new link back before its ack, which saves
    // the RTM_GETLINK that would read it
    echoed = await nl.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, body, `create ${kind} ${o.name}`);
  } catch (err) {
    if (err instanceof NetlinkError && err.errnoCode === "EEXIST") {
      throw new LinkExistsError(
        o.name,
        peerName === undefined ? undefined : `link "${o.name}" or peer "${peerName}" already exists`,
        { cause: err },
      );
    }
    throw err;
  }
  let link: Link | undefined;
  for (const p of echoed) {
    const l = p.length >= 16 ? parseLink(p) : undefined;
    if (l?.name === o.name) link = l;
  }
  if (!link) return getLink(nl, o.name); // an older kernel ignores NLM_F_ECHO here
  // the echo is sent before the kernel enslaves the link (the ack says that worked)
  if (o.master !== undefined) link.master = o.master;
  return link;
}

/**
 * Options for a veth pair created from one netns with its peer born in another.
 *
 * @example
 * const opts: CreateVethOptions = { name: "eth0", mtu: 1500, peer: { name: "veth01", netnsFd: Netns.host().fd } };
 * await ctr.createVeth(opts);
 */
export interface CreateVethOptions extends CreateLinkCommon {
  peer: {
    name: string;
    /** fd of the netns the peer is created in (IFLA_NET_NS_FD); default: same netns. */
    netnsFd?: number | undefined;
    mtu?: number | undefined;
    mac?: string | undefined;
  };
}

export function createVeth(nl: RtnlSocket, o: CreateVethOptions): Promise<Link> {
  const pa: AttrInput[] = [str(IFLA_IFNAME, o.peer.name)];
  if (o.peer.netnsFd !== undefined) pa.push(u32(IFLA_NET_NS_FD, o.peer.netnsFd));
  const mtu = o.peer.mtu ?? o.mtu;
  if (mtu !== undefined) pa.push(u32(IFLA_MTU, mtu));
  if (o.peer.mac !== undefined) pa.push(bytes(IFLA_ADDRESS, parseMac(o.peer.mac)));
  // The peer cannot be brought up in the same request (veth_open fails with ENOTCONN before pairing).
  const peer = Buffer.concat([ifinfomsg(), encodeAttrs(pa)]);
  return createLink(nl, o, "veth", [{ type: VETH_INFO_PEER, data: peer }], [], o.peer.name);
}

/**
 * Options for a Linux bridge.
 *
 * @example
 * const opts: CreateBridgeOptions = { name: "cni0", mtu: 1500, vlanFiltering: true, up: true };
 * await Netns.host().createBridge(opts);
 */
export interface CreateBridgeOptions extends CreateLinkCommon {
  /** IFLA_BR_VLAN_FILTERING. */
  vlanFiltering?: boolean | undefined;
}

export function createBridge(nl: RtnlSocket, o: CreateBridgeOptions): Promise<Link> {
  const data: AttrInput[] = [];
  if (o.vlanFiltering !== undefined) data.push(u8(IFLA_BR_VLAN_FILTERING, o.vlanFiltering ? 1 : 0));
  return createLink(nl, o, "bridge", data.length ? data : undefined);
}

/**
 * Options for a VXLAN device.
 *
 * @example
 * const opts: CreateVxlanOptions = { name: "vx0", id: 42, local: "10.0.0.1", remote: "10.0.0.2", port: 4789 };
 * await ns.createVxlan(opts);
 */
export interface CreateVxlanOptions extends CreateLinkCommon {
  /** VXLAN network identifier (VNI), 0..16777215. */
  id: number;
  /** Local (source) IP address. */
  local?: string | undefined;
  /** Unicast remote VTEP (mutually exclusive with `group`). */
  remote?: string | undefined;
  /** Multicast group (needs `dev`). */
  group?: string | undefined;
  /** Underlay device (name or index) for the tunnel. */
  dev?: string | number | undefined;
  /** UDP destination port (default 4789, the IANA port). */
  port?: number | undefined;
  /** Learn remote MACs from received packets (default: kernel's, on). */
  learning?: boolean | undefined;
  /** TTL of the outer packets, 1..255 (default: the kernel's). */
  ttl?: number | undefined;
  /** Group Based Policy extension (IFLA_VXLAN_GBP); every VTEP of the network must agree. */
  gbp?: boolean | undefined;
}

const VX = {
  ID: 1,
  GROUP: 2,
  LINK: 3,
  LOCAL: 4,
  TTL: 5,
  LEARNING: 7,
  PORT: 15,
  GROUP6: 16,
  LOCAL6: 17,
  GBP: 23,
} as const;

export async function createVxlan(nl: RtnlSocket, o: CreateVxlanOptions): Promise<Link> {
  if (!Number.isInteger(o.id) || o.id < 0 || o.id > 0xffffff) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid VXLAN id ${o.id}`);
  }
  const data: AttrInput[] = [u32(VX.ID, o.id)];
  const addr = (v4: number, v6: number, ip: string): AttrInput => {
    const family = ip.includes("/") ? undefined : ipFamily(ip);
    if (family === 4) return ipAttr(v4, ip);
    if (family === 6) return ipAttr(v6, ip);
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid IP address "${ip}"`);
  };
  const dst = o.remote ?? o.group;
  if (dst !== undefined) data.push(addr(VX.GROUP, VX.GROUP6, dst));
  if (o.local !== undefined) data.push(addr(VX.LOCAL, VX.LOCAL6, o.local));
  if (o.dev !== undefined) {
    const idx = typeof o.dev === "number" ? o.dev : (await getLink(nl, o.dev)).index;
    data.push(u32(VX.LINK, idx));
  }
  if (o.ttl !== undefined) {
    if (!Number.isInteger(o.ttl) || o.ttl < 0 || o.ttl > 255) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid VXLAN ttl ${o.ttl} (0..255)`);
    }
    data.push(u8(VX.TTL, o.ttl));
  }
  if (o.learning !== undefined) data.push(u8(VX.LEARNING, o.learning ? 1 : 0));
  if (o.gbp) data.push({ type: VX.GBP, data: Buffer.alloc(0) });
  const port = o.port ?? 4789;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid VXLAN port ${port} (1..65535)`);
  }
  data.push(u16be(VX.PORT, port));
  return createLink(nl, o, "vxlan", data);
}
