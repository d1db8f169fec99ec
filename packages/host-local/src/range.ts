/**
 * Address ranges and range sets with Go host-local's canonicalisation rules and messages
 * (`plugins/ipam/host-local/backend/allocator/range.go`, `range_set.go`).
 *
 * @see https://www.cni.dev/plugins/current/ipam/host-local/
 */
import {
  CniError,
  cidrContains,
  compareIps,
  ErrorCode,
  familyBits,
  formatCidr,
  formatIp,
  type IpAddress,
  lastAddress,
  networkAddress,
  nextIp,
  sameIp,
  tryParseCidr,
  tryParseIp,
} from "@cnikit/spec";

/**
 * A range as written in config: `{ subnet, rangeStart?, rangeEnd?, gateway? }`.
 *
 * @example
 * const spec: RangeSpec = { subnet: "10.1.0.0/24", rangeStart: "10.1.0.100", rangeEnd: "10.1.0.200" };
 * canonicalizeRange(spec).gateway; // 10.1.0.1 (as an IpAddress)
 */
export interface RangeSpec {
  subnet: string;
  rangeStart?: string | undefined;
  rangeEnd?: string | undefined;
  gateway?: string | undefined;
}

/**
 * A canonical range: every bound filled in, as Go's `Range.Canonicalize` leaves it.
 *
 * @example
 * const range: IpamRange = canonicalizeRange({ subnet: "10.1.0.0/24" });
 * rangeToString(range); // "10.1.0.1-10.1.0.254"
 */
export interface IpamRange {
  /** Network address of the subnet. */
  readonly network: IpAddress;
  readonly prefix: number;
  /** First allocatable address (inclusive). */
  readonly rangeStart: IpAddress;
  /** Last allocatable address (inclusive). */
  readonly rangeEnd: IpAddress;
  /** The gateway: configured, or network + 1. Never handed out. */
  readonly gateway: IpAddress;
}

/**
 * One or more ranges of one family; one IP is allocated per range set.
 *
 * @example
 * const set: IpamRangeSet = canonicalizeRangeSet([{ subnet: "10.1.0.0/24" }, { subnet: "10.1.1.0/24" }]);
 * rangeSetToString(set); // "10.1.0.1-10.1.0.254,10.1.1.1-10.1.1.254"
 */
export type IpamRangeSet = readonly IpamRange[];

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

function parseOptionalIp(text: unknown, field: string): IpAddress | undefined {
  if (text === undefined || text === null || text === "") return undefined;
  if (typeof text !== "string") {
    return fail(`json: cannot unmarshal ${jsonKind(text)} into Go struct field Range.${field} of type net.IP`);
  }
  return tryParseIp(text) ?? fail(`invalid IP address: ${text}`);
}

/** @internal Go's name for a JSON value's kind in unmarshal errors. */
export function jsonKind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  return typeof value;
}

function inRange(
  network: IpAddress,
  prefix: number,
  start: IpAddress | undefined,
  end: IpAddress | undefined,
  ip: IpAddress,
): boolean {
  if (!cidrContains({ ip: network, prefix }, ip)) return false;
  if (start && compareIps(ip, start) < 0) return false;
  if (end && compareIps(ip, end) > 0) return false;
  return true;
}

/**
 * Validates a range and fills in its defaults: gateway = network + 1, rangeStart = network + 1,
 * rangeEnd = the last address (IPv4: broadcast − 1). A /31 or /32 (IPv6 /127, /128) is rejected.
 *
 * @throws CniError (999, Go's texts) e.g. `Network 10.0.0.0/31 too small to allocate from`,
 * `Network has host bits set. For a subnet mask of length 24 the network address is 10.0.0.0`,
 * `RangeStart X not in network Y`, `RangeEnd X not in network Y`.
 * @example canonicalizeRange({ subnet: "10.1.0.0/24" }).rangeEnd // 10.1.0.254
 */
export function canonicalizeRange(spec: RangeSpec): IpamRange {
  const subnetText: unknown = (spec as { subnet?: unknown }).subnet;
  if (subnetText === undefined || subnetText === null || subnetText === "") fail("IP <nil> not v4 nor v6");
  if (typeof subnetText !== "string") {
    fail(`json: cannot unmarshal ${jsonKind(subnetText)} into Go struct field Range.subnet of type string`);
  }
  const cidr = tryParseCidr(subnetText) ?? fail(`invalid CIDR address: ${subnetText}`);
  const { ip, prefix, maskBits } = cidr;
  if (prefix > maskBits - 2) fail(`Network ${formatCidr(ip, prefix)} too small to allocate from`);
  if (familyBits(ip.family) !== maskBits) fail("IPNet IP and Mask version mismatch");
  const network = networkAddress(ip, prefix);
  if (network.value !== ip.value) {
    fail(`Network has host bits set. For a subnet mask of length ${prefix} the network address is ${formatIp(network)}`);
  }
  const subnetString = formatCidr(network, prefix);
  const gateway = parseOptionalIp(spec.gateway, "gateway") ?? nextIp(network);

  let rangeStart = parseOptionalIp(spec.rangeStart, "rangeStart");
  const givenEnd = parseOptionalIp(spec.rangeEnd, "rangeEnd");
  if (rangeStart) {
    // Go checks the start against the configured end too: a start past the end is "not in network".
    if (!inRange(network, prefix, undefined, givenEnd, rangeStart)) {
      fail(`RangeStart ${formatIp(rangeStart)} not in network ${subnetString}`);
    }
  } else {
    rangeStart = nextIp(network);
  }

  let rangeEnd = givenEnd;
  if (rangeEnd) {
    if (!inRange(network, prefix, rangeStart, undefined, rangeEnd)) {
      fail(`RangeEnd ${formatIp(rangeEnd)} not in network ${subnetString}`);
    }
  } else {
    const last = lastAddress(network, prefix);
    rangeEnd = network.family === 4 ? { family: 4, value: last.value - 1n } : last;
  }
  return { network, prefix, rangeStart, rangeEnd, gateway };
}

/**
 * True when `ip` is in the range's subnet and between rangeStart and rangeEnd (inclusive).
 *
 * @example rangeContains(canonicalizeRange({ subnet: "10.1.0.0/24" }), parseIp("10.1.0.255")) // false (broadcast)
 */
export function rangeContains(r: IpamRange, ip: IpAddress): boolean {
  return inRange(r.network, r.prefix, r.rangeStart, r.rangeEnd, ip);
}

/** True when two ranges of the same family share an address bound. */
export function rangesOverlap(a: IpamRange, b: IpamRange): boolean {
  if (a.rangeStart.family !== b.rangeStart.family) return false;
  return (
    rangeContains(a, b.rangeStart) ||
    rangeContains(a, b.rangeEnd) ||
    rangeContains(b, a.rangeStart) ||
    rangeContains(b, a.rangeEnd)
  );
}

/**
 * `start-end`, as Go prints a range.
 *
 * @example rangeToString(canonicalizeRange({ subnet: "10.1.0.0/24" })) // "10.1.0.1-10.1.0.254"
 */
export function rangeToString(r: IpamRange): string {
  return `${formatIp(r.rangeStart)}-${formatIp(r.rangeEnd)}`;
}

/**
 * `a-b,c-d`, as Go prints a range set.
 *
 * @example rangeSetToString(canonicalizeRangeSet([{ subnet: "10.1.0.0/30" }, { subnet: "10.1.1.0/30" }])) // "10.1.0.1-10.1.0.2,10.1.1.1-10.1.1.2"
 */
export function rangeSetToString(set: IpamRangeSet): string {
  return set.map(rangeToString).join(",");
}

/**
 * Canonicalises every range of a set and checks the set: non-empty, one family, no overlaps.
 *
 * @throws CniError `empty range set`, `mixed address families`, `subnets a-b and c-d overlap`,
 * or a range's own error.
 * @example canonicalizeRangeSet([{ subnet: "10.0.0.0/24" }, { subnet: "10.0.1.0/24" }])
 */
export function canonicalizeRangeSet(specs: readonly RangeSpec[]): IpamRangeSet {
  if (specs.length === 0) fail("empty range set");
  const out: IpamRange[] = [];
  for (const spec of specs) {
    const r = canonicalizeRange(spec);
    if (out.length > 0 && (out[0] as IpamRange).rangeStart.family !== r.rangeStart.family) {
      fail("mixed address families");
    }
    out.push(r);
  }
  for (let i = 0; i < out.length - 1; i++) {
    for (let j = i + 1; j < out.length; j++) {
      const a = out[i] as IpamRange;
      const b = out[j] as IpamRange;
      if (rangesOverlap(a, b)) fail(`subnets ${rangeToString(a)} and ${rangeToString(b)} overlap`);
    }
  }
  return out;
}

/** The range of a set that contains `ip`, or `undefined`. */
export function findRange(set: IpamRangeSet, ip: IpAddress): IpamRange | undefined {
  return set.find((r) => rangeContains(r, ip));
}

/**
 * The range of a set that contains `ip`.
 * @throws CniError `X not in range set a-b`.
 */
export function rangeFor(set: IpamRangeSet, ip: IpAddress): IpamRange {
  return findRange(set, ip) ?? fail(`${formatIp(ip)} not in range set ${rangeSetToString(set)}`);
}

/** True when any range of `a` overlaps any range of `b`. */
export function rangeSetsOverlap(a: IpamRangeSet, b: IpamRangeSet): boolean {
  return a.some((x) => b.some((y) => rangesOverlap(x, y)));
}

/** True when the range's gateway is this address. */
export function isGateway(r: IpamRange, ip: IpAddress): boolean {
  return sameIp(r.gateway, ip);
}
