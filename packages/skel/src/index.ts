/**
 * `@cnikit/skel`: write a CNI plugin as a table of typed handlers.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md
 */
export { definePlugin } from "./define-plugin.js";
export { schemaFromFunction } from "./schema-from-function.js";
export { RawReply } from "./raw-reply.js";
export type { RawReplyInit } from "./raw-reply.js";
export type {
  AddResult,
  CniVersions,
  CniVersionsCall,
  Handler,
  Plugin,
  PluginContext,
  PluginDefinition,
  RollbackStep,
} from "./types.js";
export type { PluginIo, RunOutput, TextSink } from "./io.js";
export { HANDLER_COMMANDS } from "./env.js";
export type { AnyCommand, Command } from "./env.js";
export {
  createLogger,
  DEFAULT_LOG_LEVEL,
  LOG_LEVELS,
  parseLogLevel,
} from "./logger.js";
export type { LogFields, Logger, LogLevel, LogSink } from "./logger.js";
export { isOwnNetns } from "./netns-self-check.js";
export { CniError, CURRENT_VERSION, ErrorCode } from "@cnikit/spec";
export type {
  AnyResult,
  Attachment,
  Bandwidth,
  ConfList,
  DNS,
  ErrorCodeValue,
  ErrorReply,
  Interface,
  IpamConfig,
  IPConfig,
  IpRange,
  NetConf,
  PluginConf,
  PortMapping,
  Result,
  Result020,
  Result040,
  RuntimeConfig,
  Route,
  StandardSchemaV1,
  VersionReply,
} from "@cnikit/spec";
