/**
 * Host-side veth names, random (Go's `ip.RandomVethName`) or derived from the attachment
 * (`hostVethName`, like Calico's `VethNameForWorkload`), and random hardware addresses (a locally
 * administered unicast MAC like the ones veth devices get).
 *
 * The bytes come from `/dev/urandom` read synchronously, 64 at a time (a warm daemon's ADD needs
 * 10: one read serves six ADDs): loading `node:crypto` costs ~4 ms at the start of every plugin
 * call, for 4 or 6 random bytes. `node:crypto` is only loaded when `/dev/urandom` cannot be read.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
import { fileOps } from "@cnikit/native";
import { CniError, ErrorCode } from "@cnikit/spec";
import { builtin } from "./builtin.js";

/** Random bytes read ahead: one read of /dev/urandom serves several names and MACs (an ADD needs 10). */
const POOL_BYTES = 64;
const pool = Buffer.alloc(POOL_BYTES);
let poolAt = POOL_BYTES;

function fill(buf: Buffer): void {
  const fd = fileOps.openSync("/dev/urandom", "r");
  try {
    let got = 0;
    while (got < buf.length) {
      const r = fileOps.readSync(fd, buf, got, buf.length - got, null);
      if (r <= 0) throw new Error("short read from /dev/urandom");
      got += r;
    }
  } finally {
    fileOps.closeSync(fd);
  }
}

/**
 * `n` cryptographically random bytes, each handed out once.
 *
 * @example
 * randomBytes(4) // <Buffer 1a 2b 3c 4d>
 * @internal
 */
export function randomBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  if (n > POOL_BYTES) {
    try {
      fill(out);
      return out;
    } catch {
      return builtin<typeof import("node:crypto")>("node:crypto").randomBytes(n);
    }
  }
  if (poolAt + n > POOL_BYTES) {
    try {
      fill(pool);
      poolAt = 0;
    } catch {
      return builtin<typeof import("node:crypto")>("node:crypto").randomBytes(n);
    }
  }
  pool.copy(out, 0, poolAt, poolAt + n);
  pool.fill(0, poolAt, poolAt + n); // handed out: not kept in memory
  poolAt += n;
  return out;
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

/** Linux's interface name limit (IFNAMSIZ - 1). */
const IFNAME_MAX = 15;
/** Hex characters a {@link hostVethName} keeps at least: 16^4 names per prefix. */
const MIN_HASH_CHARS = 4;

/**
 * A deterministic host-side veth name for one attachment: `prefix` + the sha256 hex of
 * `<containerId>:<ifName>`, truncated to 15 characters (`veth` + 11 hex digits by default, as
 * Calico's `cali` + 11). The same (container, interface) always gets the same name, so DEL,
 * CHECK and GC can find the host end without a stored result; a leftover link from an earlier
 * ADD shows up as `LinkExistsError` from `setupVeth` instead of a second pair.
 *
 * @example
 * const hostIfName = hostVethName(ctx.containerId, ctx.ifName); // "veth" + 11 hex digits
 * hostVethName(ctx.containerId, ctx.ifName, "ptp") // "ptp" + 12 hex digits
 * await setupVeth({ netns, ifName: ctx.ifName, hostIfName });
 * @throws {CniError} code 7 when `prefix` is longer than 11 characters or holds a character an
 *   interface name cannot (`/`, `:`, whitespace).
 */
export function hostVethName(containerId: string, ifName: string, prefix = "veth"): string {
  if (prefix.length > IFNAME_MAX - MIN_HASH_CHARS || /[/:\s]/.test(prefix)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `invalid veth name prefix ${JSON.stringify(prefix)}: at most ${IFNAME_MAX - MIN_HASH_CHARS} characters, no "/", ":" or whitespace`,
    );
  }
  // node:crypto is loaded here, not at start-up: only plugins that name their veths pay for it
  const { createHash } = builtin<typeof import("node:crypto")>("node:crypto");
  const hash = createHash("sha256").update(`${containerId}:${ifName}`).digest("hex");
  return (prefix + hash).slice(0, IFNAME_MAX);
}
