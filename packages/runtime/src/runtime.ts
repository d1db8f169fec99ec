/**
 * Running network configuration lists: the libcni `CNIConfig` equivalent.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-3-execution-of-network-configurations
 */
import {
  findInPath,
  execPluginWithResult,
  execPluginWithoutResult,
  getVersionInfo as invokeVersionInfo,
} from "@cnikit/invoke";
import type { ExecPluginOptions, RawExec, StderrSink } from "@cnikit/invoke";
import {
  CniError,
  ErrorCode,
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
  versionGte,
} from "@cnikit/spec";
import type { AnyResult, Attachment, VersionReply } from "@cnikit/spec";
import {
  DEFAULT_CACHE_DIR,
  deleteCachedResult,
  listCachedAttachments,
  readCachedConfig,
  readCachedResult,
  writeCachedResult,
} from "./cache.js";
import type { CachedAttachment } from "./cache.js";
import { injectConf } from "./conf.js";
import type { NetworkConfigList, PluginConfig } from "./conf.js";
import { goQuote } from "./go-text.js";

/**
 * Per-attachment runtime parameters (libcni `RuntimeConf`).
 *
 * @example
 * const rt: RuntimeConf = {
 *   containerId: "c1",
 *   netns: "/run/netns/c1",
 *   ifName: "eth0",
 *   args: [["K8S_POD_NAME", "web"]],
 *   capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] },
 * };
 * await cni.addNetworkList(list, rt);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#attachment-parameters
 */
export interface RuntimeConf {
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs. */
  args?: readonly (readonly [string, string])[] | undefined;
  /** Capability arguments; each plugin gets those it declares in `capabilities` as `runtimeConfig`. */
  capabilityArgs?: Readonly<Record<string, unknown>> | undefined;
}

/**
 * How a {@link CniRuntime} finds and runs plugins.
 *
 * @example
 * const opts: CniRuntimeOptions = { path: ["/opt/cni/bin"], cacheDir: "/var/lib/cni", timeoutMs: 30_000, stderr: null };
 * const cni = new CniRuntime(opts);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-3-execution-of-network-configurations
 */
export interface CniRuntimeOptions {
  /** Directories searched for plugin binaries (CNI_PATH). */
  path: readonly string[];
  /** Where results are cached (default `/var/lib/cni`, libcni's). */
  cacheDir?: string | undefined;
  /** Receives the plugins' stderr (default `process.stderr`; `null` drops it). */
  stderr?: StderrSink | null | undefined;
  /** Kill any single plugin call after this many milliseconds. */
  timeoutMs?: number | undefined;
  /** Base environment of plugin calls (default `process.env`); CNI_* are always set explicitly. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Executor used instead of spawning (for fakes). */
  exec?: RawExec | undefined;
}

/**
 * Per-call options.
 *
 * @example
 * const call: CallOptions = { signal: AbortSignal.timeout(60_000) };
 * await cni.delNetworkList(list, rt, call);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#lifecycle--ordering
 */
export interface CallOptions {
  /** Abort the running plugin (SIGKILL) and fail. */
  signal?: AbortSignal | undefined;
}

/**
 * GC arguments: the attachments that must be kept. `undefined` keeps none (cnitool's `gc`).
 *
 * @example
 * const args: GCArgs = { validAttachments: [{ containerID: "c1", ifname: "eth0" }] };
 * await cni.gcNetworkList(list, args);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#garbage-collecting-a-network
 */
export interface GCArgs {
  validAttachments?: readonly Attachment[] | undefined;
}

function describe(net: PluginConfig["network"]): string {
  let out = `type=${goQuote(net.type)}`;
  if (typeof net.name === "string" && net.name !== "") out += ` name=${goQuote(net.name)}`;
  return out;
}

function wrap(err: unknown, prefix: string): CniError {
  const e = CniError.from(err);
  return new CniError(e.code, `${prefix}: ${e.msg}`, e.details, { cause: err });
}

/**
 * Runs network config lists against plugins: ADD in order passing each result on as the next
 * plugin's prevResult, DEL in reverse with the cached result, CHECK, STATUS, GC; results are
 * cached where Go's libcni caches them, so either runtime can undo the other's work.
 *
 * @example
 * const cni = new CniRuntime({ path: ["/opt/cni/bin"] });
 * const list = await loadConfList("/etc/cni/net.d", "mynet");
 * const result = await cni.addNetworkList(list, { containerId: "c1", netns: "/run/netns/c1", ifName: "eth0" });
 * await cni.delNetworkList(list, { containerId: "c1", netns: "/run/netns/c1", ifName: "eth0" });
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-4-plugin-delegation
 */
export class CniRuntime {
  /** Plugin search path. */
  readonly path: readonly string[];
  /** Result cache directory. */
  readonly cacheDir: string;
  readonly #options: CniRuntimeOptions;

  constructor(options: CniRuntimeOptions) {
    this.path = [...options.path];
    this.cacheDir = options.cacheDir || DEFAULT_CACHE_DIR;
    this.#options = options;
  }

  #run(
    pluginPath: string,
    command: string,
    stdin: string,
    rt: RuntimeConf | undefined,
    call: CallOptions,
  ): ExecPluginOptions {
    return {
      pluginPath,
      command,
      stdin,
      containerId: rt?.containerId ?? "",
      netns: rt?.netns ?? "",
      ifName: rt?.ifName ?? "",
      args: rt?.args ?? "",
      path: this.path,
      env: this.#options.env,
      stderr: this.#options.stderr,
      timeoutMs: this.#options.timeoutMs,
      exec: this.#options.exec,
      signal: call.signal,
    };
  }

  /** The request config of one plugin: name, cniVersion, prevResult and runtimeConfig injected. */
  #buildOneConfig(
    list: NetworkConfigList,
    plugin: PluginConfig,
    prevResult: AnyResult | undefined,
    rt: RuntimeConf,
  ): string {
    const inject: Record<string, unknown> = { name: list.name, cniVersion: list.cniVersion };
    if (prevResult !== undefined) inject.prevResult = prevResult;
    let conf = injectConf(plugin, inject);
    const rc: Record<string, unknown> = {};
    for (const [cap, enabled] of Object.entries(plugin.network.capabilities ?? {})) {
      if (enabled !== true) continue;
      const args = rt.capabilityArgs ?? {};
      if (Object.hasOwn(args, cap)) rc[cap] = args[cap];
    }
    if (Object.keys(rc).length > 0) conf = injectConf(conf, { runtimeConfig: rc });
    return conf.bytes;
  }

  /**
   * Runs ADD for every plugin of the list in order and caches the final result.
   *
   * @example const result = await cni.addNetworkList(list, { containerId, netns, ifName: "eth0" });
   * @throws CniError `plugin type="X" failed (add): <plugin error>` keeping the plugin's code;
   *   validation errors for the container ID, network name and interface name.
   */
  async addNetworkList(
    list: NetworkConfigList,
    rt: RuntimeConf,
    call: CallOptions = {},
  ): Promise<AnyResult | undefined> {
    let result: AnyResult | undefined;
    for (const plugin of list.plugins) {
      try {
        const pluginPath = await findInPath(plugin.network.type, this.path);
        validateContainerId(rt.containerId);
        validateNetworkName(list.name);
        validateInterfaceName(rt.ifName);
        const stdin = this.#buildOneConfig(list, plugin, result, rt);
        result = await execPluginWithResult(this.#run(pluginPath, "ADD", stdin, rt, call));
      } catch (err) {
        throw wrap(err, `plugin ${describe(plugin.network)} failed (add)`);
      }
    }
    try {
      await writeCachedResult(this.cacheDir, {
        network: list.name,
        containerId: rt.containerId,
        ifName: rt.ifName,
        config: list.bytes,
        netns: rt.netns,
        cniArgs: rt.args,
        capabilityArgs: rt.capabilityArgs,
        result,
      });
    } catch (err) {
      throw wrap(err, `failed to set network ${goQuote(list.name)} cached result`);
    }
    return result;
  }

  /**
   * Runs CHECK for every plugin in order with the cached result as prevResult. Needs
   * cniVersion ≥ 0.4.0; a list with `disableCheck` succeeds without running anything.
   *
   * @example await cni.checkNetworkList(list, { containerId, netns, ifName: "eth0" });
   * @throws CniError `configuration version "X" does not support the CHECK command` (code 1),
   *   `failed to get network "X" cached result: ...`, or the first plugin error as-is.
   */
  async checkNetworkList(list: NetworkConfigList, rt: RuntimeConf, call: CallOptions = {}): Promise<void> {
    if (!versionGte(list.cniVersion, "0.4.0")) {
      throw new CniError(
        ErrorCode.IncompatibleCniVersion,
        `configuration version ${goQuote(list.cniVersion)} does not support the CHECK command`,
      );
    }
    if (list.disableCheck) return;
    let cached: AnyResult | undefined;
    try {
      cached = await readCachedResult(this.cacheDir, list.name, list.cniVersion, rt);
    } catch (err) {
      throw wrap(err, `failed to get network ${goQuote(list.name)} cached result`);
    }
    for (const plugin of list.plugins) {
      const pluginPath = await findInPath(plugin.network.type, this.path);
      const stdin = this.#buildOneConfig(list, plugin, cached, rt);
      await execPluginWithoutResult(this.#run(pluginPath, "CHECK", stdin, rt, call));
    }
  }

  /**
   * Runs DEL for every plugin in reverse order (with the cached result as prevResult from
   * 0.4.0 on; an unreadable cache is deleted and DEL goes on without it), then removes the cache.
   *
   * @example await cni.delNetworkList(list, { containerId, netns, ifName: "eth0" });
   * @throws CniError `plugin type="X" failed (delete): <plugin error>` keeping the plugin's code.
   */
  async delNetworkList(list: NetworkConfigList, rt: RuntimeConf, call: CallOptions = {}): Promise<void> {
    let cached: AnyResult | undefined;
    if (versionGte(list.cniVersion, "0.4.0")) {
      try {
        cached = await readCachedResult(this.cacheDir, list.name, list.cniVersion, rt);
      } catch {
        await deleteCachedResult(this.cacheDir, list.name, rt);
        cached = undefined;
      }
    }
    for (let i = list.plugins.length - 1; i >= 0; i--) {
      const plugin = list.plugins[i] as PluginConfig;
      try {
        const pluginPath = await findInPath(plugin.network.type, this.path);
        const stdin = this.#buildOneConfig(list, plugin, cached, rt);
        await execPluginWithoutResult(this.#run(pluginPath, "DEL", stdin, rt, call));
      } catch (err) {
        throw wrap(err, `plugin ${describe(plugin.network)} failed (delete)`);
      }
    }
    await deleteCachedResult(this.cacheDir, list.name, rt);
  }

  /**
   * Runs STATUS on every plugin in order (only for cniVersion ≥ 1.1.0; older lists succeed
   * without running anything). The first error is returned as-is so its code (e.g. 50) survives.
   *
   * @example await cni.getStatusNetworkList(list);
   * @throws CniError the first plugin's error.
   */
  async getStatusNetworkList(list: NetworkConfigList, call: CallOptions = {}): Promise<void> {
    if (!versionGte(list.cniVersion, "1.1.0")) return;
    for (const plugin of list.plugins) {
      let stdin: string;
      try {
        stdin = injectConf(plugin, { name: list.name, cniVersion: list.cniVersion }).bytes;
      } catch (err) {
        throw wrap(err, `failed to generate configuration to get plugin STATUS ${plugin.network.type}`);
      }
      const pluginPath = await findInPath(plugin.network.type, this.path);
      await execPluginWithoutResult(this.#run(pluginPath, "STATUS", stdin, undefined, call));
    }
  }

  /**
   * Garbage-collects a network (unless `disableGC`): DELs every cached attachment of this
   * network that is not in `args.validAttachments`, then (cniVersion ≥ 1.1.0) sends GC to every
   * plugin with `cni.dev/valid-attachments` and the legacy `cni.dev/attachments`.
   * Errors are collected; if the cache cannot be listed GC succeeds silently (as libcni).
   *
   * @example await cni.gcNetworkList(list, { validAttachments: [{ containerID: "c1", ifname: "eth0" }] });
   * @throws CniError listing every failure, one per line.
   */
  async gcNetworkList(list: NetworkConfigList, args?: GCArgs, call: CallOptions = {}): Promise<void> {
    if (list.disableGC) return;
    let cached: CachedAttachment[];
    try {
      cached = await listCachedAttachments(this.cacheDir);
    } catch {
      return;
    }
    const valid = new Set((args?.validAttachments ?? []).map((a) => `${a.containerID}\u0000${a.ifname}`));
    const errors: CniError[] = [];
    for (const att of cached) {
      if (att.network !== list.name) continue;
      if (valid.has(`${att.containerId}\u0000${att.ifName}`)) continue;
      const rt: RuntimeConf = {
        containerId: att.containerId,
        netns: att.netns,
        ifName: att.ifName,
        args: att.cniArgs,
        capabilityArgs: att.capabilityArgs,
      };
      try {
        await this.delNetworkList(list, rt, call);
      } catch (err) {
        errors.push(wrap(err, `failed to delete stale attachment ${rt.containerId} ${rt.ifName}`));
      }
    }
    if (versionGte(list.cniVersion, "1.1.0")) {
      const inject: Record<string, unknown> = { name: list.name, cniVersion: list.cniVersion };
      if (args !== undefined) {
        const attachments = (args.validAttachments ?? []).map((a) => ({
          containerID: a.containerID,
          ifname: a.ifname,
        }));
        inject["cni.dev/valid-attachments"] = attachments;
        inject["cni.dev/attachments"] = attachments;
      }
      for (const plugin of list.plugins) {
        try {
          const stdin = injectConf(plugin, inject).bytes;
          const pluginPath = await findInPath(plugin.network.type, this.path);
          await execPluginWithoutResult(this.#run(pluginPath, "GC", stdin, undefined, call));
        } catch (err) {
          errors.push(wrap(err, `failed to GC plugin ${plugin.network.type}`));
        }
      }
    }
    if (errors.length === 1) throw errors[0] as CniError;
    if (errors.length > 1) {
      throw new CniError((errors[0] as CniError).code, errors.map((e) => e.message).join("\n"), undefined, {
        cause: new AggregateError(errors),
      });
    }
  }

  /**
   * Checks that every plugin of the list exists and supports the list's cniVersion (through
   * VERSION), and returns the capabilities the plugins enable.
   *
   * @example const caps = await cni.validateNetworkList(list); // ["portMappings"]
   * @throws CniError listing every problem: `[plugin X does not support config version "1.1.0" ...]`.
   */
  async validateNetworkList(list: NetworkConfigList, call: CallOptions = {}): Promise<string[]> {
    const caps = new Set<string>();
    const errors: Error[] = [];
    for (const plugin of list.plugins) {
      try {
        await this.#validatePlugin(plugin.network.type, list.cniVersion, call);
      } catch (err) {
        errors.push(err as Error);
      }
      for (const [cap, enabled] of Object.entries(plugin.network.capabilities ?? {}))
        if (enabled === true) caps.add(cap);
    }
    if (errors.length > 0) {
      const first = CniError.from(errors[0]);
      throw new CniError(first.code, `[${errors.map((e) => e.message).join(" ")}]`, undefined, {
        cause: new AggregateError(errors),
      });
    }
    return [...caps];
  }

  /**
   * Checks one plugin config (its own `cniVersion`) and returns the capabilities it enables.
   *
   * @example await cni.validateNetwork(confFromBytes(text));
   * @throws CniError when the plugin is missing or does not support the version.
   */
  async validateNetwork(plugin: PluginConfig, call: CallOptions = {}): Promise<string[]> {
    await this.#validatePlugin(plugin.network.type, plugin.network.cniVersion ?? "", call);
    return Object.entries(plugin.network.capabilities ?? {})
      .filter(([, on]) => on === true)
      .map(([cap]) => cap);
  }

  async #validatePlugin(type: string, expected: string, call: CallOptions): Promise<void> {
    const pluginPath = await findInPath(type, this.path);
    const version = expected === "" ? "0.1.0" : expected;
    const info = await this.#versionInfo(pluginPath, call);
    if (!info.supportedVersions.includes(version)) {
      throw new CniError(
        ErrorCode.IncompatibleCniVersion,
        `plugin ${type} does not support config version ${goQuote(version)}`,
      );
    }
  }

  #versionInfo(pluginPath: string, call: CallOptions): Promise<VersionReply> {
    return invokeVersionInfo(pluginPath, {
      env: this.#options.env,
      stderr: this.#options.stderr,
      timeoutMs: this.#options.timeoutMs,
      exec: this.#options.exec,
      signal: call.signal,
    });
  }

  /**
   * Asks the plugin `type` (found in the path) which versions it supports.
   *
   * @example (await cni.getVersionInfo("bridge")).supportedVersions
   * @throws CniError when the plugin is missing or its reply is malformed.
   */
  async getVersionInfo(type: string, call: CallOptions = {}): Promise<VersionReply> {
    return this.#versionInfo(await findInPath(type, this.path), call);
  }

  /**
   * The cached result of an attachment converted to the list's version, or `undefined`.
   *
   * @example const cached = await cni.getNetworkListCachedResult(list, rt);
   * @throws CniError when the cache file is malformed.
   */
  getNetworkListCachedResult(list: NetworkConfigList, rt: RuntimeConf): Promise<AnyResult | undefined> {
    return readCachedResult(this.cacheDir, list.name, list.cniVersion, rt);
  }

  /**
   * The cached config bytes and runtime arguments of an attachment, or `undefined`.
   *
   * @example const cached = await cni.getNetworkListCachedConfig(list, rt);
   * @throws CniError when the cache file is malformed or of another kind.
   */
  getNetworkListCachedConfig(list: NetworkConfigList, rt: RuntimeConf): Promise<CachedAttachment | undefined> {
    return readCachedConfig(this.cacheDir, list.name, rt);
  }

  /**
   * The cached attachments (of every network), optionally of one container only.
   *
   * @example const atts = await cni.getCachedAttachments();
   * @throws CniError when the cache directory cannot be read.
   */
  getCachedAttachments(containerId?: string): Promise<CachedAttachment[]> {
    return listCachedAttachments(this.cacheDir, containerId);
  }
}
