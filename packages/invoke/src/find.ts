/**
 * Finding a plugin binary in CNI_PATH.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
import { fileOps, joinPath } from "@cnikit/native";
import { CniError, ErrorCode } from "@cnikit/spec";
import { goList, goQuote } from "./go-format.js";

/**
 * Returns the full path of the plugin `name` in the first directory of `paths` that holds a
 * regular file of that name (Go `invoke.FindInPath`).
 *
 * @example
 * const bridge = await findInPath("bridge", ["/opt/cni/bin", "/usr/lib/cni"]);
 * @throws CniError code 7 `no plugin name provided` or `invalid plugin name: X` (the name holds
 *   a path separator or a NUL, or is `.` or `..`); code 4 `no paths provided`; code 5
 *   `failed to find plugin "X" in path [a b]` listing every directory searched.
 */
export async function findInPath(name: string, paths: readonly string[]): Promise<string> {
  return findInPathSync(name, paths);
}

/**
 * Synchronous {@link findInPath} (internal: the delegates use it so that a delegate is spawned in
 * the same tick as the call, with no thread-pool round trip and no `node:fs/promises` to load).
 *
 * @throws CniError as {@link findInPath}.
 */
export function findInPathSync(name: string, paths: readonly string[]): string {
  if (name === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "no plugin name provided");
  // "." and ".." hold no separator but name directories: refused like a path, before any exec
  if (name.includes("/") || name === "." || name === ".." || name.includes("\0")) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid plugin name: ${name}`);
  }
  if (paths.length === 0) throw new CniError(ErrorCode.InvalidEnvironmentVariables, "no paths provided");
  for (const dir of paths) {
    const full = joinPath(dir, name);
    try {
      if (fileOps.statSync(full, { throwIfNoEntry: false })?.isFile()) return full;
    } catch {
      // not usable here (EACCES, ...): try the next directory
    }
  }
  throw new CniError(ErrorCode.IoFailure, `failed to find plugin ${goQuote(name)} in path ${goList(paths)}`);
}

/**
 * Splits a CNI_PATH value (`/opt/cni/bin:/usr/lib/cni`) into directories, dropping empty entries.
 *
 * @example splitPath(process.env.CNI_PATH) // ["/opt/cni/bin", "/usr/lib/cni"]
 */
export function splitPath(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(":").filter((p) => p !== "");
}
