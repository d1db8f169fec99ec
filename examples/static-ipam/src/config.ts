/**
 * static-ipam's config: `ipam.addresses` ([{ address: CIDR, gateway? }]), `ipam.routes`,
 * `ipam.dns`; `args.cni.ips` / `runtimeConfig.ips` (CIDRs) replace the addresses; CNI_ARGS
 * `IP=<cidr>[,<cidr>]` adds to them and `GATEWAY=<ip>[,<ip>]` sets the gateway of the address
 * whose subnet holds it — the same rules as Go's `static` plugin, hand-validated (no zod at start-up).
 */
import {
  cidrContains,
  CniError,
  type DNS,
  ErrorCode,
  ipFamily,
  isCidr,
  isIpAddress,
  type Route,
  versionGte,
} from "@cnikit/spec";

/** One address to hand out. */
export interface StaticAddress {
  /** CIDR, host bits kept (`10.0.0.5/24`). */
  address: string;
  gateway?: string;
  family: 4 | 6;
}

/** static-ipam's settings after validation. */
export interface StaticIpamConfig {
  cniVersion: string;
  addresses: StaticAddress[];
  routes?: Route[];
  dns?: DNS;
}

function fail(msg: string): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, msg);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) fail(`${field} must be an array of strings`);
  return value as string[];
}

function parseRoutes(value: unknown): Route[] {
  if (!Array.isArray(value)) fail("ipam.routes must be an array");
  return value.map((r, i) => {
    if (!isObject(r) || typeof r.dst !== "string" || !isCidr(r.dst)) fail(`ipam.routes[${i}].dst must be a CIDR`);
    const route: Route = { dst: r.dst };
    if (r.gw !== undefined) {
      if (typeof r.gw !== "string" || !isIpAddress(r.gw)) fail(`ipam.routes[${i}].gw must be an IP address`);
      route.gw = r.gw;
    }
    for (const key of ["mtu", "advmss", "priority", "table", "scope"] as const) {
      const v = r[key];
      if (v === undefined) continue;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) fail(`ipam.routes[${i}].${key} must be a non-negative integer`);
      route[key] = v;
    }
    return route;
  });
}

function parseDns(value: unknown): DNS | undefined {
  if (!isObject(value)) fail("ipam.dns must be an object");
  const dns: DNS = {};
  if (value.nameservers !== undefined) dns.nameservers = stringList(value.nameservers, "ipam.dns.nameservers");
  if (value.domain !== undefined) {
    if (typeof value.domain !== "string") fail("ipam.dns.domain must be a string");
    if (value.domain !== "") dns.domain = value.domain;
  }
  if (value.search !== undefined) dns.search = stringList(value.search, "ipam.dns.search");
  if (value.options !== undefined) dns.options = stringList(value.options, "ipam.dns.options");
  for (const k of ["nameservers", "search", "options"] as const) if (dns[k]?.length === 0) delete dns[k];
  return Object.keys(dns).length === 0 ? undefined : dns;
}

function cidrAddress(text: string, message: string): StaticAddress {
  const address = text.trim();
  const family = isCidr(address) ? ipFamily(address) : undefined;
  if (family === undefined) fail(message);
  return { address, family };
}

/** Reads CNI_ARGS `IP=` and `GATEWAY=` (other keys are ignored). */
function envArgs(raw: string): { ip?: string; gateway?: string } {
  const out: { ip?: string; gateway?: string } = {};
  if (raw === "") return out;
  for (const pair of raw.split(";")) {
    const kv = pair.split("=");
    if (kv.length !== 2) fail(`ARGS: invalid pair ${JSON.stringify(pair)}`);
    if (kv[0] === "IP") out.ip = kv[1] as string;
    else if (kv[0] === "GATEWAY") out.gateway = kv[1] as string;
  }
  return out;
}

/**
 * Validates a static-ipam network config.
 *
 * @throws CniError code 7: `IPAM config missing 'ipam' key`, `the 'address' field is expected to
 * be in CIDR notation, got: 'x'`, `CNI version 0.2.0 does not support more than 1 address per family`, ...
 * @example loadStaticConfig({ cniVersion: "1.1.0", name: "n", ipam: { type: "static-ipam",
 *   addresses: [{ address: "10.0.0.5/24", gateway: "10.0.0.1" }] } }, "")
 */
export function loadStaticConfig(config: unknown, rawArgs: string): StaticIpamConfig {
  if (!isObject(config)) fail("network config must be a JSON object");
  const ipam = config.ipam;
  if (ipam === undefined || ipam === null) fail("IPAM config missing 'ipam' key");
  if (!isObject(ipam)) fail("ipam must be an object");
  const cniVersion = typeof config.cniVersion === "string" ? config.cniVersion : "";

  let addresses: StaticAddress[] = [];
  if (ipam.addresses !== undefined && ipam.addresses !== null) {
    if (!Array.isArray(ipam.addresses)) fail("ipam.addresses must be an array");
    addresses = ipam.addresses.map((a, i) => {
      if (!isObject(a) || typeof a.address !== "string") fail(`ipam.addresses[${i}].address must be a string`);
      const out = cidrAddress(a.address, `the 'address' field is expected to be in CIDR notation, got: '${a.address}'`);
      if (a.gateway !== undefined && a.gateway !== "") {
        if (typeof a.gateway !== "string" || !isIpAddress(a.gateway)) fail(`invalid gateway address: ${String(a.gateway)}`);
        out.gateway = a.gateway;
      }
      return out;
    });
  }

  const env = envArgs(rawArgs);
  if (env.ip) {
    for (const item of env.ip.split(",")) {
      addresses.push(cidrAddress(item, `the 'ip' field is expected to be in CIDR notation, got: '${item.trim()}'`));
    }
  }
  if (env.gateway) {
    for (const item of env.gateway.split(",")) {
      const gw = item.trim();
      if (!isIpAddress(gw)) fail(`invalid gateway address: ${item}`);
      for (const a of addresses) if (cidrContains(a.address, gw)) a.gateway = gw;
    }
  }

  const fromList = (value: unknown, field: string): StaticAddress[] =>
    stringList(value, field).map((s) =>
      cidrAddress(s, `an entry in the 'ips' field is NOT in CIDR notation, got: '${s}'`),
    );
  const args = isObject(config.args) && isObject(config.args.cni) ? config.args.cni : undefined;
  if (args?.ips !== undefined && Array.isArray(args.ips) && args.ips.length > 0) {
    addresses = fromList(args.ips, "args.cni.ips");
  }
  const runtimeIps = isObject(config.runtimeConfig) ? config.runtimeConfig.ips : undefined;
  if (Array.isArray(runtimeIps) && runtimeIps.length > 0) addresses = fromList(runtimeIps, "runtimeConfig.ips");

  const v4 = addresses.filter((a) => a.family === 4).length;
  const v6 = addresses.length - v4;
  if (v4 > 1 || v6 > 1) {
    let ok = false;
    try {
      ok = versionGte(cniVersion, "0.3.0");
    } catch {
      ok = false;
    }
    if (!ok) fail(`CNI version ${cniVersion} does not support more than 1 address per family`);
  }

  const out: StaticIpamConfig = { cniVersion, addresses };
  if (ipam.routes !== undefined && ipam.routes !== null) out.routes = parseRoutes(ipam.routes);
  if (ipam.dns !== undefined && ipam.dns !== null) {
    const dns = parseDns(ipam.dns);
    if (dns) out.dns = dns;
  }
  return out;
}
