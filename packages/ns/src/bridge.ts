/**
 * `ensureBridge` and bridge-port helpers, as the Go bridge plugin uses them.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
import { CniError, ErrorCode, formatCidr, formatIp, networkOf, parseCidr } from "@cnikit/spec";
import { LinkExistsError, NetlinkError } from "./errors.js";
import type { BridgePortFlags, Link } from "./links.js";
import { Netns, type NetnsOption } from "./netns.js";

/**
 * Options for {@link ensureBridge}.
 *
 * @example
 * const opts: EnsureBridgeOptions = { name: "cni0", mtu: config.mtu, addresses: ["10.22.0.1/16"], forceAddress: false };
 * const bridge = await ensureBridge(opts);
 */
export interface EnsureBridgeOptions extends NetnsOption {
  /** Bridge name (≤ 15 bytes). */
  name: string;
  /** MTU when the bridge is created. */
  mtu?: number | undefined;
  /** MAC when the bridge is created. */
  mac?: string | undefined;
  /** Put the bridge in promiscuous mode. */
  promisc?: boolean | undefined;
  /** Enable VLAN filtering when the bridge is created. */
  vlanFiltering?: boolean | undefined;
  /** Addresses (`ip/prefix`, e.g. the gateway) the bridge must carry. */
  addresses?: string[] | undefined;
  /**
   * When the bridge already has another address in the same subnet family (any other IPv4
   * address, or an IPv6 one in the same prefix): replace it (true) or fail (default, like Go's
   * `forceAddress: false`).
   */
  forceAddress?: boolean | undefined;
  /** Called when this call created the bridge (not when it already existed), right after creating it. */
  onCreated?: (() => void) | undefined;
}

/**
 * Makes sure a bridge exists, is up, and carries `addresses`; creates it if missing. Acts in the
 * process's own netns, or in `options.netns`. An existing link with that name that is not a
 * bridge is an error.
 *
 * @example
 * const br = await ensureBridge({ name: "cni0", mtu: 1500, addresses: ["10.22.0.1/16"] });
 * @throws {CniError} when the name belongs to a non-bridge link, or an address conflicts.
 * @see https://www.cni.dev/plugins/current/main/bridge/
 */
export async function ensureBridge(options: EnsureBridgeOptions): Promise<Link> {
  const ns = options.netns ?? Netns.host();
  let changed = false; // the link's attributes changed after `link` was read
  // Looked up first: the bridge exists for every ADD but a node's first, and one GETLINK is
  // cheaper than a create that fails with EEXIST followed by that GETLINK.
  let link = await ns.findLink(options.name);
  let exists: unknown;
  if (!link) {
    try {
      link = await ns.createBridge({
        name: options.name,
        up: true,
        mtu: options.mtu,
        mac: options.mac,
        vlanFiltering: options.vlanFiltering,
      });
      options.onCreated?.();
    } catch (err) {
      if (!(err instanceof LinkExistsError)) throw err;
      exists = err; // created meanwhile by someone else
      link = await ns.getLink(options.name);
    }
  }
  if (link.kind !== "bridge") {
    throw new CniError(
      ErrorCode.Internal,
      `"${options.name}" already exists but is not a bridge`,
      undefined,
      exists === undefined ? undefined : { cause: exists },
    );
  }
  if (!link.up) {
    await ns.setLinkUp(link.index);
    changed = true;
  }
  if (options.promisc && !link.promisc) {
    await ns.setPromisc(link.index, true);
    changed = true;
  }
  for (const cidr of options.addresses ?? []) {
    const want = parseCidr(cidr);
    const family = want.ip.family;
    const wantIp = formatIp(want.ip);
    const wantCidr = formatCidr(want.ip, want.prefix);
    const have = await ns.listAddresses(link.index, { family });
    if (have.some((a) => a.ip === wantIp && a.prefixLength === want.prefix)) continue;
    const conflicts = have.filter((a) => a.scope === 0 && (family === 4 || networkOf(a.cidr) === networkOf(wantCidr)));
    for (const c of conflicts) {
      if (!options.forceAddress) {
        throw new CniError(
          ErrorCode.Internal,
          `"${options.name}" already has an IP address different from ${wantCidr}`,
        );
      }
      await ns.deleteAddress(link.index, c.cidr);
    }
    try {
      await ns.addAddress(link.index, wantCidr, family === 6 ? { noDad: true } : {});
    } catch (err) {
      // a concurrent ADD on the same bridge added it between our list and our add (Go's bridge
      // ignores EEXIST here too)
      if (!(err instanceof NetlinkError && err.errnoCode === "EEXIST")) throw err;
    }
  }
  // addresses are not link attributes: re-read the link only if its flags changed
  return changed ? ns.getLink(link.index) : link;
}

/**
 * Sets bridge-port flags (hairpin, learning, isolated, ...) on a port, in the process's own netns
 * (or `options.netns`).
 *
 * @example
 * await setBridgePort("veth1234abcd", { hairpin: true });
 * await setBridgePort("veth1234abcd", { isolated: true, learning: false }, { netns });
 * @throws {LinkNotFoundError} when the port does not exist.
 */
export async function setBridgePort(port: string | number, flags: BridgePortFlags, options?: NetnsOption): Promise<void> {
  return (options?.netns ?? Netns.host()).setBridgePort(port, flags);
}
