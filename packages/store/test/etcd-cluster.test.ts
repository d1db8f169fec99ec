/**
 * The etcd backend against a real 3-member cluster: the leader SIGKILLed during a stream of CAS
 * increments (no lost or duplicated increment; every call succeeds or fails with a typed error
 * within the budget; calls succeed after the election), over the JSON gateway and over gRPC, the
 * conformance suite over gRPC, and a watch across a member restart.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EtcdStore } from "../src/etcd-store.js";
import { openStore, type Store, StoreTimeoutError, StoreUnavailableError, type WatchEvent } from "../src/index.js";
import { type EtcdCluster, etcdAvailable, startEtcdCluster } from "../src/testing.js";
import { storeConformance } from "./conformance.js";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const BUDGET = 5000;
const CALL = 400;

type Outcome = { op: string; ok: boolean; unknown: boolean; ms: number; at: number; error?: unknown };

/** One CAS increment: counter n -> n+1 and inc/<n+1> = op, in one transaction. */
async function increment(store: Store, op: string): Promise<"done" | "conflict"> {
  const kv = await store.get("counter");
  const n = Number(kv?.value ?? "0") + 1;
  const r = await store.txn({
    compare: [{ key: "counter", target: "mod", op: "==", value: kv?.modRevision ?? 0 }],
    success: [
      { type: "put", key: "counter", value: String(n) },
      { type: "put", key: `inc/${String(n).padStart(6, "0")}`, value: op },
    ],
  });
  return r.succeeded ? "done" : "conflict";
}

describe.skipIf(!etcdAvailable())("etcd backend (3-member cluster)", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcdCluster();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  // the whole suite over gRPC against every member's endpoint (single member: etcd.test.ts, both wires)
  storeConformance(
    "etcd 3-member cluster (grpc)",
    async () => {
      const store = (await openStore(etcd.url("/conformance"))) as EtcdStore;
      expect(await store.setWire("grpc")).toBe(true);
      return store;
    },
    { leaseExpiryMs: 8000 },
  );

  for (const wire of ["gateway", "grpc"] as const)
    it(`${wire}: leader SIGKILLed during CAS increments: no lost or duplicated increment, typed errors within the budget`, async () => {
      const store = (await openStore(etcd.url(`/cas-${wire}`), {
        callTimeoutMs: CALL,
        retryBudgetMs: BUDGET,
      })) as EtcdStore;
      expect(await store.setWire(wire)).toBe(true);
      const outcomes: Outcome[] = [];
      let stop = false;
      let seq = 0;
      const worker = async (w: number) => {
        while (!stop) {
          const op = `w${w}-${seq++}`;
          const t0 = Date.now();
          try {
            for (;;) {
              if ((await increment(store, op)) === "done") break;
            }
            outcomes.push({ op, ok: true, unknown: false, ms: Date.now() - t0, at: t0 });
          } catch (error) {
            const unknown =
              (error instanceof StoreTimeoutError || error instanceof StoreUnavailableError) && error.outcomeUnknown;
            outcomes.push({ op, ok: false, unknown, ms: Date.now() - t0, at: t0, error });
          }
        }
      };
      const workers = Array.from({ length: 6 }, (_, w) => worker(w));
      await sleep(800);
      const leader = await etcd.leader();
      const killedAt = Date.now();
      await etcd.kill(leader, "SIGKILL");
      await sleep(3500);
      stop = true;
      await Promise.all(workers);

      // every failure is typed and came within the budget (a CAS round is a read plus a txn)
      const failures = outcomes.filter((o) => !o.ok);
      for (const f of failures) {
        expect(f.error instanceof StoreTimeoutError || f.error instanceof StoreUnavailableError, String(f.error)).toBe(
          true,
        );
      }
      for (const o of outcomes) expect(o.ms).toBeLessThan(2 * BUDGET + 1000);
      // after the election, calls go through again
      const after = outcomes.filter((o) => o.at > killedAt + 2500);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((o) => o.ok).length).toBeGreaterThan(0);

      // no lost, no duplicated increment
      const counter = Number((await store.get("counter"))?.value);
      const log: string[] = [];
      for (let page = await store.range("inc/", { limit: 500 }); ; ) {
        log.push(...page.kvs.map((kv) => kv.value));
        if (!page.more) break;
        page = await store.range("inc/", { limit: 500, after: page.kvs.at(-1)!.key });
      }
      expect(log).toHaveLength(counter);
      expect(new Set(log).size).toBe(counter); // each applied op once
      const acked = outcomes.filter((o) => o.ok).map((o) => o.op);
      const maybe = new Set(outcomes.filter((o) => o.unknown).map((o) => o.op));
      const applied = new Set(log);
      for (const op of acked) expect(applied.has(op), `acknowledged ${op} is lost`).toBe(true);
      for (const op of applied)
        expect(acked.includes(op) || maybe.has(op), `${op} applied but reported as not`).toBe(true);
      await store.close();
      console.log(
        `etcd cluster (${wire}): ${outcomes.length} CAS increments, ${acked.length} ok, ${failures.length} failed (${maybe.size} outcome unknown, ` +
          `${[...maybe].filter((op) => applied.has(op)).length} of those applied); counter ${counter}; ` +
          `slowest call ${Math.max(...outcomes.map((o) => o.ms))} ms`,
      );
      await etcd.start(leader);
    }, 40_000);

  it("a watch resumes across a member restart without losing events", async () => {
    const store = await openStore(etcd.url("/watch"), { callTimeoutMs: CALL, retryBudgetMs: BUDGET });
    const writer = await openStore(etcd.url("/watch"), { callTimeoutMs: CALL, retryBudgetMs: BUDGET });
    const events: WatchEvent[] = [];
    const w = store.watch("k/", {}, (e) => events.push(e));
    await w.ready;
    // the watch streams from the first endpoint: restart that member while writes continue elsewhere
    let written = 0;
    let stop = false;
    const writing = (async () => {
      while (!stop) {
        const key = `k/${String(written).padStart(4, "0")}`;
        try {
          await writer.put(key, String(written));
          written++;
        } catch {
          // a write to the member going down may still have been applied: look before writing again
          if (await writer.get(key).catch(() => undefined)) written++;
        }
        await sleep(20);
      }
    })();
    await sleep(300);
    await etcd.kill(0, "SIGKILL");
    await sleep(700);
    await etcd.start(0);
    await sleep(500);
    stop = true;
    await writing;
    const deadline = Date.now() + 5000;
    while (events.length < written && Date.now() < deadline) await sleep(50);
    w.close();
    const revisions = events.map((e) => e.revision);
    expect(events.map((e) => e.kv.value)).toEqual(Array.from({ length: written }, (_, i) => String(i)));
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    expect(new Set(revisions).size).toBe(revisions.length);
    console.log(`etcd watch across a member restart: ${events.length} of ${written} events, none lost or repeated`);
    await Promise.all([store.close(), writer.close()]);
  }, 30_000);
});
