/**
 * `setupVeth`: a veth pair between a container netns and the host, the way Go's
 * `ip.SetupVeth`/`SetupVethWithName` do it, but with both ends born in place.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-add-container-to-network-or-apply-modifications
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
import { CniError, ErrorCode } from "@cnikit/spec";
import { LinkExistsError } from "./errors.js";
import type { Link } from "./links.js";
import { randomVethName } from "./mac.js";
import { Netns } from "./netns.js";

/**
 * Options for {@link setupVeth}.
 *
 * @example
 * const opts: SetupVethOptions = { netns: await Netns.open(ctx.netns), ifName: ctx.ifName, mtu: config.mtu, master: "cni0", hairpin: true };
 * const { host, container } = await setupVeth(opts);
 */
export interface SetupVethOptions {
  /** The container netns (the container end is created there). */
  netns: Netns;
  /** Container-side interface name (CNI_IFNAME). */
  ifName: string;
  /**
   * Host-side name; default a random `vethXXXXXXXX` (retried on EEXIST); `hostVethName(containerId,
   * ifName)` gives a deterministic one.
   */
  hostIfName?: string | undefined;
  /** MTU of both ends. */
  mtu?: number | undefined;
  /** Container-side MAC address. */
  mac?: string | undefined;
  /** Host-side bridge (name, index or Link) to enslave the host end to. */
  master?: string | number | Link | undefined;
  /** Set hairpin mode on the host end (needs `master`). */
  hairpin?: boolean | undefined;
  /** The netns of the host end; default the process's own ({@link Netns.host}). */
  hostNetns?: Netns | undefined;
}

/**
 * Both ends of a veth pair.
 *
 * @example
 * const pair: VethPair = await setupVeth({ netns, ifName: "eth0", master: "cni0" });
 * const interfaces = [{ name: pair.host.name, mac: pair.host.mac }, { name: pair.container.name, mac: pair.container.mac, sandbox: netns.path }];
 */
export interface VethPair {
  /**
   * Host end: up, enslaved to `master` if given; as the kernel reported it on creation, so its
   * `operState` and `slaveKind` may lag ({@link Netns.getLink} reads them later).
   */
  host: Link;
  /** Container end: created down (configureInterface brings it up). */
  container: Link;
}

const MAX_TRIES = 10;

/**
 * Creates a veth pair: `ifName` inside `netns` (required: the container's) and its peer in the
 * process's own netns (or `hostNetns`), both created in place with one netlink request: the host
 * end is created already up and enslaved to `master`, with the container end born in `netns`
 * (IFLA_NET_NS_FD inside VETH_INFO_PEER). The host end gets `accept_ra=0`; the container end stays down.
 *
 * @example
 * const ns = await Netns.open(netnsPath);
 * const { host, container } = await setupVeth({ netns: ns, ifName: "eth0", mtu: 1500, master: "cni0" });
 * @throws {LinkExistsError} when `ifName` exists in the container, or `hostIfName` on the host.
 * @throws {LinkNotFoundError} when `master` does not exist.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-add-container-to-network-or-apply-modifications
 */
export async function setupVeth(options: SetupVethOptions): Promise<VethPair> {
  const { netns, ifName } = options;
  const host = options.hostNetns ?? Netns.host();
  const m = options.master;
  // a master given by name is looked up first: a missing one fails before anything is created
  let master: number | undefined;
  if (m !== undefined)
    master = typeof m === "object" ? m.index : typeof m === "number" ? m : (await host.getLink(m)).index;
  let hostName = "";
  let hostLink: Link;
  for (let i = 0; ; i++) {
    hostName = options.hostIfName ?? randomVethName();
    try {
      // The host end is the primary link: only the primary can be brought up (and enslaved) in
      // the creating request (the peer's veth_open fails with ENOTCONN before the pair is linked).
      hostLink = await host.createVeth({
        name: hostName,
        up: true,
        mtu: options.mtu,
        master,
        peer: { name: ifName, netnsFd: netns.fd, mac: options.mac },
      });
      break;
    } catch (err) {
      if (!(err instanceof LinkExistsError)) throw err;
      const msg = `container veth name ("${ifName}") peer provided ("${hostName}") already exists`;
      if (await netns.findLink(ifName)) throw new LinkExistsError(ifName, msg, { cause: err });
      if (options.hostIfName !== undefined) throw new LinkExistsError(hostName, msg, { cause: err });
      if (i + 1 >= MAX_TRIES)
        throw new CniError(ErrorCode.Internal, "failed to find a unique veth name", undefined, { cause: err });
    }
  }
  try {
    try {
      host.setSysctlSync(`net/ipv6/conf/${hostName}/accept_ra`, "0");
    } catch {
      /* IPv6 disabled on the host: nothing to do */
    }
    const container = await netns.getLink(ifName);
    if (master !== undefined && options.hairpin) await host.setBridgePort(hostLink.index, { hairpin: true });
    return { host: hostLink, container };
  } catch (err) {
    await netns.deleteLink(ifName, { missingOk: true }).catch(() => {});
    throw err;
  }
}
