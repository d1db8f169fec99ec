/**
 * Gateway bookkeeping for an IPAM result (the reference plugin's calcGateways): every IP points
 * at the container interface, a missing gateway becomes the subnet's first address when the
 * bridge is the gateway, a default route is added per family for isDefaultGateway, and the
 * addresses the bridge must carry are collected per family.
 */
import { CniError, ErrorCode, gatewayOf, type IPConfig, ipFamily, networkOf, parseCidr, type Route } from "@cnikit/spec";

/** What the bridge must carry for one address family. */
export interface FamilyGateways {
  family: 4 | 6;
  /** Gateway addresses with the container's prefix (`10.22.0.1/16`), in result order. */
  cidrs: string[];
}

/** The outcome of {@link calcGateways}. */
export interface Gateways {
  /** The result's IPs, each with `interface` and (when the bridge is the gateway) `gateway` filled in. */
  ips: IPConfig[];
  /** The result's routes plus the default routes added for isDefaultGateway. */
  routes: Route[];
  v4: FamilyGateways;
  v6: FamilyGateways;
}

const DEFAULT_DST = { 4: "0.0.0.0/0", 6: "::/0" } as const;

/**
 * Computes gateways and default routes for an IPAM result.
 *
 * @param containerIfIndex - the index of the container interface in the result's `interfaces`.
 * @example
 * calcGateways([{ address: "10.1.0.5/24" }], [], { isGateway: true, isDefaultGateway: true }, 2)
 * // ips[0].gateway "10.1.0.1", routes [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }], v4.cidrs ["10.1.0.1/24"]
 * @throws CniError code 999 `Unknown IP object: ...` for an address that is neither IPv4 nor IPv6.
 */
export function calcGateways(
  ipsIn: readonly IPConfig[],
  routesIn: readonly Route[],
  opts: { isGateway: boolean; isDefaultGateway: boolean },
  containerIfIndex: number,
): Gateways {
  const out: Gateways = { ips: [], routes: [...routesIn], v4: { family: 4, cidrs: [] }, v6: { family: 6, cidrs: [] } };
  const defaultFound = { 4: false, 6: false };
  for (const ipIn of ipsIn) {
    const family = ipFamily(ipIn.address);
    if (family === undefined) throw new CniError(ErrorCode.Internal, `Unknown IP object: ${JSON.stringify(ipIn)}`);
    const ipc: IPConfig = { ...ipIn, interface: containerIfIndex };
    if (!ipc.gateway && opts.isGateway) ipc.gateway = gatewayOf(ipc.address).split("/")[0] as string;
    if (opts.isDefaultGateway && !defaultFound[family]) {
      defaultFound[family] = out.routes.some(
        (r) => r.gw !== undefined && r.gw !== "" && normalizeCidr(r.dst) === DEFAULT_DST[family],
      );
      if (!defaultFound[family]) {
        const route: Route = { dst: DEFAULT_DST[family] };
        if (ipc.gateway) route.gw = ipc.gateway;
        out.routes.push(route);
        defaultFound[family] = true;
      }
    }
    if (opts.isGateway && ipc.gateway) {
      const gws = family === 4 ? out.v4 : out.v6;
      gws.cidrs.push(`${ipc.gateway}/${parseCidr(ipc.address).prefix}`);
    }
    out.ips.push(ipc);
  }
  return out;
}

function normalizeCidr(cidr: string): string {
  try {
    return networkOf(cidr);
  } catch {
    return cidr;
  }
}
