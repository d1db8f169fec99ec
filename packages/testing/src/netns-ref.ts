/**
 * How the fixtures name a network namespace (a handle, a name or a path).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters (CNI_NETNS)
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { NETNS_RUN_DIR } from "@cnikit/ns";
/**
 * A network namespace as the fixtures accept it: a handle from
 * `createTempNetns`, anything with a `path`, a name under /var/run/netns, or a path.
 *
 * @example
 * ```ts
 * const refs: NetnsRef[] = [await createTempNetns(), "ckblue", "/var/run/netns/ckblue", HOST_NETNS];
 * ```
 */
export type NetnsRef = string | { readonly path: string; readonly name?: string };

/**
 * The path of a namespace reference.
 *
 * @example
 * ```ts
 * netnsPath("ckblue");              // "/var/run/netns/ckblue"
 * netnsPath({ path: "/proc/1/ns/net" }); // "/proc/1/ns/net"
 * ```
 */
export function netnsPath(ref: NetnsRef): string {
  if (typeof ref !== "string") return ref.path;
  return ref.includes("/") ? ref : `${NETNS_RUN_DIR}/${ref}`;
}

/** A short label for messages: the name when there is one, else the path. */
export function netnsLabel(ref: NetnsRef): string {
  if (typeof ref !== "string") return ref.name ?? ref.path;
  return ref;
}

/** Path naming the namespace this process runs in. */
export const OWN_NETNS_PATH = "/proc/self/ns/net";

/**
 * Prefix that runs a command inside the namespace (`nsenter --net=PATH`); nothing
 * for the namespace we are in.
 * @internal
 */
export function inNetns(ref: NetnsRef): string[] {
  const path = netnsPath(ref);
  return path === OWN_NETNS_PATH ? [] : ["nsenter", `--net=${path}`];
}
