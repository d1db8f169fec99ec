/**
 * When this host's lease was last renewed, remembered across calls, so that a call within a tenth
 * of the lease's TTL after the last renewal skips the keep-alive (one round trip to the store
 * instead of two). A long-lived process (cnikit-agent) remembers in memory; a one-shot process
 * leaves a small file in `runDir` for the next one: `<runDir>/lease-<hash>.json`, holding the store
 * URL and host key it is for, the lease id, when it was renewed and its TTL. It is read with one
 * `readFileSync` and replaced atomically (written beside, then renamed) after each renewal.
 *
 * A memo only ever saves a renewal while the lease is certainly live: the caller has just read
 * `hosts/<node>` bound to that very lease (so the lease exists), and the memo says it was renewed
 * (or granted) less than TTL/10 ago by this host's clock. A different lease id (the key was
 * re-created), a clock that went backwards, a missing, unreadable, foreign or malformed file, or a
 * `runDir` that cannot be written: each only means renewing as before.
 */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";

/** One renewal: the lease, when it was sent (ms since the epoch), the lease's TTL (s). */
export interface Renewal {
  lease: string;
  at: number;
  ttl: number;
}

/** The renewals this process made or read, per memo key. */
const inMemory = new Map<string, Renewal>();

/** A 64-bit FNV-1a of `s`, as 16 hex digits (a file name; the file holds the full key). */
function fileHash(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(s.charCodeAt(i))) * 0x100000001b3n);
  return h.toString(16).padStart(16, "0");
}

function isRenewal(v: unknown): v is Renewal & { key: string } {
  if (typeof v !== "object" || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.key === "string" &&
    typeof r.lease === "string" &&
    typeof r.at === "number" &&
    Number.isFinite(r.at) &&
    typeof r.ttl === "number" &&
    r.ttl > 0
  );
}

/** The memo of one host key in one store. */
export class RenewalMemo {
  private readonly file: string;

  /**
   * @param key the store URL and the host key, identifying the lease's key
   * @param runDir where one-shot calls leave the memo for the next
   */
  constructor(
    private readonly key: string,
    private readonly runDir: string,
  ) {
    this.file = `${runDir}/lease-${fileHash(key)}.json`;
  }

  /**
   * True when `lease` was renewed less than a tenth of its TTL (and of `ttlSeconds`) before `now`.
   *
   * @example if (!memo.fresh(host.lease, 3600, Date.now())) await store.keepAlive(host.lease);
   */
  fresh(lease: string, ttlSeconds: number, now: number): boolean {
    let last = inMemory.get(this.key);
    if (last?.lease !== lease) {
      last = this.read();
      if (last) inMemory.set(this.key, last);
    }
    if (last?.lease !== lease) return false;
    const age = now - last.at;
    return age >= 0 && age < (Math.min(last.ttl, ttlSeconds) * 1000) / 10;
  }

  /**
   * Reads the memo left in `runDir` unless this process has one already: called while a request
   * to the store is on its way, so that {@link fresh} finds it in memory.
   *
   * @example const pending = store.txn(request); memo.prefetch(); const r = await pending;
   */
  prefetch(): void {
    if (inMemory.has(this.key)) return;
    const last = this.read();
    if (last) inMemory.set(this.key, last);
  }

  /**
   * Remembers a renewal (in memory, and in `runDir` when it can be written; failures are ignored).
   *
   * @example memo.record({ lease, at: sentAt, ttl: await store.keepAlive(lease) });
   */
  record(renewal: Renewal): void {
    inMemory.set(this.key, renewal);
    const text = JSON.stringify({ key: this.key, ...renewal });
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      try {
        writeFileSync(tmp, text, { mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        mkdirSync(this.runDir, { recursive: true, mode: 0o700 });
        writeFileSync(tmp, text, { mode: 0o600 });
      }
      renameSync(tmp, this.file);
    } catch {
      // not writable: the next one-shot call renews as before
      try {
        unlinkSync(tmp);
      } catch {
        // never written
      }
    }
  }

  private read(): Renewal | undefined {
    try {
      const v: unknown = JSON.parse(readFileSync(this.file, "utf8"));
      // a hash collision or a hand-edited file: not this key's memo
      if (!isRenewal(v) || v.key !== this.key) return undefined;
      return { lease: v.lease, at: v.at, ttl: v.ttl };
    } catch {
      return undefined;
    }
  }
}
