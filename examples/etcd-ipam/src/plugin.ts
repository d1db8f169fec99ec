/**
 * etcd-ipam: cluster-wide IPAM over @cnikit/store (etcd, or a `file:` store on one machine).
 * One subnet for the whole cluster, cut into host-affine blocks (like Calico's block IPAM); see
 * block-allocator.ts for the model and key-layout.ts for the keys.
 *
 * Start-up is kept lean: no zod (the config is validated by hand), the store backend is loaded by
 * `openStore` for the URL's scheme only. Stores are opened once per URL and kept for the process:
 * under cnikit-agent the next call reuses the warm connections, and a one-shot call exits without
 * tearing its connections down (the sockets are unreferenced while idle, so they never hold the
 * process open).
 */
import { type AddResult, CniError, ErrorCode, type Plugin, type PluginContext, definePlugin } from "@cnikit/skel";
import { ALL_VERSIONS } from "@cnikit/spec";
import { openStore, parseStoreUrl, type Store } from "@cnikit/store";
import { BlockAllocator, storeFailure } from "./block-allocator.js";
import { loadEtcdIpamConfig } from "./config.js";

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

async function withAllocator<T>(ctx: PluginContext, what: string, fn: (a: BlockAllocator) => Promise<T>): Promise<T> {
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
  try {
    return await fn(new BlockAllocator(await storeFor(config.store), config, prefix));
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
