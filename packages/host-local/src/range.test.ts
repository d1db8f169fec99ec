import { describe, expect, it } from "vitest";
import { parseIp } from "@cnikit/spec";
import { canonicalizeRange, canonicalizeRangeSet, rangeContains, rangeFor, rangeSetToString, rangeToString } from "./range.js";

describe("canonicalizeRange", () => {
  it("fills in defaults (v4: broadcast - 1)", () => {
    const r = canonicalizeRange({ subnet: "192.0.2.0/24" });
    expect(rangeToString(r)).toBe("192.0.2.1-192.0.2.254");
  });
  it("fills in defaults (v6: last address)", () => {
    const r = canonicalizeRange({ subnet: "2001:db8:1::/64" });
    expect(rangeToString(r)).toBe("2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff");
  });
  it("rejects /31, /32, /127, /128", () => {
    expect(() => canonicalizeRange({ subnet: "10.0.0.0/31" })).toThrow("Network 10.0.0.0/31 too small to allocate from");
    expect(() => canonicalizeRange({ subnet: "10.0.0.0/32" })).toThrow("Network 10.0.0.0/32 too small to allocate from");
    expect(() => canonicalizeRange({ subnet: "2001:db8::/127" })).toThrow("Network 2001:db8::/127 too small to allocate from");
    expect(() => canonicalizeRange({ subnet: "10.0.0.0/30" })).not.toThrow();
  });
  it("rejects host bits", () => {
    expect(() => canonicalizeRange({ subnet: "10.1.2.3/24" })).toThrow(
      "Network has host bits set. For a subnet mask of length 24 the network address is 10.1.2.0",
    );
  });
  it("rejects a v4-mapped IPv6 subnet", () => {
    expect(() => canonicalizeRange({ subnet: "::ffff:10.0.0.0/104" })).toThrow("IPNet IP and Mask version mismatch");
  });
  it("checks rangeStart / rangeEnd", () => {
    expect(() => canonicalizeRange({ subnet: "10.0.0.0/24", rangeStart: "10.0.1.1" })).toThrow(
      "RangeStart 10.0.1.1 not in network 10.0.0.0/24",
    );
    expect(() => canonicalizeRange({ subnet: "10.0.0.0/24", rangeEnd: "10.0.1.1" })).toThrow(
      "RangeEnd 10.0.1.1 not in network 10.0.0.0/24",
    );
    expect(() => canonicalizeRange({ subnet: "10.0.0.0/24", rangeStart: "10.0.0.50", rangeEnd: "10.0.0.40" })).toThrow(
      "RangeStart 10.0.0.50 not in network 10.0.0.0/24",
    );
    const r = canonicalizeRange({ subnet: "10.0.0.0/24", rangeStart: "10.0.0.40", rangeEnd: "10.0.0.50", gateway: "10.0.0.254" });
    expect(rangeToString(r)).toBe("10.0.0.40-10.0.0.50");
    expect(rangeContains(r, parseIp("10.0.0.39"))).toBe(false);
    expect(rangeContains(r, parseIp("10.0.0.50"))).toBe(true);
  });
  it("reports bad CIDRs and IPs with Go's texts", () => {
    expect(() => canonicalizeRange({ subnet: "10.0.0.0/40" })).toThrow("invalid CIDR address: 10.0.0.0/40");
    expect(() => canonicalizeRange({ subnet: "10.0.0.0/24", gateway: "x" })).toThrow("invalid IP address: x");
  });
});

describe("canonicalizeRangeSet", () => {
  it("rejects empty, mixed and overlapping sets", () => {
    expect(() => canonicalizeRangeSet([])).toThrow("empty range set");
    expect(() => canonicalizeRangeSet([{ subnet: "10.0.0.0/24" }, { subnet: "2001:db8::/64" }])).toThrow("mixed address families");
    expect(() => canonicalizeRangeSet([{ subnet: "10.0.0.0/24" }, { subnet: "10.0.0.0/25" }])).toThrow(
      "subnets 10.0.0.1-10.0.0.254 and 10.0.0.1-10.0.0.126 overlap",
    );
  });
  it("finds the range of an IP", () => {
    const set = canonicalizeRangeSet([{ subnet: "10.0.0.0/24" }, { subnet: "10.0.1.0/24" }]);
    expect(rangeSetToString(set)).toBe("10.0.0.1-10.0.0.254,10.0.1.1-10.0.1.254");
    expect(rangeToString(rangeFor(set, parseIp("10.0.1.7")))).toBe("10.0.1.1-10.0.1.254");
    expect(() => rangeFor(set, parseIp("10.0.2.7"))).toThrow("10.0.2.7 not in range set 10.0.0.1-10.0.0.254,10.0.1.1-10.0.1.254");
  });
});
