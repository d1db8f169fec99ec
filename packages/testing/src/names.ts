/**
 * Unique names for the namespaces and links a test creates.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { randomBytes } from "node:crypto";

/**
 * Longest Linux interface name (IFNAMSIZ - 1).
 *
 * @example
 * ```ts
 * uniqueName("ckveth", MAX_LINK_NAME).length; // 15
 * ```
 */
export const MAX_LINK_NAME = 15;

/**
 * A name unique to this call: `prefix` + random hex, at most 15 characters so it
 * is valid for links as well as namespaces.
 *
 * @throws {RangeError} when `prefix` leaves fewer than 4 hex digits.
 * @example
 * ```ts
 * uniqueName();        // "ck3f9a1c0e2b"
 * uniqueName("ckbr");  // "ckbr5d0e91a4c7"
 * ```
 */
export function uniqueName(prefix = "ck", length = 12): string {
  const hex = Math.min(length, MAX_LINK_NAME) - prefix.length;
  if (hex < 4) throw new RangeError(`prefix "${prefix}" leaves ${hex} random characters; need at least 4`);
  return prefix + randomBytes(Math.ceil(hex / 2)).toString("hex").slice(0, hex);
}
