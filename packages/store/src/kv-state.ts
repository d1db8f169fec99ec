/**
 * The file backend's state machine: etcd's revision, transaction and lease semantics over one
 * in-memory snapshot that the file store reads, changes under its lock and writes back whole.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import { LeaseNotFoundError, StoreError } from "./errors.js";
import { compareKeys } from "./key-order.js";
import type { Compare, KeyValue, TxnOp, TxnOpResult, TxnRequest, TxnResponse, WatchEvent } from "./types.js";

/** One key on disk: [value, createRevision, modRevision, version, lease?]. */
type KvRecord = [string, number, number, number, string?];
/** One event on disk: [revision, "p" | "d", key, value, createRevision, version, lease?]. */
type EventRecord = [number, "p" | "d", string, string, number, number, string?];

/** The JSON document of `state.json`. */
interface StateDocument {
  format: 1;
  revision: number;
  leaseSeq: number;
  /** Events are kept for revisions >= historyFrom. */
  historyFrom: number;
  kvs: [string, ...KvRecord][];
  leases: [string, number, number][];
  events: EventRecord[];
}

interface Lease {
  ttl: number;
  expiresAt: number;
}

/** How many events the file keeps for watchers that fall behind. */
export const HISTORY_EVENTS = 2000;

function toKv(key: string, r: KvRecord): KeyValue {
  const kv: KeyValue = { key, value: r[0], createRevision: r[1], modRevision: r[2], version: r[3] };
  if (r[4] !== undefined) kv.lease = r[4];
  return kv;
}

function compareOne(c: Compare, r: KvRecord | undefined): boolean {
  let cmp: number;
  if (c.target === "value") {
    if (r === undefined) return false; // etcd: a value comparison on a missing key always fails
    cmp = compareKeys(r[0], String(c.value));
  } else {
    const actual = r === undefined ? 0 : c.target === "create" ? r[1] : c.target === "mod" ? r[2] : r[3];
    cmp = actual - Number(c.value);
  }
  switch (c.op) {
    case "==":
      return cmp === 0;
    case "!=":
      return cmp !== 0;
    case "<":
      return cmp < 0;
    case ">":
      return cmp > 0;
  }
}

/** The store's state: keys, leases, the revision and a bounded event history. */
export class KvState {
  revision = 1;
  leaseSeq = 0;
  historyFrom = 1;
  readonly kvs = new Map<string, KvRecord>();
  readonly leases = new Map<string, Lease>();
  events: EventRecord[] = [];
  /** True when something changed since it was read (the file must be written). */
  dirty = false;

  /** Parses `state.json` (an empty text is a new store). */
  static parse(text: string): KvState {
    const s = new KvState();
    if (text === "") return s;
    const doc = JSON.parse(text) as StateDocument;
    if (doc.format !== 1) throw new StoreError("invalid", `state.json: unknown format ${String(doc.format)}`);
    s.revision = doc.revision;
    s.leaseSeq = doc.leaseSeq;
    s.historyFrom = doc.historyFrom;
    for (const [key, ...rec] of doc.kvs) s.kvs.set(key, rec);
    for (const [id, ttl, expiresAt] of doc.leases) s.leases.set(id, { ttl, expiresAt });
    s.events = doc.events;
    return s;
  }

  /** The `state.json` text. */
  serialize(): string {
    const doc: StateDocument = {
      format: 1,
      revision: this.revision,
      leaseSeq: this.leaseSeq,
      historyFrom: this.historyFrom,
      kvs: [...this.kvs].map(([key, rec]) => [key, ...rec]),
      leases: [...this.leases].map(([id, l]) => [id, l.ttl, l.expiresAt]),
      events: this.events,
    };
    return JSON.stringify(doc);
  }

  /** Whether a key is visible at `now`: not bound to an expired or missing lease. */
  private visible(r: KvRecord, now: number): boolean {
    if (r[4] === undefined) return true;
    const lease = this.leases.get(r[4]);
    return lease !== undefined && lease.expiresAt > now;
  }

  /** One visible key. */
  get(key: string, now: number): KeyValue | undefined {
    const r = this.kvs.get(key);
    return r && this.visible(r, now) ? toKv(key, r) : undefined;
  }

  /** Visible keys with `prefix` after `after`, in byte order, at most `limit`. */
  range(prefix: string, now: number, limit?: number, after?: string): { kvs: KeyValue[]; more: boolean } {
    const keys = [...this.kvs.keys()]
      .filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0))
      .filter((k) => this.visible(this.kvs.get(k) as KvRecord, now))
      .sort(compareKeys);
    const page = limit !== undefined && limit > 0 ? keys.slice(0, limit) : keys;
    return { kvs: page.map((k) => toKv(k, this.kvs.get(k) as KvRecord)), more: page.length < keys.length };
  }

  /** True when some lease has expired (its keys are still on disk). */
  hasExpired(now: number): boolean {
    for (const l of this.leases.values()) if (l.expiresAt <= now) return true;
    return false;
  }

  /** Revokes every expired lease (one revision per lease that had keys). */
  expireLeases(now: number): void {
    for (const [id, l] of this.leases) if (l.expiresAt <= now) this.revoke(id);
  }

  /** Removes a lease and its keys; false when there was no such lease. */
  revoke(id: string): boolean {
    if (!this.leases.delete(id)) return false;
    this.dirty = true;
    const keys = [...this.kvs].filter(([, r]) => r[4] === id).map(([k]) => k);
    if (keys.length > 0) {
      const rev = this.revision + 1;
      for (const k of keys.sort(compareKeys)) this.deleteKey(k, rev);
      this.commit(rev);
    }
    return true;
  }

  /** Creates a lease. */
  grant(ttlSeconds: number, now: number): string {
    this.leaseSeq += 1;
    const id = String(this.leaseSeq);
    this.leases.set(id, { ttl: ttlSeconds, expiresAt: now + ttlSeconds * 1000 });
    this.dirty = true;
    return id;
  }

  /** Renews a lease; its TTL in seconds. */
  keepAlive(id: string, now: number): number {
    const l = this.leases.get(id);
    if (!l || l.expiresAt <= now) throw new LeaseNotFoundError(`lease ${id} not found`);
    l.expiresAt = now + l.ttl * 1000;
    this.dirty = true;
    return l.ttl;
  }

  /** Runs a transaction (see {@link TxnRequest}); writes share one new revision. */
  /** Whether every comparison of `req` holds. */
  compares(req: TxnRequest, now: number): boolean {
    return (req.compare ?? []).every((c) => {
      const r = this.kvs.get(c.key);
      return compareOne(c, r && this.visible(r, now) ? r : undefined);
    });
  }

  txn(req: TxnRequest, now: number): TxnResponse {
    const succeeded = this.compares(req, now);
    const ops = (succeeded ? req.success : req.failure) ?? [];
    this.check(ops, now);
    const rev = this.revision + 1;
    let wrote = false;
    const results: TxnOpResult[] = [];
    for (const op of ops) {
      switch (op.type) {
        case "put": {
          const old = this.kvs.get(op.key);
          const live = old && this.visible(old, now) ? old : undefined;
          const rec: KvRecord = [op.value, live ? live[1] : rev, rev, live ? live[3] + 1 : 1];
          if (op.lease !== undefined) rec.push(op.lease);
          this.kvs.set(op.key, rec);
          const event: EventRecord = [rev, "p", op.key, op.value, rec[1], rec[3]];
          if (op.lease !== undefined) event.push(op.lease);
          this.events.push(event);
          wrote = true;
          results.push({ type: "put" });
          break;
        }
        case "get": {
          const kv = this.get(op.key, now);
          results.push({ type: "get", kvs: kv ? [kv] : [] });
          break;
        }
        case "range":
          results.push({ type: "range", ...this.range(op.prefix, now, op.limit) });
          break;
        case "delete":
        case "deletePrefix": {
          const keys =
            op.type === "delete"
              ? this.kvs.has(op.key)
                ? [op.key]
                : []
              : [...this.kvs.keys()].filter((k) => k.startsWith(op.prefix)).sort(compareKeys);
          const live = keys.filter((k) => this.visible(this.kvs.get(k) as KvRecord, now));
          for (const k of keys) this.deleteKey(k, rev, !live.includes(k));
          if (live.length > 0) wrote = true;
          results.push({ type: op.type, deleted: live.length });
          break;
        }
      }
    }
    if (wrote) this.commit(rev);
    return { succeeded, results, revision: this.revision };
  }

  /** Rejects what etcd rejects before applying anything: unknown leases, a key written twice. */
  private check(ops: TxnOp[], now: number): void {
    const written = new Set<string>();
    for (const op of ops) {
      if (op.type === "put") {
        if (op.lease !== undefined) {
          const l = this.leases.get(op.lease);
          if (!l || l.expiresAt <= now) throw new LeaseNotFoundError(`lease ${op.lease} not found`);
        }
        if (written.has(op.key)) throw new StoreError("invalid", `duplicate key given in txn request: ${op.key}`);
        written.add(op.key);
      } else if (op.type === "delete") {
        if (written.has(op.key)) throw new StoreError("invalid", `duplicate key given in txn request: ${op.key}`);
        written.add(op.key);
      }
    }
  }

  private deleteKey(key: string, rev: number, silent = false): void {
    this.kvs.delete(key);
    if (!silent) this.events.push([rev, "d", key, "", 0, 0]);
  }

  private commit(rev: number): void {
    this.revision = rev;
    this.dirty = true;
    if (this.events.length > HISTORY_EVENTS) {
      // drop whole revisions from the front
      let cut = this.events.length - HISTORY_EVENTS;
      const last = (this.events[cut - 1] as EventRecord)[0];
      while (cut < this.events.length && (this.events[cut] as EventRecord)[0] === last) cut++;
      this.events = this.events.slice(cut);
      this.historyFrom = last + 1;
    }
  }

  /** Events with revision >= `from` for keys starting with `prefix`. */
  eventsFrom(from: number, prefix: string): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (const [rev, t, key, value, create, version, lease] of this.events) {
      if (rev < from || !key.startsWith(prefix)) continue;
      const kv: KeyValue =
        t === "p"
          ? { key, value, createRevision: create, modRevision: rev, version }
          : { key, value: "", createRevision: 0, modRevision: rev, version: 0 };
      if (lease !== undefined) kv.lease = lease;
      out.push({ type: t === "p" ? "put" : "delete", kv, revision: rev });
    }
    return out;
  }
}
