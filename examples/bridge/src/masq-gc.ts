/**
 * GC of iptables masquerade rules. `gcIpMasq` from @cnikit/ns cleans the nftables backend (as
 * Go's GCIPMasqForNetwork does; Go's iptables GC is a FIXME). The iptables rules carry
 * `name: "<network>" id: "<containerID>"` in their comment, so the stale ones can be found too.
 */
import { execFile } from "node:child_process";
import { teardownIpMasq } from "@cnikit/ns";
import type { Attachment } from "@cnikit/spec";

function iptablesRules(tool: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(tool, ["-w", "-t", "nat", "-S", "POSTROUTING"], (err, stdout) => resolve(err ? "" : stdout));
  });
}

/** One container's masquerade rule as listed by `iptables -S`. */
interface IptablesMasq {
  containerId: string;
  source: string;
}

/**
 * Parses `iptables -t nat -S POSTROUTING` output for `network`'s masquerade rules.
 *
 * @example parseIptablesMasq(out, "mynet") // [{ containerId: "c1", source: "10.22.0.5/32" }]
 */
export function parseIptablesMasq(listing: string, network: string): IptablesMasq[] {
  const out: IptablesMasq[] = [];
  const quotedNet = JSON.stringify(network).replace(/"/g, '\\"');
  for (const line of listing.split("\n")) {
    if (!line.startsWith("-A POSTROUTING ") || !line.includes(`name: ${quotedNet} id: `)) continue;
    const source = /\s-s (\S+)/.exec(line)?.[1];
    const id = /id: \\"((?:[^\\]|\\[^"])*)\\""/.exec(line)?.[1];
    if (source && id !== undefined) out.push({ containerId: id, source });
  }
  return out;
}

/**
 * Removes the iptables masquerade chains of `network` whose container is not among
 * `validAttachments` (iptables rules are per container: the interface name is not part of them).
 * Best effort: a host without iptables has nothing to collect.
 *
 * @example await gcIptablesMasq("mynet", [{ containerID: "c1", ifname: "eth0" }]);
 * @throws CniError when a stale chain cannot be removed.
 */
export async function gcIptablesMasq(network: string, validAttachments: readonly Attachment[]): Promise<number> {
  const keep = new Set(validAttachments.map((a) => a.containerID));
  const stale = new Map<string, string[]>();
  for (const tool of ["iptables", "ip6tables"]) {
    for (const rule of parseIptablesMasq(await iptablesRules(tool), network)) {
      if (keep.has(rule.containerId)) continue;
      stale.set(rule.containerId, [...(stale.get(rule.containerId) ?? []), rule.source]);
    }
  }
  for (const [containerId, ips] of stale) await teardownIpMasq({ network, containerId, ifName: "", ips });
  return stale.size;
}
