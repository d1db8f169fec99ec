/**
 * rtnetlink route operations (RTM_*ROUTE).
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 * @internal
 */
import {
  bytesToIp,
  CniError,
  ErrorCode,
  formatCidr,
  type IpAddress,
  type IpFamily,
  ipFamily,
  networkAddress,
  parseCidr,
} from "@cnikit/spec";
import { SCOPE, type ScopeName } from "./addresses.js";
import { attrMap, encodeAttrs, ipAttr, nested, readU32, u32, type AttrInput } from "./netlink-attrs.js";
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, type RtnlSocket } from "./netlink-socket.js";

const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_METRICS = 8;
const RTA_TABLE = 15;
const RTAX_MTU = 2;
const RTAX_ADVMSS = 8;
const RTNH_F_ONLINK = 4;
const RTM_F_CLONED = 0x200;
const AF_INET = 2;
const AF_INET6 = 10;

/**
 * Well-known routing tables.
 *
 * @example
 * const local = await ns.listRoutes({ table: TABLE.local });
 */
export const TABLE = { main: 254, local: 255, default: 253 } as const;

/**
 * Route types (RTN_*).
 *
 * @example
 * const blackholes = (await ns.listRoutes()).filter((r) => r.type === ROUTE_TYPE.blackhole);
 */
export const ROUTE_TYPE = {
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
} as const;
/**
 * A route type by name: a key of {@link ROUTE_TYPE}.
 *
 * @example
 * const type: RouteTypeName = "blackhole";
 * await ns.addRoute({ dst: "10.99.0.0/16", type });
 */
export type RouteTypeName = keyof typeof ROUTE_TYPE;

/**
 * A route to add, replace or delete.
 *
 * @example
 * const r: RouteInput = { dst: "0.0.0.0/0", gw: "10.22.0.1", dev: "eth0", metric: 100 };
 * await ns.addRoute(r);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success (a result's `routes`)
 */
export interface RouteInput {
  /** Destination CIDR; `"default"` or omitted = the default route of the gateway's family. */
  dst?: string | undefined;
  /** Next-hop gateway address. */
  gw?: string | undefined;
  /** Output device: name (resolved in the same netns) or index. */
  dev?: string | number | undefined;
  /** Route metric (RTA_PRIORITY). */
  metric?: number | undefined;
  /** Alias of `metric` (CNI results call it `priority`). */
  priority?: number | undefined;
  /** Routing table (default main, 254). */
  table?: number | undefined;
  /** Scope; default `universe` with a gateway, `link` without one. */
  scope?: ScopeName | number | undefined;
  /** Gateway is on-link even if no address covers it (RTNH_F_ONLINK). */
  onlink?: boolean | undefined;
  /** Preferred source address. */
  src?: string | undefined;
  /** Route MTU (RTAX_MTU). */
  mtu?: number | undefined;
  /** Advertised MSS (RTAX_ADVMSS). */
  advmss?: number | undefined;
  /** Route type (default unicast). */
  type?: RouteTypeName | undefined;
  /** Routing protocol (default 3, RTPROT_BOOT, like `ip route add`). */
  protocol?: number | undefined;
}

/**
 * A route as the kernel reports it.
 *
 * @example
 * const routes: RouteEntry[] = await ns.listRoutes({ family: 4 });
 * routes.find((r) => r.dst === "0.0.0.0/0")?.gw; // "10.22.0.1"
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success (a result's `routes`)
 */
export interface RouteEntry {
  family: IpFamily;
  /** Destination CIDR (`0.0.0.0/0` / `::/0` for default routes). */
  dst: string;
  gw?: string;
  /** Output device index. */
  dev?: number;
  metric?: number;
  table: number;
  scope: number;
  protocol: number;
  type: number;
  onlink: boolean;
  src?: string;
  mtu?: number;
  advmss?: number;
}

/** Filter for listing routes. */
export interface RouteFilter {
  family?: IpFamily | undefined;
  /** Device index (names are resolved by the caller). */
  dev?: number | undefined;
  /** Table to list (default main); `"all"` for every table. */
  table?: number | "all" | undefined;
}

function rtmsg(o: {
  family: number;
  dstLen: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt8(o.family, 0);
  b.writeUInt8(o.dstLen, 1);
  b.writeUInt8(0, 2);
  b.writeUInt8(0, 3);
  b.writeUInt8(o.table > 255 ? 0 : o.table, 4);
  b.writeUInt8(o.protocol, 5);
  b.writeUInt8(o.scope, 6);
  b.writeUInt8(o.type, 7);
  b.writeUInt32LE(o.flags, 8);
  return b;
}

export function parseRoute(p: Buffer): RouteEntry & { cloned: boolean } {
  const family: IpFamily = p.readUInt8(0) === AF_INET ? 4 : 6;
  const dstLen = p.readUInt8(1);
  const a = attrMap(p, 12);
  const dstBuf = a.get(RTA_DST);
  const dstIp = dstBuf ? bytesToIp(dstBuf) : family === 4 ? "0.0.0.0" : "::";
  const r: RouteEntry & { cloned: boolean } = {
    family,
    dst: `${dstIp}/${dstLen}`,
    table: readU32(a.get(RTA_TABLE)) ?? p.readUInt8(4),
    scope: p.readUInt8(6),
    protocol: p.readUInt8(5),
    type: p.readUInt8(7),
    onlink: (p.readUInt32LE(8) & RTNH_F_ONLINK) !== 0,
    cloned: (p.readUInt32LE(8) & RTM_F_CLONED) !== 0,
  };
  const gw = a.get(RTA_GATEWAY);
  if (gw) r.gw = bytesToIp(gw);
  const oif = readU32(a.get(RTA_OIF));
  if (oif !== undefined) r.dev = oif;
  const prio = readU32(a.get(RTA_PRIORITY));
  if (prio !== undefined) r.metric = prio;
  const src = a.get(RTA_PREFSRC);
  if (src) r.src = bytesToIp(src);
  const metrics = a.get(RTA_METRICS);
  if (metrics) {
    const m = attrMap(metrics);
    const mtu = readU32(m.get(RTAX_MTU));
    if (mtu !== undefined) r.mtu = mtu;
    const advmss = readU32(m.get(RTAX_ADVMSS));
    if (advmss !== undefined) r.advmss = advmss;
  }
  return r;
}

export async function listRoutes(nl: RtnlSocket, f: RouteFilter = {}): Promise<RouteEntry[]> {
  const af = f.family === 4 ? AF_INET : f.family === 6 ? AF_INET6 : 0;
  const msgs = await nl.dump(
    RTM_GETROUTE,
    rtmsg({ family: af, dstLen: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 }),
    "list routes",
  );
  const table = f.table ?? TABLE.main;
  const out: RouteEntry[] = [];
  for (const m of msgs) {
    const { cloned, ...r } = parseRoute(m);
    if (cloned) continue;
    if (table !== "all" && r.table !== table) continue;
    if (f.dev !== undefined && r.dev !== f.dev) continue;
    out.push(r);
  }
  return out;
}

/** Encodes a route; `op` picks defaults for delete (wildcards). */
export function encodeRoute(
  r: RouteInput,
  devIndex: number | undefined,
  op: "add" | "del",
): { body: Buffer; what: string } {
  let family: IpFamily | undefined;
  let dst: { ip: IpAddress; prefix: number } | undefined;
  if (r.dst !== undefined && r.dst !== "default") {
    const p = parseCidr(r.dst);
    family = p.ip.family;
    dst = { ip: networkAddress(p.ip, p.prefix), prefix: p.prefix };
  }
  if (r.gw !== undefined) {
    const gf = ipFamily(r.gw);
    if (!gf) throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid gateway "${r.gw}"`);
    if (family !== undefined && gf !== family) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `gateway ${r.gw} and destination ${r.dst} are of different families`,
      );
    }
    family = gf;
  }
  if (family === undefined) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "a default route needs a gateway (or give dst as 0.0.0.0/0 or ::/0)",
    );
  }
  const table = r.table ?? TABLE.main;
  const scope =
    r.scope !== undefined
      ? typeof r.scope === "number"
        ? r.scope
        : SCOPE[r.scope]
      : op === "del"
        ? SCOPE.nowhere
        : r.gw === undefined && devIndex !== undefined && (r.type ?? "unicast") === "unicast"
          ? SCOPE.link
          : SCOPE.universe;
  const attrs: AttrInput[] = [];
  if (dst && dst.prefix > 0) attrs.push(ipAttr(RTA_DST, dst.ip));
  if (r.gw !== undefined) attrs.push(ipAttr(RTA_GATEWAY, r.gw));
  if (devIndex !== undefined) attrs.push(u32(RTA_OIF, devIndex));
  const metric = r.metric ?? r.priority;
  if (metric !== undefined) attrs.push(u32(RTA_PRIORITY, metric));
  if (r.src !== undefined) attrs.push(ipAttr(RTA_PREFSRC, r.src));
  attrs.push(u32(RTA_TABLE, table));
  const metrics: AttrInput[] = [];
  if (r.mtu !== undefined) metrics.push(u32(RTAX_MTU, r.mtu));
  if (r.advmss !== undefined) metrics.push(u32(RTAX_ADVMSS, r.advmss));
  if (metrics.length) attrs.push(nested(RTA_METRICS, metrics));
  const body = Buffer.concat([
    rtmsg({
      family: family === 4 ? AF_INET : AF_INET6,
      dstLen: dst?.prefix ?? 0,
      table,
      protocol: r.protocol ?? (op === "add" ? 3 : 0),
      scope,
      type: r.type ? ROUTE_TYPE[r.type] : op === "add" ? ROUTE_TYPE.unicast : 0,
      flags: r.onlink ? RTNH_F_ONLINK : 0,
    }),
    encodeAttrs(attrs),
  ]);
  const dstText = dst ? formatCidr(dst.ip, dst.prefix) : "default";
  return { body, what: `${dstText}${r.gw ? ` via ${r.gw}` : ""}${r.dev !== undefined ? ` dev ${r.dev}` : ""}` };
}

export async function addRoute(
  nl: RtnlSocket,
  r: RouteInput,
  devIndex: number | undefined,
  mode: "add" | "replace" | "append",
): Promise<void> {
  const { body, what } = encodeRoute(r, devIndex, "add");
  const flags = NLM_F_CREATE | (mode === "replace" ? NLM_F_REPLACE : mode === "append" ? NLM_F_APPEND : NLM_F_EXCL);
  await nl.request(RTM_NEWROUTE, flags, body, `${mode} route ${what}`);
}

export async function deleteRoute(nl: RtnlSocket, r: RouteInput, devIndex: number | undefined): Promise<void> {
  const { body, what } = encodeRoute(r, devIndex, "del");
  await nl.request(RTM_DELROUTE, 0, body, `delete route ${what}`);
}
