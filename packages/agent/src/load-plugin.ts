/**
 * Loads a plugin module for the daemon: a CommonJS bundle written by `cnikit-build --agent`
 * (`dist/agent/<name>.plugin.cjs`) whose default export is the skel Plugin.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
import { createRequire } from "node:module";
import { basename, resolve } from "node:path";
import type { Plugin } from "@cnikit/skel";

/**
 * A plugin the daemon serves: its socket name and the Plugin.
 *
 * @example
 * const served: ServedPlugin = loadAgentPlugin("examples/bridge/dist/agent/bridge.plugin.cjs");
 * served.name; // "bridge"
 */
export interface ServedPlugin {
  /** The socket is `<socket dir>/<name>.sock`: the module's file name without `.plugin.cjs`. */
  readonly name: string;
  /** Absolute path of the module. */
  readonly module: string;
  /** The skel Plugin (its `run(io)` serves a call). */
  readonly plugin: Plugin;
}

function isPlugin(value: unknown): value is Plugin {
  const p = value as Plugin | undefined;
  return typeof p === "object" && p !== null && typeof p.run === "function" && Array.isArray(p.cniVersions);
}

/**
 * Loads `file` (a module whose default export is a skel Plugin, as `cnikit-build --agent` writes
 * it) and names it after the file (`bridge.plugin.cjs` → `bridge`).
 *
 * @example
 * const { name, plugin } = loadAgentPlugin("/opt/cni/bin/agent/bridge.plugin.cjs");
 * @throws Error when the module cannot be loaded or its default export is not a Plugin.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export function loadAgentPlugin(file: string): ServedPlugin {
  const abs = resolve(file);
  const mod = createRequire(import.meta.url)(abs) as { default?: unknown } | undefined;
  const plugin = isPlugin(mod?.default) ? mod.default : isPlugin(mod) ? mod : undefined;
  if (!plugin) throw new Error(`${abs}: the default export is not a cnikit plugin (definePlugin(...))`);
  const base = basename(abs);
  const name = base.endsWith(".plugin.cjs") ? base.slice(0, -".plugin.cjs".length) : plugin.name;
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`${abs}: ${JSON.stringify(name)} is not a usable socket name`);
  return { name, module: abs, plugin };
}
