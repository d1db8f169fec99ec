/**
 * bridge: attaches a container to a Linux bridge on the host through a veth pair, a drop-in for
 * the reference `bridge` plugin (same config keys, results, messages where it matters).
 *
 * ADD: IPAM ADD started (it runs in a child process meanwhile) → bridge (created if missing) →
 * veth with its peer born in the container → the IPAM result awaited → addresses and routes in
 * the container → gateway address on the bridge, forwarding → masquerade. Every step registers
 * its undo, so a failed ADD leaves nothing behind (the lease included, whenever it fails).
 *
 * @see https://www.cni.dev/plugins/current/main/bridge/
 */
import { definePlugin, type Plugin } from "@cnikit/skel";
import { bridgeConfigSchema } from "./config.js";

/** The plugin's version. */
export const BRIDGE_VERSION = "0.1.0";

/** Config cniVersions served (every released version). */
export const SUPPORTED_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

type Commands = typeof import("./commands.js");
let commands: Promise<Commands> | undefined;

/** The command implementations, loaded once on first use (see commands.ts). */
function load(): Promise<Commands> {
  commands ??= import("./commands.js");
  return commands;
}

// A start-up snapshot build evaluates the plugin's modules once, at build time: load the commands
// then too, so that a snapshot plugin has them (and node:child_process) ready at every call.
if (process.execArgv.includes("--build-snapshot")) void load();

/**
 * Builds the bridge plugin.
 *
 * @example
 * await createBridgePlugin().main();
 * @throws never at definition time.
 */
export function createBridgePlugin(): Plugin {
  return definePlugin({
    name: "bridge",
    version: BRIDGE_VERSION,
    about: `CNI bridge plugin (cnikit) ${BRIDGE_VERSION}`,
    cniVersions: SUPPORTED_VERSIONS,
    // stdin is decoded once by skel and validated once here; handlers get the BridgeConf
    config: bridgeConfigSchema,
    add: async (ctx) => (await load()).add(ctx),
    del: async (ctx) => (await load()).del(ctx),
    check: async (ctx) => (await load()).check(ctx),
    status: async (ctx) => (await load()).status(ctx),
    gc: async (ctx) => (await load()).gc(ctx),
  });
}

/** The plugin, for `cnikit-build --agent` (the module `cnikit-agent serve` loads) and main.ts. */
export default createBridgePlugin();
