/**
 * @cnikit/ns — network namespaces, links, addresses, routes, sysctls, forwarding and
 * masquerade for CNI plugins, in-process (netlink + setns), no `ip` spawns on the hot path.
 *
 * @packageDocumentation
 */

export type { AddAddressOptions, Address, ScopeName } from "./addresses.js";
export { IFA_F, SCOPE } from "./addresses.js";
export type { EnsureBridgeOptions } from "./bridge.js";
export { ensureBridge, setBridgePort } from "./bridge.js";
export {
  LinkExistsError,
  LinkNotFoundError,
  NetlinkError,
  NetnsClosedError,
  NetnsNotFoundError,
  NotANetnsError,
} from "./errors.js";
export { enableIpForward, familiesOf, getSysctl, setSysctl } from "./forward.js";
export type { GcIpMasqOptions, IpMasqBackend, IpMasqOptions } from "./ipmasq.js";
export {
  gcIpMasq,
  IPMASQ_NFT_CHAIN,
  IPMASQ_NFT_TABLE,
  ipMasqChainName,
  setupIpMasq,
  teardownIpMasq,
} from "./ipmasq.js";
export type {
  BridgePortFlags,
  CreateBridgeOptions,
  CreateLinkCommon,
  CreateVethOptions,
  CreateVxlanOptions,
  Link,
  VxlanInfo,
} from "./links.js";
export { IFF } from "./links.js";
export { hostVethName, randomMac, randomVethName } from "./mac.js";
export type {
  FdbEntry,
  FdbEntryInput,
  FdbFilter,
  FdbState,
  Neighbour,
  NeighbourFilter,
  NeighbourInput,
  NeighbourState,
} from "./neighbours.js";
export type { RtnlSocket } from "./netlink-socket.js";
export type { LinkRef, NetnsOption } from "./netns.js";
export { NETNS_RUN_DIR, Netns } from "./netns.js";
export type { RouteEntry, RouteInput, RouteTypeName } from "./routes.js";
export { ROUTE_TYPE, TABLE } from "./routes.js";
export { sysctlPath } from "./sysctl.js";
export type { SetupVethOptions, VethPair } from "./veth.js";
export { setupVeth } from "./veth.js";
