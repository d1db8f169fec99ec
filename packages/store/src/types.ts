/**
 * The store interface shared by every backend: etcd's data model (revisions, transactions,
 * leases, watches) cut down to what plugins and agents need.
 *
 * Keys and values are strings (UTF-8 on the wire and on disk). Binary data is the caller's to
 * encode (base64, hex): every value a plugin stores is JSON or an address, and strings keep
 * `etcdctl get --prefix` readable.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */

/**
 * A lease id: a decimal string (etcd's ids are 64-bit and do not fit a JS number).
 *
 * @example const lease: LeaseId = await store.grant(10);
 */
export type LeaseId = string;

/**
 * One key with its value and revisions, as etcd reports it.
 *
 * @example
 * const kv: KeyValue = { key: "ips/10.0.0.2", value: "c1/eth0", createRevision: 7, modRevision: 7, version: 1 };
 */
export interface KeyValue {
  /** The key, without the store's `prefix`. */
  key: string;
  /** The value ("" for a deleted key in a watch event). */
  value: string;
  /** The store revision that created the key (since its last deletion). */
  createRevision: number;
  /** The store revision of the key's last change. */
  modRevision: number;
  /** How many times the key was written since it was created (1 after the first put). */
  version: number;
  /** The lease the key is bound to, if any. */
  lease?: LeaseId;
}

/**
 * Options of {@link Store.range}.
 *
 * @example await store.range("ips/", { limit: 100, after: "ips/10.0.0.99" })
 */
export interface RangeOptions {
  /** At most this many keys per page (default: all). */
  limit?: number;
  /** Start after this key (exclusive): the last key of the previous page. */
  after?: string;
}

/**
 * One page of a range: keys in byte order.
 *
 * @example
 * for (let page = await store.range("ips/", { limit: 100 }); ; ) {
 *   for (const kv of page.kvs) console.log(kv.key);
 *   if (!page.more) break;
 *   page = await store.range("ips/", { limit: 100, after: page.kvs.at(-1)!.key });
 * }
 */
export interface RangePage {
  /** The keys of this page. */
  kvs: KeyValue[];
  /** True when more keys follow (pass the last key as `after`). */
  more: boolean;
  /** The store revision the page was read at. */
  revision: number;
}

/**
 * Options of {@link Store.put}.
 *
 * @example await store.put("hosts/node1", "10.200.3.0/26", { lease })
 */
export interface PutOptions {
  /** Bind the key to this lease: it is deleted when the lease is revoked or expires. */
  lease?: LeaseId;
}

/**
 * What a write reports: the store revision after it.
 *
 * @example const { revision } = await store.put("a", "1");
 */
export interface WriteResult {
  /** The store revision after the write (unchanged when nothing was deleted). */
  revision: number;
}

/**
 * What a delete reports.
 *
 * @example const { deleted } = await store.delete("owners/c1/eth0");
 */
export interface DeleteResult extends WriteResult {
  /** How many keys were removed (0 when none existed: deleting is idempotent). */
  deleted: number;
}

/**
 * One comparison of a transaction, with etcd's semantics: `create`, `mod` and `version` compare
 * numbers (0 for a missing key, so `{ target: "create", op: "==", value: 0 }` means "does not
 * exist"); `value` compares strings byte-wise and is false whenever the key is missing.
 *
 * @example const absent: Compare = { key: "ips/10.0.0.2", target: "create", op: "==", value: 0 };
 */
export interface Compare {
  /** The key to compare. */
  key: string;
  /** What to compare: create revision, mod revision, value or version. */
  target: "create" | "mod" | "value" | "version";
  /** The comparison: the key's target on the left, `value` on the right. */
  op: "==" | "!=" | "<" | ">";
  /** A number for `create`/`mod`/`version`, a string for `value`. */
  value: number | string;
}

/**
 * One operation of a transaction branch. Operations run in order and all writes of one
 * transaction share one new revision; a `get` or `range` sees the writes before it.
 *
 * @example
 * const ops: TxnOp[] = [{ type: "put", key: "ips/10.0.0.2", value: "c1" }, { type: "get", key: "ips/10.0.0.2" }];
 */
export type TxnOp =
  | { type: "put"; key: string; value: string; lease?: LeaseId }
  | { type: "get"; key: string }
  | { type: "range"; prefix: string; limit?: number }
  | { type: "delete"; key: string }
  | { type: "deletePrefix"; prefix: string };

/**
 * The result of one {@link TxnOp}, in the same order.
 *
 * @example
 * const r: TxnOpResult = { type: "get", kvs: [] }; // a get of a missing key
 */
export type TxnOpResult =
  | { type: "put" }
  | { type: "get"; kvs: KeyValue[] }
  | { type: "range"; kvs: KeyValue[]; more: boolean }
  | { type: "delete"; deleted: number }
  | { type: "deletePrefix"; deleted: number };

/**
 * A transaction: if every `compare` holds, run `success`, else run `failure`.
 *
 * @example
 * const req: TxnRequest = {
 *   compare: [{ key: "ips/10.0.0.2", target: "create", op: "==", value: 0 }],
 *   success: [{ type: "put", key: "ips/10.0.0.2", value: "c1/eth0" }],
 *   failure: [{ type: "get", key: "ips/10.0.0.2" }],
 * };
 */
export interface TxnRequest {
  /** Conditions, all of which must hold (none: always succeeds). */
  compare?: Compare[];
  /** Operations when every comparison holds. */
  success?: TxnOp[];
  /** Operations otherwise. */
  failure?: TxnOp[];
}

/**
 * The outcome of a transaction.
 *
 * @example
 * const { succeeded, results } = await store.txn(req);
 * if (!succeeded) console.log("taken by", (results[0] as { kvs: KeyValue[] }).kvs[0]?.value);
 */
export interface TxnResponse {
  /** True when every comparison held (the `success` branch ran). */
  succeeded: boolean;
  /** One result per operation of the branch that ran. */
  results: TxnOpResult[];
  /** The store revision after the transaction. */
  revision: number;
}

/**
 * One change seen by a watch. A transaction's changes share one revision and arrive in order.
 *
 * @example
 * const e: WatchEvent = { type: "delete", revision: 9, kv: { key: "a", value: "", createRevision: 0, modRevision: 9, version: 0 } };
 */
export interface WatchEvent {
  /** A put (create or update) or a delete (also: lease revoked or expired). */
  type: "put" | "delete";
  /** The key after the change (for a delete: key and `modRevision` only). */
  kv: KeyValue;
  /** The store revision of the change. */
  revision: number;
}

/**
 * Options of {@link Store.watch}.
 *
 * @example store.watch("hosts/", { fromRevision: page.revision + 1, onError: console.error }, onEvent)
 */
export interface WatchOptions {
  /** Deliver changes from this revision on (inclusive); default: changes after the current revision. */
  fromRevision?: number;
  /**
   * Called once when the watch stops for good: the revision asked for was compacted away
   * ({@link WatchCompactedError}), the store rejected the watch, or `onEvent` threw (that error). Disconnects are not errors:
   * the watch resumes from the last revision it delivered.
   */
  onError?: (error: Error) => void;
}

/**
 * A running watch.
 *
 * @example
 * const w = store.watch("hosts/", {}, (e) => console.log(e.type, e.kv.key));
 * await w.ready;
 * w.close();
 */
export interface WatchHandle {
  /** Resolves once the watch is established: changes made after this are delivered. */
  readonly ready: Promise<void>;
  /** Stops the watch; no event is delivered after it returns. */
  close(): void;
}

/**
 * The store: what a plugin or an agent needs to keep state across calls and hosts. Every method
 * may throw {@link StoreUnavailableError}, {@link StoreTimeoutError} or {@link StoreAuthError}.
 *
 * @example
 * const store = await openStore("file:/var/lib/cnikit/store");
 * const r = await store.txn({
 *   compare: [{ key: "ips/10.0.0.2", target: "create", op: "==", value: 0 }],
 *   success: [{ type: "put", key: "ips/10.0.0.2", value: "c1/eth0" }],
 * });
 * await store.close();
 */
export interface Store {
  /** The store's URL as given to `openStore` (TLS file paths included, no secrets). */
  readonly url: string;
  /**
   * One key, or `undefined` when missing.
   * @example const kv = await store.get("hosts/node1");
   */
  get(key: string): Promise<KeyValue | undefined>;
  /**
   * Keys starting with `prefix`, in byte order, one page at a time.
   * @example const { kvs, more } = await store.range("ips/", { limit: 500 });
   */
  range(prefix: string, options?: RangeOptions): Promise<RangePage>;
  /**
   * Creates or replaces a key.
   * @throws LeaseNotFoundError when `lease` does not exist (revoked or expired).
   * @example await store.put("hosts/node1", JSON.stringify({ subnet: "10.200.3.0/26" }));
   */
  put(key: string, value: string, options?: PutOptions): Promise<WriteResult>;
  /**
   * Removes one key (a missing key is not an error: `deleted` is 0).
   * @example await store.delete("owners/c1/eth0");
   */
  delete(key: string): Promise<DeleteResult>;
  /**
   * Removes every key starting with `prefix` ("" removes everything).
   * @example await store.deletePrefix("owners/c1/");
   */
  deletePrefix(prefix: string): Promise<DeleteResult>;
  /**
   * Compares and writes atomically. A failed comparison is not an error: `succeeded` is false.
   * @throws StoreTimeoutError with `outcomeUnknown` when the store may or may not have applied
   *   it: the transaction is never retried blindly; read the keys again and decide.
   * @example const { succeeded } = await store.txn({ compare: [...], success: [...] });
   */
  txn(request: TxnRequest): Promise<TxnResponse>;
  /**
   * The current store revision (1 for an empty store, +1 per write).
   * @example const rev = await store.revision();
   */
  revision(): Promise<number>;
  /**
   * Creates a lease that expires `ttlSeconds` after its grant or last keep-alive.
   * @example const lease = await store.grant(30);
   */
  grant(ttlSeconds: number): Promise<LeaseId>;
  /**
   * Renews a lease; answers its TTL in seconds.
   * @throws LeaseNotFoundError when it was revoked or has expired.
   * @example setInterval(() => void store.keepAlive(lease), 10_000);
   */
  keepAlive(id: LeaseId): Promise<number>;
  /**
   * Revokes a lease and deletes its keys (an unknown lease is not an error).
   * @example await store.revoke(lease);
   */
  revoke(id: LeaseId): Promise<void>;
  /**
   * Watches the keys starting with `prefix`; `onEvent` is called in revision order.
   * @example const w = store.watch("hosts/", {}, (e) => console.log(e.type, e.kv.key));
   */
  watch(prefix: string, options: WatchOptions, onEvent: (event: WatchEvent) => void): WatchHandle;
  /**
   * Stops every watch and releases connections.
   * @example await store.close();
   */
  close(): Promise<void>;
}
