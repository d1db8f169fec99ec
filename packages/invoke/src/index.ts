/**
 * `@cnikit/invoke`: find and execute CNI plugins, decode their replies, delegate to other plugins.
 * The counterpart of Go's `pkg/invoke`. Imports only `node:child_process` and friends: it runs on
 * every ADD.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export { findInPath, splitPath } from "./find.js";
export { buildPluginEnv, formatCniArgs } from "./env.js";
export type { CniArgsInput, CniEnvArgs } from "./env.js";
export { createRawExec, decodeErrorReply, nodeSpawn, rawExec } from "./raw-exec.js";
export type { RawExec, RawExecRequest, SpawnOutcome, SpawnRequest, Spawner, StderrSink } from "./raw-exec.js";
export {
  configVersion,
  decodeResult,
  execPlugin,
  execPluginWithoutResult,
  execPluginWithResult,
  getVersionInfo,
} from "./exec.js";
export type { ExecPluginOptions, ExecRunOptions } from "./exec.js";
export { delegateAdd, delegateCheck, delegateDel, delegateGC, delegateStatus } from "./delegate.js";
export type { DelegateConf, DelegateOptions } from "./delegate.js";
