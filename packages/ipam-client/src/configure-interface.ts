/**
 * Applying an IPAM result to an interface inside a network namespace (Go's
 * `pkg/ipam.ConfigureIface`): addresses, link up, IPv6 sysctls, DAD settling, routes with the
 * family's gateway as fallback; or point-to-point, as Go's ptp plugin sets up the container end.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
import type { Link, LinkRef, Netns, RouteInput } from "@cnikit/ns";
import { CniError, ErrorCode, formatIp, type IPConfig, networkOf, parseCidr, type Result, type Route, tryParseCidr, tryParseIp } from "@cnikit/spec";

/**
 * Options of {@link configureInterface}.
 *
 * @example
 * const opts: ConfigureInterfaceOptions = { pointToPoint: true, settleTimeoutMs: 2000, warn: (m) => ctx.log.warn(m) };
 * await configureInterface(netns, "eth0", result, opts);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export interface ConfigureInterfaceOptions {
  /**
   * Point-to-point, as Go's ptp plugin configures the container end of a veth: each address
   * keeps its prefix but gets no on-link subnet route (IFA_F_NOPREFIXROUTE); instead a
   * link-scope host route to its gateway (`10.1.2.1/32 dev eth0 scope link src 10.1.2.5`) and
   * its subnet through that gateway (`10.1.2.0/24 via 10.1.2.1 dev eth0 src 10.1.2.5`). All
   * traffic, to the subnet too, goes to the gateway (the host end of the veth, which answers
   * ARP/ND for it). The result's routes go through the gateway as usual. Default false.
   */
  pointToPoint?: boolean | undefined;
  /** How long to wait for IPv6 DAD when there is a v6 gateway (default 5000 ms, as Go). */
  settleTimeoutMs?: number | undefined;
  /** Receives non-fatal warnings (Go prints them on stderr; library code never prints). */
  warn?: ((message: string) => void) | undefined;
  /**
   * Apply route `mtu` and `advmss` (CNI 1.1.0 route fields). Default true; Go's ConfigureIface
   * ignores them.
   */
  routeMetrics?: boolean | undefined;
}

const SETTLE_INTERVAL_MS = 50;

/**
 * The error for an IP whose `interface` index is out of range or names another interface
 * (`failed to add IP addr ... to "eth0": invalid interface index`).
 *
 * @example
 * try {
 *   await configureInterface(netns, "eth0", result);
 * } catch (err) {
 *   if (err instanceof InvalidInterfaceIndexError) console.error(err.ipConfig.address);
 * }
 */
export class InvalidInterfaceIndexError extends CniError {
  /** `instanceof` matches this kind of error from any bundled copy (see `CniError.errorKind`). */
  static override readonly errorKind: string = "cnikit.ipam-client.InvalidInterfaceIndexError";
  /** The offending IP config. */
  readonly ipConfig: IPConfig;

  constructor(ipConfig: IPConfig, ifName: string) {
    super(ErrorCode.Internal, `failed to add IP addr ${describeIp(ipConfig)} to ${JSON.stringify(ifName)}: invalid interface index`);
    this.name = "InvalidInterfaceIndexError";
    this.ipConfig = ipConfig;
  }

}

function describeIp(ipc: IPConfig): string {
  return `{Interface:${ipc.interface ?? "<nil>"} Address:${ipc.address} Gateway:${ipc.gateway ?? "<nil>"}}`;
}

function reason(err: unknown): string {
  return err instanceof CniError ? err.msg : err instanceof Error ? err.message : String(err);
}

function familyOfCidr(cidr: string): 4 | 6 | undefined {
  return tryParseCidr(cidr)?.ip.family ?? tryParseIp(cidr)?.family;
}

async function enableIpv6(ns: Netns, ifName: string, warn: (m: string) => void): Promise<void> {
  for (const iface of ["lo", ifName]) {
    const name = `net/ipv6/conf/${iface}/disable_ipv6`;
    let value: string;
    try {
      value = (await ns.getSysctl(name)).trim();
    } catch (err) {
      warn(`ipam_linux: failed to read sysctl "${name}": ${reason(err)}`);
      continue;
    }
    if (value === "0") continue;
    try {
      await ns.setSysctl(name, "0");
    } catch (err) {
      throw CniError.wrap(`failed to enable IPv6 for interface ${JSON.stringify(iface)} (${name}=${value})`, err);
    }
  }
  try {
    await ns.setSysctl(`net/ipv6/conf/${ifName}/keep_addr_on_down`, "1");
  } catch (err) {
    throw CniError.wrap(`failed to enable keep_addr_on_down for interface ${JSON.stringify(ifName)}`, err);
  }
}

async function settleAddresses(ns: Netns, ref: LinkRef, ifName: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let addrs: Awaited<ReturnType<Netns["listAddresses"]>>;
    try {
      addrs = await ns.listAddresses(ref, { family: 6 });
    } catch (err) {
      throw CniError.wrap("could not list addresses", err);
    }
    const bad = addrs.find((a) => a.dadFailed);
    if (bad) throw new CniError(ErrorCode.Internal, `link ${ifName} has address ${bad.ip} in DADFAILED state`);
    if (!addrs.some((a) => a.tentative)) return;
    if (Date.now() > deadline) {
      if ((await ns.getLink(ref)).operState === "up") {
        throw new CniError(
          ErrorCode.Internal,
          `link ${ifName} still has tentative addresses after ${Math.round(timeoutMs / 1000)} seconds`,
        );
      }
      return;
    }
    await new Promise((r) => setTimeout(r, SETTLE_INTERVAL_MS));
  }
}

/** An address this call added, with what point-to-point mode needs to route it. */
interface Added {
  /** Canonical address without prefix. */
  ip: string;
  /** Its subnet (`10.1.2.0/24`). */
  network: string;
  prefixLength: number;
  family: 4 | 6;
  /** Canonical gateway, when the IP config has one. */
  gateway: string | undefined;
}

/**
 * Applies an IPAM result to `link` (a name, or the `Link` just created, which saves a lookup)
 * inside `ns`, as Go's `ConfigureIface`: adds every IP whose `interface` index points at the
 * link (IPs without an index are skipped), enabling IPv6 first (`disable_ipv6=0` on lo and the
 * interface, `keep_addr_on_down=1`) if a v6 address comes; sets the link up; waits for IPv6 DAD
 * when there is a v6 gateway; adds every route through the link with its `gw`, or the first
 * gateway of the route's family when it has none. With `pointToPoint`, the addresses get no
 * subnet route but a route to their gateway, as Go's ptp plugin does (see
 * {@link ConfigureInterfaceOptions.pointToPoint}).
 *
 * @throws CniError `no interfaces to configure`; {@link InvalidInterfaceIndexError};
 * `failed to lookup "eth0": ...`, `failed to add IP addr ...`, `failed to set "eth0" UP: ...`,
 * `failed to add route '...': ...` (the cause's code is kept).
 * @example
 * const ns = await Netns.open(ctx.netns);
 * const { container } = await setupVeth({ netns: ns, ifName: ctx.ifName });
 * const result: Result = { cniVersion: "1.1.0", interfaces: [{ name: container.name, sandbox: ctx.netns }], ips: lease.ips?.map((ip) => ({ ...ip, interface: 0 })) };
 * await configureInterface(ns, container, result);
 * await configureInterface(ns, "eth0", result, { pointToPoint: true }); // like Go's ptp
 */
export async function configureInterface(
  ns: Netns,
  link: string | Link,
  result: Result,
  options: ConfigureInterfaceOptions = {},
): Promise<void> {
  const interfaces = result.interfaces ?? [];
  if (interfaces.length === 0) throw new CniError(ErrorCode.Internal, "no interfaces to configure");
  const warn = options.warn ?? (() => {});
  const ptp = options.pointToPoint === true;
  const ifName = typeof link === "string" ? link : link.name;
  // the link is addressed by its index: no name lookup before each address and route
  let ref: number;
  if (typeof link === "string") {
    try {
      ref = (await ns.getLink(link)).index;
    } catch (err) {
      throw CniError.wrap(`failed to lookup ${JSON.stringify(ifName)}`, err);
    }
  } else {
    ref = link.index;
  }

  let v4gw: string | undefined;
  let v6gw: string | undefined;
  let ipv6Enabled = false;
  const added: Added[] = [];
  for (const ipc of result.ips ?? []) {
    if (ipc.interface === undefined || ipc.interface === null) continue;
    const idx = ipc.interface;
    if (!Number.isInteger(idx) || idx < 0 || idx >= interfaces.length || interfaces[idx]?.name !== ifName) {
      throw new InvalidInterfaceIndexError(ipc, ifName);
    }
    const family = familyOfCidr(ipc.address);
    if (family === undefined) {
      throw new CniError(ErrorCode.Internal, `failed to add IP addr ${describeIp(ipc)} to ${JSON.stringify(ifName)}: invalid address`);
    }
    if (!ipv6Enabled && family === 6) {
      await enableIpv6(ns, ifName, warn);
      ipv6Enabled = true;
    }
    try {
      await ns.addAddress(ref, ipc.address, ptp ? { noPrefixRoute: true } : undefined);
    } catch (err) {
      throw CniError.wrap(`failed to add IP addr ${describeIp(ipc)} to ${JSON.stringify(ifName)}`, err);
    }
    const parsedGw = ipc.gateway === undefined ? undefined : tryParseIp(ipc.gateway);
    const gateway = parsedGw === undefined ? undefined : formatIp(parsedGw);
    if (parsedGw?.family === 4) v4gw ??= gateway;
    else if (parsedGw?.family === 6) v6gw ??= gateway;
    if (ptp) {
      const p = parseCidr(ipc.address);
      added.push({ ip: formatIp(p.ip), network: networkOf(ipc.address), prefixLength: p.prefix, family: p.ip.family, gateway });
    }
  }

  try {
    await ns.setLinkUp(ref);
  } catch (err) {
    throw CniError.wrap(`failed to set ${JSON.stringify(ifName)} UP`, err);
  }

  if (v6gw !== undefined) {
    try {
      await settleAddresses(ns, ref, ifName, options.settleTimeoutMs ?? 5000);
    } catch (err) {
      throw CniError.wrap(`failed to settle addresses for ${JSON.stringify(ifName)}`, err);
    }
  }

  if (ptp) await addPointToPointRoutes(ns, ref, ifName, added);

  for (const r of result.routes ?? []) {
    const gw = r.gw ?? (familyOfCidr(r.dst) === 4 ? v4gw : v6gw);
    const route: RouteInput = { dst: r.dst, dev: ref, gw, priority: r.priority || undefined, table: r.table, scope: r.scope };
    if (options.routeMetrics !== false) {
      route.mtu = r.mtu || undefined;
      route.advmss = r.advmss || undefined;
    }
    try {
      // Go adds routes ECMP-capable (no NLM_F_EXCL); append keeps existing next hops.
      await ns.addRoute(route, { append: true });
    } catch (err) {
      throw CniError.wrap(`failed to add route '${describeRoute(r, gw, ifName)}'`, err);
    }
  }
}

/**
 * Go ptp's routes for each address with a gateway: the gateway as a link-scope host route, then
 * the address's subnet through the gateway (none for a /32 or /128 address: its subnet is itself).
 */
async function addPointToPointRoutes(ns: Netns, ref: LinkRef, ifName: string, added: readonly Added[]): Promise<void> {
  const gatewayRoutes = new Set<string>();
  for (const a of added) {
    if (a.gateway === undefined) continue;
    const bits = a.family === 4 ? 32 : 128;
    const routes: RouteInput[] = [];
    // two addresses with one gateway share its host route
    if (!gatewayRoutes.has(a.gateway)) {
      gatewayRoutes.add(a.gateway);
      routes.push({ dst: `${a.gateway}/${bits}`, dev: ref, scope: "link", src: a.ip });
    }
    if (a.prefixLength < bits) routes.push({ dst: a.network, gw: a.gateway, dev: ref, src: a.ip });
    for (const route of routes) {
      try {
        await ns.addRoute(route);
      } catch (err) {
        const via = route.gw === undefined ? "" : ` via ${route.gw}`;
        throw CniError.wrap(`failed to add route '${route.dst}${via} dev ${ifName} src ${a.ip}'`, err);
      }
    }
  }
}

function describeRoute(r: Route, gw: string | undefined, ifName: string): string {
  return `${r.dst} via ${gw ?? "<nil>"} dev ${ifName} metric ${r.priority ?? 0} (Scope: ${r.scope ?? 0}, Table: ${r.table ?? 0})`;
}
