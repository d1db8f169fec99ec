/**
 * The check that CNI_NETNS is not the plugin's own network namespace (a runtime bug that
 * would make a plugin reconfigure the host). Skel runs it before the handler, as the spec
 * wants, instead of after it as Go does.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
import { fileOps } from "@cnikit/native/files";

/** The plugin's own netns. */
export const OWN_NETNS_PATH = "/proc/self/ns/net";

/**
 * True when `netns` names the same namespace as `own` (same device and inode).
 * An empty path, or one that cannot be stat'ed, is not the plugin's netns.
 *
 * @example isOwnNetns("/proc/self/ns/net") // true
 */
export function isOwnNetns(netns: string, own: string = OWN_NETNS_PATH): boolean {
  if (netns === "") return false;
  try {
    const a = fileOps.statSync(netns);
    const b = fileOps.statSync(own);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}
