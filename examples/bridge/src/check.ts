/**
 * CHECK: the attachment described by prevResult still exists as ADD made it — the bridge (and
 * its promiscuous mode), the container veth, its host peer enslaved to the bridge, every address
 * with a route to its subnet, every route. Messages follow the reference plugin.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#check-check-containers-networking-is-as-expected
 */
import { Netns } from "@cnikit/ns";
import {
  CniError,
  ErrorCode,
  formatCidr,
  formatIp,
  type Interface,
  networkOf,
  parseCidr,
  parseIp,
  type Result,
  type Route,
} from "@cnikit/spec";
import type { BridgeConf } from "./config.js";

type Link = Awaited<ReturnType<Netns["getLink"]>>;

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

async function lookup(ns: Netns, intf: Interface | undefined, expectInSandbox: boolean): Promise<Link> {
  if (!intf?.name) throw fail("Interface name missing ");
  const link = await ns.findLink(intf.name);
  if (!link) throw fail(`Interface name ${intf.name} not found`);
  if (expectInSandbox && !intf.sandbox) throw fail(`Interface ${intf.name} is expected to be in a sandbox`);
  if (!expectInSandbox && intf.sandbox) throw fail(`Interface ${intf.name} should not be in sandbox`);
  return link;
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

  // the bridge
  const br = await lookup(host, brIntf, false);
  if (br.kind !== "bridge") throw fail(`Interface ${br.name} does not have link type of bridge`);
  if (brIntf?.mac && brIntf.mac !== br.mac) throw fail(`Bridge interface ${br.name} Mac doesn't match: ${brIntf.mac}`);
  if (br.promisc !== conf.promiscMode) {
    throw fail(
      `Bridge interface ${br.name} configured Promisc Mode ${conf.promiscMode} doesn't match current state: ${br.promisc} `,
    );
  }

  if (netnsPath !== (contIntf?.sandbox ?? "")) {
    throw fail(`Sandbox in prevResult ${contIntf?.sandbox ?? ""} doesn't match configured netns: ${netnsPath}`);
  }

  // the container end
  const cont = await lookup(netns, contIntf, true);
  if (cont.kind !== "veth") throw fail(`Error: Container interface ${cont.name} not of type veth`);
  if (cont.parentIndex === undefined) throw fail(`Unable to obtain veth peer index for veth ${cont.name}`);
  if (contIntf?.mac && contIntf.mac !== cont.mac) {
    throw fail(`Interface ${cont.name} Mac ${contIntf.mac} doesn't match container Mac: ${cont.mac}`);
  }

  // the host end: a veth whose peer is the container end and whose master is the bridge
  let vethFound = false;
  for (const intf of interfaces) {
    if (intf.name === brIntf?.name || intf.name === contIntf?.name) continue;
    const link = await lookup(host, intf, false);
    if (link.kind !== "veth") continue;
    if (link.parentIndex === undefined) throw fail(`Unable to obtain veth peer index for veth ${link.name}`);
    if (link.index !== cont.parentIndex || link.parentIndex !== cont.index || link.master !== br.index) continue;
    if (intf.mac && intf.mac !== link.mac)
      throw fail(`Interface ${intf.name} Mac doesn't match: ${intf.mac} not found`);
    vethFound = true;
    break;
  }
  if (!vethFound) throw fail(`CNI veth created for bridge ${conf.bridge} was not found`);

  await validateAddresses(netns, ifName, prevResult);
  await validateRoutes(netns, prevResult.routes ?? []);
}

async function validateAddresses(ns: Netns, ifName: string, result: Result): Promise<void> {
  const link = await ns.findLink(ifName);
  if (!link) throw fail(`Cannot find container link ${ifName}`);
  const addrs = await ns.listAddresses(link.index);
  for (const ipc of result.ips ?? []) {
    const want = parseCidr(ipc.address);
    if (!addrs.some((a) => a.ip === formatIp(want.ip) && a.prefixLength === want.prefix)) {
      throw fail(`Failed to match addr ${formatCidr(want.ip, want.prefix)} on interface ${ifName}`);
    }
    const routes = await ns.listRoutes({ family: want.ip.family });
    if (!routes.some((r) => r.dst === networkOf(ipc.address))) {
      throw fail(`Failed to find Gateway ${ipc.gateway ?? "<nil>"} for interface ${ifName}`);
    }
  }
}

function describeRoute(r: Route): string {
  return `{Dst:${r.dst} GW:${r.gw ?? "<nil>"}}`;
}

async function validateRoutes(ns: Netns, routes: readonly Route[]): Promise<void> {
  for (const route of routes) {
    const want = parseCidr(route.dst);
    const isDefault = want.prefix === 0;
    const have = await ns.listRoutes({ family: want.ip.family });
    const found = have.some((r) => {
      if (r.dst !== networkOf(route.dst)) return false;
      // the reference plugin matches default routes on the destination alone
      if (isDefault || !route.gw) return true;
      return r.gw === formatIp(parseIp(route.gw));
    });
    if (!found) throw fail(`Expected Route ${describeRoute(route)} not found in routing table`);
  }
}
