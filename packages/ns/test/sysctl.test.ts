import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { enableIpForward, getSysctl, setSysctl } from "../src/index.js";
import { withNetns } from "./helpers.js";

describe("sysctl", () => {
  it("inside a netns differs from the host, and writes stay inside", async () => {
    await withNetns(1, async (ns) => {
      const hostTtl = readFileSync("/proc/sys/net/ipv4/ip_default_ttl", "utf8").trim();
      const want = hostTtl === "33" ? "34" : "33";
      await ns.setSysctl("net.ipv4.ip_default_ttl", want);
      expect(await ns.getSysctl("net/ipv4/ip_default_ttl")).toBe(want);
      expect(await getSysctl("net.ipv4.ip_default_ttl")).toBe(hostTtl);
      expect(await getSysctl("net.ipv4.ip_default_ttl", { netns: ns })).toBe(want);
      await setSysctl("net.ipv4.conf.lo.arp_notify", 1, { netns: ns });
      expect(await ns.getSysctl("net.ipv4.conf.lo.arp_notify")).toBe("1");
    });
  });

  it("dot/slash normalisation reaches interface names with dots", async () => {
    await withNetns(1, async (ns) => {
      await ns.createVeth({ name: "v.100", peer: { name: "v2" } });
      await ns.setSysctl("net/ipv4/conf/v.100/rp_filter", "2");
      expect(await ns.getSysctl("net.ipv4.conf.v/100.rp_filter")).toBe("2");
    });
  });

  it("missing sysctls are CniErrors (code 5)", async () => {
    await withNetns(1, async (ns) => {
      await expect(ns.getSysctl("net.ipv4.conf.nope0.rp_filter")).rejects.toMatchObject({ code: 5 });
      await expect(getSysctl("net.nope")).rejects.toMatchObject({ code: 5 });
      await expect(ns.setSysctl("net.ipv4.conf.nope0.rp_filter", 1)).rejects.toMatchObject({ code: 5 });
    });
  });

  it("enableIpForward writes only when needed, per family, in a netns", async () => {
    await withNetns(1, async (ns) => {
      await ns.setSysctl("net.ipv4.ip_forward", 0); // a new netns may inherit the host's value
      await ns.setSysctl("net.ipv6.conf.all.forwarding", 0);
      expect(await enableIpForward([4, 6], { netns: ns })).toEqual([4, 6]);
      expect(await ns.getSysctl("net.ipv4.ip_forward")).toBe("1");
      expect(await ns.getSysctl("net.ipv6.conf.all.forwarding")).toBe("1");
      expect(await enableIpForward([4, 6], { netns: ns })).toEqual([]);
    });
  });

  it("enableIpForward on the host does not write when already on", async () => {
    const before = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();
    if (before !== "1") return; // never flip the host's setting from a test
    expect(await enableIpForward([4])).toEqual([]);
  });
});
