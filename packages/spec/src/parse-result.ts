/**
 * Decoding of ADD results (a plugin's stdout, a `prevResult`) of any CNI version, validated
 * by hand (no zod on the hot path) with the Go library's messages.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
import { CniError, ErrorCode } from "./errors.js";
import { resultIpVersion, isCidr, isIpAddress } from "./ip.js";
import { toCurrentResult } from "./result-convert.js";
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
import { resultFamily } from "./version.js";

type Obj = Record<string, unknown>;

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return `number ${String(v)}`;
  return typeof v;
}

function decodeError(msg: string, path: string): CniError {
  return new CniError(ErrorCode.DecodingFailure, msg, path === "" ? undefined : `at ${path}`);
}

function typeError(v: unknown, path: string, want: string): CniError {
  const got = typeof v === "number" ? "number" : jsonType(v);
  return decodeError(`json: cannot unmarshal ${got} into field ${path} of type ${want}`, path);
}

const join = (path: string, key: string | number) => (typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key);

/** A JSON object, or undefined for absent/null (Go leaves the zero value). */
function obj(v: unknown, path: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw typeError(v, path, "object");
  return v as Obj;
}

function arr(v: unknown, path: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw typeError(v, path, "array");
  return v;
}

function str(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw typeError(v, path, "string");
  return v;
}

function int(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw typeError(v, path, "int");
  return v;
}

function strList(v: unknown, path: string): string[] | undefined {
  const a = arr(v, path);
  if (!a) return undefined;
  return a.map((x, i) => str(x, join(path, i)) ?? "");
}

function cidr(v: unknown, path: string): string {
  if (v === undefined || v === null) throw decodeError(`missing field ${path}`, path);
  const s = str(v, path) as string;
  if (!isCidr(s)) throw decodeError(`invalid CIDR address: ${s}`, path);
  return s;
}

/** An IP (Go `net.IP`): "" means none, as with Go's text unmarshalling. */
function ip(v: unknown, path: string): string | undefined {
  const s = str(v, path);
  if (s === undefined || s === "") return undefined;
  if (!isIpAddress(s)) throw decodeError(`invalid IP address: ${s}`, path);
  return s;
}

function decodeDns(v: unknown, path: string): DNS | undefined {
  const o = obj(v, path);
  if (!o) return undefined;
  const out: DNS = {};
  const nameservers = strList(o.nameservers, join(path, "nameservers"));
  if (nameservers?.length) out.nameservers = nameservers;
  const domain = str(o.domain, join(path, "domain"));
  if (domain) out.domain = domain;
  const search = strList(o.search, join(path, "search"));
  if (search?.length) out.search = search;
  const options = strList(o.options, join(path, "options"));
  if (options?.length) out.options = options;
  return Object.keys(out).length > 0 ? out : undefined;
}

function decodeRoute(v: unknown, path: string): Route {
  const o = obj(v, path) ?? {};
  const out: Route = { dst: cidr(o.dst, join(path, "dst")) };
  const gw = ip(o.gw, join(path, "gw"));
  if (gw !== undefined) out.gw = gw;
  for (const key of ["mtu", "advmss", "priority", "table", "scope"] as const) {
    const n = int(o[key], join(path, key));
    if (n !== undefined) out[key] = n;
  }
  return out;
}

function decodeRoutes(v: unknown, path: string): Route[] | undefined {
  const a = arr(v, path);
  if (!a?.length) return undefined;
  return a.map((r, i) => decodeRoute(r, join(path, i)));
}

function decodeInterface(v: unknown, path: string, full: boolean): Interface {
  const o = obj(v, path) ?? {};
  const out: Interface = { name: str(o.name, join(path, "name")) ?? "" };
  const mac = str(o.mac, join(path, "mac"));
  if (mac) out.mac = mac;
  if (full) {
    const mtu = int(o.mtu, join(path, "mtu"));
    if (mtu) out.mtu = mtu;
  }
  const sandbox = str(o.sandbox, join(path, "sandbox"));
  if (sandbox) out.sandbox = sandbox;
  if (full) {
    const socketPath = str(o.socketPath, join(path, "socketPath"));
    if (socketPath) out.socketPath = socketPath;
    const pciID = str(o.pciID, join(path, "pciID"));
    if (pciID) out.pciID = pciID;
  }
  return out;
}

function decodeInterfaces(v: unknown, path: string, full: boolean): Interface[] | undefined {
  const a = arr(v, path);
  if (!a?.length) return undefined;
  return a.map((x, i) => decodeInterface(x, join(path, i), full));
}

function decodeIp(v: unknown, path: string): IPConfig {
  const o = obj(v, path) ?? {};
  const out = {} as IPConfig;
  const idx = int(o.interface, join(path, "interface"));
  if (idx !== undefined) out.interface = idx;
  out.address = cidr(o.address, join(path, "address"));
  const gw = ip(o.gateway, join(path, "gateway"));
  if (gw !== undefined) out.gateway = gw;
  return out;
}

function decode100(o: Obj, version: string): Result {
  const out: Result = { cniVersion: version };
  const interfaces = decodeInterfaces(o.interfaces, "interfaces", true);
  if (interfaces) out.interfaces = interfaces;
  const ips = arr(o.ips, "ips");
  if (ips?.length) out.ips = ips.map((x, i) => decodeIp(x, join("ips", i)));
  const routes = decodeRoutes(o.routes, "routes");
  if (routes) out.routes = routes;
  const dns = decodeDns(o.dns, "dns");
  if (dns) out.dns = dns;
  return out;
}

function decode040(o: Obj, version: string): Result040 {
  const out: Result040 = { cniVersion: version };
  const interfaces = decodeInterfaces(o.interfaces, "interfaces", false) as Interface040[] | undefined;
  if (interfaces) out.interfaces = interfaces;
  const ips = arr(o.ips, "ips");
  if (ips?.length) {
    out.ips = ips.map((x, i) => {
      const path = join("ips", i);
      const declared = str(obj(x, path)?.version, join(path, "version"));
      const base = decodeIp(x, path);
      // Go does not check `version`; a missing or odd one is derived from the address so
      // the 0.2.0 conversion (which selects IPs by it) still sees the IP.
      const ipv: IPConfig040 = {
        version: declared === "4" || declared === "6" ? declared : resultIpVersion(base.address),
        ...base,
      };
      return ipv;
    });
  }
  const routes = decodeRoutes(o.routes, "routes");
  if (routes) out.routes = routes;
  const dns = decodeDns(o.dns, "dns");
  if (dns) out.dns = dns;
  return out;
}

function decodeIpConfig020(v: unknown, path: string): IPConfig020 | undefined {
  const o = obj(v, path);
  if (!o) return undefined;
  const out: IPConfig020 = { ip: cidr(o.ip, join(path, "ip")) };
  const gw = ip(o.gateway, join(path, "gateway"));
  if (gw !== undefined) out.gateway = gw;
  const routes = decodeRoutes(o.routes, join(path, "routes"));
  if (routes) out.routes = routes;
  return out;
}

function decode020(o: Obj, version: string): Result020 {
  const out: Result020 = { cniVersion: version };
  const ip4 = decodeIpConfig020(o.ip4, "ip4");
  if (ip4) out.ip4 = ip4;
  const ip6 = decodeIpConfig020(o.ip6, "ip6");
  if (ip6) out.ip6 = ip6;
  const dns = decodeDns(o.dns, "dns");
  if (dns) out.dns = dns;
  return out;
}

/** JSON.parse with Go-like error wording, for any of our decoders. */
export function parseJsonText(text: string, prefix: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CniError(ErrorCode.DecodingFailure, `${prefix}: ${(err as Error).message}`, undefined, { cause: err });
  }
}

/**
 * Decodes and validates a result of any CNI version (a plugin's stdout or a prevResult).
 *
 * A missing or empty `cniVersion` means `fallbackVersion` (the config's version, as Go's
 * invoke does since cni#895) or else 0.1.0. Fields are validated for their family: IPs and
 * route destinations must be CIDRs, gateways IPs, numbers integers. Unknown keys are
 * dropped; the returned object is fresh and holds only the fields of its version.
 *
 * @example
 * const r = parseResult(stdout, "1.1.0");
 * const current = toCurrentResult(r);
 * @throws CniError code 6 for malformed JSON, a non-object, or a field of the wrong type or
 *   format (`invalid CIDR address: 1.2.3/45`, `invalid IP address: 1.2.3.x`; details name
 *   the field, e.g. `at ips[0].address`).
 * @throws CniError code 1 `unsupported CNI result version "X"` for an unknown version.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export function parseResult(input: string | unknown, fallbackVersion?: string): AnyResult {
  const value = typeof input === "string" ? parseJsonText(input, "decoding version from network config") : input;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw decodeError(
      `json: cannot unmarshal ${value === undefined ? "nothing" : jsonType(value)} into a CNI result (want a JSON object)`,
      "",
    );
  }
  const o = value as Obj;
  const declared = str(o.cniVersion, "cniVersion");
  const version = declared === undefined || declared === "" ? fallbackVersion || "0.1.0" : declared;
  switch (resultFamily(version)) {
    case "100":
      return decode100(o, version);
    case "040":
      return decode040(o, version);
    case "020":
      return decode020(o, version);
    default:
      throw new CniError(ErrorCode.IncompatibleCniVersion, `unsupported CNI result version "${version}"`);
  }
}

/**
 * Reads `prevResult` from a plugin config: any version is accepted and returned as a 1.1.0
 * {@link Result} (Go requires the config's result family; that is cni#862, fixed here). A
 * prevResult without `cniVersion` takes the config's. Returns `undefined` when absent/null.
 *
 * @example
 * const prev = parsePrevResult(conf); // Result | undefined
 * @throws CniError code 6 `could not parse prevResult: ...` for a malformed prevResult
 *   (code 1 for an unknown version), details as for {@link parseResult}.
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md#chained-plugins
 */
export function parsePrevResult(conf: { cniVersion?: unknown; prevResult?: unknown }): Result | undefined {
  if (conf.prevResult === undefined || conf.prevResult === null) return undefined;
  const fallback = typeof conf.cniVersion === "string" ? conf.cniVersion : undefined;
  try {
    if (typeof conf.prevResult === "string") {
      throw decodeError("json: cannot unmarshal string into a CNI result (want a JSON object)", "");
    }
    return toCurrentResult(parseResult(conf.prevResult, fallback));
  } catch (err) {
    const e = CniError.from(err);
    throw new CniError(e.code, `could not parse prevResult: ${e.msg}`, e.details, { cause: err });
  }
}
