/**
 * A human-readable rendering of a result for terminals.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
import { toCurrentResult } from "@cnikit/spec";
import type { AnyResult } from "@cnikit/spec";

/**
 * Renders a result as a few aligned lines: interfaces, addresses, routes, DNS.
 *
 * @example process.stdout.write(formatResultSummary(result));
 * @throws CniError when the result's version is unknown.
 */
export function formatResultSummary(result: AnyResult): string {
  const r = toCurrentResult(result);
  const lines: string[] = [`cniVersion ${result.cniVersion}`];
  const ifaces = r.interfaces ?? [];
  if (ifaces.length > 0) {
    lines.push("interfaces:");
    ifaces.forEach((i, idx) => {
      const parts = [`  [${idx}] ${i.name}`];
      if (i.mac) parts.push(`mac ${i.mac}`);
      if (i.mtu) parts.push(`mtu ${i.mtu}`);
      parts.push(i.sandbox ? `netns ${i.sandbox}` : "host");
      lines.push(parts.join("  "));
    });
  }
  const ips = r.ips ?? [];
  if (ips.length > 0) {
    lines.push("addresses:");
    for (const ip of ips) {
      const parts = [`  ${ip.address}`];
      if (ip.gateway) parts.push(`gateway ${ip.gateway}`);
      if (ip.interface !== undefined) parts.push(`on ${ifaces[ip.interface]?.name ?? `interface ${ip.interface}`}`);
      lines.push(parts.join("  "));
    }
  }
  const routes = r.routes ?? [];
  if (routes.length > 0) {
    lines.push("routes:");
    for (const rt of routes) {
      const parts = [`  ${rt.dst}`];
      if (rt.gw) parts.push(`via ${rt.gw}`);
      if (rt.priority !== undefined) parts.push(`metric ${rt.priority}`);
      if (rt.mtu !== undefined) parts.push(`mtu ${rt.mtu}`);
      if (rt.table !== undefined) parts.push(`table ${rt.table}`);
      lines.push(parts.join("  "));
    }
  }
  const dns = r.dns;
  if (dns && (dns.nameservers?.length || dns.domain || dns.search?.length || dns.options?.length)) {
    lines.push("dns:");
    if (dns.nameservers?.length) lines.push(`  nameservers ${dns.nameservers.join(", ")}`);
    if (dns.domain) lines.push(`  domain ${dns.domain}`);
    if (dns.search?.length) lines.push(`  search ${dns.search.join(", ")}`);
    if (dns.options?.length) lines.push(`  options ${dns.options.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}
