/**
 * CHECK: the attachment described by prevResult still exists as ADD made it — the bridge (and
 * its promiscuous mode), the container veth, its host peer enslaved to the bridge, every address
 * with a route to its subnet, every route (the last two with ipam-client's validators). Messages
 * follow the reference plugin.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#check-check-containers-networking-is-as-expected
 */
import { validateInterfaceIps, validateLinkInNetns, validateRoutes } from "@cnikit/ipam-client";
import { Netns } from "@cnikit/ns";
import { CniError, ErrorCode, type Result } from "@cnikit/spec";
import type { BridgeConf } from "./config.js";

function fail(msg: string): CniError {
  return new CniError(ErrorCode.Internal, msg);
}

/** What CHECK compares. */
export interface CheckInput {
  conf: BridgeConf;
  prevResult: Result;
  /** The container netns, open. */
  netns: Netns;
  /** CNI_NETNS as given. */
  netnsPath: string;
  /** CNI_IFNAME. */
  ifName: string;
}

/**
 * Validates one attachment against its prevResult.
 *
 * @example await checkAttachment({ conf, prevResult, netns, netnsPath, ifName: "eth0" });
 * @throws CniError with the reference plugin's message for the first mismatch.
 */
export async function checkAttachment(input: CheckInput): Promise<void> {
  const { conf, prevResult, netns, netnsPath, ifName } = input;
  const host = Netns.host();
  const interfaces = prevResult.interfaces ?? [];
  const brIntf = interfaces.find((i) => i.name === conf.bridge);
  const contIntf = interfaces.find((i) => i.name === ifName && i.sandbox === netnsPath);

  // the bridge (its MAC has a message of its own)
  const { mac: brMac, ...brRest } = brIntf ?? { name: "" };
  const br = await validateLinkInNetns(host, brRest, { inSandbox: false, kind: "bridge" });
  if (brMac && brMac !== br.mac) throw fail(`Bridge interface ${br.name} Mac doesn't match: ${brMac}`);
  if (br.promisc !== conf.promiscMode) {
    throw fail(
      `Bridge interface ${br.name} configured Promisc Mode ${conf.promiscMode} doesn't match current state: ${br.promisc} `,
    );
  }

  // the container end
  const cont = await validateLinkInNetns(netns, contIntf, { kind: "veth", netnsPath });
  if (cont.parentIndex === undefined) throw fail(`Unable to obtain veth peer index for veth ${cont.name}`);

  // the host end: a veth whose peer is the container end and whose master is the bridge
  let vethFound = false;
  for (const intf of interfaces) {
    if (intf.name === brIntf?.name || intf.name === contIntf?.name) continue;
    const { mac, ...rest } = intf; // a MAC is only compared on the veth that is the peer
    const link = await validateLinkInNetns(host, rest, { inSandbox: false });
    if (link.kind !== "veth") continue;
    if (link.parentIndex === undefined) throw fail(`Unable to obtain veth peer index for veth ${link.name}`);
    if (link.index !== cont.parentIndex || link.parentIndex !== cont.index || link.master !== br.index) continue;
    if (mac && mac !== link.mac) throw fail(`Interface ${intf.name} Mac doesn't match: ${mac} not found`);
    vethFound = true;
    break;
  }
  if (!vethFound) throw fail(`CNI veth created for bridge ${conf.bridge} was not found`);

  await validateInterfaceIps(netns, cont, prevResult.ips ?? []);
  await validateRoutes(netns, prevResult.routes ?? []);
}
