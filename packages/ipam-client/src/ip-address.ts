/**
 * IP address parsing and formatting with Go's `net` rules, so the file names this package
 * writes in a host-local data dir are exactly the ones Go's host-local writes and reads
 * (`net.IP.String()`: dotted IPv4, RFC 5952 IPv6).
 *
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md
 */

/** An IP address: its family and its value as an unsigned integer (32 or 128 bits). */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** A parsed CIDR. `ip` keeps any host bits (as Go's `types.ParseCIDR` does). */
export interface IpCidr {
  readonly ip: IpAddress;
  readonly prefix: number;
  /** Bit length of the mask as written: 32 or 128 (128 for a v4-mapped IPv6 CIDR). */
  readonly maskBits: 32 | 128;
}

const V4_RE = /^(0|[1-9]\d{0,2})$/;
const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!V4_RE.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseGroups(s: string): number[] | undefined {
  if (s === "") return [];
  const out: number[] = [];
  const parts = s.split(":");
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (i === parts.length - 1 && p.includes(".")) {
      const v4 = parseV4(p);
      if (v4 === undefined) return undefined;
      out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      continue;
    }
    if (!HEX_GROUP_RE.test(p)) return undefined;
    out.push(Number.parseInt(p, 16));
  }
  return out;
}

function parseV6(s: string): bigint | undefined {
  if (s.includes("%")) return undefined;
  const halves = s.split("::");
  let groups: number[];
  if (halves.length > 2) return undefined;
  if (halves.length === 2) {
    const head = parseGroups(halves[0] as string);
    const tail = parseGroups(halves[1] as string);
    if (!head || !tail) return undefined;
    if (head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(s);
    if (all?.length !== 8) return undefined;
    groups = all;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/**
 * Parses an IP without canonicalising: a v4-mapped IPv6 address stays family 6.
 * @internal
 */
export function parseIpRaw(text: string): IpAddress | undefined {
  if (text.includes(":")) {
    const value = parseV6(text);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseV4(text);
  return value === undefined ? undefined : { family: 4, value };
}

/** Go's `To4()` canonicalisation: a v4-mapped IPv6 address becomes IPv4. */
export function canonicalIp(ip: IpAddress): IpAddress {
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) {
    return { family: 4, value: ip.value & 0xffff_ffffn };
  }
  return ip;
}

/**
 * Parses an IP address with Go's `net.ParseIP` rules (no leading zeros in IPv4, no zone) and
 * canonicalises it (v4-mapped IPv6 → IPv4), or returns `undefined`.
 *
 * @example parseIp("10.1.2.3") // { family: 4, value: 167838211n }
 */
export function parseIp(text: string): IpAddress | undefined {
  const raw = parseIpRaw(text);
  return raw === undefined ? undefined : canonicalIp(raw);
}

/**
 * Formats an IP as Go's `net.IP.String()` does: dotted IPv4, RFC 5952 IPv6 (lowercase, longest
 * run of two or more zero groups compressed, the first on ties), v4-mapped IPv6 as dotted IPv4.
 *
 * @example formatIp(parseIp("2001:db8:0:0:1:0:0:1")!) // "2001:db8::1:0:0:1"
 */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
  }
  if (ip.value >> 32n === 0xffffn) return formatIp(canonicalIp(ip));
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Bit length of a family's addresses. */
export function familyBits(family: 4 | 6): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/**
 * Parses `ip/prefix` with Go's `net.ParseCIDR` rules, keeping host bits, or returns `undefined`.
 *
 * @example parseCidr("10.0.0.5/24") // { ip: 10.0.0.5, prefix: 24, maskBits: 32 }
 */
export function parseCidr(text: string): IpCidr | undefined {
  const slash = text.lastIndexOf("/");
  if (slash < 0) return undefined;
  const ipText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const raw = parseIpRaw(ipText);
  if (!raw || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const maskBits = familyBits(raw.family);
  const prefix = Number(prefixText);
  if (prefix > maskBits) return undefined;
  return { ip: canonicalIp(raw), prefix, maskBits };
}

/** Formats a CIDR the way Go's `net.IPNet.String()` does. */
export function formatCidr(ip: IpAddress, prefix: number): string {
  return `${formatIp(ip)}/${prefix}`;
}

/** The network address of `ip` under a `prefix`-bit mask of the IP's own family. */
export function networkAddress(ip: IpAddress, prefix: number): IpAddress {
  const bits = BigInt(familyBits(ip.family));
  const hostBits = bits - BigInt(prefix);
  return { family: ip.family, value: (ip.value >> hostBits) << hostBits };
}

/** The last address of the subnet (all host bits set). */
export function lastAddress(network: IpAddress, prefix: number): IpAddress {
  const bits = BigInt(familyBits(network.family));
  const hostMask = (1n << (bits - BigInt(prefix))) - 1n;
  return { family: network.family, value: network.value | hostMask };
}

/** True when `ip` lies in `network/prefix` (same family required). */
export function subnetContains(network: IpAddress, prefix: number, ip: IpAddress): boolean {
  if (network.family !== ip.family) return false;
  return networkAddress(ip, prefix).value === networkAddress(network, prefix).value;
}

/** The next address (wrapping at the top of the family's space, as Go's `ip.NextIP`). */
export function nextAddress(ip: IpAddress): IpAddress {
  const max = (1n << BigInt(familyBits(ip.family))) - 1n;
  return { family: ip.family, value: ip.value === max ? 0n : ip.value + 1n };
}

/** Compares two addresses of the same family: -1, 0 or 1. */
export function compareAddresses(a: IpAddress, b: IpAddress): -1 | 0 | 1 {
  if (a.value === b.value) return 0;
  return a.value < b.value ? -1 : 1;
}

/** Equality of two addresses (family and value). */
export function sameAddress(a: IpAddress | undefined, b: IpAddress | undefined): boolean {
  return a !== undefined && b !== undefined && a.family === b.family && a.value === b.value;
}
