/**
 * One conformance suite for every backend: the same calls must give the same answers (etcd's
 * semantics) on the file store and on a real etcd. Each test works under its own key prefix, so
 * one store can serve the whole suite.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseNotFoundError, type Store, StoreError, type WatchEvent } from "../src/index.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Registers the suite; `open` is called once (beforeAll), `close` once (afterAll). */
export function storeConformance(name: string, open: () => Promise<Store>, options: { leaseExpiryMs?: number } = {}) {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    const p = () => `t-${randomBytes(4).toString("hex")}/`;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it("get/put: revisions and versions as etcd counts them", async () => {
      const k = `${p()}a`;
      expect(await store.get(k)).toBeUndefined();
      const r0 = await store.revision();
      const { revision: r1 } = await store.put(k, "one");
      expect(r1).toBeGreaterThan(r0);
      expect(await store.get(k)).toEqual({ key: k, value: "one", createRevision: r1, modRevision: r1, version: 1 });
      const { revision: r2 } = await store.put(k, "two ✓");
      expect(r2).toBe(r1 + 1);
      expect(await store.get(k)).toEqual({ key: k, value: "two ✓", createRevision: r1, modRevision: r2, version: 2 });
      expect(await store.revision()).toBeGreaterThanOrEqual(r2);
    });

    it("range: prefix only, byte order, pages with limit/after", async () => {
      const pre = p();
      const other = p();
      for (const k of ["b", "a", "c/1", "c", "d", "\u{1f600}", "\uff5e"]) await store.put(pre + k, k);
      await store.put(`${other}x`, "x");
      await store.put(pre.slice(0, -1), "not under the prefix");
      const all = await store.range(pre);
      expect(all.kvs.map((kv) => kv.key.slice(pre.length))).toEqual(["a", "b", "c", "c/1", "d", "\uff5e", "\u{1f600}"]);
      expect(all.more).toBe(false);
      expect(all.revision).toBeGreaterThan(0);
      const seen: string[] = [];
      let page = await store.range(pre, { limit: 3 });
      for (;;) {
        expect(page.kvs.length).toBeLessThanOrEqual(3);
        seen.push(...page.kvs.map((kv) => kv.value));
        if (!page.more) break;
        page = await store.range(pre, { limit: 3, after: page.kvs.at(-1)!.key });
      }
      expect(seen).toEqual(["a", "b", "c", "c/1", "d", "\uff5e", "\u{1f600}"]);
      expect((await store.range(p())).kvs).toEqual([]);
    });

    it("delete and deletePrefix: idempotent; a delete of nothing is no write", async () => {
      const pre = p();
      const missing = await store.delete(`${pre}nope`);
      expect(missing.deleted).toBe(0);
      await store.put(`${pre}a`, "1");
      await store.put(`${pre}b/1`, "1");
      await store.put(`${pre}b/2`, "1");
      const before = await store.revision();
      expect((await store.delete(`${pre}a`)).deleted).toBe(1);
      expect((await store.delete(`${pre}a`)).deleted).toBe(0);
      const d = await store.deletePrefix(`${pre}b/`);
      expect(d.deleted).toBe(2);
      expect(d.revision).toBe(before + 2);
      expect((await store.deletePrefix(pre)).deleted).toBe(0);
      expect((await store.range(pre)).kvs).toEqual([]);
    });

    it("txn: create-if-absent, compare-and-swap, failure branch", async () => {
      const k = `${p()}ip`;
      const claim = (owner: string) =>
        store.txn({
          compare: [{ key: k, target: "create", op: "==", value: 0 }],
          success: [{ type: "put", key: k, value: owner }],
          failure: [{ type: "get", key: k }],
        });
      const first = await claim("c1");
      expect(first.succeeded).toBe(true);
      expect(first.results).toEqual([{ type: "put" }]);
      const second = await claim("c2");
      expect(second.succeeded).toBe(false);
      expect(second.results).toMatchObject([{ type: "get", kvs: [{ key: k, value: "c1", version: 1 }] }]);
      expect(second.revision).toBe(first.revision);

      const kv = (await store.get(k))!;
      const cas = (mod: number, value: string) =>
        store.txn({
          compare: [{ key: k, target: "mod", op: "==", value: mod }],
          success: [{ type: "put", key: k, value }],
        });
      expect((await cas(kv.modRevision, "c3")).succeeded).toBe(true);
      const stale = await cas(kv.modRevision, "c4");
      expect(stale).toMatchObject({ succeeded: false, results: [] });
      expect((await store.get(k))?.value).toBe("c3");
    });

    it("txn: value/version comparisons; a value comparison on a missing key is false", async () => {
      const pre = p();
      await store.put(`${pre}v`, "m");
      const t = (c: Parameters<Store["txn"]>[0]["compare"]) => store.txn({ compare: c! }).then((r) => r.succeeded);
      expect(await t([{ key: `${pre}v`, target: "value", op: "==", value: "m" }])).toBe(true);
      expect(await t([{ key: `${pre}v`, target: "value", op: "<", value: "n" }])).toBe(true);
      expect(await t([{ key: `${pre}v`, target: "value", op: ">", value: "n" }])).toBe(false);
      expect(await t([{ key: `${pre}v`, target: "value", op: "!=", value: "m" }])).toBe(false);
      expect(await t([{ key: `${pre}v`, target: "version", op: "==", value: 1 }])).toBe(true);
      expect(await t([{ key: `${pre}v`, target: "version", op: ">", value: 1 }])).toBe(false);
      expect(await t([{ key: `${pre}none`, target: "value", op: "!=", value: "x" }])).toBe(false);
      expect(await t([{ key: `${pre}none`, target: "value", op: "==", value: "" }])).toBe(false);
      expect(await t([{ key: `${pre}none`, target: "version", op: "==", value: 0 }])).toBe(true);
      expect(await t([{ key: `${pre}none`, target: "mod", op: "<", value: 1 }])).toBe(true);
      expect(await t([])).toBe(true);
      // every comparison must hold
      expect(
        await t([
          { key: `${pre}v`, target: "value", op: "==", value: "m" },
          { key: `${pre}none`, target: "create", op: ">", value: 0 },
        ]),
      ).toBe(false);
    });

    it("txn: writes share one revision, later reads see earlier writes", async () => {
      const pre = p();
      await store.put(`${pre}old/1`, "x");
      const r = await store.txn({
        success: [
          { type: "put", key: `${pre}a`, value: "1" },
          { type: "put", key: `${pre}b`, value: "2" },
          { type: "deletePrefix", prefix: `${pre}old/` },
          { type: "range", prefix: pre },
          { type: "get", key: `${pre}a` },
        ],
      });
      expect(r.succeeded).toBe(true);
      const [a, b] = [await store.get(`${pre}a`), await store.get(`${pre}b`)];
      expect(a?.modRevision).toBe(r.revision);
      expect(b?.modRevision).toBe(r.revision);
      expect(r.results[2]).toEqual({ type: "deletePrefix", deleted: 1 });
      expect(r.results[3]).toMatchObject({ type: "range", more: false, kvs: [{ value: "1" }, { value: "2" }] });
      expect(r.results[4]).toMatchObject({ type: "get", kvs: [{ key: `${pre}a`, modRevision: r.revision }] });
    });

    it("txn: a key written twice in one transaction is rejected, nothing applied", async () => {
      const k = `${p()}dup`;
      await expect(
        store.txn({
          success: [
            { type: "put", key: k, value: "1" },
            { type: "put", key: k, value: "2" },
          ],
        }),
      ).rejects.toMatchObject({ code: "invalid" });
      expect(await store.get(k)).toBeUndefined();
    });

    it("leases: keys vanish on revoke; a revoked lease is not found", async () => {
      const pre = p();
      const lease = await store.grant(30);
      expect(lease).toMatch(/^\d+$/);
      await store.put(`${pre}a`, "1", { lease });
      await store.put(`${pre}b`, "2", { lease });
      await store.put(`${pre}c`, "3");
      expect((await store.get(`${pre}a`))?.lease).toBe(lease);
      expect(await store.keepAlive(lease)).toBeGreaterThan(0);
      await store.revoke(lease);
      expect((await store.range(pre)).kvs.map((kv) => kv.key)).toEqual([`${pre}c`]);
      await expect(store.keepAlive(lease)).rejects.toBeInstanceOf(LeaseNotFoundError);
      await expect(store.put(`${pre}d`, "4", { lease })).rejects.toBeInstanceOf(LeaseNotFoundError);
      await expect(store.put(`${pre}d`, "4", { lease })).rejects.toBeInstanceOf(StoreError);
      await store.revoke(lease); // idempotent
      await expect(store.grant(0)).rejects.toMatchObject({ code: "invalid" });
    });

    it("leases: keys vanish when the lease expires", async () => {
      const pre = p();
      const lease = await store.grant(1);
      await store.put(`${pre}a`, "1", { lease });
      expect(await store.get(`${pre}a`)).toBeDefined();
      const ms = await until("the lease to expire", options.leaseExpiryMs ?? 6000, async () => {
        const t0 = Date.now();
        return (await store.get(`${pre}a`)) === undefined ? t0 : undefined;
      });
      expect(ms).toBeGreaterThan(0);
      await expect(store.keepAlive(lease)).rejects.toBeInstanceOf(LeaseNotFoundError);
    });

    it("watch: put/delete events in revision order from a revision, history included, none after close", async () => {
      const pre = p();
      const r1 = (await store.put(`${pre}a`, "1")).revision;
      await store.put(`${p()}elsewhere`, "x");
      const events: WatchEvent[] = [];
      const w = store.watch(pre, { fromRevision: r1 }, (e) => events.push(e));
      await w.ready;
      await store.put(`${pre}b`, "2");
      const t = await store.txn({
        success: [
          { type: "put", key: `${pre}a`, value: "3" },
          { type: "delete", key: `${pre}b` },
        ],
      });
      await until("4 events", 5000, async () => (events.length >= 4 ? true : undefined));
      expect(events.map((e) => [e.type, e.kv.key.slice(pre.length), e.kv.value])).toEqual([
        ["put", "a", "1"],
        ["put", "b", "2"],
        ["put", "a", "3"],
        ["delete", "b", ""],
      ]);
      expect(events[0]?.revision).toBe(r1);
      expect(events[2]?.revision).toBe(t.revision);
      expect(events[3]?.revision).toBe(t.revision);
      expect(events[2]?.kv).toMatchObject({ createRevision: r1, modRevision: t.revision, version: 2 });
      w.close();
      await store.put(`${pre}c`, "after close");
      await sleep(300);
      expect(events).toHaveLength(4);
    });

    it("watch: a throwing onEvent stops the watch and goes to onError", async () => {
      const pre = p();
      const errors: Error[] = [];
      let calls = 0;
      const w = store.watch(pre, { onError: (e) => errors.push(e) }, () => {
        calls++;
        throw new Error("handler broke");
      });
      await w.ready;
      await store.put(`${pre}a`, "1");
      await until("onError", 5000, async () => (errors.length > 0 ? true : undefined));
      await store.put(`${pre}b`, "2");
      await sleep(300);
      expect(errors.map((e) => e.message)).toEqual(["handler broke"]);
      expect(calls).toBe(1);
      w.close();
    });

    it("watch: without fromRevision, only changes after ready", async () => {
      const pre = p();
      await store.put(`${pre}before`, "x");
      const events: WatchEvent[] = [];
      const w = store.watch(pre, {}, (e) => events.push(e));
      await w.ready;
      const { revision } = await store.put(`${pre}after`, "y");
      await until("the event", 5000, async () => (events.length >= 1 ? true : undefined));
      w.close();
      expect(events).toEqual([
        {
          type: "put",
          revision,
          kv: { key: `${pre}after`, value: "y", createRevision: revision, modRevision: revision, version: 1 },
        },
      ]);
    });
  });
}
