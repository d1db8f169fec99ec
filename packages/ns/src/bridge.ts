/**
 * `ensureBridge` and bridge-port helpers, as the Go bridge plugin uses them.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
import { CniError, ErrorCode } from "@cnikit/spec";
import { parseCidr } from "./cidr.js";
import { LinkExistsError, NetlinkError } from "./errors.js";
import type { BridgePortOptions, CreateBridgeOptions, Link } from "./links.js";
import { Netns } from "./netns.js";

/**
 * Options for {@link ensureBridge}.
 *
 * @example
 * const opts: EnsureBridgeOptions = { name: "cni0", mtu: 1500, addresses: ["10.22.0.1/16"], forceAddress: false };
 * const bridge = await ensureBridge(opts);
 */
export interface EnsureBridgeOptions {
  /** Bridge name (≤ 15 bytes). */
  name: string;
  /** MTU when the bridge is created. */
  mtu?: number;
  /** MAC when the bridge is created. */
  mac?: string;
  /** Put the bridge in promiscuous mode. */
  promisc?: boolean;
  /** Enable VLAN filtering when the bridge is created. */
  vlanFiltering?: boolean;
  /** Addresses (`ip/prefix`, e.g. the gateway) the bridge must carry. */
  addresses?: string[];
  /**
   * When the bridge already has another address in the same subnet family (any other IPv4
   * address, or an IPv6 one in the same prefix): replace it (true) or fail (default, like Go's
   * `forceAddress: false`).
   */
  forceAddress?: boolean;
  /** Netns to work in (default {@link Netns.host}). */
  netns?: Netns;
  /** Called when this call created the bridge (not when it already existed), right after creating it. */
  onCreated?: () => void;
}

/**
 * Makes sure a bridge exists, is up, and carries `addresses`; creates it if missing.
 * An existing link with that name that is not a bridge is an error.
 *
 * @example
 * const br = await ensureBridge({ name: "cni0", mtu: 1500, addresses: ["10.22.0.1/16"] });
 * @throws {CniError} when the name belongs to a non-bridge link, or an address conflicts.
 * @see https://www.cni.dev/plugins/current/main/bridge/
 */
export async function ensureBridge(options: EnsureBridgeOptions): Promise<Link> {
  const ns = options.netns ?? Netns.host();
  const create: CreateBridgeOptions = { name: options.name, up: true };
  if (options.mtu !== undefined) create.mtu = options.mtu;
  if (options.mac !== undefined) create.mac = options.mac;
  if (options.vlanFiltering !== undefined) create.vlanFiltering = options.vlanFiltering;
  let link: Link;
  let changed = false; // the link's attributes changed after `link` was read
  try {
    await ns.createBridge(create);
    options.onCreated?.();
    link = await ns.getLink(options.name);
  } catch (err) {
    if (!LinkExistsError.isInstance(err)) throw err;
    link = await ns.getLink(options.name);
    if (link.kind !== "bridge") {
      throw new CniError(ErrorCode.Internal, `"${options.name}" already exists but is not a bridge`, undefined, {
        cause: err,
      });
    }
    if (!link.up) {
      await ns.setLinkUp(link.index);
      changed = true;
    }
  }
  if (options.promisc && !link.promisc) {
    await ns.setPromisc(link.index, true);
    changed = true;
  }
  for (const cidr of options.addresses ?? []) {
    const want = parseCidr(cidr);
    const have = await ns.listAddresses(link.index, { family: want.family });
    if (have.some((a) => a.ip === want.ip && a.prefixLength === want.prefixLength)) continue;
    const conflicts = have.filter(
      (a) => a.scope === 0 && (want.family === 4 || parseCidr(a.cidr).network === want.network),
    );
    for (const c of conflicts) {
      if (!options.forceAddress) {
        throw new CniError(
          ErrorCode.Internal,
          `"${options.name}" already has an IP address different from ${want.cidr}`,
        );
      }
      await ns.deleteAddress(link.index, c.cidr);
    }
    try {
      await ns.addAddress(link.index, want.cidr, want.family === 6 ? { noDad: true } : {});
    } catch (err) {
      // a concurrent ADD on the same bridge added it between our list and our add (Go's bridge
      // ignores EEXIST here too)
      if (!(NetlinkError.isInstance(err) && err.errnoCode === "EEXIST")) throw err;
    }
  }
  // addresses are not link attributes: re-read the link only if its flags changed
  return changed ? ns.getLink(link.index) : link;
}

/**
 * Turns hairpin mode on or off for a bridge port (Go's `netlink.LinkSetHairpin`).
 *
 * @example
 * await setHairpin("veth1234abcd", true);
 * @throws {LinkNotFoundError} when the port does not exist.
 */
export async function setHairpin(port: string | number, on: boolean, netns?: Netns): Promise<void> {
  return (netns ?? Netns.host()).setBridgePort(port, { hairpin: on });
}

/**
 * Sets bridge-port flags on a port (see {@link BridgePortOptions}).
 *
 * @example
 * await setBridgePort("veth1234abcd", { isolated: true, learning: false });
 * @throws {LinkNotFoundError} when the port does not exist.
 */
export async function setBridgePort(port: string | number, options: BridgePortOptions, netns?: Netns): Promise<void> {
  return (netns ?? Netns.host()).setBridgePort(port, options);
}
