/**
 * The shapes a plugin author writes against: the definition passed to `definePlugin`, the
 * one context every handler receives, and the Plugin it returns.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#cni-operations
 */
import type { AnyResult, Attachment, NetConf, Result, StandardSchemaV1 } from "@cnikit/spec";
import type { Command } from "./env.js";
import type { PluginIo, RunOutput } from "./io.js";
import type { Logger } from "./logger.js";
import type { RawReply } from "./raw-reply.js";

/**
 * An undo step registered with `onRollback`.
 *
 * @example
 * const undo: RollbackStep = () => host.deleteLink(hostIfName, { missingOk: true });
 * ctx.onRollback(undo);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-add-container-to-network-or-apply-modifications
 */
export type RollbackStep = () => unknown;

/**
 * What every handler receives: the CNI_* parameters, the decoded (and, given a schema,
 * validated) config, the previous result converted to 1.1.0, a logger and a rollback hook.
 *
 * @typeParam C - the config schema's output (merged over the base NetConf fields)
 * @typeParam A - the CNI_ARGS schema's output (without one: a string map)
 * @example
 * async function add(ctx: PluginContext<{ bridge: string }>): Promise<AddResult> {
 *   ctx.log.info("adding", { bridge: ctx.config.bridge, netns: ctx.netns, ifName: ctx.ifName });
 *   const lease = await ipam.add(ctx); // this call's stdin, env and signal
 *   ctx.onRollback(() => ipam.del(ctx));
 *   return lease;
 * }
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
export interface PluginContext<C = unknown, A = Record<string, string>> {
  /** The CNI_COMMAND being served. */
  command: Command;
  /** CNI_CONTAINERID ("" for STATUS/GC unless set). */
  containerId: string;
  /** CNI_NETNS: path of the container's netns ("" when absent: DEL, STATUS, GC). */
  netns: string;
  /** CNI_IFNAME ("" for STATUS/GC unless set). */
  ifName: string;
  /**
   * CNI_ARGS parsed: validated by the plugin's `args` schema, else a `K=V` map parsed on first
   * access (so a malformed CNI_ARGS only fails handlers that read it).
   */
  args: A;
  /** CNI_ARGS as given. */
  rawArgs: string;
  /** CNI_PATH split on ":" (empty entries dropped). */
  path: string[];
  /** The network config from stdin (validated by the plugin's `config` schema when it has one). */
  config: NetConf & C;
  /** Stdin exactly as received. */
  stdin: string;
  /** `config.prevResult` of any version, converted to 1.1.0 (absent when the config has none). */
  prevResult?: Result;
  /** GC: the attachments to keep (`cni.dev/valid-attachments`, else legacy `cni.dev/attachments`); [] otherwise. */
  validAttachments: Attachment[];
  /** Leveled JSON-lines logger (stderr, plus CNI_LOG_FILE or config `logFile`). */
  log: Logger;
  /** Registers an undo step; if the command fails, steps run in reverse order. */
  onRollback(step: RollbackStep): void;
  /** Aborted when the plugin should stop (SIGTERM/SIGINT in `main`). */
  signal: AbortSignal;
  /**
   * The environment this invocation received (`process.env` under `main`, the injected env
   * under `run`/`invoke`). Delegations that take the context (`ipam.add(ctx)`,
   * `delegateAdd(type, ctx)`) use it, so they see the same CNI_PATH and CNI_* values in-process
   * as in a real process.
   */
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * A result as an ADD handler may return it: any version; no cniVersion means 1.1.0.
 *
 * @example
 * const result: AddResult = { interfaces: [{ name: "eth0", sandbox: ctx.netns }], ips: [{ interface: 0, address: "10.1.0.5/24" }] };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
export type AddResult = AnyResult | (Omit<Result, "cniVersion"> & { cniVersion?: string });

/**
 * A handler that may be sync or async. Besides its usual outcome (`R`), any handler may return
 * (or throw) a {@link RawReply} to print its text verbatim and exit with its status.
 *
 * @example
 * const del: Handler<unknown, Record<string, string>, void> = async (ctx) => {
 *   await ipam.del(ctx);
 * };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#cni-operations
 */
export type Handler<C, A, R> = (ctx: PluginContext<C, A>) => R | RawReply | Promise<R | RawReply>;

/**
 * What a `cniVersions` function is asked with: this call's environment and, once skel has read
 * stdin, its config.
 *
 * @example
 * const cniVersions = ({ env, config }: CniVersionsCall) =>
 *   env.MY_PLUGIN_LEGACY === "1" || config?.legacy === true ? ["0.3.1", "0.4.0"] : ["1.0.0", "1.1.0"];
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-considerations
 */
export interface CniVersionsCall {
  /** The environment of this call (`process.env` under `main`, the injected env under `run`/`invoke`). */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * The network config decoded from stdin (a JSON object, before the `config` schema runs).
   * Absent for VERSION and the about banner, which read no stdin.
   */
  config?: Readonly<Record<string, unknown>>;
}

/**
 * The versions a plugin serves: a fixed list, or a function of the call that skel evaluates
 * once per call (after reading stdin; for VERSION and the about banner without it). VERSION,
 * the about banner and version negotiation all use its answer, which must list at least one
 * version (else code 999); what it throws is reported like a handler's error.
 *
 * @example
 * const fixed: CniVersions = ["0.4.0", "1.0.0", "1.1.0"];
 * @example
 * // a test double that claims what its debug file says
 * const fromFile: CniVersions = ({ env }) => readVersionsFile(env.VERSIONS_FILE) ?? ALL_VERSIONS;
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-considerations
 */
export type CniVersions =
  | readonly string[]
  | ((call: CniVersionsCall) => readonly string[] | Promise<readonly string[]>);

/**
 * What `definePlugin` takes.
 *
 * @example
 * definePlugin({ name: "noop", version: "1.0.0", cniVersions: ["1.0.0", "1.1.0"],
 *   add: ({ prevResult }) => prevResult ?? { interfaces: [], ips: [] },
 *   del: () => {} });
 */
export interface PluginDefinition<C = unknown, A = Record<string, string>> {
  /** Plugin name (logs, default about string). */
  name: string;
  /** Plugin version (default about string). */
  version: string;
  /** Printed with the supported versions when run without CNI_COMMAND. Default `CNI <name> plugin <version>`; "" disables. */
  about?: string;
  /**
   * Config cniVersions served; matched exactly (SPEC.md "Version considerations"). A function
   * decides per call (see {@link CniVersions}).
   */
  cniVersions: CniVersions;
  /** Schema for the whole config (issues → code 7). */
  config?: StandardSchemaV1<unknown, C>;
  /** Schema for the parsed CNI_ARGS map (issues → the spec helper's code). */
  args?: StandardSchemaV1<unknown, A>;
  /**
   * ADD: returns the result; skel converts it to the config's cniVersion and prints it. Any
   * handler may instead return (or throw) a {@link RawReply} (see {@link Handler}).
   */
  add: Handler<C, A, AddResult>;
  /** DEL: should succeed when things are already gone. */
  del: Handler<C, A, void>;
  /** CHECK (config >= 0.4.0). Absent: success. */
  check?: Handler<C, A, void>;
  /** STATUS (config >= 1.1.0). Absent: success (the plugin is ready). */
  status?: Handler<C, A, void>;
  /** GC (config >= 1.1.0) with `validAttachments`. Absent: success. */
  gc?: Handler<C, A, void>;
}

/**
 * A plugin ready to run.
 *
 * @example
 * const plugin: Plugin = definePlugin({ name: "noop", version: "1.0.0", cniVersions: ["1.1.0"], add: () => ({}), del: () => {} });
 * await plugin.main(); // in the executable's entry point
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export interface Plugin {
  readonly name: string;
  readonly version: string;
  readonly about: string;
  /** As defined: a list, or the function that decides per call. */
  readonly cniVersions: CniVersions;
  /**
   * Runs against the real process (env, stdin, stdout, stderr), sets `process.exitCode`, and
   * by default exits once output is flushed (so stray handles cannot hang the runtime).
   */
  main(io?: Partial<PluginIo> & { exit?: boolean }): Promise<number>;
  /** Runs in-process against `io` (defaults: empty env, empty stdin) and returns what was written. */
  run(io?: Partial<PluginIo>): Promise<RunOutput>;
}
