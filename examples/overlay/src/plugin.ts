/**
 * overlay: the per-container part of the overlay, thin on purpose. It reads what the host's
 * `overlay-agent` wrote to its run directory (the leased subnet, the MTU, the bridge) and attaches
 * the container with the bridge example's code; the overlay adds nothing to the per-pod path.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/overlay.md
 */
import { definePlugin, type Plugin } from "@cnikit/skel";

/** The plugin's version. */
export const OVERLAY_VERSION = "0.1.0";

/** Config cniVersions served. */
export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

type Commands = typeof import("./commands.js");
let commands: Promise<Commands> | undefined;

/** The command implementations, loaded on first use (a VERSION call never loads them). */
function load(): Promise<Commands> {
  commands ??= import("./commands.js");
  return commands;
}

/**
 * Builds the overlay plugin.
 *
 * @example
 * await createOverlayPlugin().main();
 * @throws never at definition time.
 */
export function createOverlayPlugin(): Plugin {
  return definePlugin({
    name: "overlay",
    version: OVERLAY_VERSION,
    about: `CNI overlay plugin (cnikit) ${OVERLAY_VERSION}`,
    cniVersions: SUPPORTED_VERSIONS,
    add: async (ctx) => (await load()).add(ctx),
    del: async (ctx) => (await load()).del(ctx),
    check: async (ctx) => (await load()).check(ctx),
    status: async (ctx) => (await load()).status(ctx),
    gc: async (ctx) => (await load()).gc(ctx),
  });
}

/** The plugin, for main.ts. */
export default createOverlayPlugin();
