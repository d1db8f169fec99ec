/**
 * What the interop tests share beyond `@cnikit/testing`: our example plugins (built by
 * buildFixture, as `pnpm build` builds them), where Debian keeps the Go reference plugins, and
 * observations of host state the plugins touch (NAT rules, the runtime's cache, bridge ports).
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { HOST_NETNS, listLinks, runCommand } from "@cnikit/testing";
import { buildFixture } from "../../../tools/build-fixture.js";

/** Where Debian's containernetworking-plugins put the Go reference plugins. */
export const GO_DIR = "/usr/lib/cni";

/** Our example plugins, built (when stale) into their dist/: their paths and a CNI_PATH holding them all. */
export async function buildOurPlugins(names: readonly string[]): Promise<{ paths: Record<string, string>; path: string[] }> {
  const paths: Record<string, string> = {};
  for (const name of names) paths[name] = await buildFixture(`examples/${name}`);
  return { paths, path: Object.values(paths).map((p) => dirname(p)) };
}

/** Host links enslaved to `bridge`. */
export async function bridgePorts(bridge: string): Promise<string[]> {
  return (await listLinks(HOST_NETNS)).filter((l) => l.master === bridge).map((l) => l.name);
}

/** Files under a libcni-style cache dir (`results/*`). */
export function cacheFiles(cacheDir: string): string[] {
  const dir = join(cacheDir, "results");
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** NAT rules (iptables and nftables) that mention any of `needles` (addresses, chain names). */
export async function masqRulesMentioning(needles: readonly string[]): Promise<string[]> {
  const lines = [
    ...(await runCommand(["iptables", "-t", "nat", "-S"])).stdout.split("\n"),
    ...(await runCommand(["nft", "list", "ruleset"])).stdout.split("\n"),
  ];
  return lines.filter((l) => needles.some((n) => l.includes(n)));
}

/**
 * Removes iptables masquerade rules a plugin left for `network` (Go's bridge leaves them when the
 * container's address vanished before DEL): POSTROUTING rules with its comment, and their chains.
 */
export async function purgeIptablesMasq(network: string): Promise<void> {
  const listing = (await runCommand(["iptables", "-t", "nat", "-L", "POSTROUTING", "-n", "--line-numbers"])).stdout.split("\n");
  const mine = listing
    .filter((l) => l.includes(`name: "${network}"`))
    .map((l) => l.trim().split(/\s+/))
    .map(([num, target]) => ({ num: Number(num), target: target ?? "" }))
    .sort((x, y) => y.num - x.num);
  for (const r of mine) await runCommand(["iptables", "-t", "nat", "-D", "POSTROUTING", String(r.num)]);
  for (const chain of new Set(mine.map((r) => r.target).filter((t) => t.startsWith("CNI-")))) {
    await runCommand(["iptables", "-t", "nat", "-F", chain]);
    await runCommand(["iptables", "-t", "nat", "-X", chain]);
  }
}

/** The first address of a result (any version) without its prefix. */
export function ipOf(result: unknown): string {
  const r = result as { ips?: { address: string }[]; ip4?: { ip: string } } | undefined;
  const ips = r?.ips ?? (r?.ip4 ? [{ address: r.ip4.ip }] : []);
  return String(ips[0]?.address ?? "").split("/")[0] as string;
}
