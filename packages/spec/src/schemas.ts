/**
 * zod 4 schemas for CNI configs and results, for plugin authors and runtime authors who want
 * to validate or extend them (`NetConfSchema.extend({ bridge: z.string() })`). They implement
 * Standard Schema, so they plug into `validateWithSchema`, `definePlugin({ config })` and
 * `loadCniArgs`. Hot-path code in cnikit never imports this module (zod costs start-up
 * time); import it from `@cnikit/spec/schemas` or `@cnikit/spec` (tree-shaken when unused).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md
 */
import * as z from "zod";
import { isCidr, isIpAddress } from "./ip.js";

/**
 * A CIDR string (`10.1.0.5/24`, `2001:db8::1/64`; the host part is kept), Go `net.ParseCIDR` rules.
 * @example CidrSchema.parse("10.1.0.5/24")
 */
export const CidrSchema = /* @__PURE__ */ (() =>
  z.string().refine(isCidr, {
    error: (iss) => `invalid CIDR address: ${String(iss.input)}`,
  }))();

/**
 * An IPv4 or IPv6 address string, Go `net.ParseIP` rules.
 * @example IpSchema.parse("10.1.0.1")
 */
export const IpSchema = /* @__PURE__ */ (() =>
  z.string().refine(isIpAddress, {
    error: (iss) => `invalid IP address: ${String(iss.input)}`,
  }))();

/**
 * DNS settings of a config or result (SPEC.md "Result" → dns).
 * @example DnsSchema.parse({ nameservers: ["10.1.0.1"] })
 */
export const DnsSchema = /* @__PURE__ */ (() =>
  z.object({
    nameservers: z.array(z.string()).optional(),
    domain: z.string().optional(),
    search: z.array(z.string()).optional(),
    options: z.array(z.string()).optional(),
  }))();

/**
 * A route of a result: `dst` CIDR, optional `gw` and the 1.1.0 attributes.
 * @example RouteSchema.parse({ dst: "0.0.0.0/0", gw: "10.1.0.1" })
 */
export const RouteSchema = /* @__PURE__ */ (() =>
  z.object({
    dst: CidrSchema,
    gw: IpSchema.optional(),
    mtu: z.int().optional(),
    advmss: z.int().optional(),
    priority: z.int().optional(),
    table: z.int().optional(),
    scope: z.int().optional(),
  }))();

/**
 * An interface of a 1.x result.
 * @example InterfaceSchema.parse({ name: "eth0", mac: "aa:bb:cc:dd:ee:ff", sandbox: "/var/run/netns/blue" })
 */
export const InterfaceSchema = /* @__PURE__ */ (() =>
  z.object({
    name: z.string(),
    mac: z.string().optional(),
    mtu: z.int().nonnegative().optional(),
    sandbox: z.string().optional(),
    socketPath: z.string().optional(),
    pciID: z.string().optional(),
  }))();

/**
 * An IP of a 1.x result: CIDR `address`, optional `gateway`, optional `interface` index.
 * @example IPConfigSchema.parse({ interface: 0, address: "10.1.0.5/16", gateway: "10.1.0.1" })
 */
export const IPConfigSchema = /* @__PURE__ */ (() =>
  z.object({
    interface: z.int().nonnegative().optional(),
    address: CidrSchema,
    gateway: IpSchema.optional(),
  }))();

/**
 * A 1.0.0/1.1.0 result (SPEC.md "ADD Success").
 * @example ResultSchema.parse({ cniVersion: "1.1.0", ips: [{ address: "10.1.0.5/16" }] })
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export const ResultSchema = /* @__PURE__ */ (() =>
  z.object({
    cniVersion: z.string(),
    interfaces: z.array(InterfaceSchema).optional(),
    ips: z.array(IPConfigSchema).optional(),
    routes: z.array(RouteSchema).optional(),
    dns: DnsSchema.optional(),
  }))();

/**
 * A 0.3.0/0.3.1/0.4.0 result: IPs carry `version` "4"/"6"; interfaces have name, mac, sandbox.
 * @example Result040Schema.parse({ cniVersion: "0.4.0", ips: [{ version: "4", address: "10.1.0.5/16" }] })
 */
export const Result040Schema = /* @__PURE__ */ (() =>
  z.object({
    cniVersion: z.string(),
    interfaces: z
      .array(
        z.object({
          name: z.string(),
          mac: z.string().optional(),
          sandbox: z.string().optional(),
        }),
      )
      .optional(),
    ips: z
      .array(
        z.object({
          version: z.enum(["4", "6"]),
          interface: z.int().nonnegative().optional(),
          address: CidrSchema,
          gateway: IpSchema.optional(),
        }),
      )
      .optional(),
    routes: z.array(RouteSchema).optional(),
    dns: DnsSchema.optional(),
  }))();

const IPConfig020Schema = /* @__PURE__ */ (() =>
  z.object({
    ip: CidrSchema,
    gateway: IpSchema.optional(),
    routes: z.array(z.object({ dst: CidrSchema, gw: IpSchema.optional() })).optional(),
  }))();

/**
 * A 0.1.0/0.2.0 result: `ip4` and `ip6` with their own routes.
 * @example Result020Schema.parse({ cniVersion: "0.2.0", ip4: { ip: "10.1.0.5/16" } })
 */
export const Result020Schema = /* @__PURE__ */ (() =>
  z.object({
    cniVersion: z.string(),
    ip4: IPConfig020Schema.optional(),
    ip6: IPConfig020Schema.optional(),
    dns: DnsSchema.optional(),
  }))();

/**
 * The `ipam` section: `type` plus the IPAM plugin's own keys (kept).
 * @example IpamConfigSchema.parse({ type: "host-local", subnet: "10.1.0.0/16" })
 */
export const IpamConfigSchema = /* @__PURE__ */ (() => z.looseObject({ type: z.string() }))();

/**
 * A `portMappings` entry (CONVENTIONS.md).
 * @example PortMappingSchema.parse({ hostPort: 8080, containerPort: 80, protocol: "tcp" })
 */
export const PortMappingSchema = /* @__PURE__ */ (() =>
  z.looseObject({
    hostPort: z.int(),
    containerPort: z.int(),
    protocol: z.string().optional(),
    hostIP: z.string().optional(),
  }))();

/**
 * One range of an `ipRanges` range set (CONVENTIONS.md, host-local's range format).
 * @example IpRangeSchema.parse({ subnet: "10.1.0.0/16", rangeStart: "10.1.0.10" })
 */
export const IpRangeSchema = /* @__PURE__ */ (() =>
  z.looseObject({
    subnet: CidrSchema,
    rangeStart: IpSchema.optional(),
    rangeEnd: IpSchema.optional(),
    gateway: IpSchema.optional(),
  }))();

/**
 * `bandwidth` limits (CONVENTIONS.md): rates in bits/s, bursts in bits.
 * @example BandwidthSchema.parse({ ingressRate: 1000000, ingressBurst: 100000 })
 */
export const BandwidthSchema = /* @__PURE__ */ (() =>
  z.looseObject({
    ingressRate: z.number().nonnegative().optional(),
    ingressBurst: z.number().nonnegative().optional(),
    egressRate: z.number().nonnegative().optional(),
    egressBurst: z.number().nonnegative().optional(),
  }))();

/**
 * `runtimeConfig`: the capabilities of CONVENTIONS.md; unknown keys are kept.
 * @example RuntimeConfigSchema.parse({ portMappings: [{ hostPort: 8080, containerPort: 80 }], mac: "aa:bb:cc:dd:ee:ff" })
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md#well-known-capabilities
 */
export const RuntimeConfigSchema = /* @__PURE__ */ (() =>
  z.looseObject({
    portMappings: z.array(PortMappingSchema).optional(),
    ipRanges: z.array(z.array(IpRangeSchema)).optional(),
    bandwidth: BandwidthSchema.optional(),
    dns: DnsSchema.optional(),
    ips: z.array(z.string()).optional(),
    mac: z.string().optional(),
    aliases: z.array(z.string()).optional(),
    cgroupPath: z.string().optional(),
    deviceID: z.string().optional(),
    infinibandGUID: z.string().optional(),
    "io.kubernetes.cri.pod-annotations": z.record(z.string(), z.string()).optional(),
  }))();

/**
 * An attachment of GC's `cni.dev/valid-attachments`.
 * @example AttachmentSchema.parse({ containerID: "a51debf7e1eb", ifname: "eth0" })
 */
export const AttachmentSchema = /* @__PURE__ */ (() => z.looseObject({ containerID: z.string(), ifname: z.string() }))();

const commonPluginKeys = /* @__PURE__ */ (() => ({
  capabilities: z.record(z.string(), z.boolean()).optional(),
  ipam: IpamConfigSchema.optional(),
  dns: DnsSchema.optional(),
  args: z.record(z.string(), z.unknown()).optional(),
  runtimeConfig: RuntimeConfigSchema.optional(),
  prevResult: z.unknown().optional(),
  "cni.dev/valid-attachments": z.array(AttachmentSchema).optional(),
  "cni.dev/attachments": z.array(AttachmentSchema).optional(),
}))();

/**
 * The config a plugin receives on stdin; unknown keys are kept (extend it for yours).
 * A missing `cniVersion` means 0.1.0, as in Go.
 *
 * @example
 * const BridgeConf = NetConfSchema.extend({ bridge: z.string().default("cni0") });
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-1-network-configuration-format
 */
export const NetConfSchema = /* @__PURE__ */ (() =>
  z.looseObject({
    cniVersion: z.string().default("0.1.0"),
    name: z.string(),
    type: z.string(),
    ...commonPluginKeys,
  }))();

/**
 * One plugin entry of a conflist (name and cniVersion come from the list); unknown keys kept.
 * @example PluginConfSchema.parse({ type: "portmap", capabilities: { portMappings: true } })
 */
export const PluginConfSchema = /* @__PURE__ */ (() =>
  z.looseObject({
    type: z.string(),
    name: z.string().optional(),
    cniVersion: z.string().optional(),
    ...commonPluginKeys,
  }))();

/** libcni reads these conflist flags as a JSON bool or a "true"/"false" string in any case. */
const LooseBool = /* @__PURE__ */ (() =>
  z.union([
    z.boolean(),
    z
      .string()
      .refine((s) => s.toLowerCase() === "true" || s.toLowerCase() === "false", {
        error: (iss) => `invalid value ${JSON.stringify(String(iss.input).toLowerCase())}`,
      })
      .transform((s) => s.toLowerCase() === "true"),
  ]))();

/**
 * A network configuration list (conflist). `disableCheck`, `disableGC` and
 * `loadOnlyInlinedPlugins` accept `true`/`false` or their strings in any case (as libcni)
 * and parse to booleans; `plugins`, when present, must not be empty, and is required when
 * `loadOnlyInlinedPlugins` is true.
 *
 * @example ConfListSchema.parse({ cniVersion: "1.1.0", name: "dbnet", plugins: [{ type: "bridge" }] })
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#configuration-format
 */
export const ConfListSchema = /* @__PURE__ */ (() =>
  z
    .looseObject({
      cniVersion: z.string().default("0.1.0"),
      cniVersions: z.array(z.string()).optional(),
      name: z.string(),
      disableCheck: LooseBool.optional(),
      disableGC: LooseBool.optional(),
      loadOnlyInlinedPlugins: LooseBool.optional(),
      plugins: z.array(PluginConfSchema).min(1, { error: "no plugins in list" }).optional(),
    })
    .refine((c) => !(c.loadOnlyInlinedPlugins === true && c.plugins === undefined), {
      error: "`loadOnlyInlinedPlugins` is true, and no 'plugins' key",
      path: ["plugins"],
    }))();

/**
 * The VERSION reply.
 * @example VersionReplySchema.parse({ cniVersion: "1.1.0", supportedVersions: ["1.0.0", "1.1.0"] })
 */
export const VersionReplySchema = /* @__PURE__ */ (() =>
  z.object({
    cniVersion: z.string(),
    supportedVersions: z.array(z.string()),
  }))();

/**
 * The error object a plugin prints (SPEC.md "Error").
 * @example ErrorReplySchema.parse({ cniVersion: "1.1.0", code: 7, msg: "Invalid Configuration" })
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#error
 */
export const ErrorReplySchema = /* @__PURE__ */ (() =>
  z.object({
    cniVersion: z.string().optional(),
    code: z.int().nonnegative(),
    msg: z.string(),
    details: z.string().optional(),
  }))();
