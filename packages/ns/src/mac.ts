/**
 * Random names and hardware addresses (Go's `ip.RandomVethName`, and a locally administered
 * unicast MAC like the ones veth devices get).
 *
 * The bytes come from `/dev/urandom` read synchronously: loading `node:crypto` costs ~4 ms at
 * the start of every plugin call, for 4 or 6 random bytes. `node:crypto` is only loaded when
 * `/dev/urandom` cannot be read.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
import { closeSync, openSync, readSync } from "node:fs";
import { builtin } from "./builtin.js";

/**
 * `n` cryptographically random bytes.
 *
 * @example
 * randomBytes(4) // <Buffer 1a 2b 3c 4d>
 * @internal
 */
export function randomBytes(n: number): Buffer {
  const buf = Buffer.alloc(n);
  try {
    const fd = openSync("/dev/urandom", "r");
    try {
      let got = 0;
      while (got < n) {
        const r = readSync(fd, buf, got, n - got, null);
        if (r <= 0) throw new Error("short read from /dev/urandom");
        got += r;
      }
      return buf;
    } finally {
      closeSync(fd);
    }
  } catch {
    return builtin<typeof import("node:crypto")>("node:crypto").randomBytes(n);
  }
}

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
