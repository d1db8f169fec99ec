import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IPMASQ_NFT_TABLE, gcIpMasq, ipMasqChainName, setupIpMasq, teardownIpMasq } from "../src/index.js";
import { nsName, uniq, withNetns } from "./helpers.js";

function nftTable(): string {
  try {
    return execFileSync("nft", ["list", "table", "inet", IPMASQ_NFT_TABLE], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return "";
  }
}
const natRules = (cmd = "iptables") => execFileSync(cmd, ["-w", "-t", "nat", "-S"], { encoding: "utf8" });

const ipNat = () => {
  try {
    return execFileSync("nft", ["list", "table", "ip", "nat"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return "";
  }
};
let tableExisted = false;
let ipNatExisted = false;
beforeAll(() => {
  tableExisted = nftTable() !== "";
  ipNatExisted = ipNat() !== "";
});
afterAll(() => {
  // remove the shared table only if this file created it and nothing else uses it now
  const t = nftTable();
  if (!tableExisted && t && !/masquerade comment/.test(t))
    execFileSync("nft", ["delete", "table", "inet", IPMASQ_NFT_TABLE]);
  // iptables-nft creates `table ip nat` on first use: drop it again if we created it and it holds no rules
  const n = ipNat();
  if (!ipNatExisted && n && !/\n\s+(?!type )[a-z].*(jump|goto|masquerade|accept|counter)/.test(n))
    execFileSync("nft", ["delete", "table", "ip", "nat"]);
});

describe("ip masquerade", () => {
  it("nftables: rules appear per attachment and are removed; re-setup is idempotent", async () => {
    const network = uniq("cknet", 6);
    const a = { network, containerId: uniq("ctr", 8), ifName: "eth0", ips: ["10.231.0.5/16", "fd31::5/64"] };
    const b = { network, containerId: uniq("ctr", 8), ifName: "eth0", ips: ["10.231.0.6/16"] };
    try {
      expect(await setupIpMasq({ ...a, backend: "nftables" })).toBe("nftables");
      await setupIpMasq(a); // default backend is nftables here; no duplicates
      await setupIpMasq(b);
      let t = nftTable();
      expect(t.match(new RegExp(`net: ${network}, if: eth0, id: ${a.containerId}`, "g"))).toHaveLength(2);
      expect(t).toMatch(/ip saddr 10\.231\.0\.5 ip daddr != 10\.231\.0\.0\/16 masquerade/);
      expect(t).toMatch(/ip6 saddr fd31::5 ip6 daddr != fd31::\/64 masquerade/);
      expect(t).toMatch(/type nat hook postrouting priority srcnat/);
      await teardownIpMasq(a);
      t = nftTable();
      expect(t).not.toContain(a.containerId);
      expect(t).toContain(b.containerId);
      await teardownIpMasq(a); // idempotent
      // GC: b is not in the valid set, so it goes; a valid attachment of another network stays untouched
      expect(await gcIpMasq({ network, validAttachments: [{ containerID: "other", ifname: "eth0" }] })).toBe(1);
      expect(nftTable()).not.toContain(network);
      expect(await gcIpMasq({ network, validAttachments: [] })).toBe(0);
    } finally {
      await teardownIpMasq(a).catch(() => {});
      await teardownIpMasq(b).catch(() => {});
    }
  });

  it("GC keeps valid attachments", async () => {
    const network = uniq("cknet", 6);
    const a = { network, containerId: uniq("ctr", 8), ifName: "eth0", ips: ["10.232.0.5/16"] };
    try {
      await setupIpMasq(a);
      expect(await gcIpMasq({ network, validAttachments: [{ containerID: a.containerId, ifname: "eth0" }] })).toBe(0);
      expect(nftTable()).toContain(a.containerId);
    } finally {
      await teardownIpMasq(a);
    }
    expect(nftTable()).not.toContain(a.containerId);
  });

  it("iptables fallback: Go-compatible chain and comment, removed on teardown", async () => {
    const network = uniq("cknet", 6);
    const o = { network, containerId: uniq("ctr", 8), ifName: "eth0", ips: ["10.233.0.7/24"] };
    const chain = ipMasqChainName(network, o.containerId);
    expect(chain).toMatch(/^CNI-[0-9a-f]{24}$/);
    try {
      expect(await setupIpMasq({ ...o, backend: "iptables" })).toBe("iptables");
      await setupIpMasq({ ...o, backend: "iptables" });
      const rules = natRules();
      expect(rules).toContain(`-N ${chain}`);
      expect(rules.match(new RegExp(`-A POSTROUTING -s 10\\.233\\.0\\.7/32 .*-j ${chain}`, "g"))).toHaveLength(1);
      expect(rules).toContain(`-A ${chain} -d 10.233.0.0/24`);
      expect(rules).toMatch(new RegExp(`-A ${chain} ! -d 224\\.0\\.0\\.0/4 .*-j MASQUERADE`));
      expect(rules).toContain(`name: \\"${network}\\" id: \\"${o.containerId}\\"`);
    } finally {
      await teardownIpMasq(o);
    }
    expect(natRules()).not.toContain(chain);
  });

  it("iptables GC removes only the chains of attachments no longer valid", async () => {
    const network = uniq("cknet", 6);
    const a = { network, containerId: uniq("ctr", 8), ifName: "eth0", ips: ["10.234.0.5/24"] };
    const b = { network, containerId: uniq("ctr", 8), ifName: "eth0", ips: ["10.234.0.6/24"] };
    const chainA = ipMasqChainName(network, a.containerId);
    const chainB = ipMasqChainName(network, b.containerId);
    try {
      await setupIpMasq({ ...a, backend: "iptables" });
      await setupIpMasq({ ...b, backend: "iptables" });
      expect(natRules()).toContain(`-N ${chainB}`);
      expect(await gcIpMasq({ network, validAttachments: [{ containerID: a.containerId, ifname: "eth0" }] })).toBe(1);
      const rules = natRules();
      expect(rules).toContain(`-N ${chainA}`);
      expect(rules).toMatch(new RegExp(`-A POSTROUTING -s 10\\.234\\.0\\.5/32 .*-j ${chainA}`));
      expect(rules).not.toContain(chainB);
      expect(rules).not.toContain(b.containerId);
      expect(await gcIpMasq({ network, validAttachments: [{ containerID: a.containerId, ifname: "eth0" }] })).toBe(0);
    } finally {
      await teardownIpMasq(a).catch(() => {});
      await teardownIpMasq(b).catch(() => {});
    }
    const rules = natRules();
    expect(rules).not.toContain(chainA);
    expect(rules).not.toContain(chainB);
  });

  it("acts in options.netns: the rules live in that namespace's firewall only", async () => {
    await withNetns(1, async (ns) => {
      const inNs = (cmd: string, args: string[]) =>
        execFileSync("ip", ["netns", "exec", nsName(ns), cmd, ...args], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
        });
      const network = uniq("cknet", 6);
      const a = { network, containerId: uniq("ctr", 8), ifName: "eth0", ips: ["10.235.0.5/16"], netns: ns };
      expect(await setupIpMasq({ ...a, backend: "nftables" })).toBe("nftables");
      expect(inNs("nft", ["list", "table", "inet", IPMASQ_NFT_TABLE])).toMatch(
        /ip saddr 10\.235\.0\.5 ip daddr != 10\.235\.0\.0\/16 masquerade/,
      );
      expect(nftTable()).not.toContain(a.containerId);
      expect(await setupIpMasq({ ...a, backend: "iptables" })).toBe("iptables");
      const chain = ipMasqChainName(network, a.containerId);
      expect(inNs("iptables", ["-w", "-t", "nat", "-S"])).toContain(`-N ${chain}`);
      expect(natRules()).not.toContain(chain);
      expect(await gcIpMasq({ network, validAttachments: [], netns: ns })).toBe(2);
      expect(inNs("nft", ["list", "table", "inet", IPMASQ_NFT_TABLE])).not.toContain(a.containerId);
      expect(inNs("iptables", ["-w", "-t", "nat", "-S"])).not.toContain(chain);
      await teardownIpMasq(a); // nothing left: idempotent
    });
  });
});
