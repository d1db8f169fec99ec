import { builtinModules } from "node:module";

/** The longest plugin name accepted. */
export const MAX_PLUGIN_NAME_LENGTH = 64;

/**
 * Names a new plugin may not take: installing it into `/opt/cni/bin` would
 * overwrite a reference plugin from containernetworking/plugins or a widely
 * deployed third-party plugin, or clash with the `cnikit` CLI.
 */
export const RESERVED_PLUGIN_NAMES: ReadonlySet<string> = new Set([
  // containernetworking/plugins (current and removed)
  "bandwidth", "bridge", "dhcp", "dummy", "firewall", "flannel", "host-device", "host-local",
  "ipvlan", "loopback", "macvlan", "portmap", "ptp", "sample", "sbr", "static", "tap", "tuning",
  "vlan", "vrf", "win-bridge", "win-overlay",
  // widely deployed plugins that live in the same directory
  "antrea", "aws-cni", "azure-vnet", "azure-vnet-ipam", "calico", "calico-ipam", "cilium-cni",
  "istio-cni", "kube-ovn", "multus", "multus-shim", "ovn-k8s-cni-overlay", "weave-ipam",
  "weave-net", "whereabouts",
  // ours and npm's
  "cnikit", "cnitool", "node_modules", "favicon.ico",
]);

/**
 * Checks a plugin name. The name becomes the executable's file name, the
 * `type` in network configs and the npm package name, so it must be safe
 * as all three: 1–64 characters, lowercase letters, digits, `-` and `_`,
 * starting with a letter, and not a reserved name (a reference plugin, a
 * Node.js built-in module).
 *
 * @returns `undefined` when the name is fine, else a sentence saying why not.
 * @example
 * ```ts
 * validatePluginName("my-bridge"); // undefined
 * validatePluginName("bridge");    // "\"bridge\" is the name of a reference plugin ..."
 * ```
 */
export function validatePluginName(name: string): string | undefined {
  if (name.length === 0) return "The plugin name must not be empty.";
  if (name.length > MAX_PLUGIN_NAME_LENGTH) {
    return `The plugin name must be at most ${MAX_PLUGIN_NAME_LENGTH} characters (got ${name.length}).`;
  }
  if (!/^[a-z]/.test(name)) return "The plugin name must start with a lowercase letter.";
  if (!/^[a-z][a-z0-9_-]*$/.test(name)) {
    return "The plugin name may contain only lowercase letters, digits, '-' and '_' (it becomes the executable's name and the network config's \"type\").";
  }
  if (RESERVED_PLUGIN_NAMES.has(name)) {
    return `"${name}" is already taken by a well-known CNI plugin or tool: installing yours into /opt/cni/bin would overwrite it. Pick another name, e.g. "my-${name}".`;
  }
  if (builtinModules.includes(name)) {
    return `"${name}" is a Node.js built-in module name, which npm does not allow as a package name. Pick another name, e.g. "${name}-cni".`;
  }
  return undefined;
}

/**
 * Turns any string (typically a directory name) into a plugin name that
 * passes {@link validatePluginName}, or returns `undefined` when nothing
 * sensible is left.
 *
 * @example
 * ```ts
 * toValidPluginName("My Bridge!"); // "my-bridge"
 * ```
 */
export function toValidPluginName(input: string): string | undefined {
  const name = input
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .replace(/[-_]+$/, "")
    .slice(0, MAX_PLUGIN_NAME_LENGTH)
    .replace(/[-_]+$/, "");
  return validatePluginName(name) === undefined ? name : undefined;
}
