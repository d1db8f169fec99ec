/**
 * Host firewall state around the whole test run. The Go reference plugins and our masquerade
 * code share host-wide tables that no plugin ever removes: nftables `inet cni_plugins_masquerade`
 * (its base chains stay after the last rule goes), and the `ip nat` / `ip6 nat` tables that
 * iptables-nft creates on first use. Tests remove their own rules; this removes those shared
 * tables afterwards, but only the ones that did not exist before the run and hold no rule of
 * anyone's (a leaked rule stays visible, and nothing that was there before is touched).
 */
import { spawnSync } from "node:child_process";

const SHARED = ["inet cni_plugins_masquerade", "ip nat", "ip6 nat"];

function tables(): Set<string> {
  const out = spawnSync("nft", ["list", "tables"], { encoding: "utf8" });
  if (out.status !== 0) return new Set();
  return new Set(out.stdout.split("\n").map((l) => l.replace(/^table /, "").trim()).filter(Boolean));
}

/** True when the table's only rules are the masquerade table's own multicast/goto skeleton. */
function holdsNoRule(table: string): boolean {
  const out = spawnSync("nft", ["-j", "list", "table", ...table.split(" ")], { encoding: "utf8" });
  if (out.status !== 0) return false;
  const items = (JSON.parse(out.stdout) as { nftables: Record<string, { chain?: string }>[] }).nftables;
  const rules = items.filter((i) => i.rule).map((i) => i.rule?.chain);
  // cni_plugins_masquerade's postrouting chain always holds its fixed skeleton; masq_checks holds the per-IP rules
  return table === "inet cni_plugins_masquerade" ? !rules.includes("masq_checks") : rules.length === 0;
}

export function setup(): () => void {
  const before = tables();
  return () => {
    const after = tables();
    for (const t of SHARED) {
      if (!after.has(t) || before.has(t) || !holdsNoRule(t)) continue;
      spawnSync("nft", ["delete", "table", ...t.split(" ")], { stdio: "ignore" });
    }
  };
}
