/**
 * `@cnikit/build`: bundles a CNI plugin written in TypeScript into one executable file, a
 * start-up snapshot, a single executable or a Bun executable, with `@cnikit/native`'s addon (koffi.node) beside it when it loads koffi (Bun builds call libc through `bun:ffi` and need none).
 * The `cnikit-build` bin is the command-line form. See docs/shipping.md and docs/performance.md.
 *
 * @packageDocumentation
 */
export { type BuildAgentOptions, type BuildAgentResult, buildAgent } from "./agent.js";
export {
  type AfterBundleContext,
  type AfterBundleHook,
  BUILD_FORMATS,
  type BuildFormat,
  type BuildPluginOptions,
  type BuildPluginResult,
  buildPlugin,
  DEFAULT_FORMAT,
} from "./build-plugin.js";
export {
  BUN_JIT_POLICY,
  BUN_TARGETS,
  BUN_VERSION,
  type BuildBunOptions,
  type BuildBunResult,
  type BunTarget,
  buildBun,
  findBun,
} from "./bun.js";
export { BuildError } from "./errors.js";
export {
  type BundleMetafile,
  copyNativeAddons,
  findNativePackageDir,
  type NativeAddonContext,
  nativeAddonPaths,
} from "./native-addons.js";
export { type BuildCliIo, runBuildCli, BUILD_USAGE } from "./run-cli.js";
export { type BuildSeaOptions, type BuildSeaResult, buildSea } from "./sea.js";
export {
  SNAPSHOT_LOAD_FAILURE_EXIT_CODE,
  SNAPSHOT_NODE_FLAGS,
  type SnapshotLauncherOptions,
  snapshotBlobName,
  snapshotFallbackName,
  snapshotLauncher,
} from "./snapshot.js";
