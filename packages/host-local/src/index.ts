/**
 * `@cnikit/host-local`: Go host-local's allocator and on-disk lease store in TypeScript — the
 * same config, the same data dir layout (`<dataDir>/<network>/<ip>` files, `last_reserved_ip.<n>`,
 * a flock'd `lock`), the same messages — so TypeScript and Go plugins can share one data dir.
 * Use it to write a host-local-compatible IPAM plugin; the client side of IPAM (delegating to
 * `config.ipam.type`, applying a result to an interface) is `@cnikit/ipam-client`.
 *
 * @see https://www.cni.dev/plugins/current/ipam/host-local/
 * @packageDocumentation
 */
export { DEFAULT_DATA_DIR, HostLocalStore } from "./store.js";
export type { FileLocker, HostLocalStoreOptions, Lease } from "./store.js";
export { HostLocalAllocator } from "./allocator.js";
export { loadHostLocalConfig, parseHostLocalArgs } from "./config.js";
export type { HostLocalConfig, LoadHostLocalConfigOptions } from "./config.js";
export {
  canonicalizeRange,
  canonicalizeRangeSet,
  rangeContains,
  rangeSetToString,
  rangeToString,
} from "./range.js";
export type { IpamRange, IpamRangeSet, RangeSpec } from "./range.js";
export { parseResolvConf, parseResolvConfText } from "./resolv-conf.js";
