/**
 * Plain TypeScript types for CNI configs and results. The zod schemas in `schemas.ts`
 * validate the same shapes; these types carry no runtime cost.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md
 */

/** DNS settings (SPEC.md "Result" → dns). */
export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A route (1.1.0: dst, gw, mtu, advmss, priority, table, scope). `dst` is a CIDR. */
export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/** An interface in a 1.x result. */
export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  /** Netns path for container interfaces; absent for host interfaces. */
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

/** An IP in a 1.x result. `address` is CIDR (`10.1.0.5/24`); `interface` indexes `interfaces`. */
export interface IPConfig {
  interface?: number;
  address: string;
  gateway?: string;
}

/** A result of version 1.0.0 or 1.1.0: the shape handlers receive and return. */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** An interface in a 0.3.x/0.4.0 result. */
export interface Interface040 {
  name: string;
  mac?: string;
  sandbox?: string;
}

/** An IP in a 0.3.x/0.4.0 result (it carries its family). */
export interface IPConfig040 {
  version: "4" | "6";
  interface?: number;
  address: string;
  gateway?: string;
}

/** A result of version 0.3.0, 0.3.1 or 0.4.0. */
export interface Result040 {
  cniVersion: string;
  interfaces?: Interface040[];
  ips?: IPConfig040[];
  routes?: Route[];
  dns?: DNS;
}

/** Per-family IP config of a 0.1.0/0.2.0 result. */
export interface IPConfig020 {
  ip: string;
  gateway?: string;
  routes?: { dst: string; gw?: string }[];
}

/** A result of version 0.1.0 or 0.2.0. */
export interface Result020 {
  cniVersion: string;
  ip4?: IPConfig020;
  ip6?: IPConfig020;
  dns?: DNS;
}

/** A result of any version. */
export type AnyResult = Result | Result040 | Result020;

/** The VERSION reply (SPEC.md "VERSION"). */
export interface VersionReply {
  cniVersion: string;
  supportedVersions: string[];
}

/** An attachment named in GC's `cni.dev/valid-attachments`. */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** The `ipam` section of a plugin config: `type` plus plugin-specific keys. */
export interface IpamConfig {
  type: string;
  [key: string]: unknown;
}

/** A port mapping (CONVENTIONS.md `portMappings`). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol?: string;
  hostIP?: string;
}

/** A range for `ipRanges` (CONVENTIONS.md). */
export interface IpRange {
  subnet: string;
  rangeStart?: string;
  rangeEnd?: string;
  gateway?: string;
}

/** Bandwidth limits (CONVENTIONS.md `bandwidth`). */
export interface Bandwidth {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

/** The runtimeConfig capabilities of CONVENTIONS.md (unknown keys are kept). */
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

/** The config a plugin receives on stdin (SPEC.md "Plugin configuration objects"). Unknown keys are kept. */
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

/** One plugin entry of a conflist (no name/cniVersion: the list supplies them). */
export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A network configuration list (SPEC.md "Configuration format"). */
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
