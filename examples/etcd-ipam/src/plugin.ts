/**
 * etcd-ipam: cluster-wide IPAM over @cnikit/store (etcd, or a `file:` store on one machine).
 * One subnet for the whole cluster, cut into host-affine blocks (like Calico's block IPAM); see
 * block-allocator.ts for the model and key-layout.ts for the keys.
 *
 * Start-up is kept lean: no zod (the config is validated by hand), the store backend is loaded by
 * `openStore` for the URL's scheme only.
 */
import { type AddResult, CniError, ErrorCode, type Plugin, type PluginContext, definePlugin } from "@cnikit/skel";
import { ALL_VERSIONS } from "@cnikit/spec";
import { openStore, parseStoreUrl } from "@cnikit/store";
import { BlockAllocator, storeFailure } from "./block-allocator.js";
import { loadEtcdIpamConfig } from "./config.js";

/** The plugin version reported by VERSION/about. */
export const ETCD_IPAM_VERSION = "0.1.0";

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
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(config.store);
  } catch (err) {
    throw storeFailure(err, what);
  }
  try {
    return await fn(new BlockAllocator(store, config, prefix));
  } catch (err) {
    throw storeFailure(err, what);
  } finally {
    await store.close().catch(() => {});
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
