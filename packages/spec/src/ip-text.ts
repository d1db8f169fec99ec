/**
 * Minimal, dependency-free parsing of IP address and CIDR text with the rules of Go's
 * `net.ParseIP` / `net.ParseCIDR` (which CNI results are decoded with). Internal to
 * `@cnikit/spec`: result validation and the 0.4.0 `version` field need it.
 */

/** Parses dotted-quad IPv4 text (no leading zeros, like Go >= 1.17). */
function parseIPv4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    if (p.length > 1 && p[0] === "0") return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out.push(n);
  }
  return out;
}

/** Parses IPv6 text (with `::` and an optional trailing dotted quad; no zone) into 16 bytes. */
function parseIPv6(s: string): number[] | undefined {
  if (s.includes("%")) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parseGroups = (text: string): number[] | undefined => {
    if (text === "") return [];
    const groups = text.split(":");
    const bytes: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as string;
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        bytes.push(...v4);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      const n = Number.parseInt(g, 16);
      bytes.push(n >> 8, n & 0xff);
    }
    return bytes;
  };
  const head = parseGroups(halves[0] as string);
  if (!head) return undefined;
  if (halves.length === 1) return head.length === 16 ? head : undefined;
  const tail = parseGroups(halves[1] as string);
  if (!tail) return undefined;
  const fill = 16 - head.length - tail.length;
  // "::" must stand for at least one zero group.
  if (fill < 2) return undefined;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/**
 * The address bytes (4 for IPv4 text, 16 for IPv6 text), or `undefined` if `s` is not an IP.
 */
export function parseIpBytes(s: string): number[] | undefined {
  if (s.includes(":")) return parseIPv6(s);
  return parseIPv4(s);
}

/** True if `s` is an IPv4 or IPv6 address (Go `net.ParseIP` rules). */
export function isIpAddress(s: string): boolean {
  return parseIpBytes(s) !== undefined;
}

/** True if `s` is `address/prefix` with a prefix valid for the address's family (Go `net.ParseCIDR`). */
export function isCidr(s: string): boolean {
  const slash = s.indexOf("/");
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const prefix = s.slice(slash + 1);
  const bytes = parseIpBytes(addr);
  if (!bytes) return false;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  // Go sizes the prefix by how the address was written: dotted quad → 32 bits, else 128.
  const max = addr.includes(":") ? 128 : 32;
  return Number(prefix) <= max;
}

/**
 * The family of an IP or CIDR the way Go's `ip.To4() != nil` decides it: dotted-quad text
 * and IPv4-mapped IPv6 (`::ffff:a.b.c.d`) are "4", everything else "6".
 */
export function ipFamilyOf(ipOrCidr: string): "4" | "6" {
  const slash = ipOrCidr.indexOf("/");
  const addr = slash < 0 ? ipOrCidr : ipOrCidr.slice(0, slash);
  const bytes = parseIpBytes(addr);
  if (!bytes) return addr.includes(":") ? "6" : "4";
  if (bytes.length === 4) return "4";
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return "6";
  return bytes[10] === 0xff && bytes[11] === 0xff ? "4" : "6";
}
