/**
 * Plain TypeScript types for CNI configs and results. The zod schemas in `schemas.ts`
 * validate the same shapes; these types carry no runtime cost.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md
 */

/**
 * DNS settings (SPEC.md "Result" → dns).
 *
 * @example
 * const dns: DNS = { nameservers: ["10.1.0.1"], domain: "cluster.local", search: ["default.svc.cluster.local"] };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/**
 * A route (1.1.0: dst, gw, mtu, advmss, priority, table, scope). `dst` is a CIDR.
 *
 * @example
 * const route: Route = { dst: "0.0.0.0/0", gw: "10.1.0.1" };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/**
 * An interface in a 1.x result.
 *
 * @example
 * const iface: Interface = { name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/var/run/netns/ctr1" };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  /** Netns path for container interfaces; absent for host interfaces. */
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

/**
 * An IP in a 1.x result. `address` is CIDR (`10.1.0.5/24`); `interface` indexes `interfaces`.
 *
 * @example
 * const ip: IPConfig = { interface: 0, address: "10.1.0.5/24", gateway: "10.1.0.1" };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export interface IPConfig {
  interface?: number;
  address: string;
  gateway?: string;
}

/**
 * A result of version 1.0.0 or 1.1.0: the shape handlers receive and return.
 *
 * @example
 * const result: Result = {
 *   cniVersion: "1.1.0",
 *   interfaces: [{ name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/var/run/netns/ctr1" }],
 *   ips: [{ interface: 0, address: "10.1.0.5/24", gateway: "10.1.0.1" }],
 *   routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }],
 * };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/**
 * An interface in a 0.3.x/0.4.0 result.
 *
 * @example
 * const iface: Interface040 = { name: "eth0", sandbox: "/var/run/netns/ctr1" };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-considerations
 */
export interface Interface040 {
  name: string;
  mac?: string;
  sandbox?: string;
}

/**
 * An IP in a 0.3.x/0.4.0 result (it carries its family).
 *
 * @example
 * const ip: IPConfig040 = { version: "4", interface: 0, address: "10.1.0.5/24", gateway: "10.1.0.1" };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-considerations
 */
export interface IPConfig040 {
  version: "4" | "6";
  interface?: number;
  address: string;
  gateway?: string;
}

/**
 * A result of version 0.3.0, 0.3.1 or 0.4.0.
 *
 * @example
 * const result = convertResult(current, "0.4.0") as Result040; // ips gain `version: "4" | "6"`
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-considerations
 */
export interface Result040 {
  cniVersion: string;
  interfaces?: Interface040[];
  ips?: IPConfig040[];
  routes?: Route[];
  dns?: DNS;
}

/**
 * Per-family IP config of a 0.1.0/0.2.0 result.
 *
 * @example
 * const ip4: IPConfig020 = { ip: "10.1.0.5/24", gateway: "10.1.0.1", routes: [{ dst: "0.0.0.0/0" }] };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-considerations
 */
export interface IPConfig020 {
  ip: string;
  gateway?: string;
  routes?: { dst: string; gw?: string }[];
}

/**
 * A result of version 0.1.0 or 0.2.0.
 *
 * @example
 * const result: Result020 = { cniVersion: "0.2.0", ip4: { ip: "10.1.0.5/24", gateway: "10.1.0.1" } };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-considerations
 */
export interface Result020 {
  cniVersion: string;
  ip4?: IPConfig020;
  ip6?: IPConfig020;
  dns?: DNS;
}

/**
 * A result of any version.
 *
 * @example
 * const any: AnyResult = parseResult(stdout); // then toCurrentResult(any) for the 1.1.0 shape
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-5-result-types
 */
export type AnyResult = Result | Result040 | Result020;

/**
 * The VERSION reply (SPEC.md "VERSION").
 *
 * @example
 * const reply: VersionReply = { cniVersion: "1.1.0", supportedVersions: ["0.4.0", "1.0.0", "1.1.0"] };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-success
 */
export interface VersionReply {
  cniVersion: string;
  supportedVersions: string[];
}

/**
 * An attachment named in GC's `cni.dev/valid-attachments`.
 *
 * @example
 * const keep: Attachment = { containerID: "a51debf7e1eb", ifname: "eth0" };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#gc-clean-up-any-stale-resources
 */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/**
 * The `ipam` section of a plugin config: `type` plus plugin-specific keys.
 *
 * @example
 * const ipam: IpamConfig = { type: "host-local", ranges: [[{ subnet: "10.1.0.0/24" }]] };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#plugin-configuration-objects
 */
export interface IpamConfig {
  type: string;
  [key: string]: unknown;
}

/**
 * A port mapping (CONVENTIONS.md `portMappings`).
 *
 * @example
 * const pm: PortMapping = { hostPort: 8080, containerPort: 80, protocol: "tcp" };
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md#well-known-capabilities
 */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: string;
  hostIP?: string;
}

/**
 * A range for `ipRanges` (CONVENTIONS.md).
 *
 * @example
 * const range: IpRange = { subnet: "10.1.0.0/24", rangeStart: "10.1.0.10", gateway: "10.1.0.1" };
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md#well-known-capabilities
 */
export interface IpRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

/**
 * Bandwidth limits (CONVENTIONS.md `bandwidth`).
 *
 * @example
 * const bw: Bandwidth = { ingressRate: 1_000_000, ingressBurst: 100_000, egressRate: 1_000_000, egressBurst: 100_000 };
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md#well-known-capabilities
 */
export interface Bandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

/**
 * The runtimeConfig capabilities of CONVENTIONS.md (unknown keys are kept).
 *
 * @example
 * const rc: RuntimeConfig = { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }], mac: "0a:58:0a:01:00:05" };
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md#well-known-capabilities
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#deriving-runtimeconfig
 */
export interface RuntimeConfig {
  portMappings?: PortMapping[];
  ipRanges?: IpRange[][];
  bandwidth?: Bandwidth;
  dns?: DNS;
  ips?: string[];
  mac?: string;
  aliases?: string[];
  cgroupPath?: string;
  deviceID?: string;
  infinibandGUID?: string;
  "io.kubernetes.cri.pod-annotations"?: Record<string, string>;
  [key: string]: unknown;
}

/**
 * The config a plugin receives on stdin (SPEC.md "Plugin configuration objects"). Unknown keys are kept.
 *
 * @example
 * const conf: NetConf = {
 *   cniVersion: "1.1.0",
 *   name: "mynet",
 *   type: "bridge",
 *   bridge: "cni0",
 *   ipam: { type: "host-local", subnet: "10.1.0.0/24" },
 * };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#plugin-configuration-objects
 */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: IpamConfig;
  dns?: DNS;
  args?: Record<string, unknown>;
  runtimeConfig?: RuntimeConfig;
  prevResult?: unknown;
  "cni.dev/valid-attachments"?: Attachment[];
  "cni.dev/attachments"?: Attachment[];
  [key: string]: unknown;
}

/**
 * One plugin entry of a conflist (no name/cniVersion: the list supplies them).
 *
 * @example
 * const portmap: PluginConf = { type: "portmap", capabilities: { portMappings: true } };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#plugin-configuration-objects
 */
export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/**
 * A network configuration list (SPEC.md "Configuration format").
 *
 * @example
 * const list: ConfList = {
 *   cniVersion: "1.1.0",
 *   name: "mynet",
 *   plugins: [{ type: "bridge", bridge: "cni0", ipam: { type: "host-local", subnet: "10.1.0.0/24" } }, { type: "portmap" }],
 * };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#configuration-format
 */
export interface ConfList {
  cniVersion: string;
  cniVersions?: string[];
  name: string;
  disableCheck?: boolean;
  disableGC?: boolean;
  loadOnlyInlinedPlugins?: boolean;
  plugins: PluginConf[];
  [key: string]: unknown;
}
