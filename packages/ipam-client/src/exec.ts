/**
 * Delegating to the IPAM plugin named by a config's `ipam.type` (Go's `pkg/ipam` ExecAdd,
 * ExecCheck, ExecDel, ExecStatus, plus GC), with the handler's context: the IPAM plugin receives
 * the original stdin, the invocation's CNI_* environment and its abort signal.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugins-ipam
 */
import {
  type DelegateContext,
  type DelegateOptions,
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateGC,
  delegateStatus,
} from "@cnikit/invoke";
import { CniError, ErrorCode, type Result } from "@cnikit/spec";

/**
 * A network config with an `ipam` section naming the IPAM plugin.
 *
 * @example
 * const config: ConfigWithIpam = { cniVersion: "1.1.0", name: "mynet", type: "bridge", ipam: { type: "host-local", subnet: "10.1.0.0/24" } };
 * await ipam.add(ctx, { conf: config });
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugins-ipam
 */
export interface ConfigWithIpam {
  ipam?: { type?: unknown; [key: string]: unknown } | undefined;
  [key: string]: unknown;
}

/**
 * What the `ipam` calls need from the calling plugin's invocation: `@cnikit/invoke`'s
 * DelegateContext plus, optionally, the decoded config (its `ipam.type` names the plugin; without
 * it, stdin is parsed). `@cnikit/skel`'s `PluginContext` is one: pass the handler's `ctx`.
 *
 * @example
 * const ctx: IpamContext = { stdin: confText, env: process.env };
 * const lease = await ipam.add(ctx);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
export interface IpamContext extends DelegateContext {
  /** The decoded config (skel's `ctx.config`): where `ipam.type` is read from. */
  readonly config?: ConfigWithIpam | undefined;
}

function parsed(conf: string | Uint8Array | object): unknown {
  if (typeof conf !== "string" && !(conf instanceof Uint8Array)) return conf;
  try {
    return JSON.parse(typeof conf === "string" ? conf : Buffer.from(conf).toString("utf8"));
  } catch (err) {
    throw new CniError(ErrorCode.DecodingFailure, (err as Error).message, undefined, { cause: err });
  }
}

/** The IPAM plugin's type: from the config sent (`options.conf`, else `ctx.config`, else `ctx.stdin`). */
function ipamType(ctx: IpamContext, options: DelegateOptions | undefined): string {
  const conf = options?.conf ?? (typeof ctx.config?.ipam?.type === "string" ? ctx.config : ctx.stdin);
  const ipam = (parsed(conf) as ConfigWithIpam | null)?.ipam;
  if (ipam === undefined || ipam === null || typeof ipam !== "object") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "IPAM config missing 'ipam' key");
  }
  if (typeof ipam.type !== "string" || ipam.type === "") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "IPAM config missing 'type' key");
  }
  return ipam.type;
}

/** The delegate's arguments: the IPAM type, the context, the options with the IPAM failure prefix. */
function withType(ctx: IpamContext, options: DelegateOptions | undefined): [string, IpamContext, DelegateOptions] {
  const type = ipamType(ctx, options);
  return [type, ctx, { ...options, errorPrefix: options?.errorPrefix ?? `IPAM plugin ${type}` }];
}

/**
 * The IPAM plugin of the calling plugin's config (`ipam.type`), run with the handler's context:
 * the original stdin verbatim (or `options.conf`), `ctx.env` (CNI_PATH locates the plugin; only
 * CNI_COMMAND is replaced) and `ctx.signal`. Options are `@cnikit/invoke`'s `DelegateOptions`.
 * One process at a time is started with posix_spawn (see `@cnikit/invoke`'s `rawExec`).
 *
 * @example
 * add: async (ctx) => {
 *   const lease = await ipam.add(ctx);
 *   ctx.onRollback(() => ipam.del(ctx));
 *   // ...
 * }
 * @throws CniError code 7 `IPAM config missing 'ipam' key` / `... 'type' key`; a failure of the
 *   plugin as `IPAM plugin <type>: <its message>` with its code and details kept.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugins-ipam
 */
export const ipam = {
  /**
   * ADD; returns the IPAM result as a 1.1.0 Result.
   * @example const lease = await ipam.add(ctx);
   * @throws CniError as {@link ipam}.
   */
  add(ctx: IpamContext, options?: DelegateOptions): Promise<Result> {
    try {
      return delegateAdd(...withType(ctx, options));
    } catch (err) {
      return Promise.reject(err);
    }
  },
  /**
   * DEL (a missing lease is not an error for host-local).
   * @example onRollback(() => ipam.del(ctx));
   * @throws CniError as {@link ipam}.
   */
  del(ctx: IpamContext, options?: DelegateOptions): Promise<void> {
    try {
      return delegateDel(...withType(ctx, options));
    } catch (err) {
      return Promise.reject(err);
    }
  },
  /**
   * CHECK.
   * @example await ipam.check(ctx);
   * @throws CniError as {@link ipam}.
   */
  check(ctx: IpamContext, options?: DelegateOptions): Promise<void> {
    try {
      return delegateCheck(...withType(ctx, options));
    } catch (err) {
      return Promise.reject(err);
    }
  },
  /**
   * STATUS, after asking the plugin's VERSION: one that does not support the config's cniVersion
   * fails with code 2 naming the versions it supports (see `@cnikit/invoke`'s `delegateStatus`).
   * @example status: (ctx) => ipam.status(ctx),
   * @throws CniError as {@link ipam}; code 2 when the plugin cannot be asked for STATUS.
   */
  status(ctx: IpamContext, options?: DelegateOptions): Promise<void> {
    try {
      return delegateStatus(...withType(ctx, options));
    } catch (err) {
      return Promise.reject(err);
    }
  },
  /**
   * GC (skel's `ctx.stdin` of a GC carries `cni.dev/valid-attachments`).
   * @example gc: (ctx) => ipam.gc(ctx),
   * @throws CniError as {@link ipam}.
   */
  gc(ctx: IpamContext, options?: DelegateOptions): Promise<void> {
    try {
      return delegateGC(...withType(ctx, options));
    } catch (err) {
      return Promise.reject(err);
    }
  },
} as const;
