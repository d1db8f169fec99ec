/**
 * IP and CIDR arithmetic on BigInt (Go's `pkg/ip` NextIP/PrevIP/Network equivalents).
 * Pure functions; addresses are strings in canonical form (IPv6 compressed per RFC 5952).
 */
import { isIP } from "node:net";
import { CniError, ErrorCode } from "@cnikit/spec";

/** Address family: 4 or 6. */
export type IpFamily = 4 | 6;

/** A parsed `ip/prefix`. */
export interface ParsedCidr {
  /** The address part, canonical (e.g. `10.1.2.3`, `fd00::1`). */
  ip: string;
  /** Prefix length. */
  prefixLength: number;
  family: IpFamily;
  /** The network in CIDR form (`10.1.2.0/24`). */
  network: string;
  /** The input in canonical form (`10.1.2.3/24`). */
  cidr: string;
}

function bad(what: string): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid IP address or CIDR "${what}"`);
}

/**
 * Family of an address or CIDR, or `undefined` when it is neither.
 *
 * @example
 * ipFamily("10.0.0.1") // 4
 * ipFamily("fd00::/64") // 6
 */
export function ipFamily(ipOrCidr: string): IpFamily | undefined {
  const ip = ipOrCidr.split("/")[0] ?? "";
  const f = isIP(ip);
  return f === 4 || f === 6 ? f : undefined;
}

/** @internal address → [value, family]. */
export function ipToBigInt(ip: string): [bigint, IpFamily] {
  const f = isIP(ip);
  if (f === 4) {
    let v = 0n;
    for (const p of ip.split(".")) v = (v << 8n) | BigInt(Number(p));
    return [v, 4];
  }
  if (f !== 6) bad(ip);
  let s = ip;
  const pct = s.indexOf("%");
  if (pct !== -1) s = s.slice(0, pct);
  // embedded IPv4 tail: rewrite it as two hex groups
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    const [v4] = ipToBigInt(tail);
    s = `${s.slice(0, lastColon + 1)}${((v4 >> 16n) & 0xffffn).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) bad(ip);
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves[1] ? halves[1].split(":") : [];
  const all = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - rest.length).fill("0"), ...rest] : head;
  if (all.length !== 8) bad(ip);
  let v = 0n;
  for (const g of all) v = (v << 16n) | BigInt(Number.parseInt(g, 16));
  return [v, 6];
}

/** @internal value → canonical address text. */
export function bigIntToIp(v: bigint, family: IpFamily): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
  }
  const g: number[] = [];
  for (let i = 7; i >= 0; i--) g.push(Number((v >> BigInt(i * 16)) & 0xffffn));
  // longest run of zero groups (length >= 2) → "::"
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best === -1) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** @internal the address as 4 or 16 network-order bytes. */
export function ipToBytes(ip: string): Buffer {
  const [v, f] = ipToBigInt(ip);
  const n = f === 4 ? 4 : 16;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[n - 1 - i] = Number((v >> BigInt(i * 8)) & 0xffn);
  return b;
}

/** @internal 4 or 16 network-order bytes → address text. */
export function bytesToIp(b: Buffer): string {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return bigIntToIp(v, b.length === 4 ? 4 : 6);
}

function bits(f: IpFamily): number {
  return f === 4 ? 32 : 128;
}

function mask(f: IpFamily, prefix: number): bigint {
  const n = BigInt(bits(f));
  return ((1n << n) - 1n) ^ ((1n << (n - BigInt(prefix))) - 1n);
}

/**
 * Parses `ip/prefix` (also accepts a bare address as a host prefix /32 or /128).
 *
 * @example
 * parseCidr("10.1.2.3/24") // { ip: "10.1.2.3", prefixLength: 24, family: 4, network: "10.1.2.0/24", cidr: "10.1.2.3/24" }
 * @throws {CniError} code 7 when the input is not an address or CIDR.
 */
export function parseCidr(cidr: string): ParsedCidr {
  const [ipPart, prefixPart, extra] = cidr.trim().split("/");
  if (extra !== undefined || !ipPart) bad(cidr);
  const [v, family] = ipToBigInt(ipPart);
  const max = bits(family);
  let prefixLength = max;
  if (prefixPart !== undefined) {
    if (!/^\d{1,3}$/.test(prefixPart)) bad(cidr);
    prefixLength = Number(prefixPart);
    if (prefixLength > max) bad(cidr);
  }
  const ip = bigIntToIp(v, family);
  return {
    ip,
    prefixLength,
    family,
    network: `${bigIntToIp(v & mask(family, prefixLength), family)}/${prefixLength}`,
    cidr: `${ip}/${prefixLength}`,
  };
}

/**
 * The network a CIDR belongs to, in CIDR form.
 *
 * @example
 * networkOf("10.1.2.3/24") // "10.1.2.0/24"
 * @throws {CniError} code 7 on bad input.
 */
export function networkOf(cidr: string): string {
  return parseCidr(cidr).network;
}

/**
 * The next address (Go's `ip.NextIP`); wraps around at the top of the family's space.
 *
 * @example
 * nextIp("10.0.0.255") // "10.0.1.0"
 * @throws {CniError} code 7 on bad input.
 */
export function nextIp(ip: string): string {
  const [v, f] = ipToBigInt(ip);
  return bigIntToIp((v + 1n) & ((1n << BigInt(bits(f))) - 1n), f);
}

/**
 * The previous address (Go's `ip.PrevIP`); wraps around at zero.
 *
 * @example
 * prevIp("fd00::1") // "fd00::"
 * @throws {CniError} code 7 on bad input.
 */
export function prevIp(ip: string): string {
  const [v, f] = ipToBigInt(ip);
  const all = (1n << BigInt(bits(f))) - 1n;
  return bigIntToIp((v - 1n) & all, f);
}

/**
 * Adds `n` (may be negative) to an address.
 *
 * @example
 * addToIp("10.0.0.1", 9) // "10.0.0.10"
 */
export function addToIp(ip: string, n: number | bigint): string {
  const [v, f] = ipToBigInt(ip);
  const all = (1n << BigInt(bits(f))) - 1n;
  return bigIntToIp((v + BigInt(n)) & all, f);
}

/**
 * Whether `ipOrCidr` (an address, or a whole network) lies inside `cidr`. Different families never match.
 *
 * @example
 * cidrContains("10.0.0.0/8", "10.1.2.3") // true
 * @throws {CniError} code 7 on bad input.
 */
export function cidrContains(cidr: string, ipOrCidr: string): boolean {
  const n = parseCidr(cidr);
  const x = parseCidr(ipOrCidr);
  if (n.family !== x.family || x.prefixLength < n.prefixLength) return false;
  const m = mask(n.family, n.prefixLength);
  return (ipToBigInt(n.ip)[0] & m) === (ipToBigInt(x.ip)[0] & m);
}

/**
 * Compares two addresses of the same family: -1, 0, 1 (Go's `ip.Cmp`; -2 when families differ).
 *
 * @example
 * compareIps("10.0.0.1", "10.0.0.2") // -1
 */
export function compareIps(a: string, b: string): -2 | -1 | 0 | 1 {
  const [x, fx] = ipToBigInt(a);
  const [y, fy] = ipToBigInt(b);
  if (fx !== fy) return -2;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The conventional gateway of a network: its first address (network + 1), with the prefix.
 *
 * @example
 * gatewayOf("10.22.0.0/16") // "10.22.0.1/16"
 * @throws {CniError} code 7 on bad input.
 */
export function gatewayOf(cidr: string): string {
  const p = parseCidr(cidr);
  const [net] = ipToBigInt(p.network.split("/")[0] ?? "");
  return `${bigIntToIp(net + 1n, p.family)}/${p.prefixLength}`;
}

/**
 * The IPv4 broadcast address of a CIDR (undefined for IPv6 and for /31, /32).
 *
 * @example
 * broadcastOf("10.1.2.3/24") // "10.1.2.255"
 */
export function broadcastOf(cidr: string): string | undefined {
  const p = parseCidr(cidr);
  if (p.family !== 4 || p.prefixLength >= 31) return undefined;
  const [v] = ipToBigInt(p.ip);
  return bigIntToIp(v | (~mask(4, p.prefixLength) & 0xffffffffn), 4);
}
