/**
 * rtnetlink address operations (RTM_*ADDR).
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 * @internal
 */
import { broadcastOf, bytesToIp, formatCidr, type IpFamily, parseCidr } from "@cnikit/spec";
import { attrMap, encodeAttrs, ipAttr, readStr, readU32, str, u32, type AttrInput } from "./netlink-attrs.js";
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, type RtnlSocket } from "./netlink-socket.js";

const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;
const AF_INET = 2;
const AF_INET6 = 10;

/**
 * Address flag bits (IFA_F_*).
 *
 * @example
 * const stable = (await ns.listAddresses("eth0")).filter((a) => (a.flags & IFA_F.TENTATIVE) === 0);
 */
export const IFA_F = {
  SECONDARY: 0x01,
  NODAD: 0x02,
  OPTIMISTIC: 0x04,
  DADFAILED: 0x08,
  HOMEADDRESS: 0x10,
  DEPRECATED: 0x20,
  TENTATIVE: 0x40,
  PERMANENT: 0x80,
  MANAGETEMPADDR: 0x100,
  NOPREFIXROUTE: 0x200,
} as const;

/**
 * Scope names for addresses and routes (RT_SCOPE_*).
 *
 * @example
 * const linkLocal = (await ns.listAddresses("eth0")).filter((a) => a.scope === SCOPE.link);
 */
export const SCOPE = { universe: 0, site: 200, link: 253, host: 254, nowhere: 255 } as const;
/**
 * A scope by name: a key of {@link SCOPE}.
 *
 * @example
 * const scope: ScopeName = "link";
 * await ns.addRoute({ dst: "10.99.0.0/16", dev: "eth0", scope });
 */
export type ScopeName = keyof typeof SCOPE;

/**
 * An address assigned to a link.
 *
 * @example
 * const [addr]: Address[] = await ns.listAddresses("eth0", { family: 4 });
 * addr?.cidr; // "10.22.0.5/16"
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success (a result's `ips`)
 */
export interface Address {
  /** Index of the link carrying it. */
  ifIndex: number;
  family: IpFamily;
  /** The address (no prefix). */
  ip: string;
  prefixLength: number;
  /** `ip/prefix`. */
  cidr: string;
  /** RT_SCOPE_* value (0 global, 253 link, 254 host). */
  scope: number;
  /** IFA_F_* flags. */
  flags: number;
  /** IPv6 duplicate address detection still running. */
  tentative: boolean;
  /** IPv6 duplicate address detection failed. */
  dadFailed: boolean;
  /** IFA_LABEL (IPv4). */
  label?: string;
  /** IPv4 broadcast. */
  broadcast?: string;
  /** Peer address (point-to-point links, when different from ip). */
  peer?: string;
}

/**
 * Options for adding an address.
 *
 * @example
 * const opts: AddAddressOptions = { noDad: true, noPrefixRoute: true };
 * await ns.addAddress("eth0", "fd00::5/64", opts);
 */
export interface AddAddressOptions {
  /** Skip IPv6 duplicate address detection (IFA_F_NODAD). */
  noDad?: boolean | undefined;
  /** Do not create the prefix route (IFA_F_NOPREFIXROUTE). */
  noPrefixRoute?: boolean | undefined;
  /** IPv4 label. */
  label?: string | undefined;
  /** Scope (default universe/global). */
  scope?: ScopeName | number | undefined;
  /** IPv4 broadcast; default computed for prefixes < 31; `false` for none. */
  broadcast?: string | false | undefined;
  /** Replace an existing identical address instead of failing with EEXIST. */
  replace?: boolean | undefined;
}

function ifaddrmsg(family: number, prefix: number, flags: number, scope: number, index: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefix, 1);
  b.writeUInt8(flags & 0xff, 2);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(index, 4);
  return b;
}

export function parseAddress(p: Buffer): Address {
  const family: IpFamily = p.readUInt8(0) === AF_INET ? 4 : 6;
  const prefixLength = p.readUInt8(1);
  const a = attrMap(p, 8);
  const local = a.get(IFA_LOCAL);
  const address = a.get(IFA_ADDRESS);
  const ipBuf = local ?? address;
  const ip = ipBuf ? bytesToIp(ipBuf) : "";
  const flags = readU32(a.get(IFA_FLAGS)) ?? p.readUInt8(2);
  const out: Address = {
    ifIndex: p.readUInt32LE(4),
    family,
    ip,
    prefixLength,
    cidr: `${ip}/${prefixLength}`,
    scope: p.readUInt8(3),
    flags,
    tentative: (flags & IFA_F.TENTATIVE) !== 0,
    dadFailed: (flags & IFA_F.DADFAILED) !== 0,
  };
  const label = readStr(a.get(IFA_LABEL));
  if (label) out.label = label;
  const bc = a.get(IFA_BROADCAST);
  if (bc) out.broadcast = bytesToIp(bc);
  if (local && address && !local.equals(address)) out.peer = bytesToIp(address);
  return out;
}

export async function listAddresses(nl: RtnlSocket, ifIndex?: number, family?: IpFamily): Promise<Address[]> {
  const af = family === 4 ? AF_INET : family === 6 ? AF_INET6 : 0;
  const msgs = await nl.dump(RTM_GETADDR, ifaddrmsg(af, 0, 0, 0, 0), "list addresses");
  const all = msgs.map(parseAddress);
  return ifIndex === undefined ? all : all.filter((x) => x.ifIndex === ifIndex);
}

function scopeValue(s: ScopeName | number | undefined): number {
  if (s === undefined) return 0;
  return typeof s === "number" ? s : SCOPE[s];
}

export async function addAddress(
  nl: RtnlSocket,
  ifIndex: number,
  cidr: string,
  o: AddAddressOptions = {},
): Promise<void> {
  const p = parseCidr(cidr);
  const family = p.ip.family;
  let flags = 0;
  if (o.noDad) flags |= IFA_F.NODAD;
  if (o.noPrefixRoute) flags |= IFA_F.NOPREFIXROUTE;
  const attrs: AttrInput[] = [ipAttr(IFA_LOCAL, p.ip), ipAttr(IFA_ADDRESS, p.ip)];
  if (family === 4) {
    const bc = o.broadcast === false ? undefined : (o.broadcast ?? broadcastOf(cidr));
    if (bc) attrs.push(ipAttr(IFA_BROADCAST, bc));
    if (o.label) attrs.push(str(IFA_LABEL, o.label));
  }
  if (flags) attrs.push(u32(IFA_FLAGS, flags));
  const body = Buffer.concat([
    ifaddrmsg(family === 4 ? AF_INET : AF_INET6, p.prefix, flags, scopeValue(o.scope), ifIndex),
    encodeAttrs(attrs),
  ]);
  const what = `add address ${formatCidr(p.ip, p.prefix)}`;
  await nl.request(RTM_NEWADDR, NLM_F_CREATE | (o.replace ? NLM_F_REPLACE : NLM_F_EXCL), body, what);
}

export async function deleteAddress(nl: RtnlSocket, ifIndex: number, cidr: string): Promise<void> {
  const p = parseCidr(cidr);
  const body = Buffer.concat([
    ifaddrmsg(p.ip.family === 4 ? AF_INET : AF_INET6, p.prefix, 0, 0, ifIndex),
    encodeAttrs([ipAttr(IFA_LOCAL, p.ip), ipAttr(IFA_ADDRESS, p.ip)]),
  ]);
  await nl.request(RTM_DELADDR, 0, body, `delete address ${formatCidr(p.ip, p.prefix)}`);
}
