/**
 * etcd-ipam's config (the `ipam` section), validated by hand (no zod at start-up). Every mistake is
 * a CNI error code 7 naming the field.
 *
 * ```json
 * { "type": "etcd-ipam", "store": "etcd://10.0.0.1:2379?prefix=/cnikit", "subnet": "10.200.0.0/16",
 *   "blockSize": 26, "nodeName": "node1", "gateway": "10.200.0.1", "routes": [{ "dst": "0.0.0.0/0" }],
 *   "exclude": ["10.200.0.0/28", "10.200.9.1-10.200.9.9"], "hostTtl": 3600, "gracePeriod": 3600,
 *   "runDir": "/run/cnikit/etcd-ipam" }
 * ```
 */
import { hostname } from "node:os";
import {
  CniError,
  ErrorCode,
  type IpAddress,
  type IpCidr,
  type IpFamily,
  familyBits,
  isCidr,
  isIpAddress,
  lastAddress,
  networkAddress,
  type Route,
  tryParseCidr,
  tryParseIp,
} from "@cnikit/spec";

/** An inclusive range of address values (one family). */
export interface AddressRange {
  readonly first: bigint;
  readonly last: bigint;
}

/** etcd-ipam's settings after validation. */
export interface EtcdIpamConfig {
  /** The network's name: every key lives under `ipam/<network>/`. */
  network: string;
  /** The store URL (`file:/...`, `etcd://...`). */
  store: string;
  /** The cluster pool (network address, prefix). */
  subnet: IpCidr;
  family: IpFamily;
  /** The prefix length of one block. */
  blockSize: number;
  nodeName: string;
  gateway?: IpAddress | undefined;
  routes: Route[];
  /** Never handed out: the pool's network address, the v4 broadcast, the gateway, `exclude`. */
  excluded: AddressRange[];
  /** Seconds a host's lease lives after its last call. */
  hostTtl: number;
  /** Seconds a dead host's block stays marked before another host takes it. */
  gracePeriod: number;
  /** Where a one-shot call leaves the host lease's last renewal for the next call (absolute path). */
  runDir: string;
}

/** Default `blockSize`: Calico's (64 addresses per IPv4 block, 64 per IPv6 block). */
export const DEFAULT_BLOCK_SIZE = { 4: 26, 6: 122 } as const;
/** Default `hostTtl` and `gracePeriod`, seconds. */
export const DEFAULT_HOST_TTL = 3600;
export const DEFAULT_GRACE_PERIOD = 3600;
/** Default `runDir` (`/run` is cleared at boot, as a lease memo should be). */
export const DEFAULT_RUN_DIR = "/run/cnikit/etcd-ipam";

function fail(msg: string): never {
  throw new CniError(ErrorCode.InvalidNetworkConfig, `etcd-ipam: ${msg}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function positiveInt(v: unknown, field: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) fail(`ipam.${field} must be a positive integer`);
  return v;
}

function parseRoutes(value: unknown): Route[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail("ipam.routes must be an array");
  return value.map((r, i) => {
    if (!isObject(r) || typeof r.dst !== "string" || !isCidr(r.dst)) fail(`ipam.routes[${i}].dst must be a CIDR`);
    const route: Route = { dst: r.dst };
    if (r.gw !== undefined) {
      if (typeof r.gw !== "string" || !isIpAddress(r.gw)) fail(`ipam.routes[${i}].gw must be an IP address`);
      route.gw = r.gw;
    }
    return route;
  });
}

function parseExclude(value: unknown, family: IpFamily): AddressRange[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail("ipam.exclude must be an array of CIDRs or first-last ranges");
  return value.map((e, i) => {
    const field = `ipam.exclude[${i}]`;
    if (typeof e !== "string") fail(`${field} must be a CIDR or a first-last range`);
    const dash = e.indexOf("-");
    if (dash > 0) {
      const a = tryParseIp(e.slice(0, dash).trim());
      const b = tryParseIp(e.slice(dash + 1).trim());
      if (!a || !b || a.family !== family || b.family !== family || a.value > b.value)
        fail(`${field} "${e}" is not a first-last range of IPv${family} addresses`);
      return { first: a.value, last: b.value };
    }
    const c = tryParseCidr(e);
    if (!c || c.ip.family !== family) fail(`${field} "${e}" is not an IPv${family} CIDR or range`);
    const net = networkAddress(c.ip, c.prefix);
    return { first: net.value, last: lastAddress(net, c.prefix).value };
  });
}

/**
 * Validates a network config for etcd-ipam.
 *
 * @throws {CniError} code 7 for a missing or bad field.
 * @example loadEtcdIpamConfig({ name: "n", ipam: { type: "etcd-ipam", store: "file:/tmp/s", subnet: "10.200.0.0/16" } })
 */
export function loadEtcdIpamConfig(raw: unknown): EtcdIpamConfig {
  if (!isObject(raw)) fail("the network config must be an object");
  const network = raw.name;
  if (typeof network !== "string" || network === "") fail("the network config needs a name");
  const ipam = raw.ipam;
  if (!isObject(ipam)) fail('the network config needs an "ipam" object');
  if (typeof ipam.store !== "string" || ipam.store === "")
    fail('ipam.store is required: a store URL such as "file:/var/lib/cnikit/store" or "etcd://127.0.0.1:2379?prefix=/cnikit"');
  if (!/^(file|etcds?):/i.test(ipam.store)) fail(`ipam.store "${ipam.store}" is not a file:, etcd:// or etcds:// URL`);
  if (typeof ipam.subnet !== "string") fail('ipam.subnet is required: the cluster pool, e.g. "10.200.0.0/16"');
  const parsed = tryParseCidr(ipam.subnet);
  if (!parsed) fail(`ipam.subnet "${ipam.subnet}" is not a CIDR`);
  const family = parsed.ip.family;
  const bits = familyBits(family);
  const prefix = parsed.maskBits === 128 && family === 4 ? parsed.prefix - 96 : parsed.prefix;
  const subnet: IpCidr = { ip: networkAddress(parsed.ip, prefix), prefix, maskBits: bits };
  if (bits - prefix < 2) fail(`ipam.subnet "${ipam.subnet}" is too small for a pool`);
  const blockSize = positiveInt(ipam.blockSize, "blockSize", DEFAULT_BLOCK_SIZE[family]);
  if (blockSize < prefix || blockSize > bits - 1)
    fail(`ipam.blockSize ${blockSize} must be between the subnet's prefix (${prefix}) and ${bits - 1}`);
  if (bits - blockSize > 16) fail(`ipam.blockSize ${blockSize}: blocks of more than 65536 addresses; use a longer prefix`);
  let nodeName = hostname();
  if (ipam.nodeName !== undefined) {
    if (typeof ipam.nodeName !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(ipam.nodeName))
      fail("ipam.nodeName must be a host name (letters, digits, '.', '_', '-')");
    nodeName = ipam.nodeName;
  }
  const excluded = parseExclude(ipam.exclude, family);
  const first = subnet.ip.value;
  const last = lastAddress(subnet.ip, prefix).value;
  excluded.push({ first, last: first });
  if (family === 4) excluded.push({ first: last, last });
  let runDir = DEFAULT_RUN_DIR;
  if (ipam.runDir !== undefined) {
    if (typeof ipam.runDir !== "string" || !ipam.runDir.startsWith("/")) fail("ipam.runDir must be an absolute directory path");
    runDir = ipam.runDir.length > 1 ? ipam.runDir.replace(/\/+$/, "") : ipam.runDir;
  }
  let gateway: IpAddress | undefined;
  if (ipam.gateway !== undefined) {
    gateway = typeof ipam.gateway === "string" ? tryParseIp(ipam.gateway) : undefined;
    if (!gateway || gateway.family !== family || gateway.value < first || gateway.value > last)
      fail(`ipam.gateway ${JSON.stringify(ipam.gateway)} is not an address in ${ipam.subnet}`);
    excluded.push({ first: gateway.value, last: gateway.value });
  }
  return {
    network,
    store: ipam.store,
    subnet,
    family,
    blockSize,
    nodeName,
    gateway,
    routes: parseRoutes(ipam.routes),
    excluded,
    hostTtl: positiveInt(ipam.hostTtl, "hostTtl", DEFAULT_HOST_TTL),
    gracePeriod: positiveInt(ipam.gracePeriod, "gracePeriod", DEFAULT_GRACE_PERIOD),
    runDir,
  };
}
