import { describe, expect, it } from "vitest";
import { formatIp, nextAddress, parseCidr, parseIp } from "./ip-address.js";

function roundTrip(s: string): string | undefined {
  const ip = parseIp(s);
  return ip && formatIp(ip);
}

describe("parseIp / formatIp (Go net rules)", () => {
  it("parses and prints IPv4", () => {
    expect(roundTrip("10.1.2.3")).toBe("10.1.2.3");
    expect(roundTrip("255.255.255.255")).toBe("255.255.255.255");
  });
  it("rejects malformed IPv4 (leading zeros, range, parts)", () => {
    for (const bad of ["010.1.2.3", "256.1.1.1", "1.2.3", "1.2.3.4.5", "a.b.c.d", "", "1.2.3.4/24", " 1.2.3.4"]) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
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
  it("canonicalises v4-mapped IPv6 to IPv4", () => {
    expect(parseIp("::ffff:10.0.0.1")).toEqual({ family: 4, value: 0x0a000001n });
    expect(roundTrip("::ffff:a00:1")).toBe("10.0.0.1");
  });
  it("rejects malformed IPv6", () => {
    for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "1:2:3:4:5:6:7", "g::1", ":::"]) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
  });
  it("wraps nextAddress like Go's NextIP", () => {
    expect(formatIp(nextAddress(parseIp("10.0.0.255")!))).toBe("10.0.1.0");
    expect(formatIp(nextAddress(parseIp("255.255.255.255")!))).toBe("0.0.0.0");
  });
});

describe("parseCidr", () => {
  it("keeps host bits", () => {
    const c = parseCidr("10.0.0.5/24")!;
    expect(formatIp(c.ip)).toBe("10.0.0.5");
    expect(c.prefix).toBe(24);
    expect(c.maskBits).toBe(32);
  });
  it("rejects bad prefixes and addresses", () => {
    for (const bad of ["10.0.0.0/33", "10.0.0.0", "10.0.0.0/", "10.0.0.0/x", "::/129", "x/8"]) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
  });
  it("marks a v4-mapped IPv6 CIDR with a 128-bit mask", () => {
    const c = parseCidr("::ffff:10.0.0.0/104")!;
    expect(c.ip.family).toBe(4);
    expect(c.maskBits).toBe(128);
  });
});
