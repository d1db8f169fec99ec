import { describe, expect, it } from "vitest";
import { CniError } from "@cnikit/spec";
import { addToIp, broadcastOf, cidrContains, compareIps, gatewayOf, ipFamily, networkOf, nextIp, parseCidr, prevIp } from "./cidr.js";
import { randomMac, randomVethName } from "./mac.js";
import { sysctlPath } from "./sysctl.js";

describe("cidr", () => {
  it("parses and canonicalises", () => {
    expect(parseCidr("10.1.2.3/24")).toEqual({ ip: "10.1.2.3", prefixLength: 24, family: 4, network: "10.1.2.0/24", cidr: "10.1.2.3/24" });
    expect(parseCidr("FD00:0:0::1/64")).toMatchObject({ ip: "fd00::1", network: "fd00::/64", family: 6 });
    expect(parseCidr("::ffff:10.0.0.1/128").ip).toBe("::ffff:a00:1");
    expect(parseCidr("2001:db8:0:0:1:0:0:1").cidr).toBe("2001:db8::1:0:0:1/128");
    expect(parseCidr("1:0:0:0:0:0:0:0/8").ip).toBe("1::");
    for (const bad of ["10.0.0.1/33", "10.0.0/8", "x", "fd00::1/129", "10.0.0.1/2/3", ""]) {
      expect(() => parseCidr(bad), bad).toThrow(CniError);
    }
  });
  it("does arithmetic like Go's pkg/ip", () => {
    expect(nextIp("10.0.0.255")).toBe("10.0.1.0");
    expect(prevIp("10.0.1.0")).toBe("10.0.0.255");
    expect(nextIp("255.255.255.255")).toBe("0.0.0.0");
    expect(nextIp("fd00::ffff")).toBe("fd00::1:0");
    expect(prevIp("fd00::1")).toBe("fd00::");
    expect(addToIp("10.0.0.1", 9)).toBe("10.0.0.10");
    expect(networkOf("10.22.33.44/12")).toBe("10.16.0.0/12");
    expect(gatewayOf("10.22.0.0/16")).toBe("10.22.0.1/16");
    expect(gatewayOf("fd00:1::/64")).toBe("fd00:1::1/64");
    expect(broadcastOf("10.1.2.3/24")).toBe("10.1.2.255");
    expect(broadcastOf("10.1.2.3/31")).toBeUndefined();
    expect(cidrContains("10.0.0.0/8", "10.1.2.3")).toBe(true);
    expect(cidrContains("10.0.0.0/8", "11.0.0.0")).toBe(false);
    expect(cidrContains("10.0.0.0/8", "10.0.0.0/7")).toBe(false);
    expect(cidrContains("fd00::/8", "fdff::1")).toBe(true);
    expect(cidrContains("0.0.0.0/0", "::1")).toBe(false);
    expect(compareIps("10.0.0.1", "10.0.0.2")).toBe(-1);
    expect(compareIps("10.0.0.1", "::1")).toBe(-2);
    expect(ipFamily("10.0.0.1/8")).toBe(4);
    expect(ipFamily("::")).toBe(6);
    expect(ipFamily("nope")).toBeUndefined();
  });
});

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
