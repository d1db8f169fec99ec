/**
 * cnitool's container ID derivation.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";

/**
 * The container ID cnitool uses for a netns path: `cnitool-` plus the hex of the first 10 bytes
 * of the SHA-512 of the absolute path, so `cnikit` and `cnitool` address the same attachment.
 *
 * @example cnitoolContainerId("/var/run/netns/blue") // "cnitool-…" (20 hex digits)
 */
export function cnitoolContainerId(netnsPath: string): string {
  const digest = createHash("sha512").update(resolve(netnsPath)).digest();
  return `cnitool-${digest.subarray(0, 10).toString("hex")}`;
}
