import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "./errors.js";
import {
  ALL_VERSIONS,
  CURRENT_VERSION,
  compareVersions,
  parseVersion,
  resultFamily,
  versionGt,
  versionGte,
  versionsStartingFrom,
} from "./version.js";

describe("version helpers (Go pkg/version)", () => {
  it("knows the released versions", () => {
    expect(CURRENT_VERSION).toBe("1.1.0");
    expect(ALL_VERSIONS).toEqual(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
  });

  it("VersionsStartingFrom", () => {
    expect(versionsStartingFrom("0.3.1")).toEqual(["0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
    expect(versionsStartingFrom("0.1.0")).toEqual([...ALL_VERSIONS]);
  });

  it("ParseVersion", () => {
    expect(parseVersion("1.2.3")).toEqual([1, 2, 3]);
    expect(parseVersion("")).toEqual([0, 1, 0]);
    expect(parseVersion("1.0")).toEqual([1, 0, 0]);
    expect(parseVersion("2")).toEqual([2, 0, 0]);
  });

  it.each(["asdfasdf", "asdf.", ".asdfas", "asdf.adsf.", "0.", "..", "1.2.3.4.5"])("ParseVersion(%j) fails with code 6", (v) => {
    try {
      parseVersion(v);
      expect.unreachable();
    } catch (e) {
      expect(e instanceof CniError).toBe(true);
      expect((e as CniError).code).toBe(ErrorCode.DecodingFailure);
    }
  });

  it("uses Go's messages", () => {
    expect(() => parseVersion("1.2.3.4")).toThrow('invalid version "1.2.3.4": too many parts');
    expect(() => parseVersion("asdf")).toThrow('failed to convert major version part "asdf": strconv.Atoi: parsing "asdf": invalid syntax');
    expect(() => parseVersion("0.")).toThrow('failed to convert minor version part ""');
  });

  it.each([
    ["1.2.34", "1.2.14"],
    ["2.5.4", "2.4.4"],
    ["1.2.3", "0.2.3"],
    ["0.4.0", "0.3.1"],
  ])("GreaterThanOrEqualTo(%s, %s)", (a, b) => {
    expect(versionGte(a, b)).toBe(true);
    expect(versionGte(b, a)).toBe(false);
    expect(compareVersions(a, b)).toBe(1);
    expect(compareVersions(b, a)).toBe(-1);
  });

  it("equal versions", () => {
    expect(versionGte("1.2.3", "1.2.3")).toBe(true);
    expect(compareVersions("1.0", "1.0.0")).toBe(0);
    expect(compareVersions("", "0.1.0")).toBe(0);
  });

  it("GreaterThan", () => {
    expect(versionGt("1.1.0", "1.1.1")).toBe(false);
    expect(versionGt("1.1.1", "1.1.0")).toBe(true);
    expect(versionGt("1.1.1", "1.1.1")).toBe(false);
  });

  it("malformed versions on either side are errors", () => {
    for (const [a, b] of [
      ["1.2.3", "asdf"],
      ["asdf", "1.2.3"],
      ["1.2.3.4", "1.2.3"],
    ] as const) {
      expect(() => versionGte(a, b)).toThrow(CniError);
      expect(() => versionGt(a, b)).toThrow(CniError);
    }
  });

  it("resultFamily", () => {
    expect(["", "0.1.0", "0.2.0"].map(resultFamily)).toEqual(["020", "020", "020"]);
    expect(["0.3.0", "0.3.1", "0.4.0"].map(resultFamily)).toEqual(["040", "040", "040"]);
    expect(["1.0.0", "1.1.0"].map(resultFamily)).toEqual(["100", "100"]);
    expect(resultFamily("1.2.0")).toBeUndefined();
    expect(resultFamily("1.0")).toBeUndefined();
  });
});
