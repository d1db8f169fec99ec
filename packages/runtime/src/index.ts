/**
 * `@cnikit/runtime`: load and run CNI network configurations (the libcni equivalent) and share
 * libcni's result cache. The `cnikit` CLI (a cnitool drop-in) is built from `cli.ts`.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md
 */
export {
  confFiles,
  confFromBytes,
  confFromFile,
  confListFromBytes,
  confListFromConf,
  confListFromFile,
  injectConf,
  loadConf,
  loadConfList,
  NetworkNotFoundError,
  NoConfigsFoundError,
} from "./conf.js";
export type { NetworkConfigList, PluginConfig } from "./conf.js";
export {
  CACHE_KIND,
  cacheFilePath,
  DEFAULT_CACHE_DIR,
  deleteCachedResult,
  listCachedAttachments,
  readCachedConfig,
  readCachedResult,
  writeCachedResult,
} from "./cache.js";
export type { CacheEntry, CacheFile, CacheKey, CachedAttachment } from "./cache.js";
export { CniRuntime } from "./runtime.js";
export type { CallOptions, CniRuntimeOptions, GCArgs, RuntimeConf } from "./runtime.js";
export { cnitoolContainerId, goAbsPath } from "./container-id.js";
export { formatResultSummary } from "./summary.js";
export { runCli, USAGE } from "./cli-main.js";
export type { CliIo } from "./cli-main.js";
