/**
 * Loading host-local's IPAM config from the full network config, with Go host-local's rules
 * and messages (`plugins/ipam/host-local/backend/allocator/config.go`). Hand-validated: no zod
 * on the plugin's start-up path.
 *
 * @see https://www.cni.dev/plugins/current/ipam/host-local/
 */
import {
  CniError,
  ErrorCode,
  formatCidr,
  formatIp,
  type IpAddress,
  type Route,
  tryParseCidr,
  tryParseIp,
  versionGte,
} from "@cnikit/spec";
import {
  canonicalizeRangeSet,
  type IpamRangeSet,
  jsonKind,
  type RangeSpec,
  rangeSetsOverlap,
} from "./range.js";

/**
 * host-local's IPAM settings after loading: range sets canonical, requested IPs collected.
 *
 * @example
 * const conf: HostLocalConfig = loadHostLocalConfig(ctx.stdin, ctx.rawArgs);
 * conf.ranges.length; // one entry per range set: one IP each
 */
export interface HostLocalConfig {
  /** The network name (the data dir's sub-directory). */
  name: string;
  /** The config's cniVersion (the version the result is printed in). */
  cniVersion: string;
  /** `ipam.type`. */
  type: string;
  /** `ipam.dataDir`, or undefined for `/var/lib/cni/networks`. */
  dataDir: string | undefined;
  /** `ipam.resolvConf`: a resolv.conf whose contents become the result's dns. */
  resolvConf: string | undefined;
  /** `ipam.routes`, normalised; undefined when absent. */
  routes: Route[] | undefined;
  /** Range sets in priority order: runtimeConfig.ipRanges, legacy top-level range, ipam.ranges. */
  ranges: IpamRangeSet[];
  /** Requested IPs: CNI_ARGS `IP=`, then `args.cni.ips`, then `runtimeConfig.ips`. */
  requestedIps: IpAddress[];
}

/**
 * Options of {@link loadHostLocalConfig}.
 *
 * @example
 * const opts: LoadHostLocalConfigOptions = { strictArgs: true }; // reject unknown CNI_ARGS keys, as Go does
 * loadHostLocalConfig(ctx.stdin, ctx.rawArgs, opts);
 */
export interface LoadHostLocalConfigOptions {
  /**
   * Reject unknown CNI_ARGS keys unless `IgnoreUnknown` is set, as Go's `types.LoadArgs` does.
   * Default false: unknown keys are ignored (cnikit's lenient CNI_ARGS rule).
   */
  strictArgs?: boolean | undefined;
}

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

function typeError(value: unknown, field: string, goType: string): never {
  return fail(`json: cannot unmarshal ${jsonKind(value)} into Go struct field ${field} of type ${goType}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function optionalString(obj: Record<string, unknown>, key: string, field: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") return typeError(v, field, "string");
  return v;
}

/** Parses an `ip.IP` (an address, or an address with a prefix whose mask is dropped). */
function parseRequestedIp(text: string): IpAddress | undefined {
  if (text.includes("/")) return tryParseCidr(text)?.ip;
  return tryParseIp(text);
}

function requestedIpList(value: unknown, field: string): IpAddress[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return typeError(value, field, "[]*ip.IP");
  return value.map((item) => {
    if (item === "" || item === null) return fail("cannot understand ip: IP <nil> not v4 nor v6");
    if (typeof item !== "string") return typeError(item, field, "ip.IP");
    return parseRequestedIp(item) ?? fail(`invalid IP address ${item}`);
  });
}

/**
 * Reads host-local's CNI_ARGS keys (`IP`, `IgnoreUnknown`) with Go's `types.LoadArgs` rules.
 *
 * @throws CniError `ARGS: invalid pair "x"`, `ARGS: error parsing value of pair "IP=x": invalid IP address x`,
 * and with `strict`, `ARGS: unknown args ["K=V"]`.
 * @example parseHostLocalArgs("IgnoreUnknown=1;IP=10.0.0.9") // 10.0.0.9
 */
export function parseHostLocalArgs(envArgs: string, strict = false): IpAddress | undefined {
  if (envArgs === "") return undefined;
  let ip: IpAddress | undefined;
  let ignoreUnknown = false;
  const unknown: string[] = [];
  for (const pair of envArgs.split(";")) {
    const kv = pair.split("=");
    if (kv.length !== 2) fail(`ARGS: invalid pair ${JSON.stringify(pair)}`);
    const [key, value] = kv as [string, string];
    if (key === "IP") {
      if (value === "") {
        ip = undefined;
        continue;
      }
      const parsed = parseRequestedIp(value);
      if (!parsed) fail(`ARGS: error parsing value of pair ${JSON.stringify(pair)}: invalid IP address ${value}`);
      ip = parsed;
    } else if (key === "IgnoreUnknown") {
      const v = value.toLowerCase();
      if (v === "1" || v === "true") ignoreUnknown = true;
      else if (v === "0" || v === "false") ignoreUnknown = false;
      else fail(`ARGS: error parsing value of pair ${JSON.stringify(pair)}: boolean unmarshal error: invalid input ${value}`);
    } else {
      unknown.push(pair);
    }
  }
  if (strict && unknown.length > 0 && !ignoreUnknown) {
    fail(`ARGS: unknown args [${unknown.map((u) => JSON.stringify(u)).join(" ")}]`);
  }
  return ip;
}

function parseRoute(value: unknown, field: string): Route {
  if (!isObject(value)) return typeError(value, field, "types.Route");
  const dst = value.dst;
  if (typeof dst !== "string") return typeError(dst, `${field}.dst`, "string");
  const cidr = tryParseCidr(dst) ?? fail(`invalid CIDR address: ${dst}`);
  const route: Route = { dst: formatCidr(cidr.ip, cidr.prefix) };
  if (value.gw !== undefined && value.gw !== null && value.gw !== "") {
    if (typeof value.gw !== "string") return typeError(value.gw, `${field}.gw`, "net.IP");
    route.gw = formatIp(tryParseIp(value.gw) ?? fail(`invalid IP address: ${value.gw}`));
  }
  for (const key of ["mtu", "advmss", "priority", "table", "scope"] as const) {
    const v = value[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isInteger(v)) return typeError(v, `${field}.${key}`, "int");
    // Go omits zero mtu/advmss/priority (omitempty on int) but keeps a set table/scope (*int).
    if (v === 0 && (key === "mtu" || key === "advmss" || key === "priority")) continue;
    route[key] = v;
  }
  return route;
}

function rangeSpec(value: unknown, field: string): RangeSpec {
  if (!isObject(value)) return typeError(value, field, "allocator.Range");
  return value as unknown as RangeSpec;
}

function rangeSetList(value: unknown, field: string): RangeSpec[][] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return typeError(value, field, "[]allocator.RangeSet");
  return value.map((set) => {
    if (set === null) return [];
    if (!Array.isArray(set)) return typeError(set, field, "allocator.RangeSet");
    return set.map((r) => rangeSpec(r, field));
  });
}

/**
 * Loads host-local's settings from a network config (object or JSON text) and CNI_ARGS, as Go's
 * `allocator.LoadIPAMConfig`: ranges = `runtimeConfig.ipRanges` + legacy top-level range +
 * `ipam.ranges`, each set canonicalised; requested IPs from CNI_ARGS `IP=`, `args.cni.ips` and
 * `runtimeConfig.ips`.
 *
 * @throws CniError (code 999, Go's texts): `IPAM config missing 'ipam' key`, `no IP ranges specified`,
 * `invalid range set 0: ...`, `range set 0 overlaps with 1`,
 * `CNI version 0.2.0 does not support more than 1 address per family`, ARGS errors.
 * @example
 * const conf = loadHostLocalConfig({ cniVersion: "1.0.0", name: "net", type: "bridge",
 *   ipam: { type: "host-local", ranges: [[{ subnet: "10.1.0.0/24" }]] } }, "");
 */
export function loadHostLocalConfig(
  netconf: unknown,
  envArgs = "",
  options: LoadHostLocalConfigOptions = {},
): HostLocalConfig {
  let n: unknown = netconf;
  if (typeof n === "string" || n instanceof Uint8Array) {
    const text = typeof n === "string" ? n : Buffer.from(n).toString("utf8");
    try {
      n = JSON.parse(text);
    } catch (err) {
      throw new CniError(ErrorCode.DecodingFailure, (err as Error).message, undefined, { cause: err });
    }
  }
  if (!isObject(n)) return typeError(n, "Net", "allocator.Net");
  const name = n.name ?? "";
  if (typeof name !== "string") return typeError(name, "Net.name", "string");
  const cniVersion = n.cniVersion ?? "";
  if (typeof cniVersion !== "string") return typeError(cniVersion, "Net.cniVersion", "string");
  const ipam = n.ipam;
  if (ipam === undefined || ipam === null) fail("IPAM config missing 'ipam' key");
  if (!isObject(ipam)) return typeError(ipam, "Net.ipam", "allocator.IPAMConfig");

  const type = optionalString(ipam, "type", "IPAMConfig.ipam.type") ?? "";
  const dataDir = optionalString(ipam, "dataDir", "IPAMConfig.ipam.dataDir");
  const resolvConf = optionalString(ipam, "resolvConf", "IPAMConfig.ipam.resolvConf");
  let routes: Route[] | undefined;
  if (ipam.routes !== undefined && ipam.routes !== null) {
    if (!Array.isArray(ipam.routes)) return typeError(ipam.routes, "IPAMConfig.ipam.routes", "[]*types.Route");
    routes = ipam.routes.map((r) => parseRoute(r, "IPAMConfig.ipam.routes"));
  }
  const configured = rangeSetList(ipam.ranges, "IPAMConfig.ipam.ranges");

  let runtimeConfig: Record<string, unknown> = {};
  if (n.runtimeConfig !== undefined && n.runtimeConfig !== null) {
    if (!isObject(n.runtimeConfig)) return typeError(n.runtimeConfig, "Net.runtimeConfig", "struct");
    runtimeConfig = n.runtimeConfig;
  }
  const runtimeRanges = rangeSetList(runtimeConfig.ipRanges, "Net.runtimeConfig.ipRanges");
  const runtimeIps = requestedIpList(runtimeConfig.ips, "Net.runtimeConfig.ips");
  let argsIps: IpAddress[] = [];
  if (n.args !== undefined && n.args !== null) {
    if (!isObject(n.args)) return typeError(n.args, "Net.args", "struct");
    const cni = n.args.cni;
    if (cni !== undefined && cni !== null) {
      if (!isObject(cni)) return typeError(cni, "Net.args.cni", "allocator.IPAMArgs");
      argsIps = requestedIpList(cni.ips, "IPAMArgs.args.cni.ips");
    }
  }

  const requestedIps: IpAddress[] = [];
  const envIp = parseHostLocalArgs(envArgs, options.strictArgs ?? false);
  if (envIp) requestedIps.push(envIp);
  requestedIps.push(...argsIps, ...runtimeIps);

  const specs: RangeSpec[][] = [...runtimeRanges];
  const legacySubnet = ipam.subnet;
  if (legacySubnet !== undefined && legacySubnet !== null && legacySubnet !== "") {
    const legacy: RangeSpec = { subnet: legacySubnet as string };
    for (const key of ["rangeStart", "rangeEnd", "gateway"] as const) {
      if (ipam[key] !== undefined) (legacy as unknown as Record<string, unknown>)[key] = ipam[key];
    }
    specs.push([legacy]);
  }
  specs.push(...configured);
  if (specs.length === 0) fail("no IP ranges specified");

  const ranges: IpamRangeSet[] = specs.map((set, i) => {
    try {
      return canonicalizeRangeSet(set);
    } catch (err) {
      return fail(`invalid range set ${i}: ${err instanceof CniError ? err.msg : String(err)}`);
    }
  });

  let numV4 = 0;
  let numV6 = 0;
  for (const set of ranges) {
    if ((set[0] as (typeof set)[number]).rangeStart.family === 4) numV4++;
    else numV6++;
  }
  if (numV4 > 1 || numV6 > 1) {
    let ok = false;
    try {
      ok = versionGte(cniVersion, "0.3.0");
    } catch {
      ok = false;
    }
    if (!ok) fail(`CNI version ${cniVersion} does not support more than 1 address per family`);
  }

  for (let i = 0; i < ranges.length - 1; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (rangeSetsOverlap(ranges[i] as IpamRangeSet, ranges[j] as IpamRangeSet)) {
        fail(`range set ${i} overlaps with ${j}`);
      }
    }
  }

  return { name, cniVersion, type, dataDir, resolvConf, routes, ranges, requestedIps };
}
