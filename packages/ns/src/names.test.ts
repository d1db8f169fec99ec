import { describe, expect, it } from "vitest";
import { CniError } from "@cnikit/spec";
import { randomMac, randomVethName } from "./mac.js";
import { sysctlPath } from "./sysctl.js";

describe("names", () => {
  it("random MACs are unicast and locally administered; veth names like Go", () => {
    for (let i = 0; i < 50; i++) {
      const m = randomMac();
      expect(m).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(Number.parseInt(m.slice(0, 2), 16) & 0x03).toBe(0x02);
      expect(randomVethName()).toMatch(/^veth[0-9a-f]{8}$/);
    }
  });
  it("sysctl names normalise like Go", () => {
    expect(sysctlPath("net.ipv4.ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(sysctlPath("net/ipv4/ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(sysctlPath("net.ipv4.conf.eth0/100.rp_filter")).toBe("/proc/sys/net/ipv4/conf/eth0.100/rp_filter");
    expect(sysctlPath("net/ipv4/conf/eth0.100/rp_filter")).toBe("/proc/sys/net/ipv4/conf/eth0.100/rp_filter");
    expect(() => sysctlPath("net/../../etc")).toThrow(CniError);
    expect(() => sysctlPath("")).toThrow(CniError);
  });
});
