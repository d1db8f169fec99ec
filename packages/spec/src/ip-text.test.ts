import { describe, expect, it } from "vitest";
import { ipFamilyOf, isCidr, isIpAddress, parseIpBytes } from "./ip-text.js";

describe("ip-text (Go net.ParseIP / ParseCIDR rules)", () => {
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
    "1.2.3.4.5",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "fe80::1%eth0",
    "12345::",
    "g::",
    " 1.2.3.4",
  ])("%j is not an IP", (s) => expect(isIpAddress(s)).toBe(false));

  it("parses IPv6 into 16 bytes", () => {
    expect(parseIpBytes("::ffff:1.2.3.4")).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect(parseIpBytes("1.2.3.4")).toEqual([1, 2, 3, 4]);
  });

  it("CIDRs", () => {
    for (const ok of ["1.2.3.4/24", "10.0.0.0/0", "10.0.0.0/32", "2001:db8::/32", "::/0", "::1/128"]) expect(isCidr(ok)).toBe(true);
    for (const bad of ["1.2.3/45", "1.2.3.4/99", "1.2.3.4/33", "::/129", "1.2.3.4", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/2a", "x/24"])
      expect(isCidr(bad)).toBe(false);
  });

  it("families follow Go's To4()", () => {
    expect(ipFamilyOf("10.0.0.1/24")).toBe("4");
    expect(ipFamilyOf("fd00::1/64")).toBe("6");
    expect(ipFamilyOf("::ffff:10.0.0.1")).toBe("4");
    expect(ipFamilyOf("::10.0.0.1")).toBe("6");
  });
});
