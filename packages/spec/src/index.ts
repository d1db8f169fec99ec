export { CniError, ErrorCode } from "./errors.js";
export type { ErrorCodeValue, ErrorReply } from "./errors.js";
export {
  ALL_VERSIONS,
  CURRENT_VERSION,
  compareVersions,
  parseVersion,
  resultFamily,
  versionGt,
  versionGte,
  versionsStartingFrom,
} from "./version.js";
export type { ResultFamily } from "./version.js";
export {
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
} from "./validate.js";
export type * from "./types.js";
export {
  convertResult,
  NO_VALID_IP_MESSAGE,
  resultVersionOf,
  toCurrentResult,
} from "./result-convert.js";
export { parsePrevResult, parseResult } from "./parse-result.js";
export {
  addToIp,
  broadcastOf,
  bytesToIp,
  cidrContains,
  compareIps,
  familyBits,
  formatCidr,
  formatIp,
  gatewayOf,
  ipFamily,
  ipToBytes,
  isCidr,
  isIpAddress,
  lastAddress,
  networkAddress,
  networkOf,
  nextIp,
  parseCidr,
  parseIp,
  prevIp,
  sameIp,
  tryParseCidr,
  tryParseIp,
} from "./ip.js";
export type { IpAddress, IpCidr, IpFamily } from "./ip.js";
export { decodeVersionReply } from "./version-reply.js";
export {
  cniArgsIgnoreUnknown,
  loadCniArgs,
  parseBoolArg,
  parseCniArgs,
} from "./cni-args.js";
export { formatIssuePath, validateWithSchema } from "./standard-schema.js";
export type {
  StandardSchemaV1,
  StandardSchemaV1FailureResult,
  StandardSchemaV1InferInput,
  StandardSchemaV1InferOutput,
  StandardSchemaV1Issue,
  StandardSchemaV1PathSegment,
  StandardSchemaV1Props,
  StandardSchemaV1Result,
  StandardSchemaV1SuccessResult,
  ValidateWithSchemaOptions,
} from "./standard-schema.js";
// The zod schemas live at the "@cnikit/spec/schemas" subpath only: importing zod costs
// 100+ ms of start-up in an unbundled process, and plugins pay start-up on every call.

