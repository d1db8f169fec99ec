/**
 * `@cnikit/ipam-client`: the IPAM side of a CNI plugin — delegation to `config.ipam.type`,
 * applying an IPAM result to an interface (also point-to-point), CHECK validators with Go's
 * messages, and an allocator + on-disk store compatible with Go's host-local (TypeScript and Go
 * plugins can share one data dir).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugins-ipam
 */
export { ipam } from "./exec.js";
export type { ConfigWithIpam, IpamContext } from "./exec.js";
export { configureInterface, InvalidInterfaceIndexError } from "./configure-interface.js";
export type { ConfigureInterfaceOptions } from "./configure-interface.js";
export { validateInterfaceIps, validateLinkInNetns, validateRoutes } from "./validate-interface.js";
export type { ValidateLinkOptions } from "./validate-interface.js";
export { DEFAULT_DATA_DIR, HostLocalStore } from "./host-local-store.js";
export type { FileLocker, HostLocalStoreOptions, Lease } from "./host-local-store.js";
export { HostLocalAllocator } from "./host-local-allocator.js";
export { loadHostLocalConfig, parseHostLocalArgs } from "./host-local-config.js";
export type { HostLocalConfig, LoadHostLocalConfigOptions } from "./host-local-config.js";
export {
  canonicalizeRange,
  canonicalizeRangeSet,
  rangeContains,
  rangeSetToString,
  rangeToString,
} from "./range.js";
export type { IpamRange, IpamRangeSet, RangeSpec } from "./range.js";
export { formatIp, parseCidr, parseIp } from "@cnikit/spec";
export type { IpAddress, IpCidr } from "@cnikit/spec";
export { parseResolvConf, parseResolvConfText } from "./resolv-conf.js";
