/**
 * @cnikit/ns — network namespaces, links, addresses, routes, sysctls, forwarding and
 * masquerade for CNI plugins, in-process (netlink + setns), no `ip` spawns on the hot path.
 *
 * @packageDocumentation
 */
export { Netns, NETNS_RUN_DIR } from "./netns.js";
export type { LinkRef, NetnsOption } from "./netns.js";
export type { RtnlSocket } from "./netlink-socket.js";
export type {
  Link,
  BridgePortFlags,
  CreateBridgeOptions,
  CreateLinkCommon,
  CreateVethOptions,
  CreateVxlanOptions,
  VxlanInfo,
} from "./links.js";
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
export { IFF } from "./links.js";
export type { Address, AddAddressOptions, ScopeName } from "./addresses.js";
export { IFA_F, SCOPE } from "./addresses.js";
export type { RouteEntry, RouteInput, RouteTypeName } from "./routes.js";
export { TABLE, ROUTE_TYPE } from "./routes.js";
export { setupVeth } from "./veth.js";
export type { SetupVethOptions, VethPair } from "./veth.js";
export { ensureBridge, setBridgePort } from "./bridge.js";
export type { EnsureBridgeOptions } from "./bridge.js";
export { enableIpForward, familiesOf, getSysctl, setSysctl } from "./forward.js";
export { sysctlPath } from "./sysctl.js";
export {
  setupIpMasq,
  teardownIpMasq,
  gcIpMasq,
  ipMasqChainName,
  IPMASQ_NFT_TABLE,
  IPMASQ_NFT_CHAIN,
} from "./ipmasq.js";
export type { GcIpMasqOptions, IpMasqBackend, IpMasqOptions } from "./ipmasq.js";
export { hostVethName, randomMac, randomVethName } from "./mac.js";
export {
  LinkExistsError,
  LinkNotFoundError,
  NetlinkError,
  NetnsClosedError,
  NetnsNotFoundError,
  NotANetnsError,
} from "./errors.js";
