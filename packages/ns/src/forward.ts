/**
 * Host sysctls and IP forwarding (Go's `ip.EnableIP4Forward`/`EnableIP6Forward`, `sysctl.Sysctl`).
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
import { type IpFamily, ipFamily } from "@cnikit/spec";
import { Netns, type NetnsOption } from "./netns.js";

/**
 * Reads a sysctl in the process's own netns (or in `options.netns`). Dots or slashes, with Go's
 * normalisation.
 *
 * @example
 * await getSysctl("net.ipv4.ip_forward") // "1"
 * await getSysctl("net.ipv4.conf.eth0.arp_notify", { netns }) // inside a container's netns
 * @throws {CniError} code 5 when it cannot be read.
 */
export async function getSysctl(name: string, options?: NetnsOption): Promise<string> {
  return (options?.netns ?? Netns.host()).getSysctlSync(name);
}

/**
 * Writes a sysctl in the process's own netns (or in `options.netns`).
 *
 * @example
 * await setSysctl("net/ipv4/conf/eth0.100/rp_filter", 2);
 * await setSysctl("net.ipv4.conf.eth0.arp_notify", 1, { netns });
 * @throws {CniError} code 5 when it cannot be written.
 */
export async function setSysctl(name: string, value: string | number, options?: NetnsOption): Promise<void> {
  (options?.netns ?? Netns.host()).setSysctlSync(name, value);
}

const FORWARD_SYSCTL = { 4: "net/ipv4/ip_forward", 6: "net/ipv6/conf/all/forwarding" } as const;

/**
 * Enables IP forwarding for each family, writing only where it is not already on.
 * Resolves with the families it actually changed.
 *
 * @example
 * await enableIpForward([4]);              // host
 * await enableIpForward([4, 6], { netns }); // inside a netns
 * @throws {CniError} code 5 when the sysctl cannot be read or written.
 */
export async function enableIpForward(
  families: readonly IpFamily[],
  options?: NetnsOption,
): Promise<IpFamily[]> {
  const ns = options?.netns ?? Netns.host();
  const changed: IpFamily[] = [];
  for (const f of new Set(families)) {
    const name = FORWARD_SYSCTL[f];
    if (ns.getSysctlSync(name).trim() === "1") continue;
    ns.setSysctlSync(name, "1");
    changed.push(f);
  }
  return changed;
}

/**
 * The families present in a list of addresses/CIDRs (for {@link enableIpForward}, like Go's `EnableForward(ips)`).
 *
 * @example
 * await enableIpForward(familiesOf(result.ips.map((i) => i.address)));
 */
export function familiesOf(ips: readonly string[]): IpFamily[] {
  const out = new Set<IpFamily>();
  for (const ip of ips) {
    const f = ipFamily(ip);
    if (f) out.add(f);
  }
  return [...out];
}
