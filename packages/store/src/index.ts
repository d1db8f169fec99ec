/**
 * @cnikit/store: state that outlives a plugin call. One small interface (get, range, put,
 * delete, txn, leases, watch) over a `file:` directory (one machine) or etcd v3 (a cluster: its
 * JSON gateway, and its gRPC API once a process proves long-lived), selected by one URL. No
 * dependencies.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
export {
  CompareFailedError,
  expectSucceeded,
  LeaseNotFoundError,
  StoreAuthError,
  StoreConfigError,
  StoreError,
  type StoreErrorCode,
  StoreTimeoutError,
  StoreUnavailableError,
  WatchCompactedError,
} from "./errors.js";
export { type OpenStoreOptions, openStore, parseStoreUrl, type StoreUrl } from "./open-store.js";
export type {
  Compare,
  DeleteResult,
  KeyValue,
  LeaseId,
  PutOptions,
  RangeOptions,
  RangePage,
  Store,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResponse,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteResult,
} from "./types.js";
