// Where the plugins under test live.
import { accessSync, constants, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The Go reference plugins (Debian containernetworking-plugins 1.1.1: cniVersion ≤ 1.0.0). */
export const GO_DIR = "/usr/lib/cni";

/** The cniVersion every benchmark config uses (the newest both sides speak). */
export const CNI_VERSION = "1.0.0";

function executable(p) {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of a Go reference plugin, or undefined when missing. */
export function goPlugin(name) {
  const p = join(GO_DIR, name);
  return executable(p) ? p : undefined;
}

/** Path of our built example plugin `examples/<name>/dist/<name>`, or undefined when not built. */
export function ourPlugin(name) {
  const p = join(ROOT, "examples", name, "dist", name);
  return existsSync(p) && executable(p) ? p : undefined;
}
