/**
 * IP addresses and CIDRs: parsing with Go's `net.ParseIP` / `net.ParseCIDR` rules, formatting
 * like Go's `net.IP.String()`, and the `pkg/ip` arithmetic (next/prev, network, broadcast,
 * contains, compare). The one implementation every cnikit package uses; pure (no I/O, no Node
 * APIs, no zod), so it is safe on a plugin's hot path.
 *
 * Names say what a function does:
 * - `parseIp` / `parseCidr` throw {@link CniError} code 7 on bad input, `tryParseIp` /
 *   `tryParseCidr` return `undefined`; both follow Go's rules (no leading zeros, no zone, a CIDR
 *   needs its `/prefix`) and give values ({@link IpAddress}, {@link IpCidr});
 * - {@link formatIp} prints a value byte-for-byte like Go (host-local's data-dir file names
 *   depend on it);
 * - the arithmetic ({@link nextIp}, {@link prevIp}, {@link addToIp}, {@link compareIps},
 *   {@link cidrContains}, {@link ipToBytes}) takes either values or text and answers in the same
 *   kind. Text is read leniently, like `node:net` (a bare address is a host CIDR, blanks around it
 *   and an IPv6 zone are ignored), printed canonically, and bad text throws CniError code 7;
 * - {@link networkOf}, {@link gatewayOf}, {@link broadcastOf} answer text about a CIDR text.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success (the `ips` and `routes` of a result)
 */
import { CniError, ErrorCode } from "./errors.js";

/**
 * An address family: 4 or 6.
 *
 * @example
 * const family: IpFamily | undefined = ipFamily("fd00::1/64"); // 6
 */
export type IpFamily = 4 | 6;

/**
 * An IP address: its family and its value as an unsigned integer (32 or 128 bits).
 *
 * @example
 * const ip: IpAddress = { family: 4, value: 0x0a000001n }; // 10.0.0.1
 */
export interface IpAddress {
  readonly family: IpFamily;
  readonly value: bigint;
}

/**
 * A parsed CIDR. `ip` keeps any host bits (as Go's `types.ParseCIDR` does) and is canonical
 * (a v4-mapped IPv6 address is family 4).
 *
 * @example
 * parseCidr("10.0.0.5/24") // { ip: { family: 4, value: 167772165n }, prefix: 24, maskBits: 32 }
 */
export interface IpCidr {
  readonly ip: IpAddress;
  readonly prefix: number;
  /** Bit length of the mask as written: 32 or 128 (128 for a v4-mapped IPv6 CIDR). */
  readonly maskBits: 32 | 128;
}

// ---------------------------------------------------------------------------------------------
// Parsing and formatting (Go `net` rules)

const V4_PART_RE = /^(0|[1-9]\d{0,2})$/;
const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;
const PREFIX_RE = /^\d{1,3}$/;

/** Dotted-quad IPv4 (no leading zeros, like Go >= 1.17). */
function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!V4_PART_RE.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

/** Colon-separated 16-bit groups; with `v4Tail`, the last may be a dotted quad (two groups). */
function parseGroups(s: string, v4Tail: boolean): number[] | undefined {
  if (s === "") return [];
  const out: number[] = [];
  const parts = s.split(":");
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] as string;
    if (v4Tail && i === parts.length - 1 && p.includes(".")) {
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

/** IPv6 with `::` and an optional trailing dotted quad; no zone. */
function parseV6(s: string): bigint | undefined {
  if (s.includes("%")) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    // An embedded IPv4 address can only end the text (Go: "must replace the final 2 fields").
    const head = parseGroups(halves[0] as string, false);
    const tail = parseGroups(halves[1] as string, true);
    // "::" must stand for at least one zero group.
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(s, true);
    if (all?.length !== 8) return undefined;
    groups = all;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/**
 * Parses an IP with Go's `net.ParseIP` rules without canonicalising: the family is the one
 * written (text with a `:` is IPv6, so `::ffff:10.0.0.1` stays family 6).
 *
 * @example
 * parseIpRaw("::ffff:10.0.0.1") // { family: 6, value: 281470849220609n }
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

/**
 * Go's `To4()` canonicalisation: a v4-mapped IPv6 address (`::ffff:a.b.c.d`) becomes IPv4.
 *
 * @example
 * canonicalIp({ family: 6, value: 0xffff0a000001n }) // { family: 4, value: 0x0a000001n }
 * @internal
 */
export function canonicalIp(ip: IpAddress): IpAddress {
  if (ip.family === 6 && ip.value >> 32n === 0xffffn) {
    return { family: 4, value: ip.value & 0xffff_ffffn };
  }
  return ip;
}

/**
 * Parses an IP address with Go's `net.ParseIP` rules (no leading zeros in IPv4, no zone, no
 * blanks) and canonicalises it (v4-mapped IPv6 → IPv4), or returns `undefined`.
 *
 * @example
 * tryParseIp("10.1.2.3")  // { family: 4, value: 167838211n }
 * tryParseIp("010.1.2.3") // undefined (leading zero)
 */
export function tryParseIp(text: string): IpAddress | undefined {
  const raw = parseIpRaw(text);
  return raw === undefined ? undefined : canonicalIp(raw);
}

/**
 * Parses an IP address with Go's `net.ParseIP` rules and canonicalises it (v4-mapped IPv6 → IPv4).
 *
 * @example
 * formatIp(parseIp("::ffff:10.0.0.1")) // "10.0.0.1"
 * @throws {CniError} code 7 (`invalid IP address: x`, Go's wording) when `text` is not an address.
 */
export function parseIp(text: string): IpAddress {
  return tryParseIp(text) ?? invalid(`invalid IP address: ${text}`);
}

/**
 * True if `text` is an IPv4 or IPv6 address (Go `net.ParseIP` rules).
 *
 * @example
 * isIpAddress("fe80::1")      // true
 * isIpAddress("fe80::1%eth0") // false
 */
export function isIpAddress(text: string): boolean {
  return parseIpRaw(text) !== undefined;
}

/**
 * Bit length of a family's addresses.
 *
 * @example
 * familyBits(6) // 128
 */
export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/**
 * Parses `ip/prefix` with Go's `net.ParseCIDR` rules, keeping host bits, or returns `undefined`.
 * The prefix is sized by how the address is written (dotted quad → 32 bits, else 128).
 *
 * @example
 * tryParseCidr("10.0.0.5/24") // { ip: 10.0.0.5, prefix: 24, maskBits: 32 }
 * tryParseCidr("10.0.0.5")    // undefined (no prefix)
 */
export function tryParseCidr(text: string): IpCidr | undefined {
  const slash = text.lastIndexOf("/");
  if (slash < 0) return undefined;
  const raw = parseIpRaw(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!raw || !PREFIX_RE.test(prefixText)) return undefined;
  const maskBits = familyBits(raw.family);
  const prefix = Number(prefixText);
  if (prefix > maskBits) return undefined;
  return { ip: canonicalIp(raw), prefix, maskBits };
}

/**
 * Parses `ip/prefix` with Go's `net.ParseCIDR` rules, keeping host bits.
 *
 * @example
 * const { ip, prefix } = parseCidr("10.0.0.5/24"); // formatIp(ip) === "10.0.0.5", prefix === 24
 * @throws {CniError} code 7 (`invalid CIDR address: x`, Go's wording) when `text` is not a CIDR.
 */
export function parseCidr(text: string): IpCidr {
  return tryParseCidr(text) ?? invalid(`invalid CIDR address: ${text}`);
}

/**
 * True if `text` is `address/prefix` with a prefix valid for the address (Go `net.ParseCIDR`).
 *
 * @example
 * isCidr("10.0.0.0/8")  // true
 * isCidr("10.0.0.0/33") // false
 */
export function isCidr(text: string): boolean {
  return tryParseCidr(text) !== undefined;
}

/**
 * The `version` of a 0.x result's IP, the way Go's `ip.To4() != nil` decides it: dotted-quad
 * text and IPv4-mapped IPv6 are "4", everything else "6". Never fails: unparsable text is "6"
 * if it holds a `:`, else "4".
 *
 * @example
 * resultIpVersion("::ffff:10.0.0.1") // "4"
 * @internal
 */
export function resultIpVersion(ipOrCidr: string): "4" | "6" {
  const slash = ipOrCidr.indexOf("/");
  const addr = slash < 0 ? ipOrCidr : ipOrCidr.slice(0, slash);
  const ip = tryParseIp(addr);
  if (!ip) return addr.includes(":") ? "6" : "4";
  return ip.family === 4 ? "4" : "6";
}

/**
 * Formats an address without Go's `To4()` step: IPv4 dotted, IPv6 as RFC 5952 hex groups
 * (lowercase, the longest run of two or more zero groups compressed, the first on ties) —
 * a v4-mapped IPv6 address prints as `::ffff:a00:1`.
 *
 * @example
 * formatIpRaw({ family: 6, value: 0xffff0a000001n }) // "::ffff:a00:1"
 * @internal
 */
export function formatIpRaw(ip: IpAddress): string {
  const v = ip.value;
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((v >> BigInt(i * 16)) & 0xffffn));
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

/**
 * Formats an IP exactly as Go's `net.IP.String()` does: dotted IPv4, RFC 5952 IPv6, and a
 * v4-mapped IPv6 address as dotted IPv4.
 *
 * @example
 * formatIp(parseIp("2001:db8:0:0:1:0:0:1")) // "2001:db8::1:0:0:1"
 */
export function formatIp(ip: IpAddress): string {
  return formatIpRaw(canonicalIp(ip));
}

/**
 * Formats a CIDR the way Go's `net.IPNet.String()` does (no host-bit masking).
 *
 * @example
 * formatCidr(parseIp("10.0.0.5"), 24) // "10.0.0.5/24"
 */
export function formatCidr(ip: IpAddress, prefix: number): string {
  return `${formatIp(ip)}/${prefix}`;
}

/** The address held in network-order bytes: 4 bytes are IPv4, any other length IPv6. */
function addressFromBytes(bytes: ArrayLike<number>): IpAddress {
  let value = 0n;
  for (let i = 0; i < bytes.length; i++) value = (value << 8n) | BigInt(bytes[i] as number);
  return { family: bytes.length === 4 ? 4 : 6, value };
}

// ---------------------------------------------------------------------------------------------
// Arithmetic (Go `pkg/ip`) on values

function allOnes(family: IpFamily): bigint {
  return (1n << BigInt(familyBits(family))) - 1n;
}

function addTo(ip: IpAddress, n: number | bigint): IpAddress {
  return { family: ip.family, value: (ip.value + BigInt(n)) & allOnes(ip.family) };
}

/**
 * The network address of `ip` under a `prefix`-bit mask of the IP's own family.
 *
 * @example
 * formatIp(networkAddress(parseIp("10.1.2.3"), 16)) // "10.1.0.0"
 */
export function networkAddress(ip: IpAddress, prefix: number): IpAddress {
  const hostBits = BigInt(familyBits(ip.family) - prefix);
  return { family: ip.family, value: (ip.value >> hostBits) << hostBits };
}

/**
 * The last address of the subnet (all host bits set; the IPv4 broadcast address).
 *
 * @example
 * formatIp(lastAddress(parseIp("10.1.0.0"), 16)) // "10.1.255.255"
 */
export function lastAddress(network: IpAddress, prefix: number): IpAddress {
  const hostMask = (1n << BigInt(familyBits(network.family) - prefix)) - 1n;
  return { family: network.family, value: network.value | hostMask };
}

/**
 * Equality of two addresses (family and value); `undefined` equals nothing.
 *
 * @example
 * sameIp(tryParseIp("::ffff:10.0.0.1"), tryParseIp("10.0.0.1")) // true
 */
export function sameIp(a: IpAddress | undefined, b: IpAddress | undefined): boolean {
  return a !== undefined && b !== undefined && a.family === b.family && a.value === b.value;
}

// ---------------------------------------------------------------------------------------------
// Text (lenient like node:net; CniError on bad input) and the functions taking text or values

/** An IPv6 address followed by a `node:net`-style zone (`fe80::1%eth0`). */
const ZONED_V6_RE = /^([^%]*:[^%]*)%[0-9A-Za-z.:-]+$/;

function invalid(msg: string): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

function badText(what: string): never {
  return invalid(`invalid IP address or CIDR "${what}"`);
}

/** Parses address text as `node:net`'s `isIP` accepts it (an IPv6 zone is dropped), no To4. */
function textAddress(text: string): IpAddress | undefined {
  return parseIpRaw(ZONED_V6_RE.exec(text)?.[1] ?? text);
}

function requireAddress(text: string): IpAddress {
  return textAddress(text) ?? badText(text);
}

function textCidr(text: string): { ip: IpAddress; prefix: number } {
  const [ipPart, prefixPart, extra] = text.trim().split("/");
  if (extra !== undefined || !ipPart) badText(text);
  const ip = requireAddress(ipPart);
  if (prefixPart === undefined) return { ip, prefix: familyBits(ip.family) };
  if (!PREFIX_RE.test(prefixPart) || Number(prefixPart) > familyBits(ip.family)) badText(text);
  return { ip, prefix: Number(prefixPart) };
}

/**
 * Family of an address or CIDR as written (`::ffff:10.0.0.1` is 6), or `undefined` when the
 * address part is not an address. Accepts what `node:net`'s `isIP` accepts, IPv6 zones included.
 *
 * @example
 * ipFamily("10.0.0.1")  // 4
 * ipFamily("fd00::/64") // 6
 * ipFamily("nope")      // undefined
 */
export function ipFamily(ipOrCidr: string): IpFamily | undefined {
  return textAddress(ipOrCidr.split("/")[0] ?? "")?.family;
}

/**
 * The network a CIDR belongs to, in CIDR form (a bare address is a host CIDR).
 *
 * @example
 * networkOf("10.1.2.3/24") // "10.1.2.0/24"
 * @throws {CniError} code 7 on bad input.
 */
export function networkOf(cidr: string): string {
  const { ip, prefix } = textCidr(cidr);
  return `${formatIpRaw(networkAddress(ip, prefix))}/${prefix}`;
}

/**
 * The conventional gateway of a network: its first address (network + 1), with the prefix.
 *
 * @example
 * gatewayOf("10.22.0.0/16") // "10.22.0.1/16"
 * @throws {CniError} code 7 on bad input.
 */
export function gatewayOf(cidr: string): string {
  const { ip, prefix } = textCidr(cidr);
  return `${formatIpRaw(addTo(networkAddress(ip, prefix), 1n))}/${prefix}`;
}

/**
 * The IPv4 broadcast address of a CIDR (`undefined` for IPv6 and for /31, /32).
 *
 * @example
 * broadcastOf("10.1.2.3/24") // "10.1.2.255"
 * @throws {CniError} code 7 on bad input.
 */
export function broadcastOf(cidr: string): string | undefined {
  const { ip, prefix } = textCidr(cidr);
  if (ip.family !== 4 || prefix >= 31) return undefined;
  return formatIpRaw(lastAddress(ip, prefix));
}

/**
 * Adds `n` (may be negative) to an address, wrapping around the family's space. Text in, text
 * out; a value in, a value out.
 *
 * @example
 * addToIp("10.0.0.1", 9)            // "10.0.0.10"
 * addToIp(parseIp("10.0.0.10"), -10) // { family: 4, value: 167772160n } (10.0.0.0)
 * @throws {CniError} code 7 when text is not an address.
 */
export function addToIp(ip: string, n: number | bigint): string;
export function addToIp(ip: IpAddress, n: number | bigint): IpAddress;
export function addToIp(ip: string | IpAddress, n: number | bigint): string | IpAddress {
  return typeof ip === "string" ? formatIpRaw(addTo(requireAddress(ip), n)) : addTo(ip, n);
}

/**
 * The next address (Go's `ip.NextIP`); wraps around at the top of the family's space. Text in,
 * text out; a value in, a value out.
 *
 * @example
 * nextIp("10.0.0.255") // "10.0.1.0"
 * @throws {CniError} code 7 when text is not an address.
 */
export function nextIp(ip: string): string;
export function nextIp(ip: IpAddress): IpAddress;
export function nextIp(ip: string | IpAddress): string | IpAddress {
  return typeof ip === "string" ? formatIpRaw(addTo(requireAddress(ip), 1n)) : addTo(ip, 1n);
}

/**
 * The previous address (Go's `ip.PrevIP`); wraps around at zero. Text in, text out; a value
 * in, a value out.
 *
 * @example
 * prevIp("fd00::1") // "fd00::"
 * @throws {CniError} code 7 when text is not an address.
 */
export function prevIp(ip: string): string;
export function prevIp(ip: IpAddress): IpAddress;
export function prevIp(ip: string | IpAddress): string | IpAddress {
  return typeof ip === "string" ? formatIpRaw(addTo(requireAddress(ip), -1n)) : addTo(ip, -1n);
}

/**
 * Whether an address (or, as text, a whole network) lies inside a CIDR. Different families never
 * match. Takes two texts, or a CIDR value (`{ ip, prefix }`, e.g. an {@link IpCidr}) and an
 * address value.
 *
 * @example
 * cidrContains("10.0.0.0/8", "10.1.2.3")   // true
 * cidrContains("10.0.0.0/8", "10.0.0.0/7") // false
 * cidrContains(parseCidr("10.0.0.0/8"), parseIp("10.1.2.3")) // true
 * @throws {CniError} code 7 when text is not an address or CIDR.
 */
export function cidrContains(cidr: string, ipOrCidr: string): boolean;
export function cidrContains(cidr: { readonly ip: IpAddress; readonly prefix: number }, ip: IpAddress): boolean;
export function cidrContains(
  cidr: string | { readonly ip: IpAddress; readonly prefix: number },
  ipOrCidr: string | IpAddress,
): boolean {
  const n = typeof cidr === "string" ? textCidr(cidr) : cidr;
  const x = typeof ipOrCidr === "string" ? textCidr(ipOrCidr) : { ip: ipOrCidr, prefix: n.prefix };
  if (x.prefix < n.prefix || n.ip.family !== x.ip.family) return false;
  return networkAddress(x.ip, n.prefix).value === networkAddress(n.ip, n.prefix).value;
}

/**
 * Compares two addresses like Go's `ip.Cmp`: -1, 0, 1, and -2 when the families differ. Takes
 * two texts or two values.
 *
 * @example
 * compareIps("10.0.0.1", "10.0.0.2") // -1
 * compareIps("10.0.0.1", "::1")      // -2
 * @throws {CniError} code 7 when text is not an address.
 */
export function compareIps(a: string, b: string): -2 | -1 | 0 | 1;
export function compareIps(a: IpAddress, b: IpAddress): -2 | -1 | 0 | 1;
export function compareIps(a: string | IpAddress, b: string | IpAddress): -2 | -1 | 0 | 1 {
  const x = typeof a === "string" ? requireAddress(a) : a;
  const y = typeof b === "string" ? requireAddress(b) : b;
  if (x.family !== y.family) return -2;
  if (x.value === y.value) return 0;
  return x.value < y.value ? -1 : 1;
}

/**
 * The address (text or value) as 4 (IPv4) or 16 (IPv6) network-order bytes.
 *
 * @example
 * ipToBytes("::1")               // Uint8Array(16) [0, ..., 0, 1]
 * ipToBytes(parseIp("10.0.0.1")) // Uint8Array [10, 0, 0, 1]
 * @throws {CniError} code 7 when text is not an address.
 */
export function ipToBytes(ip: string | IpAddress): Uint8Array {
  const a = typeof ip === "string" ? requireAddress(ip) : ip;
  const n = a.family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[n - 1 - i] = Number((a.value >> BigInt(i * 8)) & 0xffn);
  return out;
}

/**
 * Network-order bytes (4 → IPv4, otherwise IPv6) as canonical address text.
 *
 * @example
 * bytesToIp(new Uint8Array([10, 0, 0, 1])) // "10.0.0.1"
 */
export function bytesToIp(bytes: ArrayLike<number>): string {
  return formatIpRaw(addressFromBytes(bytes));
}
