/**
 * CNI version helpers.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version
 */
import { CniError, ErrorCode } from "./errors.js";

/**
 * The spec version this library implements.
 * @example convertResult(result, CURRENT_VERSION)
 */
export const CURRENT_VERSION = "1.1.0";

/**
 * Every released CNI spec version, oldest first.
 * @example definePlugin({ ..., cniVersions: ALL_VERSIONS })
 */
export const ALL_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

/**
 * The result family a version belongs to: 0.1/0.2 (`ip4`/`ip6`), 0.3/0.4 (`ips` with `version`), 1.x.
 *
 * @example
 * const family: ResultFamily | undefined = resultFamily("0.3.1"); // "040"
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-considerations
 */
export type ResultFamily = "020" | "040" | "100";

/**
 * Parses `major.minor.patch` (fewer parts are allowed; "" means 0.1.0, as in Go).
 *
 * @throws CniError code 6 for anything else, with Go's texts: `invalid version "1.2.3.4": too many parts`,
 *   `failed to convert minor version part "x": strconv.Atoi: parsing "x": invalid syntax`.
 * @example parseVersion("1.0") // [1, 0, 0]
 */
export function parseVersion(version: string): [number, number, number] {
  if (version === "") return [0, 1, 0];
  const parts = version.split(".");
  if (parts.length > 3) throw new CniError(ErrorCode.DecodingFailure, `invalid version "${version}": too many parts`);
  const nums: number[] = [];
  const names = ["major", "minor", "micro"];
  parts.forEach((p, i) => {
    if (!/^\d+$/.test(p)) {
      throw new CniError(
        ErrorCode.DecodingFailure,
        `failed to convert ${names[i]} version part "${p}": strconv.Atoi: parsing "${p}": invalid syntax`,
      );
    }
    nums.push(Number(p));
  });
  return [nums[0] ?? 0, nums[1] ?? 0, nums[2] ?? 0];
}

/**
 * Compares two versions: -1, 0 or 1.
 * @example compareVersions("0.3.1", "0.3.0") // 1
 * @throws CniError code 6 on a malformed version.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/**
 * `a >= b`.
 * @example versionGte("1.0.0", "0.4.0") // true
 * @throws CniError code 6 on a malformed version.
 */
export function versionGte(a: string, b: string): boolean {
  return compareVersions(a, b) >= 0;
}

/**
 * `a > b`.
 * @example versionGt("1.1.0", "1.1.0") // false
 * @throws CniError code 6 on a malformed version.
 */
export function versionGt(a: string, b: string): boolean {
  return compareVersions(a, b) > 0;
}

/**
 * The released versions from `min` on.
 * @example versionsStartingFrom("0.3.1") // ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]
 */
export function versionsStartingFrom(min: string): string[] {
  return ALL_VERSIONS.filter((v) => versionGte(v, min));
}

/**
 * Which result family a version's results use, or `undefined` for an unknown version.
 * "" counts as 0.1.0.
 *
 * @example resultFamily("0.3.1") // "040"
 */
export function resultFamily(version: string): ResultFamily | undefined {
  switch (version) {
    case "":
    case "0.1.0":
    case "0.2.0":
      return "020";
    case "0.3.0":
    case "0.3.1":
    case "0.4.0":
      return "040";
    case "1.0.0":
    case "1.1.0":
      return "100";
    default:
      return undefined;
  }
}
