/**
 * Delegating to another plugin from inside a plugin (IPAM, chained plugins): one call per
 * command that takes the handler's context, so the delegate gets the original stdin, the
 * invocation's environment (CNI_PATH, CNI_* values) and its abort signal by default.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugins-ipam
 */
import { CniError, ErrorCode, toCurrentResult, versionGte } from "@cnikit/spec";
import type { Result } from "@cnikit/spec";
import { configVersion, execPluginWithResult, execPluginWithoutResult, getVersionInfo } from "./exec.js";
import type { ExecPluginOptions } from "./exec.js";
import { findInPathSync, splitPath } from "./find.js";
import { inProcessExec } from "./in-process.js";
import type { RawExec, StderrSink } from "./raw-exec.js";

/**
 * What a delegation needs from the calling plugin's invocation. `@cnikit/skel`'s `PluginContext`
 * is one: pass the handler's `ctx`.
 *
 * @example
 * const ctx: DelegateContext = { stdin: confText, env: process.env, signal: AbortSignal.timeout(30_000) };
 * const lease = await delegateAdd("host-local", ctx);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
export interface DelegateContext {
  /** The config the calling plugin received on stdin: sent to the delegate verbatim (unless `options.conf`). */
  readonly stdin: string | Uint8Array;
  /** The calling plugin's environment: the delegate gets it with only CNI_COMMAND replaced; CNI_PATH locates it. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Kills the delegate (SIGKILL) when it aborts (skel's `ctx.signal`: SIGTERM/SIGINT of the plugin). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Options of the delegate functions: everything has a default from the context.
 *
 * @example
 * // send a modified config instead of the original stdin
 * await delegateAdd("inner", ctx, { conf: { ...ctx.config, type: "inner" }, timeoutMs: 10_000 });
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-protocol
 */
export interface DelegateOptions {
  /** The config to send instead of `ctx.stdin`: an object (JSON-encoded) or raw JSON text/bytes (verbatim). */
  conf?: string | Uint8Array | object | undefined;
  /** Kill the delegate after this many milliseconds (default: no timeout). */
  timeoutMs?: number | undefined;
  /** Receives the delegate's stderr (default `process.stderr`; `null` drops it). */
  stderr?: StderrSink | null | undefined;
  /**
   * Executor to use instead of spawning (for fakes in tests). Default `rawExec`, or the
   * in-process runner a host of plugins installed with `setDelegateResolver`.
   */
  exec?: RawExec | undefined;
  /** What a failure's message starts with; default `plugin <type>` (`@cnikit/ipam-client`: `IPAM plugin <type>`). */
  errorPrefix?: string | undefined;
}

const STATUS_SINCE = "1.1.0";

// Found synchronously and spawned in the same tick: a plugin that starts a delegate and then does
// its own work meanwhile (bridge: IPAM while it creates the veth) gets the child running at once.
// A host of plugins (cnikit-agent) may run the delegate found in process (see setDelegateResolver).
function callOf(command: string, type: string, ctx: DelegateContext, options: DelegateOptions): ExecPluginOptions {
  const pluginPath = findInPathSync(type, splitPath(ctx.env.CNI_PATH));
  return {
    pluginPath,
    command,
    stdin: options.conf ?? ctx.stdin,
    env: ctx.env,
    signal: ctx.signal,
    timeoutMs: options.timeoutMs,
    stderr: options.stderr,
    exec: options.exec ?? inProcessExec(pluginPath),
  };
}

function failure(type: string, options: DelegateOptions, err: unknown): CniError {
  return CniError.wrap(options.errorPrefix ?? `plugin ${type}`, err);
}

async function delegateNoResult(command: string, type: string, ctx: DelegateContext, options: DelegateOptions): Promise<void> {
  try {
    await execPluginWithoutResult(callOf(command, type, ctx, options));
  } catch (err) {
    throw failure(type, options, err);
  }
}

/**
 * Runs ADD on the plugin `type` (found in `ctx.env.CNI_PATH`) with `ctx.stdin` (or
 * `options.conf`) and `ctx.env` (only CNI_COMMAND replaced), killed when `ctx.signal` aborts,
 * and returns its result converted to the current spec version (1.1.0).
 *
 * @example
 * add: async (ctx) => {
 *   const result = await delegateAdd("inner", ctx, { conf: { ...ctx.config, type: "inner" } });
 *   ctx.onRollback(() => delegateDel("inner", ctx, { conf: { ...ctx.config, type: "inner" } }));
 *   return result;
 * }
 * @throws CniError `plugin <type>: <message>` keeping the code: the delegate's own error (its
 *   code, msg and details), `failed to find plugin "X" in path [...]`, or an exec/decoding failure.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
export async function delegateAdd(type: string, ctx: DelegateContext, options: DelegateOptions = {}): Promise<Result> {
  try {
    return toCurrentResult(await execPluginWithResult(callOf("ADD", type, ctx, options)));
  } catch (err) {
    throw failure(type, options, err);
  }
}

/**
 * Runs DEL on the plugin `type`, as {@link delegateAdd} does ADD.
 *
 * @example await delegateDel("inner", ctx);
 * @throws CniError as {@link delegateAdd}.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
export function delegateDel(type: string, ctx: DelegateContext, options: DelegateOptions = {}): Promise<void> {
  return delegateNoResult("DEL", type, ctx, options);
}

/**
 * Runs CHECK on the plugin `type`, as {@link delegateAdd} does ADD.
 *
 * @example await delegateCheck("inner", ctx);
 * @throws CniError as {@link delegateAdd}.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
export function delegateCheck(type: string, ctx: DelegateContext, options: DelegateOptions = {}): Promise<void> {
  return delegateNoResult("CHECK", type, ctx, options);
}

/**
 * Runs STATUS on the plugin `type`, as {@link delegateAdd} does ADD, after asking its VERSION:
 * a delegate that does not support the config's cniVersion (or a config older than 1.1.0, which
 * has no STATUS) is not asked, and the error says why instead of the delegate's own confusing one.
 *
 * @example await delegateStatus("host-local", ctx);
 * @throws CniError as {@link delegateAdd} (the delegate's code, e.g. 50, is kept); code 2
 *   `plugin <type>: cannot ask for STATUS: ...` naming the versions it supports when it cannot be asked.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#status-check-plugin-status
 */
export async function delegateStatus(type: string, ctx: DelegateContext, options: DelegateOptions = {}): Promise<void> {
  try {
    const call = callOf("STATUS", type, ctx, options);
    const version = configVersion(call.stdin);
    if (!versionGte(version, STATUS_SINCE)) {
      throw new CniError(
        ErrorCode.UnsupportedField,
        `cannot ask for STATUS: the config's cniVersion "${version}" has no STATUS (it needs ${STATUS_SINCE} or later)`,
      );
    }
    const { supportedVersions } = await getVersionInfo(call.pluginPath, call);
    if (!supportedVersions.includes(version)) {
      throw new CniError(
        ErrorCode.UnsupportedField,
        `cannot ask for STATUS: it does not support the config's cniVersion "${version}" (it supports ${supportedVersions.join(", ")})`,
      );
    }
    await execPluginWithoutResult(call);
  } catch (err) {
    throw failure(type, options, err);
  }
}

/**
 * Runs GC on the plugin `type`, as {@link delegateAdd} does ADD. The config sent must carry
 * `cni.dev/valid-attachments` (skel's `ctx.stdin` of a GC does).
 *
 * @example await delegateGC("inner", ctx);
 * @throws CniError as {@link delegateAdd}.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#gc-clean-up-any-stale-resources
 */
export function delegateGC(type: string, ctx: DelegateContext, options: DelegateOptions = {}): Promise<void> {
  return delegateNoResult("GC", type, ctx, options);
}
