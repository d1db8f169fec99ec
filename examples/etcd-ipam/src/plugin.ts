/**
 * etcd-ipam: cluster-wide IPAM over @cnikit/store (etcd, or a `file:` store on one machine).
 * One subnet for the whole cluster, cut into host-affine blocks (like Calico's block IPAM); see
 * block-allocator.ts for the model and key-layout.ts for the keys.
 *
 * Start-up is kept lean: no zod (the config is validated by hand), the store backend is loaded by
 * `openStore` for the URL's scheme only. A config is validated once per distinct `ipam` section, and
 * its allocator kept with it. Stores are opened once per URL and kept for the process:
 * under cnikit-agent the next call reuses the warm connections, and a one-shot call exits without
 * tearing its connections down (the sockets are unreferenced while idle, so they never hold the
 * process open).
 */
import { hostname } from "node:os";
import { type AddResult, CniError, ErrorCode, type Plugin, type PluginContext, definePlugin } from "@cnikit/skel";
import { ALL_VERSIONS } from "@cnikit/spec";
import { openStore, parseStoreUrl, type Store } from "@cnikit/store";
import { BlockAllocator, storeFailure } from "./block-allocator.js";
import { type EtcdIpamConfig, loadEtcdIpamConfig } from "./config.js";

/** The plugin version reported by VERSION/about. */
export const ETCD_IPAM_VERSION = "0.1.0";

/** At most this many stores stay open (a process serving many networks closes the oldest). */
const MAX_OPEN_STORES = 8;
const stores = new Map<string, Promise<Store>>();

/** The open store for `url`, opened on first use (a failed open is not kept). */
function storeFor(url: string): Promise<Store> {
  let store = stores.get(url);
  if (store) return store;
  store = openStore(url);
  stores.set(url, store);
  store.catch(() => stores.delete(url));
  if (stores.size > MAX_OPEN_STORES) {
    const [oldest, open] = stores.entries().next().value as [string, Promise<Store>];
    stores.delete(oldest);
    void open.then((s) => s.close()).catch(() => {});
  }
  return store;
}

/** A network's validated config, its store prefix, and its allocator once its store is open. */
interface Network {
  config: EtcdIpamConfig;
  prefix: string;
  allocator?: BlockAllocator;
}

/** Validated configs, by network name and `ipam` section (a long-lived process sees the same few). */
const MAX_NETWORKS = 32;
const networks = new Map<string, Network>();

/** The network of this call: validated once per distinct config (and host name, when it is the default). */
function networkOf(ctx: PluginContext): Network {
  const raw = ctx.config as { name?: unknown; ipam?: { nodeName?: unknown } };
  const key = `${String(raw.name)}\n${JSON.stringify(raw.ipam)}`;
  const known = networks.get(key);
  if (known && (raw.ipam?.nodeName !== undefined || known.config.nodeName === hostname())) return known;
  const config = loadEtcdIpamConfig(ctx.config);
  let prefix = "";
  try {
    const url = parseStoreUrl(config.store);
    if (url.backend === "etcd") prefix = url.prefix;
  } catch (err) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `etcd-ipam: ipam.store: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  const network: Network = { config, prefix };
  networks.delete(key);
  networks.set(key, network);
  if (networks.size > MAX_NETWORKS) networks.delete(networks.keys().next().value as string);
  return network;
}

async function withAllocator<T>(ctx: PluginContext, what: string, fn: (a: BlockAllocator) => Promise<T>): Promise<T> {
  const network = networkOf(ctx);
  try {
    const store = await storeFor(network.config.store);
    if (network.allocator?.store !== store) network.allocator = new BlockAllocator(store, network.config, network.prefix);
    return await fn(network.allocator);
  } catch (err) {
    throw storeFailure(err, what);
  }
}

/**
 * Builds the etcd-ipam plugin.
 *
 * @example await createEtcdIpamPlugin().main();
 */
export function createEtcdIpamPlugin(): Plugin {
  return definePlugin({
    name: "etcd-ipam",
    version: ETCD_IPAM_VERSION,
    about: `CNI etcd-ipam plugin (cnikit) version ${ETCD_IPAM_VERSION}`,
    cniVersions: ALL_VERSIONS,

    add: (ctx): Promise<AddResult> => withAllocator(ctx, "ADD", (a) => a.allocate(ctx.containerId, ctx.ifName)),

    async del(ctx) {
      await withAllocator(ctx, "DEL", (a) => a.release(ctx.containerId, ctx.ifName));
    },

    async check(ctx) {
      await withAllocator(ctx, "CHECK", (a) => a.check(ctx.containerId, ctx.ifName));
    },

    async status(ctx) {
      await withAllocator(ctx, "STATUS", (a) => a.status()).catch((err: unknown) => {
        // STATUS answers 50 for anything that keeps ADD from working, except a bad config (7)
        if (err instanceof CniError && err.code !== ErrorCode.InvalidNetworkConfig && err.code !== ErrorCode.PluginNotAvailable)
          throw new CniError(ErrorCode.PluginNotAvailable, err.msg, err.details, { cause: err });
        throw err;
      });
    },

    async gc(ctx) {
      const released = await withAllocator(ctx, "GC", (a) => a.gc(ctx.validAttachments));
      if (released.length > 0) ctx.log.info("released stale allocations", { ips: released });
    },
  });
}

/** The plugin, for `cnikit-build --agent` (the module `cnikit-agent serve` loads) and main.ts. */
export default createEtcdIpamPlugin();
