/**
 * `@cnikit/invoke`: find and execute CNI plugins, decode their replies, delegate to other plugins.
 * The counterpart of Go's `pkg/invoke`. Processes are started with `@cnikit/native`'s
 * `posixSpawn` (one at a time) where koffi loads, else with `node:child_process`.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export { findInPath, splitPath } from "./find.js";
export { buildPluginEnv, formatCniArgs } from "./env.js";
export type { CniArgsInput, CniEnvArgs } from "./env.js";
export { createRawExec, decodeErrorReply, nodeSpawn, rawExec } from "./raw-exec.js";
export type { RawExec, RawExecRequest, StderrSink } from "./raw-exec.js";
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
export type { DelegateContext, DelegateOptions } from "./delegate.js";
export { setDelegateResolver } from "./in-process.js";
export type { DelegateResolver } from "./in-process.js";
