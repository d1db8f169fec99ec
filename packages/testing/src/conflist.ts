/**
 * Running a whole network configuration list through `@cnikit/runtime` in a test.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-3-execution-of-network-configurations
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CniRuntime, confListFromBytes, type NetworkConfigList, type RuntimeConf } from "@cnikit/runtime";
import { type Attachment, type Result, toCurrentResult } from "@cnikit/spec";
import { type NetnsRef, netnsPath } from "./netns-ref.js";

/**
 * Options for {@link createConflistRunner}.
 *
 * @example
 * ```ts
 * const opts: ConflistRunnerOptions = { conflist, path: [dirname(bin), "/usr/lib/cni"], echoStderr: true };
 * await using net = await createConflistRunner(opts);
 * ```
 */
export interface ConflistRunnerOptions {
  /** The network config list: an object or its JSON text. */
  conflist: object | string;
  /** Plugin search path (CNI_PATH). Default: `/opt/cni/bin`, `/usr/lib/cni`. */
  path: readonly string[];
  /** Result cache directory (default: a fresh temporary directory, removed by `remove()`). */
  cacheDir?: string;
  /** Environment for the plugins (default: PATH only). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Kill a plugin after this long (default 30 s). */
  timeoutMs?: number;
  /** Also copy the plugins' stderr to this process's stderr (default false). */
  echoStderr?: boolean;
}

/**
 * One attachment of the network: which container, netns and interface.
 *
 * @example
 * ```ts
 * const att: AttachmentOptions = { netns: ns, containerId: "ctr1", ifName: "eth1", capabilityArgs: { mac: "0a:58:0a:01:00:05" } };
 * await net.add(att);
 * ```
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#attachment-parameters
 */
export interface AttachmentOptions {
  netns: NetnsRef;
  /** Default `cnikit-test`. */
  containerId?: string;
  /** Default `eth0`. */
  ifName?: string;
  /** CNI_ARGS. */
  args?: Readonly<Record<string, string>>;
  /** Capability arguments (`portMappings`, `ips`, ...), passed as runtimeConfig to plugins that declare them. */
  capabilityArgs?: Readonly<Record<string, unknown>>;
}

/**
 * Runs one conflist through `@cnikit/runtime` like a container runtime would.
 *
 * @example
 * ```ts
 * const net: ConflistRunner = await createConflistRunner({ conflist, path: ["/usr/lib/cni"] });
 * try {
 *   await net.add({ netns: ns });
 *   await net.check({ netns: ns });
 *   await net.del({ netns: ns });
 * } finally {
 *   await net.remove();
 * }
 * ```
 */
export interface ConflistRunner {
  readonly list: NetworkConfigList;
  readonly cacheDir: string;
  /** Everything the plugins wrote to stderr so far. */
  readonly stderr: string;
  /** ADD through every plugin in order; the final result converted to 1.1.0. */
  add(att: AttachmentOptions): Promise<Result | undefined>;
  /** CHECK with the cached result. */
  check(att: AttachmentOptions): Promise<void>;
  /** DEL in reverse order with the cached result. */
  del(att: AttachmentOptions): Promise<void>;
  /** STATUS of every plugin. */
  status(): Promise<void>;
  /** GC keeping `validAttachments`. */
  gc(validAttachments?: readonly Attachment[]): Promise<void>;
  /** Removes the temporary cache directory (not the attachments: DEL those first). */
  remove(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Prepares a conflist to be run through the runtime (libcni-equivalent `CniRuntime`), with
 * a private result cache so tests never touch `/var/lib/cni`.
 *
 * @throws CniError when the conflist is invalid (libcni's messages); each method throws the
 *   runtime's CniError (`plugin type="x" failed (add): ...`) when a plugin fails.
 * @example
 * ```ts
 * await using net = await createConflistRunner({ conflist, path: [dirname(bin), "/usr/lib/cni"] });
 * const result = await net.add({ netns: ns });
 * await net.del({ netns: ns });
 * ```
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-3-execution-of-network-configurations
 */
export async function createConflistRunner(options: ConflistRunnerOptions): Promise<ConflistRunner> {
  const list = confListFromBytes(typeof options.conflist === "string" ? options.conflist : JSON.stringify(options.conflist));
  const ownCache = options.cacheDir === undefined;
  const cacheDir = options.cacheDir ?? (await mkdtemp(join(tmpdir(), "cnikit-testing-cache-")));
  let stderr = "";
  const env: Record<string, string | undefined> = options.env
    ? { ...options.env }
    : { PATH: process.env.PATH ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };
  const runtime = new CniRuntime({
    path: options.path,
    cacheDir,
    env,
    timeoutMs: options.timeoutMs ?? 30_000,
    stderr: {
      write(chunk) {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
        stderr += text;
        if (options.echoStderr) process.stderr.write(text);
      },
    },
  });
  const rt = (att: AttachmentOptions): RuntimeConf => ({
    containerId: att.containerId ?? "cnikit-test",
    netns: netnsPath(att.netns),
    ifName: att.ifName ?? "eth0",
    args: att.args ? Object.entries(att.args) : undefined,
    capabilityArgs: att.capabilityArgs,
  });
  let removed = false;
  const remove = async () => {
    if (removed || !ownCache) return;
    removed = true;
    await rm(cacheDir, { recursive: true, force: true });
  };
  return {
    list,
    cacheDir,
    get stderr() {
      return stderr;
    },
    async add(att) {
      const r = await runtime.addNetworkList(list, rt(att));
      return r ? toCurrentResult(r) : undefined;
    },
    check: (att) => runtime.checkNetworkList(list, rt(att)),
    del: (att) => runtime.delNetworkList(list, rt(att)),
    status: () => runtime.getStatusNetworkList(list),
    gc: (validAttachments) => runtime.gcNetworkList(list, validAttachments ? { validAttachments } : {}),
    remove,
    [Symbol.asyncDispose]: remove,
  };
}
