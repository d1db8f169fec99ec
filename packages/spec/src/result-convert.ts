/**
 * Conversion of ADD results between every released CNI version, with the Go library's rules
 * (`containernetworking/cni:pkg/types/{020,040,100}`): what each step drops or adds is listed
 * on {@link convertResult}. Pure functions; inputs are never mutated.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
import { CniError, ErrorCode } from "./errors.js";
import { resultIpVersion } from "./ip.js";
import type {
  AnyResult,
  DNS,
  Interface,
  Interface040,
  IPConfig,
  IPConfig020,
  IPConfig040,
  Result,
  Result020,
  Result040,
  Route,
} from "./types.js";
import { CURRENT_VERSION, type ResultFamily, resultFamily } from "./version.js";

/**
 * The message Go gives when a result cannot be expressed as 0.1.0/0.2.0.
 * @example if (err instanceof CniError && err.msg === NO_VALID_IP_MESSAGE) { ... }
 */
export const NO_VALID_IP_MESSAGE = "cannot convert: no valid IP addresses";

/**
 * The version a result claims. A result without `cniVersion` gets the highest version of
 * the family its shape belongs to (Go's `GetAsVersion` does the same per type): `ip4`/`ip6`
 * → 0.2.0, `ips[].version` → 0.4.0, anything else → 1.1.0.
 *
 * @example resultVersionOf({ cniVersion: "", ip4: { ip: "10.0.0.2/24" } }) // "0.2.0"
 */
export function resultVersionOf(result: AnyResult): string {
  const v = (result as { cniVersion?: unknown }).cniVersion;
  if (typeof v === "string" && v !== "") return v;
  const r = result as Partial<Result020 & Result040>;
  if (r.ip4 !== undefined || r.ip6 !== undefined) return "0.2.0";
  if (Array.isArray(r.ips) && r.ips.some((ip) => ip !== null && typeof ip === "object" && "version" in ip)) return "0.4.0";
  return CURRENT_VERSION;
}

function unsupported(version: string): CniError {
  return new CniError(ErrorCode.IncompatibleCniVersion, `unsupported CNI result version "${version}"`);
}

/**
 * Converts a result to another CNI version, following Go's rules:
 *
 * - 1.1.0 ↔ 1.0.0, 0.4.0 ↔ 0.3.1 ↔ 0.3.0, 0.2.0 ↔ 0.1.0: same shape, only `cniVersion` changes.
 * - 1.x → 0.3.x/0.4.0: interface `mtu`, `socketPath` and `pciID` are dropped; each IP gains
 *   `version` ("4" for IPv4 and IPv4-mapped addresses, else "6"); interface indexes, routes
 *   (all fields) and DNS are kept.
 * - 0.3.x/0.4.0 → 1.x: the IP `version` field is dropped; everything else is kept.
 * - 0.3.x/0.4.0/1.x → 0.1.0/0.2.0: interfaces and interface indexes are dropped; the first
 *   IPv4 becomes `ip4` and the first IPv6 `ip6` (further IPs are lost); routes move under the
 *   `ip4`/`ip6` of their destination's family with only `dst` and `gw` (routes of a family
 *   without an IP are lost). No IP at all is an error.
 * - 0.1.0/0.2.0 → newer: `ip4` and `ip6` become `ips` entries (v4 first) without an interface
 *   index, their routes are appended to `routes`; there are no interfaces.
 *
 * The output is a fresh object (deep copy); empty `interfaces`/`ips`/`routes` lists and an
 * empty `dns` are omitted when the family changes. A `toVersion` of "" means 0.1.0, as in Go.
 *
 * @example
 * const old = convertResult(result, "0.2.0");  // { cniVersion: "0.2.0", ip4: {...}, ip6: {...}, dns }
 * @throws CniError code 1 `unsupported CNI result version "X"` for an unknown source or target version.
 * @throws CniError code 999 `cannot convert: no valid IP addresses` when converting a result
 *   without IPs to 0.1.0/0.2.0. Go returns this as a plain error, which Go's skel reports as
 *   999 (ErrInternal); we keep that code so runtimes see the same error from either library.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export function convertResult(result: AnyResult, toVersion: string): AnyResult {
  const to = toVersion === "" ? "0.1.0" : toVersion;
  const toFamily = resultFamily(to);
  if (toFamily === undefined) throw unsupported(to);
  const from = resultVersionOf(result);
  const fromFamily = resultFamily(from);
  if (fromFamily === undefined) throw unsupported(from);

  if (fromFamily === toFamily) {
    const copy = structuredClone(result) as AnyResult;
    copy.cniVersion = to;
    return copy;
  }
  return convertAcross(result, fromFamily, toFamily, to);
}

function convertAcross(result: AnyResult, from: ResultFamily, to: ResultFamily, version: string): AnyResult {
  switch (from) {
    case "100": {
      const r040 = result100To040(result as Result, to === "040" ? version : "0.4.0");
      return to === "040" ? r040 : result040To020(r040, version);
    }
    case "040":
      return to === "100" ? result040To100(result as Result040, version) : result040To020(result as Result040, version);
    case "020": {
      const r040 = result020To040(result as Result020, to === "040" ? version : "0.4.0");
      return to === "040" ? r040 : result040To100(r040, version);
    }
  }
}

/**
 * Converts any result to the current version (1.1.0): the shape plugin handlers work with.
 *
 * @example
 * const prev = toCurrentResult({ cniVersion: "0.2.0", ip4: { ip: "10.0.0.2/24" } });
 * // { cniVersion: "1.1.0", ips: [{ address: "10.0.0.2/24" }] }
 * @throws CniError code 1 if the result's version is unknown.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export function toCurrentResult(input: AnyResult): Result {
  return convertResult(input, CURRENT_VERSION) as Result;
}

// ---- field copies (known fields only, in the spec's order) ----

function copyDns(dns: DNS | undefined): DNS | undefined {
  if (!dns) return undefined;
  const out: DNS = {};
  if (dns.nameservers?.length) out.nameservers = [...dns.nameservers];
  if (dns.domain) out.domain = dns.domain;
  if (dns.search?.length) out.search = [...dns.search];
  if (dns.options?.length) out.options = [...dns.options];
  return Object.keys(out).length > 0 ? out : undefined;
}

function copyRoute(route: Route): Route {
  const out: Route = { dst: route.dst };
  if (route.gw !== undefined) out.gw = route.gw;
  if (route.mtu !== undefined) out.mtu = route.mtu;
  if (route.advmss !== undefined) out.advmss = route.advmss;
  if (route.priority !== undefined) out.priority = route.priority;
  if (route.table !== undefined) out.table = route.table;
  if (route.scope !== undefined) out.scope = route.scope;
  return out;
}

function copyInterface040(intf: Interface | Interface040): Interface040 {
  const out: Interface040 = { name: intf.name };
  if (intf.mac !== undefined) out.mac = intf.mac;
  if (intf.sandbox !== undefined) out.sandbox = intf.sandbox;
  return out;
}

function result100To040(r: Result, version: string): Result040 {
  const out: Result040 = { cniVersion: version };
  if (r.interfaces?.length) out.interfaces = r.interfaces.map(copyInterface040);
  if (r.ips?.length) {
    out.ips = r.ips.map((ip) => {
      const o = { version: resultIpVersion(ip.address) } as IPConfig040;
      if (ip.interface !== undefined) o.interface = ip.interface;
      o.address = ip.address;
      if (ip.gateway !== undefined) o.gateway = ip.gateway;
      return o;
    });
  }
  if (r.routes?.length) out.routes = r.routes.map(copyRoute);
  const dns = copyDns(r.dns);
  if (dns) out.dns = dns;
  return out;
}

function result040To100(r: Result040, version: string): Result {
  const out: Result = { cniVersion: version };
  if (r.interfaces?.length) out.interfaces = r.interfaces.map(copyInterface040);
  if (r.ips?.length) {
    out.ips = r.ips.map((ip) => {
      const o = {} as IPConfig;
      if (ip.interface !== undefined) o.interface = ip.interface;
      o.address = ip.address;
      if (ip.gateway !== undefined) o.gateway = ip.gateway;
      return o;
    });
  }
  if (r.routes?.length) out.routes = r.routes.map(copyRoute);
  const dns = copyDns(r.dns);
  if (dns) out.dns = dns;
  return out;
}

function result040To020(r: Result040, version: string): Result020 {
  let ip4: IPConfig020 | undefined;
  let ip6: IPConfig020 | undefined;
  for (const ip of r.ips ?? []) {
    if (ip.version === "4" && !ip4) ip4 = ipConfig020(ip);
    else if (ip.version === "6" && !ip6) ip6 = ipConfig020(ip);
    if (ip4 && ip6) break;
  }
  for (const route of r.routes ?? []) {
    const target = resultIpVersion(route.dst) === "4" ? ip4 : ip6;
    if (!target) continue;
    const rt: { dst: string; gw?: string } = { dst: route.dst };
    if (route.gw !== undefined) rt.gw = route.gw;
    if (!target.routes) target.routes = [];
    target.routes.push(rt);
  }
  if (!ip4 && !ip6) throw new CniError(ErrorCode.Internal, NO_VALID_IP_MESSAGE);
  const out: Result020 = { cniVersion: version };
  if (ip4) out.ip4 = ip4;
  if (ip6) out.ip6 = ip6;
  const dns = copyDns(r.dns);
  if (dns) out.dns = dns;
  return out;
}

function ipConfig020(ip: IPConfig040): IPConfig020 {
  const out: IPConfig020 = { ip: ip.address };
  if (ip.gateway !== undefined) out.gateway = ip.gateway;
  return out;
}

function result020To040(r: Result020, version: string): Result040 {
  const out: Result040 = { cniVersion: version };
  const ips: IPConfig040[] = [];
  const routes: Route[] = [];
  for (const [family, cfg] of [
    ["4", r.ip4],
    ["6", r.ip6],
  ] as const) {
    if (!cfg) continue;
    const ip: IPConfig040 = { version: family, address: cfg.ip };
    if (cfg.gateway !== undefined) ip.gateway = cfg.gateway;
    ips.push(ip);
    for (const route of cfg.routes ?? []) routes.push(copyRoute(route));
  }
  if (ips.length) out.ips = ips;
  if (routes.length) out.routes = routes;
  const dns = copyDns(r.dns);
  if (dns) out.dns = dns;
  return out;
}
