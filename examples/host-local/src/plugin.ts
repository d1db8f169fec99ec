/**
 * host-local: a drop-in replacement for the reference host-local IPAM plugin. Same config keys,
 * same data dir layout (`/var/lib/cni/networks/<network>/<ip>`), same lock, same error texts, so
 * it can share a data dir with Go's host-local. Adds STATUS (the data dir is writable) and GC
 * (releases leases not in `cni.dev/valid-attachments`).
 *
 * Start-up is kept lean: no zod, the config is validated by hand (`loadHostLocalConfig`).
 */
import { accessSync, constants as fsConstants, mkdirSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_DATA_DIR, HostLocalAllocator, loadHostLocalConfig } from "@cnikit/host-local";
import { type AddResult, CniError, ErrorCode, type Plugin, type PluginContext, definePlugin } from "@cnikit/skel";
import { ALL_VERSIONS } from "@cnikit/spec";

/** The plugin version reported by VERSION/about. */
export const HOST_LOCAL_VERSION = "0.1.0";

async function withAllocator<T>(ctx: PluginContext, fn: (a: HostLocalAllocator) => Promise<T>): Promise<T> {
  const allocator = await HostLocalAllocator.open(ctx.config, ctx.rawArgs);
  try {
    return await fn(allocator);
  } finally {
    allocator.close();
  }
}

/**
 * Builds the host-local plugin.
 *
 * @example await createHostLocalPlugin().main();
 */
export function createHostLocalPlugin(): Plugin {
  return definePlugin({
    name: "host-local",
    version: HOST_LOCAL_VERSION,
    about: `CNI host-local plugin (cnikit) version ${HOST_LOCAL_VERSION}`,
    cniVersions: ALL_VERSIONS,

    add: (ctx): Promise<AddResult> => withAllocator(ctx, (a) => a.allocate(ctx.containerId, ctx.ifName)),

    async del(ctx) {
      await withAllocator(ctx, (a) => a.release(ctx.containerId, ctx.ifName));
    },

    async check(ctx) {
      await withAllocator(ctx, (a) => a.check(ctx.containerId, ctx.ifName));
    },

    status(ctx) {
      const config = loadHostLocalConfig(ctx.config, ctx.rawArgs);
      const root = config.dataDir || DEFAULT_DATA_DIR;
      const dir = join(root, config.name);
      try {
        mkdirSync(dir, { recursive: true, mode: 0o755 });
        accessSync(dir, fsConstants.W_OK);
      } catch (err) {
        throw new CniError(
          ErrorCode.PluginNotAvailable,
          "host-local data dir is not writable",
          `${dir}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },

    async gc(ctx) {
      const released = await withAllocator(ctx, (a) => a.gc(ctx.validAttachments));
      if (released.length > 0) ctx.log.info("released stale leases", { ips: released });
    },
  });
}

/** The plugin, for `cnikit-build --agent` (the module `cnikit-agent serve` loads) and main.ts. */
export default createHostLocalPlugin();
