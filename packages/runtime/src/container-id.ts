/**
 * cnitool's container ID derivation, and Go's `filepath.Abs` (which cnitool applies to the
 * netns argument first).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters (the container ID)
 * @see https://github.com/cnikit/cnikit/blob/main/docs/runtime.md
 */
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { isAbsolute, join, normalize, resolve } from "node:path";

/**
 * The container ID cnitool uses for a netns path: `cnitool-` plus the hex of the first 10 bytes
 * of the SHA-512 of the absolute path, so `cnikit` and `cnitool` address the same attachment.
 * Pass a path made absolute with {@link goAbsPath} to match cnitool for relative arguments.
 *
 * @example cnitoolContainerId("/var/run/netns/blue") // "cnitool-…" (20 hex digits)
 */
export function cnitoolContainerId(netnsPath: string): string {
  const digest = createHash("sha512").update(resolve(netnsPath)).digest();
  return `cnitool-${digest.subarray(0, 10).toString("hex")}`;
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Go's `filepath.Abs`: an absolute path is only cleaned; a relative one is joined to the working
 * directory as Go's `os.Getwd` reports it, which is `$PWD` when that names the current directory
 * (so `/var/run/netns/x` stays `/var/run/netns/x` even though `/var/run` links to `/run`), else
 * the physical path. Node's `path.resolve` always uses the physical path, which would give a
 * relative netns argument a different cnitool container ID than cnitool computes.
 *
 * @example goAbsPath("netns/blue", { PWD: "/var/run" }) // "/var/run/netns/blue" (when /var/run is the cwd)
 */
export function goAbsPath(p: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (isAbsolute(p)) return stripSlash(normalize(p));
  const pwd = env.PWD;
  const cwd = pwd !== undefined && isAbsolute(pwd) && sameFile(pwd, ".") ? pwd : process.cwd();
  return stripSlash(join(cwd, p));
}

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}
