/**
 * Reading a namespace's links, addresses and routes with iproute2, independently of the code under test.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success (what a result claims, to compare with what is there)
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { runCommand } from "./exec.js";
import { type NetnsRef, OWN_NETNS_PATH, inNetns, netnsLabel } from "./netns-ref.js";

/**
 * The namespace the tests run in (the host's), for assertions on host-side links
 * such as a bridge or the host end of a veth.
 *
 * @example
 * ```ts
 * await expectLink(HOST_NETNS, bridgeName, { kind: "bridge", up: true });
 * ```
 */
export const HOST_NETNS: { readonly path: string; readonly name: string } = { path: OWN_NETNS_PATH, name: "host" };

/**
 * A link as `ip -details -json link` reports it.
 *
 * @example
 * ```ts
 * const eth0: ObservedLink | undefined = await findLink(ns, "eth0");
 * // { name: "eth0", index: 2, mtu: 1500, mac: "0a:58:...", up: true, operState: "UP", kind: "veth" }
 * ```
 */
export interface ObservedLink {
  name: string;
  index: number;
  mtu: number;
  mac: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  operState: string;
  /** `veth`, `bridge`, ... (undefined for lo and physical links). */
  kind?: string;
  /** Name of the master device (e.g. the bridge) if enslaved. */
  master?: string;
}

/**
 * An address as `ip -json addr` reports it.
 *
 * @example
 * ```ts
 * const [addr]: ObservedAddress[] = await listAddresses(ns, "eth0");
 * // { cidr: "10.1.0.2/24", address: "10.1.0.2", prefixLength: 24, family: 4, scope: "global" }
 * ```
 */
export interface ObservedAddress {
  /** `10.1.0.2/24`. */
  cidr: string;
  address: string;
  prefixLength: number;
  family: 4 | 6;
  scope: string;
}

/**
 * A route as `ip -json route` reports it (main table unless `table` is given).
 *
 * @example
 * ```ts
 * const routes: ObservedRoute[] = await listRoutes(ns);
 * routes.find((r) => r.dst === "0.0.0.0/0")?.gw; // "10.1.0.1"
 * ```
 */
export interface ObservedRoute {
  /** `default` is reported as `0.0.0.0/0` or `::/0`; host routes get `/32` or `/128`. */
  dst: string;
  gw?: string;
  dev?: string;
  metric?: number;
  scope?: string;
  table?: string;
  family: 4 | 6;
}

interface IpLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  operstate?: string;
  address?: string;
  master?: string;
  linkinfo?: { info_kind?: string };
}
interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  scope?: string;
  table?: string;
}

async function ipJson<T>(ns: NetnsRef, args: string[], missingOk = false): Promise<T[] | undefined> {
  const r = await runCommand([...inNetns(ns), "ip", "-json", ...args], { timeoutMs: 30_000 });
  if (r.code !== 0) {
    if (missingOk && /does not exist|Cannot find device/i.test(r.stderr)) return undefined;
    throw new Error(`ip ${args.join(" ")} in netns ${netnsLabel(ns)} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  const text = r.stdout.trim();
  return text === "" ? [] : (JSON.parse(text) as T[]);
}

function toLink(l: IpLink): ObservedLink {
  const link: ObservedLink = {
    name: l.ifname,
    index: l.ifindex,
    mtu: l.mtu,
    mac: (l.address ?? "").toLowerCase(),
    up: l.flags?.includes("UP") ?? false,
    operState: (l.operstate ?? "unknown").toLowerCase(),
  };
  if (l.linkinfo?.info_kind) link.kind = l.linkinfo.info_kind;
  if (l.master) link.master = l.master;
  return link;
}

/**
 * Lists the links in a namespace, read with iproute2 (independently of the code under test).
 *
 * @throws Error when the namespace cannot be entered.
 * @example
 * ```ts
 * (await listLinks(ns)).map((l) => l.name); // ["lo", "eth0"]
 * ```
 */
export async function listLinks(ns: NetnsRef): Promise<ObservedLink[]> {
  return ((await ipJson<IpLink>(ns, ["-details", "link", "show"])) ?? []).map(toLink);
}

/**
 * One link, or `undefined` when there is none by that name.
 *
 * @example
 * ```ts
 * const eth0 = await findLink(ns, "eth0");
 * ```
 */
export async function findLink(ns: NetnsRef, name: string): Promise<ObservedLink | undefined> {
  const links = await ipJson<IpLink>(ns, ["-details", "link", "show", "dev", name], true);
  const l = links?.[0];
  return l ? toLink(l) : undefined;
}

/**
 * The addresses of a namespace (optionally of one link), link-local IPv6 included.
 *
 * @example
 * ```ts
 * (await listAddresses(ns, "eth0")).map((a) => a.cidr); // ["10.1.0.2/24", "fe80::.../64"]
 * ```
 */
export async function listAddresses(ns: NetnsRef, ifName?: string): Promise<ObservedAddress[]> {
  const rows = (await ipJson<IpAddr>(ns, ["addr", "show", ...(ifName ? ["dev", ifName] : [])], true)) ?? [];
  return rows.flatMap((row) =>
    (row.addr_info ?? [])
      .filter((a) => a.family === "inet" || a.family === "inet6")
      .map((a) => ({
        cidr: `${a.local}/${a.prefixlen}`,
        address: a.local,
        prefixLength: a.prefixlen,
        family: a.family === "inet" ? 4 : 6,
        scope: a.scope ?? "global",
      })),
  );
}

/**
 * The IPv4 and IPv6 routes of a namespace (main table by default).
 *
 * @example
 * ```ts
 * await listRoutes(ns); // [{ dst: "0.0.0.0/0", gw: "10.1.0.1", dev: "eth0", family: 4 }, ...]
 * ```
 */
export async function listRoutes(ns: NetnsRef, options: { table?: string } = {}): Promise<ObservedRoute[]> {
  const table = options.table ? ["table", options.table] : [];
  const out: ObservedRoute[] = [];
  for (const family of [4, 6] as const) {
    const rows = (await ipJson<IpRoute>(ns, [`-${family}`, "route", "show", ...table])) ?? [];
    for (const r of rows) {
      const route: ObservedRoute = { dst: normalizeDst(r.dst, family), family };
      if (r.gateway) route.gw = r.gateway;
      if (r.dev) route.dev = r.dev;
      if (r.metric !== undefined) route.metric = r.metric;
      if (r.scope) route.scope = r.scope;
      if (r.table) route.table = r.table;
      out.push(route);
    }
  }
  return out;
}

/** `default` → `0.0.0.0/0` / `::/0`; a bare address → `/32` / `/128`. @internal */
export function normalizeDst(dst: string, family: 4 | 6): string {
  if (dst === "default") return family === 4 ? "0.0.0.0/0" : "::/0";
  if (!dst.includes("/")) return `${dst}/${family === 4 ? 32 : 128}`;
  return dst;
}
