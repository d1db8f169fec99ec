/**
 * Random names and hardware addresses (Go's `ip.RandomVethName`, and a locally administered
 * unicast MAC like the ones veth devices get).
 */
import { randomBytes } from "node:crypto";

/**
 * A random locally administered, unicast MAC address (`x2:..`, `x6:..`, `xa:..` or `xe:..`).
 *
 * @example
 * randomMac() // "a6:3f:09:11:c2:7e"
 */
export function randomMac(): string {
  const b = randomBytes(6);
  b[0] = ((b[0] ?? 0) & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/**
 * A random host-side veth name: `veth` + 8 hex characters (Go's `ip.RandomVethName`).
 *
 * @example
 * randomVethName() // "veth1a2b3c4d"
 */
export function randomVethName(): string {
  return `veth${randomBytes(4).toString("hex")}`;
}
