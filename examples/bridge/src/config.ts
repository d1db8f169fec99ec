/**
 * The bridge plugin's network config: the reference plugin's keys, validated by hand (no zod on
 * the hot path: every ADD is a new process) once, through skel's `config` hook
 * ({@link bridgeConfigSchema}), with its defaults and its MAC precedence
 * (CNI_ARGS `MAC` < `args.cni.mac` < `runtimeConfig.mac`).
 *
 * @see https://www.cni.dev/plugins/current/main/bridge/
 */
import { schemaFromFunction } from "@cnikit/skel";
import { CniError, type DNS, ErrorCode, type StandardSchemaV1 } from "@cnikit/spec";

/** The bridge used when the config names none (the reference plugin's). */
export const DEFAULT_BRIDGE = "cni0";

/** Masquerade backends the config may ask for. */
export const IPMASQ_BACKENDS = ["iptables", "nftables"] as const;

/** A masquerade backend name. */
export type IpMasqBackend = (typeof IPMASQ_BACKENDS)[number];

/** The config of one bridge invocation, defaults applied. */
export interface BridgeConf {
  /** Network name. */
  name: string;
  /** The config's cniVersion ("" when absent). */
  cniVersion: string;
  /** Bridge device name (default `cni0`). */
  bridge: string;
  /** Put the gateway address on the bridge (implied by isDefaultGateway). */
  isGateway: boolean;
  /** Add a default route via the gateway in the container. */
  isDefaultGateway: boolean;
  /** Replace a different address already on the bridge instead of failing. */
  forceAddress: boolean;
  /** Masquerade traffic leaving the container's subnet. */
  ipMasq: boolean;
  /** Masquerade backend; undefined lets the helper choose. */
  ipMasqBackend: IpMasqBackend | undefined;
  /** MTU of the bridge and the veth pair (undefined: kernel default). */
  mtu: number | undefined;
  /** Hairpin mode on the bridge port. */
  hairpinMode: boolean;
  /** Promiscuous mode on the bridge. */
  promiscMode: boolean;
  /** Keep IPv6 duplicate address detection on in the container (`enabledad`). */
  enableDad: boolean;
  /** The IPAM section; undefined for a layer-2-only attachment. */
  ipam: { type: string; [key: string]: unknown } | undefined;
  /** DNS settings passed through to the result when any is set. */
  dns: DNS | undefined;
  /** The container MAC address the config asks for (`args.cni.mac`, `runtimeConfig.mac`), if any; see {@link containerMac}. */
  mac: string | undefined;
  /** Keys of the reference plugin set in the config that this plugin does not implement. */
  unsupported: string[];
}

type Raw = Record<string, unknown>;

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidNetworkConfig, `failed to load netconf: ${msg}`);
}

function isObject(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function bool(raw: Raw, key: string): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw invalid(`"${key}" must be a boolean, got ${kindOf(v)}`);
  return v;
}

function optString(raw: Raw, key: string, where = ""): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw invalid(`"${where}${key}" must be a string, got ${kindOf(v)}`);
  return v;
}

function optInt(raw: Raw, key: string): number | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw invalid(`"${key}" must be an integer, got ${kindOf(v)}`);
  return v;
}

function stringList(raw: Raw, key: string): string[] | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
    throw invalid(`"dns.${key}" must be a list of strings`);
  }
  return v as string[];
}

function parseDns(value: unknown): DNS | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid(`"dns" must be an object, got ${kindOf(value)}`);
  const dns: DNS = {};
  const nameservers = stringList(value, "nameservers");
  const search = stringList(value, "search");
  const options = stringList(value, "options");
  const domain = optString(value, "domain", "dns.");
  if (nameservers) dns.nameservers = nameservers;
  if (domain) dns.domain = domain;
  if (search) dns.search = search;
  if (options) dns.options = options;
  // Go's dnsConfSet: any list present (even empty) or a non-empty domain counts as set.
  return nameservers || search || options || domain ? dns : undefined;
}

function parseIpam(value: unknown): BridgeConf["ipam"] {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid(`"ipam" must be an object, got ${kindOf(value)}`);
  const type = optString(value, "type", "ipam.");
  if (!type) return undefined;
  return { ...value, type };
}

/** The MAC from `args.cni.mac`, then `runtimeConfig.mac` (last wins). */
function pickMac(raw: Raw): string | undefined {
  let mac: string | undefined;
  const args = raw.args;
  if (isObject(args) && isObject(args.cni)) {
    const m = optString(args.cni, "mac", "args.cni.");
    if (m) mac = m;
  }
  const rc = raw.runtimeConfig;
  if (isObject(rc)) {
    const m = optString(rc, "mac", "runtimeConfig.");
    if (m) mac = m;
  }
  return mac;
}

/**
 * Reads the bridge config from the decoded stdin.
 *
 * @example
 * const conf = loadBridgeConf({ cniVersion: "1.0.0", name: "net", type: "bridge", isGateway: true });
 * conf.bridge; // "cni0"
 * @throws CniError code 7 `failed to load netconf: ...` for a key of the wrong type or value.
 */
export function loadBridgeConf(value: unknown): BridgeConf {
  if (!isObject(value)) throw invalid(`expected a JSON object, got ${kindOf(value)}`);
  const raw: Raw = value;
  const bridge = optString(raw, "bridge") || DEFAULT_BRIDGE;
  if (Buffer.byteLength(bridge) > 15 || /[\s/:]/.test(bridge) || bridge === "." || bridge === "..") {
    throw invalid(`invalid bridge name "${bridge}"`);
  }
  const mtu = optInt(raw, "mtu");
  if (mtu !== undefined && mtu !== 0 && (mtu < 68 || mtu > 65535)) throw invalid(`invalid MTU ${mtu}`);
  const vlan = optInt(raw, "vlan") ?? 0;
  if (vlan < 0 || vlan > 4094) {
    throw invalid(`invalid VLAN ID ${vlan} (must be between 0 and 4094)`);
  }
  const backend = optString(raw, "ipMasqBackend");
  if (backend !== undefined && backend !== "" && !(IPMASQ_BACKENDS as readonly string[]).includes(backend)) {
    throw invalid(`invalid ipMasqBackend "${backend}" (must be "iptables" or "nftables")`);
  }
  const isDefaultGateway = bool(raw, "isDefaultGateway");
  const conf: BridgeConf = {
    name: String(raw.name ?? ""),
    cniVersion: typeof raw.cniVersion === "string" ? raw.cniVersion : "",
    bridge,
    isGateway: bool(raw, "isGateway") || isDefaultGateway,
    isDefaultGateway,
    forceAddress: bool(raw, "forceAddress"),
    ipMasq: bool(raw, "ipMasq"),
    ipMasqBackend: backend ? (backend as IpMasqBackend) : undefined,
    mtu: mtu || undefined,
    hairpinMode: bool(raw, "hairpinMode"),
    promiscMode: bool(raw, "promiscMode"),
    enableDad: bool(raw, "enabledad"),
    ipam: parseIpam(raw.ipam),
    dns: parseDns(raw.dns),
    mac: pickMac(raw),
    unsupported: [],
  };
  if (vlan !== 0) conf.unsupported.push("vlan");
  if (raw.vlanTrunk !== undefined && raw.vlanTrunk !== null) conf.unsupported.push("vlanTrunk");
  if (bool(raw, "macspoofchk")) conf.unsupported.push("macspoofchk");
  return conf;
}

/**
 * The bridge config as skel's `config` hook: stdin is decoded once by skel and validated once
 * here, and every handler gets the {@link BridgeConf} in `ctx.config`.
 *
 * @example
 * definePlugin({ name: "bridge", version, cniVersions, config: bridgeConfigSchema, add: ({ config }) => ... });
 */
export const bridgeConfigSchema: StandardSchemaV1<unknown, BridgeConf> = schemaFromFunction(loadBridgeConf);

/**
 * The container's MAC address: the config's ({@link BridgeConf.mac}), else CNI_ARGS `MAC=`.
 *
 * @example
 * containerMac(loadBridgeConf(raw), { MAC: "02:00:00:00:00:01" }); // "02:00:00:00:00:01" unless the config sets one
 */
export function containerMac(conf: BridgeConf, cniArgs: Readonly<Record<string, string>>): string | undefined {
  return conf.mac ?? (cniArgs.MAC || undefined);
}

/**
 * The checks the reference plugin makes before ADD only (DEL must clean up whatever the config).
 *
 * @example assertAddable(loadBridgeConf(raw, {}));
 * @throws CniError code 7 `cannot set hairpin mode and promiscuous mode at the same time`;
 *   code 2 for keys of the reference plugin this example does not implement.
 */
export function assertAddable(conf: BridgeConf): void {
  if (conf.hairpinMode && conf.promiscMode) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "cannot set hairpin mode and promiscuous mode at the same time");
  }
  if (conf.unsupported.length > 0) {
    throw new CniError(
      ErrorCode.UnsupportedField,
      `${conf.unsupported.join(", ")} ${conf.unsupported.length === 1 ? "is" : "are"} not supported by this bridge plugin`,
    );
  }
}
