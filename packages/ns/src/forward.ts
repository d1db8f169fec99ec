/**
 * Host sysctls and IP forwarding (Go's `ip.EnableIP4Forward`/`EnableIP6Forward`, `sysctl.Sysctl`).
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
import { Netns, type NetnsOption } from "./netns.js";
import { ipFamily } from "./cidr.js";

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

/** An address family for forwarding: "4"/"6" (also 4/6). */
/**
 * An address family for {@link enableIpForward}, as a string (`"4"`, as CNI 0.x results write it) or a number.
 *
 * @example
 * const families: ForwardFamily[] = familiesOf(result.ips?.map((ip) => ip.address) ?? []);
 * await enableIpForward(families);
 */
export type ForwardFamily = "4" | "6" | 4 | 6;

const FORWARD_SYSCTL = { "4": "net/ipv4/ip_forward", "6": "net/ipv6/conf/all/forwarding" } as const;

/**
 * Enables IP forwarding for each family, writing only where it is not already on.
 * Resolves with the families it actually changed.
 *
 * @example
 * await enableIpForward(["4"]);              // host
 * await enableIpForward(["4", "6"], { netns }); // inside a netns
 * @throws {CniError} code 5 when the sysctl cannot be read or written.
 */
export async function enableIpForward(
  families: readonly ForwardFamily[],
  options?: NetnsOption,
): Promise<("4" | "6")[]> {
  const ns = options?.netns ?? Netns.host();
  const changed: ("4" | "6")[] = [];
  for (const f of new Set(families.map((x) => String(x) as "4" | "6"))) {
    const name = FORWARD_SYSCTL[f];
    if (!name) continue;
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
export function familiesOf(ips: readonly string[]): ("4" | "6")[] {
  const out = new Set<"4" | "6">();
  for (const ip of ips) {
    const f = ipFamily(ip);
    if (f) out.add(f === 4 ? "4" : "6");
  }
  return [...out];
}
