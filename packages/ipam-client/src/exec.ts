/**
 * Delegating to the IPAM plugin named by a config's `ipam.type` (Go's `pkg/ipam` ExecAdd,
 * ExecCheck, ExecDel, ExecStatus, plus GC). The IPAM plugin receives the full network config on
 * stdin and the caller's CNI_* environment.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugins-ipam
 */
import {
  createRawExec,
  type DelegateConf,
  type DelegateOptions,
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateGC,
  delegateStatus,
  nodeSpawn,
  type RawExec,
  type Spawner,
} from "@cnikit/invoke";
import { posixSpawn, posixSpawnAvailable } from "@cnikit/ns";
import { CniError, ErrorCode, type Result } from "@cnikit/spec";

let posixInFlight = 0;
/**
 * posix_spawn (no fork of this process: ~0.3 ms instead of 3–4 ms on the event loop) for one
 * delegate at a time; a second concurrent one uses child_process. posixSpawn reads the child's
 * output on libuv pool threads, so an unbounded number of them could starve the pool.
 */
const spawner: Spawner = (request) => {
  if (posixInFlight > 0 || !posixSpawnAvailable()) return nodeSpawn(request);
  posixInFlight++;
  return posixSpawn(request).finally(() => {
    posixInFlight--;
  });
};
const defaultExec: RawExec = /* @__PURE__ */ createRawExec(spawner);

/** `options` with the default executor unless the caller chose one. */
function withExec(options: IpamExecOptions | undefined): IpamExecOptions {
  return options?.exec ? options : { ...options, exec: defaultExec };
}

/**
 * Options of the exec helpers: how to run the IPAM plugin (env, timeout, signal, stderr).
 *
 * @example
 * const opts: IpamExecOptions = { timeoutMs: 10_000, signal: ctx.signal };
 * const lease = await ipam.add(ctx.config, opts);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
export type IpamExecOptions = DelegateOptions;

/**
 * Runs ADD on the IPAM plugin `pluginType` with `netconf` as stdin.
 * Returns its result converted to 1.1.0.
 *
 * @throws CniError the plugin's error (code, msg, details kept) or an exec/decoding failure.
 * @example const lease = await execAdd("host-local", config);
 */
export function execAdd(pluginType: string, netconf: DelegateConf, options?: IpamExecOptions): Promise<Result> {
  return delegateAdd(pluginType, netconf, withExec(options));
}

/**
 * Runs DEL on the IPAM plugin `pluginType` with `netconf` as stdin.
 * @throws CniError as {@link execAdd}.
 * @example await execDel("host-local", config);
 */
export function execDel(pluginType: string, netconf: DelegateConf, options?: IpamExecOptions): Promise<void> {
  return delegateDel(pluginType, netconf, withExec(options));
}

/**
 * Runs CHECK on the IPAM plugin `pluginType` with `netconf` as stdin.
 * @throws CniError as {@link execAdd}.
 * @example await execCheck("host-local", config);
 */
export function execCheck(pluginType: string, netconf: DelegateConf, options?: IpamExecOptions): Promise<void> {
  return delegateCheck(pluginType, netconf, withExec(options));
}

/**
 * Runs STATUS on the IPAM plugin `pluginType` with `netconf` as stdin.
 * @throws CniError as {@link execAdd} (e.g. code 50 when the plugin is not available).
 * @example await execStatus("host-local", config);
 */
export function execStatus(pluginType: string, netconf: DelegateConf, options?: IpamExecOptions): Promise<void> {
  return delegateStatus(pluginType, netconf, withExec(options));
}

/**
 * Runs GC on the IPAM plugin `pluginType` with `netconf` (carrying `cni.dev/valid-attachments`) as stdin.
 * @throws CniError as {@link execAdd}.
 * @example await execGC("host-local", { ...config, "cni.dev/valid-attachments": attachments });
 */
export function execGC(pluginType: string, netconf: DelegateConf, options?: IpamExecOptions): Promise<void> {
  return delegateGC(pluginType, netconf, withExec(options));
}

/**
 * A network config with an `ipam` section naming the IPAM plugin.
 *
 * @example
 * const config: ConfigWithIpam = { cniVersion: "1.1.0", name: "mynet", type: "bridge", ipam: { type: "host-local", subnet: "10.1.0.0/24" } };
 * await ipam.del(config);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugins-ipam
 */
export interface ConfigWithIpam {
  ipam?: { type?: unknown; [key: string]: unknown } | undefined;
  [key: string]: unknown;
}

function ipamType(config: ConfigWithIpam | string): string {
  let parsed: unknown = config;
  if (typeof config === "string") {
    try {
      parsed = JSON.parse(config);
    } catch (err) {
      throw new CniError(ErrorCode.DecodingFailure, (err as Error).message, undefined, { cause: err });
    }
  }
  const ipam = (parsed as ConfigWithIpam | null)?.ipam;
  if (ipam === undefined || ipam === null || typeof ipam !== "object") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "IPAM config missing 'ipam' key");
  }
  if (typeof ipam.type !== "string" || ipam.type === "") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "IPAM config missing 'type' key");
  }
  return ipam.type;
}

/**
 * The IPAM plugin of a config, called by `config.ipam.type` with the full config as stdin.
 * Accepts the config as an object or as its raw JSON text (sent verbatim).
 *
 * @example
 * const lease = await ipam.add(config);
 * onRollback(() => ipam.del(config));
 * @throws CniError code 7 `IPAM config missing 'ipam' key` / `... 'type' key`; the plugin's error.
 */
export const ipam = {
  /** ADD; returns the IPAM result as a 1.1.0 Result. */
  async add(config: ConfigWithIpam | string, options?: IpamExecOptions): Promise<Result> {
    return execAdd(ipamType(config), config, options);
  },
  /** DEL. */
  async del(config: ConfigWithIpam | string, options?: IpamExecOptions): Promise<void> {
    return execDel(ipamType(config), config, options);
  },
  /** CHECK. */
  async check(config: ConfigWithIpam | string, options?: IpamExecOptions): Promise<void> {
    return execCheck(ipamType(config), config, options);
  },
  /** STATUS. */
  async status(config: ConfigWithIpam | string, options?: IpamExecOptions): Promise<void> {
    return execStatus(ipamType(config), config, options);
  },
  /** GC (the config carries `cni.dev/valid-attachments`). */
  async gc(config: ConfigWithIpam | string, options?: IpamExecOptions): Promise<void> {
    return execGC(ipamType(config), config, options);
  },
} as const;
