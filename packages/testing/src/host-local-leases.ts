/**
 * Reading host-local's leases from its data dir, to check that DEL or GC released an address
 * (and that a failed ADD kept none).
 *
 * @see https://www.cni.dev/plugins/current/ipam/host-local/ (dataDir: one file per leased IP)
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/**
 * The addresses host-local (Go's or cnikit's) holds for `network` in `dataDir`, sorted: one file
 * per leased IP under `<dataDir>/<network>/`, without its `lock` and `last_reserved_ip.*` files.
 * An absent directory means no leases.
 *
 * @example
 * ```ts
 * expect(listHostLocalLeases(dataDir, "mynet")).toEqual(["10.1.0.2"]);
 * // after DEL
 * expect(listHostLocalLeases(dataDir, "mynet")).toEqual([]);
 * ```
 */
export function listHostLocalLeases(dataDir: string, network: string): string[] {
  const dir = join(dataDir, network);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"))
    .sort();
}
