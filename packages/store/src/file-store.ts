/**
 * The `file:` backend: a directory on one machine. Layout:
 *
 * - `state.json` — every key, lease, the revision and the last 2000 events, one JSON document,
 *   replaced whole on every write (temporary file + fsync + rename + fsync of the directory), so
 *   readers never take the lock and never see half a write;
 * - `lock` — the writers' lock (O_EXCL, holds `<pid> <hostname>`; see file-lock.ts);
 * - `state.json.<pid>.<n>.tmp` — a write in progress (a crashed writer's leftovers are ignored).
 *
 * Leases use wall-clock time: reads hide the keys of expired leases, the next write (or the sweep
 * a watcher runs when it sees an expired lease) deletes them with a revision and delete events.
 * Watches poll the file (every 100 ms by default, sooner when fs.watch reports a change).
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import { type FSWatcher, watch as fsWatch } from "node:fs";
import { mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { StoreError, WatchCompactedError } from "./errors.js";
import { FileLock, fsError } from "./file-lock.js";
import { KvState } from "./kv-state.js";
import type {
  DeleteResult,
  KeyValue,
  LeaseId,
  PutOptions,
  RangeOptions,
  RangePage,
  Store,
  TxnOp,
  TxnRequest,
  TxnResponse,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteResult,
} from "./types.js";

/** Options of the file backend. */
export interface FileStoreOptions {
  /** How long a write waits for the lock before {@link StoreTimeoutError} (default 5000 ms). */
  timeoutMs?: number;
  /** How often a watch reads the state file (default 100 ms). */
  pollIntervalMs?: number;
  /** fsync the state file and directory on every write (default true). */
  fsync?: boolean;
}

let tmpSeq = 0;

/** The `file:` backend. */
export class FileStore implements Store {
  private readonly statePath: string;
  private readonly lock: FileLock;
  private readonly timeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly fsync: boolean;
  private queue: Promise<unknown> = Promise.resolve();
  private dirReady = false;
  private readonly watches = new Set<WatchHandle>();
  private cached: { stamp: string; text: string; state: KvState } | undefined;

  constructor(
    readonly url: string,
    readonly dir: string,
    options: FileStoreOptions = {},
  ) {
    this.statePath = join(dir, "state.json");
    this.lock = new FileLock(join(dir, "lock"));
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.pollIntervalMs = options.pollIntervalMs ?? 100;
    this.fsync = options.fsync ?? true;
  }

  /** Identifies the current state file (a write replaces it: a new inode). */
  private async stamp(): Promise<string> {
    const st = await stat(this.statePath).catch(() => undefined);
    return st ? `${st.ino}/${st.mtimeMs}/${st.size}` : "none";
  }

  /**
   * The state file's text and parsed state, cached by inode/mtime/size: a read that finds the
   * file unchanged costs one stat. The stamp is taken from the open file itself, so the cache
   * never pairs an old stamp with new text.
   */
  private async load(): Promise<{ stamp: string; text: string; state: KvState }> {
    const stamp = await this.stamp();
    if (this.cached?.stamp === stamp) return this.cached;
    let text = "";
    let actual = "none";
    try {
      const fh = await open(this.statePath, "r");
      try {
        const st = await fh.stat();
        actual = `${st.ino}/${st.mtimeMs}/${st.size}`;
        text = await fh.readFile("utf8");
      } finally {
        await fh.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fsError(`read ${this.statePath}`, err);
    }
    let state: KvState;
    try {
      state = KvState.parse(text);
    } catch (err) {
      throw err instanceof StoreError
        ? err
        : new StoreError("invalid", `file store: ${this.statePath} does not parse: ${(err as Error).message}`, {
            cause: err,
          });
    }
    this.cached = { stamp: actual, text, state };
    return this.cached;
  }

  /** The state as last written (no lock: rename makes every read whole). Shared: never change it. */
  private async read(): Promise<KvState> {
    return (await this.load()).state;
  }

  /** A private copy of the state as last written, to change under the lock. */
  private async readForUpdate(): Promise<KvState> {
    return KvState.parse((await this.load()).text);
  }

  private async write(state: KvState): Promise<void> {
    const tmp = `${this.statePath}.${process.pid}.${++tmpSeq}.tmp`;
    try {
      const fd = await open(tmp, "w", 0o644);
      try {
        await fd.writeFile(state.serialize());
        if (this.fsync) await fd.sync();
      } finally {
        await fd.close();
      }
      await rename(tmp, this.statePath);
      if (this.fsync) {
        const dirFd = await open(this.dir, "r");
        try {
          await dirFd.sync();
        } finally {
          await dirFd.close();
        }
      }
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw fsError(`write ${this.statePath}`, err);
    }
  }

  /** Runs `change` on a fresh read under the lock (one at a time in this process too). */
  private mutate<T>(
    change: (state: KvState, now: number) => T,
    answerWithoutLock?: (state: KvState, now: number) => T | undefined,
  ): Promise<T> {
    const run = async (): Promise<T> => {
      const deadline = Date.now() + this.timeoutMs;
      if (!this.dirReady) {
        await mkdir(this.dir, { recursive: true }).catch((err: unknown) => {
          throw fsError(`create ${this.dir}`, err);
        });
        this.dirReady = true;
      }
      let release: (() => Promise<void>) | undefined;
      let early: T | undefined;
      let seen = await this.stamp();
      const giveUp = answerWithoutLock
        ? async () => {
            const now = await this.stamp();
            if (now === seen) return false; // nothing written since the last look
            seen = now;
            early = answerWithoutLock(await this.read(), Date.now());
            return early !== undefined;
          }
        : undefined;
      try {
        release = await this.lock.acquire(deadline, giveUp);
      } catch (err) {
        throw fsError("lock", err);
      }
      if (release === undefined) return early as T;
      try {
        const state = await this.readForUpdate();
        const now = Date.now();
        state.expireLeases(now);
        const result = change(state, now);
        if (state.dirty) await this.write(state);
        return result;
      } finally {
        await release().catch(() => undefined);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    return (await this.read()).get(key, Date.now());
  }

  async range(prefix: string, options: RangeOptions = {}): Promise<RangePage> {
    const state = await this.read();
    return { ...state.range(prefix, Date.now(), options.limit, options.after), revision: state.revision };
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<WriteResult> {
    const op = options.lease === undefined ? { key, value } : { key, value, lease: options.lease };
    const r = await this.txn({ success: [{ type: "put", ...op }] });
    return { revision: r.revision };
  }

  async delete(key: string): Promise<DeleteResult> {
    const r = await this.txn({ success: [{ type: "delete", key }] });
    return { deleted: (r.results[0] as { deleted: number }).deleted, revision: r.revision };
  }

  async deletePrefix(prefix: string): Promise<DeleteResult> {
    const r = await this.txn({ success: [{ type: "deletePrefix", prefix }] });
    return { deleted: (r.results[0] as { deleted: number }).deleted, revision: r.revision };
  }

  async txn(request: TxnRequest): Promise<TxnResponse> {
    const readOnly = (ops: TxnOp[] = []) => ops.every((op) => op.type === "get" || op.type === "range");
    if (readOnly(request.failure)) {
      // Without the lock first: the file is always a whole, latest state, so when the comparison
      // fails there (or nothing writes) that answer is linearizable and no writer is held up.
      const snapshot = await this.read();
      const now = Date.now();
      if (readOnly(request.success) || !snapshot.compares(request, now)) return snapshot.txn(request, now);
      // while waiting for the lock: the same, each time the state changes
      return this.mutate(
        (s, t) => s.txn(request, t),
        (s, t) => (s.compares(request, t) ? undefined : s.txn(request, t)),
      );
    }
    return this.mutate((s, now) => s.txn(request, now));
  }

  async revision(): Promise<number> {
    return (await this.read()).revision;
  }

  grant(ttlSeconds: number): Promise<LeaseId> {
    if (!(ttlSeconds > 0)) return Promise.reject(new StoreError("invalid", `lease TTL must be > 0, got ${ttlSeconds}`));
    return this.mutate((s, now) => s.grant(ttlSeconds, now));
  }

  keepAlive(id: LeaseId): Promise<number> {
    return this.mutate((s, now) => s.keepAlive(id, now));
  }

  async revoke(id: LeaseId): Promise<void> {
    await this.mutate((s) => s.revoke(id));
  }

  /** Deletes the keys of expired leases now (writes only when there are some). */
  async sweep(): Promise<void> {
    await this.mutate(() => undefined);
  }

  watch(prefix: string, options: WatchOptions, onEvent: (event: WatchEvent) => void): WatchHandle {
    let next = options.fromRevision;
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;
    let seen = "";
    let polling = false;
    let sweeping = false;
    const stop = (err?: Error) => {
      closed = true;
      clearTimeout(timer);
      watcher?.close();
      this.watches.delete(handle);
      if (err) options.onError?.(err);
    };
    const poll = async (): Promise<void> => {
      if (closed || polling) return;
      polling = true;
      try {
        const stamp = await this.stamp();
        if (stamp === seen) return;
        const state = await this.read();
        seen = stamp;
        if (next === undefined) next = state.revision + 1;
        if (state.revision >= next) {
          if (next < state.historyFrom) {
            stop(new WatchCompactedError(`file store: revision ${next} is no longer kept`, state.historyFrom));
            return;
          }
          for (const e of state.eventsFrom(next, prefix)) {
            if (closed) return;
            try {
              onEvent(e);
            } catch (err) {
              stop(err instanceof Error ? err : new Error(String(err)));
              return;
            }
          }
          next = state.revision + 1;
        }
        if (!sweeping && state.hasExpired(Date.now())) {
          sweeping = true;
          void this.sweep()
            .catch(() => undefined)
            .finally(() => {
              sweeping = false;
            });
        }
      } catch (err) {
        if (err instanceof StoreError && err.code === "invalid") stop(err);
        // anything else (a transient read error): try again at the next tick
      } finally {
        polling = false;
        if (!closed) {
          clearTimeout(timer);
          timer = setTimeout(() => void poll(), this.pollIntervalMs);
        }
      }
    };
    const ready = poll();
    try {
      watcher = fsWatch(this.dir, { persistent: false }, (_event, file) => {
        if (file === "state.json") void poll();
      });
      watcher.on("error", () => watcher?.close());
    } catch {
      // no directory yet, or no inotify: polling alone
    }
    const handle: WatchHandle = { ready, close: () => stop() };
    this.watches.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    for (const w of [...this.watches]) w.close();
    await this.queue;
  }
}
