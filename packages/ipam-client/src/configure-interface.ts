/**
 * Applying an IPAM result to an interface inside a network namespace (Go's
 * `pkg/ipam.ConfigureIface`): addresses, link up, IPv6 sysctls, DAD settling, routes with the
 * family's gateway as fallback.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
import { CniError, ErrorCode, formatIp, type IPConfig, type Result, type Route, tryParseCidr, tryParseIp } from "@cnikit/spec";

/**
 * The namespace operations configureInterface needs; `Netns` from `@cnikit/ns` provides them.
 * Methods may be sync or async.
 *
 * @example
 * const netns: InterfaceNetns = await Netns.open(ctx.netns); // a Netns fits; so does a fake in unit tests
 * await configureInterface(netns, "eth0", result);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export interface InterfaceNetns {
  getLink(nameOrIndex: string | number): unknown;
  addAddress(ifName: string, cidr: string): unknown;
  setLinkUp(name: string): unknown;
  addRoute(route: {
    dst: string;
    gw?: string;
    dev?: string;
    priority?: number;
    table?: number;
    scope?: number;
    mtu?: number;
    advmss?: number;
  }, options?: { append?: boolean }): unknown;
  listAddresses(ifName?: string): unknown;
  getSysctl(name: string): unknown;
  setSysctl(name: string, value: string): unknown;
}

/**
 * Options of {@link configureInterface}.
 *
 * @example
 * const opts: ConfigureInterfaceOptions = { settleTimeoutMs: 2000, warn: (m) => ctx.log.warn(m), routeMetrics: false };
 * await configureInterface(netns, "eth0", result, opts);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export interface ConfigureInterfaceOptions {
  /** How long to wait for IPv6 DAD when there is a v6 gateway (default 5000 ms, as Go). */
  settleTimeoutMs?: number;
  /** Receives non-fatal warnings (Go prints them on stderr; library code never prints). */
  warn?: (message: string) => void;
  /**
   * Apply route `mtu` and `advmss` (CNI 1.1.0 route fields). Default true; Go's ConfigureIface
   * ignores them.
   */
  routeMetrics?: boolean;
}

interface AddressLike {
  family?: number;
  ip?: string;
  tentative?: boolean;
  dadFailed?: boolean;
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
  if (err instanceof CniError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

function wrap(msg: string, err: unknown): CniError {
  return new CniError(ErrorCode.Internal, `${msg}: ${reason(err)}`, undefined, { cause: err });
}

function familyOfCidr(cidr: string): 4 | 6 | undefined {
  return tryParseCidr(cidr)?.ip.family ?? tryParseIp(cidr)?.family;
}

async function enableIpv6(netns: InterfaceNetns, ifName: string, warn: (m: string) => void): Promise<void> {
  for (const iface of ["lo", ifName]) {
    const name = `net/ipv6/conf/${iface}/disable_ipv6`;
    let value: string;
    try {
      value = String(await netns.getSysctl(name)).trim();
    } catch (err) {
      warn(`ipam_linux: failed to read sysctl "${name}": ${reason(err)}`);
      continue;
    }
    if (value === "0") continue;
    try {
      await netns.setSysctl(name, "0");
    } catch (err) {
      throw wrap(`failed to enable IPv6 for interface ${JSON.stringify(iface)} (${name}=${value})`, err);
    }
  }
  try {
    await netns.setSysctl(`net/ipv6/conf/${ifName}/keep_addr_on_down`, "1");
  } catch (err) {
    throw wrap(`failed to enable keep_addr_on_down for interface ${JSON.stringify(ifName)}`, err);
  }
}

async function settleAddresses(netns: InterfaceNetns, ifName: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let addrs: AddressLike[];
    try {
      addrs = ((await netns.listAddresses(ifName)) as AddressLike[]).filter((a) => a.family === 6);
    } catch (err) {
      throw wrap("could not list addresses", err);
    }
    if (addrs.some((a) => a.dadFailed)) {
      const bad = addrs.find((a) => a.dadFailed) as AddressLike;
      throw new CniError(ErrorCode.Internal, `link ${ifName} has address ${bad.ip} in DADFAILED state`);
    }
    if (!addrs.some((a) => a.tentative)) return;
    if (Date.now() > deadline) {
      const link = (await netns.getLink(ifName)) as { operState?: string };
      if (link.operState === "up") {
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

/**
 * Applies an IPAM result to `ifName` inside `netns`, as Go's `ConfigureIface`: adds every IP whose
 * `interface` index points at `ifName` (IPs without an index are skipped), enabling IPv6 first
 * (`disable_ipv6=0` on lo and the interface, `keep_addr_on_down=1`) if a v6 address comes; sets
 * the link up; waits for IPv6 DAD when there is a v6 gateway; adds every route through `ifName`
 * with its `gw`, or the first gateway of the route's family when it has none.
 *
 * @throws CniError `no interfaces to configure`; {@link InvalidInterfaceIndexError};
 * `failed to lookup "eth0": ...`, `failed to add IP addr ...`, `failed to set "eth0" UP: ...`,
 * `failed to add route '...': ...`.
 * @example
 * const ns = await Netns.open(netnsPath);
 * lease.interfaces = [{ name: ifName, sandbox: netnsPath }];
 * for (const ip of lease.ips ?? []) ip.interface = 0;
 * await configureInterface(ns, ifName, lease);
 */
export async function configureInterface(
  netns: InterfaceNetns,
  ifName: string,
  result: Result,
  options: ConfigureInterfaceOptions = {},
): Promise<void> {
  const interfaces = result.interfaces ?? [];
  if (interfaces.length === 0) throw new CniError(ErrorCode.Internal, "no interfaces to configure");
  const warn = options.warn ?? (() => {});
  try {
    await netns.getLink(ifName);
  } catch (err) {
    throw wrap(`failed to lookup ${JSON.stringify(ifName)}`, err);
  }

  let v4gw: string | undefined;
  let v6gw: string | undefined;
  let ipv6Enabled = false;
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
      await enableIpv6(netns, ifName, warn);
      ipv6Enabled = true;
    }
    try {
      await netns.addAddress(ifName, ipc.address);
    } catch (err) {
      throw wrap(`failed to add IP addr ${describeIp(ipc)} to ${JSON.stringify(ifName)}`, err);
    }
    const gw = ipc.gateway === undefined ? undefined : tryParseIp(ipc.gateway);
    if (gw?.family === 4) v4gw ??= formatIp(gw);
    else if (gw?.family === 6) v6gw ??= formatIp(gw);
  }

  try {
    await netns.setLinkUp(ifName);
  } catch (err) {
    throw wrap(`failed to set ${JSON.stringify(ifName)} UP`, err);
  }

  if (v6gw !== undefined) {
    try {
      await settleAddresses(netns, ifName, options.settleTimeoutMs ?? 5000);
    } catch (err) {
      throw wrap(`failed to settle addresses for ${JSON.stringify(ifName)}`, err);
    }
  }

  for (const r of result.routes ?? []) {
    const gw = r.gw ?? (familyOfCidr(r.dst) === 4 ? v4gw : v6gw);
    const route: Parameters<InterfaceNetns["addRoute"]>[0] = { dst: r.dst, dev: ifName };
    if (gw !== undefined) route.gw = gw;
    if (r.priority) route.priority = r.priority;
    if (r.table !== undefined) route.table = r.table;
    if (r.scope !== undefined) route.scope = r.scope;
    if (options.routeMetrics !== false) {
      if (r.mtu) route.mtu = r.mtu;
      if (r.advmss) route.advmss = r.advmss;
    }
    try {
      // Go adds routes ECMP-capable (no NLM_F_EXCL); append keeps existing next hops.
      await netns.addRoute(route, { append: true });
    } catch (err) {
      throw wrap(`failed to add route '${describeRoute(r, gw, ifName)}'`, err);
    }
  }
}

function describeRoute(r: Route, gw: string | undefined, ifName: string): string {
  return `${r.dst} via ${gw ?? "<nil>"} dev ${ifName} metric ${r.priority ?? 0} (Scope: ${r.scope ?? 0}, Table: ${r.table ?? 0})`;
}
