/**
 * Delegating to another plugin from inside a plugin (IPAM, chained plugins).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugins-ipam
 */
import { toCurrentResult } from "@cnikit/spec";
import type { Result } from "@cnikit/spec";
import { execPluginWithResult, execPluginWithoutResult } from "./exec.js";
import type { ExecRunOptions } from "./exec.js";
import { findInPathSync, splitPath } from "./find.js";

/**
 * Options of the delegate functions: how to run the delegate. CNI_PATH is read from `env`.
 *
 * @example
 * const opts: DelegateOptions = { env: { ...process.env, CNI_PATH: "/opt/cni/bin" }, timeoutMs: 10_000 };
 * const lease = await delegateAdd("host-local", conf, opts);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
export type DelegateOptions = ExecRunOptions;

/**
 * A delegate's network config: the raw JSON text (sent verbatim) or an object (JSON-encoded).
 *
 * @example
 * const conf: DelegateConf = ctx.stdin; // or { ...ctx.config, ipam: { type: "host-local", subnet: "10.1.0.0/24" } }
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-protocol
 */
export type DelegateConf = string | Uint8Array | object;

// Found synchronously and spawned in the same tick: a plugin that starts a delegate and then does
// its own work meanwhile (bridge: IPAM while it creates the veth) gets the child running at once.
function locate(type: string, options: DelegateOptions): string {
  const env = options.env ?? process.env;
  return findInPathSync(type, splitPath(env.CNI_PATH));
}

async function delegateNoResult(command: string, type: string, conf: DelegateConf, options: DelegateOptions): Promise<void> {
  const pluginPath = locate(type, options);
  await execPluginWithoutResult({ ...options, pluginPath, command, stdin: conf });
}

/**
 * Runs ADD on the plugin `type` (found in CNI_PATH) with the caller's environment, only
 * CNI_COMMAND replaced, and returns its result converted to the current spec version (1.1.0).
 *
 * @example
 * const lease = await delegateAdd(config.ipam.type, stdinText);
 * @throws CniError `failed to find plugin "X" in path [...]`, the delegate's error (its code,
 *   msg and details), or an exec/decoding failure.
 */
export async function delegateAdd(type: string, conf: DelegateConf, options: DelegateOptions = {}): Promise<Result> {
  const pluginPath = locate(type, options);
  const result = await execPluginWithResult({ ...options, pluginPath, command: "ADD", stdin: conf });
  return toCurrentResult(result);
}

/**
 * Runs DEL on the plugin `type` with the caller's environment (only CNI_COMMAND replaced).
 *
 * @example await delegateDel(config.ipam.type, stdinText);
 * @throws CniError as {@link delegateAdd}.
 */
export function delegateDel(type: string, conf: DelegateConf, options: DelegateOptions = {}): Promise<void> {
  return delegateNoResult("DEL", type, conf, options);
}

/**
 * Runs CHECK on the plugin `type` with the caller's environment (only CNI_COMMAND replaced).
 *
 * @example await delegateCheck(config.ipam.type, stdinText);
 * @throws CniError as {@link delegateAdd}.
 */
export function delegateCheck(type: string, conf: DelegateConf, options: DelegateOptions = {}): Promise<void> {
  return delegateNoResult("CHECK", type, conf, options);
}

/**
 * Runs STATUS on the plugin `type` with the caller's environment (only CNI_COMMAND replaced).
 *
 * @example await delegateStatus(config.ipam.type, stdinText);
 * @throws CniError as {@link delegateAdd}; the delegate's code (e.g. 50) is kept.
 */
export function delegateStatus(type: string, conf: DelegateConf, options: DelegateOptions = {}): Promise<void> {
  return delegateNoResult("STATUS", type, conf, options);
}

/**
 * Runs GC on the plugin `type` with the caller's environment (only CNI_COMMAND replaced).
 *
 * @example await delegateGC(config.ipam.type, stdinText);
 * @throws CniError as {@link delegateAdd}.
 */
export function delegateGC(type: string, conf: DelegateConf, options: DelegateOptions = {}): Promise<void> {
  return delegateNoResult("GC", type, conf, options);
}
