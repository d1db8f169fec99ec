/**
 * Locating installed plugins (e.g. the reference `host-local`) for a test to delegate to.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters (CNI_PATH)
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";

/**
 * Where CNI plugins usually live: `$CNI_PATH`, `/opt/cni/bin`, Debian's `/usr/lib/cni`.
 *
 * @example
 * ```ts
 * const path = [dirname(bin), ...defaultPluginDirs()]; // CNI_PATH for a conflist runner
 * ```
 */
export function defaultPluginDirs(): string[] {
  const fromEnv = (process.env.CNI_PATH ?? "").split(":").filter(Boolean);
  return [...fromEnv, "/opt/cni/bin", "/usr/lib/cni"];
}

/**
 * Finds an installed plugin executable (e.g. the reference `host-local` to delegate to).
 *
 * @returns its path, or `undefined` so a test can skip: `it.skipIf(!findPlugin("host-local"))`.
 * @example
 * ```ts
 * const hostLocal = findPlugin("host-local");
 * ```
 */
export function findPlugin(name: string, dirs: readonly string[] = defaultPluginDirs()): string | undefined {
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}
