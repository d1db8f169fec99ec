/**
 * The CNI_* environment of a plugin call.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */

/**
 * CNI_ARGS in any of its forms: the raw `K=V;K=V` string, pairs, or an object.
 *
 * @example
 * const args: CniArgsInput = { IgnoreUnknown: "1", K8S_POD_NAME: "web" }; // or "IgnoreUnknown=1;K8S_POD_NAME=web"
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md#cni_args
 */
export type CniArgsInput = string | readonly (readonly [string, string])[] | Readonly<Record<string, string>>;

/**
 * The CNI parameters of one call. A field left `undefined` is inherited from the base env.
 *
 * @example
 * const call: CniEnvArgs = { command: "ADD", containerId: "c1", netns: "/run/netns/x", ifName: "eth0", path: ["/opt/cni/bin"] };
 * const env = buildPluginEnv(call);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
export interface CniEnvArgs {
  /** CNI_COMMAND: ADD, DEL, CHECK, STATUS, GC or VERSION. */
  command: string;
  /** CNI_CONTAINERID. */
  containerId?: string | undefined;
  /** CNI_NETNS. */
  netns?: string | undefined;
  /** CNI_IFNAME. */
  ifName?: string | undefined;
  /** CNI_ARGS. */
  args?: CniArgsInput | undefined;
  /** CNI_PATH: a `:`-joined string or a list of directories. */
  path?: string | readonly string[] | undefined;
}

/**
 * Joins CNI_ARGS pairs as `K=V;K=V` (Go's `Args.PluginArgs` stringification).
 *
 * @example formatCniArgs([["IgnoreUnknown", "1"], ["K8S_POD_NAME", "web"]]) // "IgnoreUnknown=1;K8S_POD_NAME=web"
 */
export function formatCniArgs(args: CniArgsInput): string {
  if (typeof args === "string") return args;
  const pairs = Array.isArray(args) ? (args as readonly (readonly [string, string])[]) : Object.entries(args);
  return pairs.map(([k, v]) => `${k}=${v}`).join(";");
}

/**
 * Builds the environment for a plugin: a copy of `base` (default `process.env`) with the given
 * CNI_* variables set. Values replace inherited ones (never duplicated); `base` is not mutated.
 *
 * @example
 * const env = buildPluginEnv({ command: "ADD", containerId: "c1", netns: "/run/netns/x", ifName: "eth0", path: ["/opt/cni/bin"] });
 */
export function buildPluginEnv(
  args: CniEnvArgs,
  base: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  env.CNI_COMMAND = args.command;
  if (args.containerId !== undefined) env.CNI_CONTAINERID = args.containerId;
  if (args.netns !== undefined) env.CNI_NETNS = args.netns;
  if (args.args !== undefined) env.CNI_ARGS = formatCniArgs(args.args);
  if (args.ifName !== undefined) env.CNI_IFNAME = args.ifName;
  if (args.path !== undefined) env.CNI_PATH = typeof args.path === "string" ? args.path : args.path.join(":");
  return env;
}
