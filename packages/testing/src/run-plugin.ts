/**
 * Black-box runs of a built plugin executable, as a runtime runs it, and assertions on them.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import {
  type AnyResult,
  type ErrorReply,
  type VersionReply,
  CniError,
  decodeVersionReply,
  parseResult,
  toCurrentResult,
  type Result,
} from "@cnikit/spec";
import { runCommand } from "./exec.js";
import { type NetnsRef, netnsPath } from "./netns-ref.js";

/**
 * A CNI command, or anything else to test how a plugin rejects it.
 *
 * @example
 * ```ts
 * const command: PluginCommand = "BOGUS";
 * expectPluginError(await runPlugin(bin, { command, config }), 4);
 * ```
 */
export type PluginCommand = "ADD" | "DEL" | "CHECK" | "STATUS" | "GC" | "VERSION" | (string & {});

/**
 * How to call the plugin: the CNI_* variables and stdin a runtime would give it.
 *
 * @example
 * ```ts
 * const opts: RunPluginOptions = { command: "ADD", config, netns: ns, containerId: "ctr1", ifName: "eth0", args: { IgnoreUnknown: "1" } };
 * const run = await runPlugin(bin, opts);
 * ```
 */
export interface RunPluginOptions {
  /** CNI_COMMAND. */
  command: PluginCommand;
  /**
   * Stdin: an object is JSON-encoded, a string sent as is. Default for VERSION:
   * `{"cniVersion":"1.1.0"}`; otherwise required.
   */
  config?: object | string | undefined;
  /** CNI_NETNS: a temp netns, a name under /var/run/netns, or a path. */
  netns?: NetnsRef | undefined;
  /** CNI_CONTAINERID (default `cnikit-test` for ADD/DEL/CHECK). */
  containerId?: string | undefined;
  /** CNI_IFNAME (default `eth0` for ADD/DEL/CHECK). */
  ifName?: string | undefined;
  /** CNI_ARGS: a map becomes `K=V;K2=V2`. */
  args?: string | Readonly<Record<string, string>> | undefined;
  /** CNI_PATH entries (default: the plugin's own directory plus `/opt/cni/bin` and `/usr/lib/cni`). */
  path?: readonly string[] | undefined;
  /** Extra environment; `undefined` removes a variable. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /**
   * Start from the test process's environment instead of a clean one (default false: only
   * PATH, like a runtime that sets its own env).
   */
  inheritEnv?: boolean | undefined;
  /** Kill the plugin after this long (default 30 s). */
  timeoutMs?: number | undefined;
}

/**
 * What the plugin did.
 *
 * @example
 * ```ts
 * const run: PluginRun = await runPlugin(bin, { command: "VERSION" });
 * expect(run.version?.supportedVersions).toContain("1.1.0");
 * ```
 */
export interface PluginRun {
  /** The options' command. */
  command: string;
  /** Exit code (`null` if killed by a signal). */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the process, ms. */
  durationMs: number;
  /** ADD (or anything that printed a result) on success: the result as printed. */
  result?: AnyResult;
  /** VERSION on success: the decoded reply. */
  version?: VersionReply;
  /** On failure: the error JSON the plugin printed. */
  error?: ErrorReply;
  /** Set when stdout broke the protocol (not one JSON document of the right shape). */
  protocolError?: string;
}

/**
 * What the assertions read of a call: a {@link PluginRun} from `runPlugin`, or the output of
 * `invoke()` from `@cnikit/skel/testing` (the in-process half of the harness), so one
 * `expectPluginSuccess` / `expectPluginError` serves both levels.
 *
 * @example
 * ```ts
 * const outcome: PluginOutcome = await invoke(plugin, { command: "ADD", config });
 * const result = expectPluginSuccess(outcome);
 * ```
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export interface PluginOutcome {
  /** The command, when known (named in failure messages). */
  command?: string | undefined;
  exitCode: number | null;
  signal?: NodeJS.Signals | null | undefined;
  stdout: string;
  stderr: string;
  result?: AnyResult | undefined;
  error?: ErrorReply | undefined;
  protocolError?: string | undefined;
}

const DEFAULT_DIRS = ["/opt/cni/bin", "/usr/lib/cni"];
const NEEDS_ATTACHMENT = new Set(["ADD", "DEL", "CHECK"]);

/**
 * Runs a built plugin executable the way a runtime does: CNI_* in the environment,
 * the config on stdin, one JSON document read back from stdout. Never throws for a
 * plugin failure: inspect `exitCode`/`error`, or use {@link expectPluginSuccess}.
 *
 * @throws Error only when the executable cannot be started.
 * @example
 * ```ts
 * const run = await runPlugin("dist/my-plugin", { command: "ADD", config, netns: ns });
 * const result = expectPluginSuccess(run);
 * ```
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export async function runPlugin(pluginPath: string, options: RunPluginOptions): Promise<PluginRun> {
  const env: Record<string, string | undefined> = options.inheritEnv
    ? { ...process.env }
    : { PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
  env.CNI_COMMAND = options.command;
  if (NEEDS_ATTACHMENT.has(options.command)) {
    env.CNI_CONTAINERID = "cnikit-test";
    env.CNI_IFNAME = "eth0";
  }
  if (options.containerId !== undefined) env.CNI_CONTAINERID = options.containerId;
  if (options.ifName !== undefined) env.CNI_IFNAME = options.ifName;
  if (options.netns !== undefined) env.CNI_NETNS = netnsPath(options.netns);
  if (options.args !== undefined) {
    env.CNI_ARGS =
      typeof options.args === "string"
        ? options.args
        : Object.entries(options.args)
            .map(([k, v]) => `${k}=${v}`)
            .join(";");
  }
  env.CNI_PATH = (options.path ?? [dirname(pluginPath), ...DEFAULT_DIRS]).join(":");
  for (const [k, v] of Object.entries(options.env ?? {})) env[k] = v;
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];

  let stdin: string;
  if (options.config === undefined) {
    if (options.command !== "VERSION") throw new TypeError(`runPlugin: ${options.command} needs a config`);
    stdin = JSON.stringify({ cniVersion: "1.1.0" });
  } else {
    stdin = typeof options.config === "string" ? options.config : JSON.stringify(options.config);
  }

  const start = performance.now();
  const out = await runCommand([pluginPath], { stdin, env: env as NodeJS.ProcessEnv, timeoutMs: options.timeoutMs ?? 30_000 });
  const run: PluginRun = {
    command: options.command,
    exitCode: out.code,
    signal: out.signal,
    stdout: out.stdout,
    stderr: out.stderr,
    durationMs: performance.now() - start,
  };
  const text = out.stdout.trim();
  if (out.code === 0) {
    if (text === "") {
      if (options.command === "ADD" || options.command === "VERSION") {
        run.protocolError = `${options.command} succeeded but printed nothing on stdout`;
      }
      return run;
    }
    try {
      if (options.command === "VERSION") run.version = decodeVersionReply(text);
      else run.result = parseResult(text);
    } catch (err) {
      run.protocolError = `stdout is not a valid ${options.command === "VERSION" ? "VERSION reply" : "result"}: ${describe(err)}`;
    }
    return run;
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === "object" && typeof (parsed as ErrorReply).code === "number") {
      run.error = parsed as ErrorReply;
    } else {
      run.protocolError = "the plugin failed but stdout holds no error JSON ({code, msg})";
    }
  } catch {
    run.protocolError = `the plugin failed and stdout is not JSON: ${JSON.stringify(text.slice(0, 200))}`;
  }
  return run;
}

const PLUGIN_RUN_ERROR = Symbol.for("cnikit.testing.PluginRunError");

/**
 * A plugin run that did not go as the test expected; the message shows stdout and stderr.
 *
 * @example
 * ```ts
 * try {
 *   expectPluginSuccess(run);
 * } catch (err) {
 *   if (err instanceof PluginRunError) console.error(err.run.stderr);
 *   throw err;
 * }
 * ```
 */
export class PluginRunError extends Error {
  /** Always `"PluginRunError"`. */
  override readonly name = "PluginRunError";

  /**
   * True for a `PluginRunError`, also one thrown by another bundled copy of this package.
   *
   * @example
   * ```ts
   * if (err instanceof PluginRunError) console.error(err.run.stderr);
   * ```
   */
  static override [Symbol.hasInstance](value: unknown): value is PluginRunError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[PLUGIN_RUN_ERROR] === true;
  }

  constructor(
    message: string,
    readonly run: PluginOutcome,
  ) {
    super(`${message}\n${formatRun(run)}`);
    Object.defineProperty(this, PLUGIN_RUN_ERROR, { value: true });
  }
}

/**
 * Asserts that a run (`runPlugin`) or an in-process call (`invoke()` of `@cnikit/skel/testing`)
 * succeeded and followed the protocol; returns the result converted to 1.1.0 (undefined for
 * commands that print nothing).
 *
 * @throws {PluginRunError} with exit code, error JSON, stdout and stderr.
 * @example
 * ```ts
 * const result = expectPluginSuccess(await runPlugin(bin, { command: "ADD", config, netns: ns }));
 * expect(result?.ips?.[0]?.address).toMatch(/^10\.1\./);
 * ```
 */
export function expectPluginSuccess(run: PluginOutcome): Result | undefined {
  const command = run.command ?? "the call";
  if (run.exitCode !== 0) {
    const why = run.error ? `error ${run.error.code}: ${run.error.msg}${run.error.details ? ` (${run.error.details})` : ""}` : `exit ${run.exitCode ?? run.signal ?? "(none)"}`;
    throw new PluginRunError(`${command} failed: ${why}`, run);
  }
  if (run.protocolError) throw new PluginRunError(`${command} broke the protocol: ${run.protocolError}`, run);
  return run.result ? toCurrentResult(run.result) : undefined;
}

/**
 * Asserts that a run (`runPlugin`) or an in-process call (`invoke()`) failed with a proper CNI
 * error (JSON on stdout, exit 1), optionally with the given code and a message matching `msg`.
 *
 * @throws {PluginRunError} when it succeeded, or failed differently.
 * @example
 * ```ts
 * expectPluginError(await runPlugin(bin, { command: "ADD", config: "{" }), 6);
 * ```
 */
export function expectPluginError(run: PluginOutcome, code?: number, msg?: string | RegExp): ErrorReply {
  const command = run.command ?? "the call";
  if (run.exitCode === 0) throw new PluginRunError(`${command} was expected to fail but succeeded`, run);
  if (!run.error) throw new PluginRunError(`${command} failed without a CNI error: ${run.protocolError ?? ""}`, run);
  if (code !== undefined && run.error.code !== code) {
    throw new PluginRunError(`${command} failed with code ${run.error.code}, expected ${code}`, run);
  }
  if (msg !== undefined && !(typeof msg === "string" ? run.error.msg.includes(msg) : msg.test(run.error.msg))) {
    throw new PluginRunError(`${command} error message ${JSON.stringify(run.error.msg)} does not match ${String(msg)}`, run);
  }
  return run.error;
}

function formatRun(run: PluginOutcome): string {
  const indent = (s: string) => (s.trim() === "" ? "  (empty)" : s.trimEnd().replace(/^/gm, "  "));
  return `exit: ${run.exitCode ?? run.signal ?? "(none)"}\nstdout:\n${indent(run.stdout)}\nstderr:\n${indent(run.stderr)}`;
}

function describe(err: unknown): string {
  if (err instanceof CniError) return `${err.msg}${err.details ? ` (${err.details})` : ""}`;
  return err instanceof Error ? err.message : String(err);
}
