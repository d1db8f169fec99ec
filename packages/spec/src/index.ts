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
export { validateContainerId, validateInterfaceName, validateNetworkName } from "./validate.js";
export type * from "./types.js";
