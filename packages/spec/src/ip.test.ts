import { isIP } from "node:net";
import { describe, expect, it } from "vitest";
import { CniError } from "./errors.js";
import {
  addToIp,
  broadcastOf,
  bytesToIp,
  canonicalIp,
  cidrContains,
  compareIps,
  formatCidr,
  formatIp,
  formatIpRaw,
  gatewayOf,
  ipFamily,
  ipToBytes,
  isCidr,
  isIpAddress,
  lastAddress,
  networkAddress,
  networkOf,
  nextIp,
  parseCidr,
  parseIp,
  parseIpRaw,
  prevIp,
  resultIpVersion,
  sameIp,
  tryParseCidr,
  tryParseIp,
} from "./ip.js";

function roundTrip(s: string): string | undefined {
  const ip = tryParseIp(s);
  return ip && formatIp(ip);
}

const ip = (s: string) => parseIp(s);

describe("parsing (Go net.ParseIP / ParseCIDR rules)", () => {
  it.each([
    "1.2.3.4",
    "0.0.0.0",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "2001:db8::",
    "abcd:1234:ffff::cdde",
    "1:2:3:4:5:6:7:8",
    "::ffff:1.2.3.4",
    "1::2:3:4:5:6:7",
    "::1.2.3.4",
  ])("%s is an IP", (s) => expect(isIpAddress(s)).toBe(true));

  it.each([
    "",
    "1.2.3",
    "1.2.3.x",
    "1.2.3.256",
    "01.2.3.4",
    "010.1.2.3",
    "1.2.3.4.5",
    "a.b.c.d",
    "1.2.3.4/24",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "fe80::1%eth0",
    "1:1.2.3.4::",
    "12345::",
    "g::",
    "g::1",
    " 1.2.3.4",
  ])("%j is not an IP", (s) => {
    expect(isIpAddress(s)).toBe(false);
    expect(tryParseIp(s)).toBeUndefined();
    expect(() => parseIp(s)).toThrow(`invalid IP address: ${s}`);
  });

  it("parses IPv6 into 16 bytes and IPv4 into 4", () => {
    const bytes = (s: string) => [...ipToBytes(parseIpRaw(s) ?? expect.fail(s))];
    expect(bytes("::ffff:1.2.3.4")).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect(bytes("1.2.3.4")).toEqual([1, 2, 3, 4]);
    expect(bytesToIp([10, 0, 0, 1])).toBe("10.0.0.1");
    expect(ipToBytes("fd00::1")).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(ipToBytes("10.0.0.1"))).toBe(false);
    expect(bytesToIp(ipToBytes("fd00::1"))).toBe("fd00::1");
  });

  it("canonicalises v4-mapped IPv6 to IPv4 (parseIp, tryParseIp), keeps it as written (parseIpRaw)", () => {
    expect(tryParseIp("::ffff:10.0.0.1")).toEqual({ family: 4, value: 0x0a000001n });
    expect(parseIpRaw("::ffff:10.0.0.1")).toEqual({ family: 6, value: 0xffff0a000001n });
    expect(canonicalIp({ family: 6, value: 0xffff0a000001n })).toEqual({ family: 4, value: 0x0a000001n });
    expect(roundTrip("::ffff:a00:1")).toBe("10.0.0.1");
  });

  it("CIDRs keep host bits", () => {
    for (const ok of ["1.2.3.4/24", "10.0.0.0/0", "10.0.0.0/32", "2001:db8::/32", "::/0", "::1/128"]) expect(isCidr(ok)).toBe(true);
    for (const bad of ["1.2.3/45", "1.2.3.4/99", "1.2.3.4/33", "::/129", "1.2.3.4", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/2a", "x/24", "10.0.0.0/x", "x/8"]) {
      expect(isCidr(bad), bad).toBe(false);
      expect(tryParseCidr(bad), bad).toBeUndefined();
      expect(() => parseCidr(bad), bad).toThrow(`invalid CIDR address: ${bad}`);
    }
    const c = parseCidr("10.0.0.5/24");
    expect(tryParseCidr("10.0.0.5/24")).toEqual(c);
    expect(formatIp(c.ip)).toBe("10.0.0.5");
    expect(c.prefix).toBe(24);
    expect(c.maskBits).toBe(32);
    expect(formatCidr(c.ip, c.prefix)).toBe("10.0.0.5/24");
  });

  it("marks a v4-mapped IPv6 CIDR with a 128-bit mask", () => {
    const c = parseCidr("::ffff:10.0.0.0/104");
    expect(c.ip.family).toBe(4);
    expect(c.maskBits).toBe(128);
  });

  it("families follow Go's To4() (resultIpVersion, internal) or the text as written (ipFamily)", () => {
    expect(resultIpVersion("10.0.0.1/24")).toBe("4");
    expect(resultIpVersion("fd00::1/64")).toBe("6");
    expect(resultIpVersion("::ffff:10.0.0.1")).toBe("4");
    expect(resultIpVersion("::10.0.0.1")).toBe("6");
    expect(ipFamily("10.0.0.1/8")).toBe(4);
    expect(ipFamily("::")).toBe(6);
    expect(ipFamily("::ffff:10.0.0.1")).toBe(6);
    expect(ipFamily("nope")).toBeUndefined();
  });

  it("text helpers accept exactly what node:net isIP accepts (zones included)", () => {
    const samples = [
      "fe80::1%eth0", "fe80::1%", "fe80::1%eth 0", "fe80::1%a%b", "::ffff:1.2.3.4%eth0", "1.2.3.4%x", "1.2.3.4%a:b",
      "1:2:3:4::5:6:7:8", "1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
      "::ffff:01.2.3.4", "0000:0000::1", "00000::1", "FE80::A", "1.2.3.4 ", "::1.2.3", "1.2.3.04",
    ];
    let seed = 7;
    const alphabet = "0123456789abcdefABCDEF.:%z";
    for (let i = 0; i < 3000; i++) {
      let s = "";
      const len = 1 + (i % 18);
      for (let j = 0; j < len; j++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        s += alphabet[seed % alphabet.length];
      }
      samples.push(s);
    }
    for (const s of samples) expect(ipFamily(s) ?? 0, s).toBe(isIP(s));
  });
});

describe("formatting (Go net.IP.String())", () => {
  it("prints IPv4", () => {
    expect(roundTrip("10.1.2.3")).toBe("10.1.2.3");
    expect(roundTrip("255.255.255.255")).toBe("255.255.255.255");
  });
  it("prints IPv6 like Go (RFC 5952)", () => {
    expect(roundTrip("2001:DB8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(roundTrip("2001:db8:0:0:0:0:2:1")).toBe("2001:db8::2:1");
    expect(roundTrip("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(roundTrip("::")).toBe("::");
    expect(roundTrip("::1")).toBe("::1");
    expect(roundTrip("fe80::")).toBe("fe80::");
    expect(roundTrip("0:0:1::")).toBe("0:0:1::");
    expect(roundTrip("::2:3.4.5.6")).toBe("::2:304:506");
  });
  it("formatIpRaw (internal) keeps a v4-mapped address in IPv6 form", () => {
    expect(formatIpRaw({ family: 6, value: 0xffff0a000001n })).toBe("::ffff:a00:1");
  });
});

describe("arithmetic on values (Go pkg/ip): the same functions as on text", () => {
  it("next/prev/add wrap like Go's NextIP/PrevIP", () => {
    expect(formatIp(nextIp(ip("10.0.0.255")))).toBe("10.0.1.0");
    expect(formatIp(nextIp(ip("255.255.255.255")))).toBe("0.0.0.0");
    expect(formatIp(prevIp(ip("0.0.0.0")))).toBe("255.255.255.255");
    expect(formatIp(addToIp(ip("10.0.0.10"), -10))).toBe("10.0.0.0");
  });
  it("network, last address, containment, comparison", () => {
    expect(formatIp(networkAddress(ip("10.1.2.3"), 16))).toBe("10.1.0.0");
    expect(formatIp(lastAddress(ip("10.1.0.0"), 16))).toBe("10.1.255.255");
    expect(cidrContains({ ip: ip("10.0.0.0"), prefix: 8 }, ip("10.1.2.3"))).toBe(true);
    expect(cidrContains(parseCidr("10.0.0.0/8"), ip("11.0.0.0"))).toBe(false);
    expect(cidrContains({ ip: ip("10.0.0.0"), prefix: 8 }, ip("::1"))).toBe(false);
    expect(compareIps(ip("10.0.0.2"), ip("10.0.0.1"))).toBe(1);
    expect(compareIps(ip("10.0.0.1"), ip("::1"))).toBe(-2);
    expect(sameIp(tryParseIp("::ffff:10.0.0.1"), tryParseIp("10.0.0.1"))).toBe(true);
    expect(sameIp(undefined, undefined)).toBe(false);
  });
});

describe("text helpers (lenient, CniError on bad input)", () => {
  it("reads text leniently and prints it canonically", () => {
    expect(networkOf("10.1.2.3/24")).toBe("10.1.2.0/24");
    expect(ipFamily("10.1.2.3/24")).toBe(4);
    expect(networkOf("FD00:0:0::1/64")).toBe("fd00::/64");
    expect(addToIp("FD00:0:0::1", 0)).toBe("fd00::1");
    expect(ipFamily("FD00:0:0::1/64")).toBe(6);
    expect(addToIp("::ffff:10.0.0.1", 0)).toBe("::ffff:a00:1");
    expect(networkOf("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1/128");
    expect(addToIp("1:0:0:0:0:0:0:0", 0)).toBe("1::");
    expect(networkOf(" fe80::1%eth0/64 ")).toBe("fe80::/64");
    for (const bad of ["10.0.0.1/33", "10.0.0/8", "x", "fd00::1/129", "10.0.0.1/2/3", ""]) {
      expect(() => networkOf(bad), bad).toThrow(CniError);
    }
    expect(() => networkOf("x/24")).toThrow('invalid IP address or CIDR "x"');
    try {
      parseIp("x");
    } catch (err) {
      expect(err).toBeInstanceOf(CniError);
      expect((err as CniError).code).toBe(7);
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
    expect(() => nextIp("10.0.0.1/24")).toThrow(CniError);
  });
});
