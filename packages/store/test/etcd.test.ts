/**
 * The etcd backend against a real single-member etcd (Debian's etcd-server) started here:
 * the conformance suite, key prefixes, and the typed errors of a stopped or frozen server, over
 * both wires (the JSON gateway every store starts on, etcd's gRPC API a long-lived one moves to).
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EtcdStore } from "../src/etcd-store.js";
import {
  type OpenStoreOptions,
  openStore,
  StoreTimeoutError,
  StoreUnavailableError,
  type WatchEvent,
} from "../src/index.js";
import { type EtcdCluster, etcdAvailable, startEtcd } from "../src/testing.js";
import { storeConformance } from "./conformance.js";

const WIRES = ["gateway", "grpc"] as const;

/** A store pinned to one wire. */
async function openOn(wire: (typeof WIRES)[number], url: string, options?: OpenStoreOptions): Promise<EtcdStore> {
  const store = (await openStore(url, options)) as EtcdStore;
  expect(await store.setWire(wire)).toBe(true);
  expect(store.usingGrpc).toBe(wire === "grpc");
  return store;
}

describe.skipIf(!etcdAvailable())("etcd backend (single member)", () => {
  let etcd: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  for (const wire of WIRES)
    storeConformance(`etcd (${wire})`, () => openOn(wire, etcd.url(`/conformance-${wire}`)), { leaseExpiryMs: 8000 });

  it("a store still in use a second after its first call moves to gRPC; its answers stay the same", async () => {
    const store = (await openStore(etcd.url("/move"))) as EtcdStore;
    await store.put("k", "v", {});
    const before = await store.range("");
    expect(store.usingGrpc).toBe(false);
    const deadline = Date.now() + 5000;
    while (!store.usingGrpc && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(store.usingGrpc).toBe(true);
    expect(await store.range("")).toEqual(before);
    const lease = await store.grant(30);
    expect(await store.keepAlive(lease)).toBeGreaterThan(25);
    await store.put("l", "bound", { lease });
    expect((await store.get("l"))?.lease).toBe(lease);
    await store.revoke(lease);
    expect(await store.get("l")).toBeUndefined();
    await store.close();
  });

  it("keeps stores with different prefixes apart; keys readable under the prefix", async () => {
    const a = await openStore(etcd.url("/a"));
    const b = await openStore(`${etcd.url()}?prefix=/b`);
    const raw = await openStore(etcd.url());
    await a.put("k", "in a");
    expect(await b.get("k")).toBeUndefined();
    expect((await raw.get("/a/k"))?.value).toBe("in a");
    expect((await a.range("")).kvs.map((kv) => kv.key)).toEqual(["k"]);
    await Promise.all([a.close(), b.close(), raw.close()]);
  });

  for (const wire of WIRES) {
    it(`${wire}: a frozen server: reads fail with StoreTimeoutError within the budget; writes do not retry`, async () => {
      const store = await openOn(wire, etcd.url("/frozen"), { callTimeoutMs: 200, retryBudgetMs: 1000 });
      await store.put("k", "1");
      const pid = etcd.members[0]!.pid!;
      process.kill(pid, "SIGSTOP");
      // the stop takes effect asynchronously (a thread running on another CPU is interrupted a
      // moment later): wait until the kernel reports the process stopped
      const deadline = Date.now() + 2000;
      while (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "T") {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 1));
      }
      try {
        let t0 = Date.now();
        const read = await store.get("k").catch((e: unknown) => e);
        expect(read).toBeInstanceOf(StoreTimeoutError);
        expect(Date.now() - t0).toBeLessThan(1500);
        t0 = Date.now();
        const write = await store.put("k", "2").catch((e: unknown) => e);
        expect(write).toBeInstanceOf(StoreTimeoutError);
        expect((write as StoreTimeoutError).outcomeUnknown).toBe(true);
        expect(Date.now() - t0).toBeLessThan(500);
      } finally {
        process.kill(pid, "SIGCONT");
      }
      await store.close();
    });

    it(`${wire}: a stopped server: StoreUnavailableError within the budget, then calls and a watch recover`, async () => {
      const store = await openOn(wire, etcd.url("/down"), { callTimeoutMs: 200, retryBudgetMs: 800 });
      const events: WatchEvent[] = [];
      const w = store.watch("", {}, (e) => events.push(e));
      await w.ready;
      await store.put("before", "1");
      await etcd.kill(0, "SIGKILL");
      // let the client see its idle keep-alive connections close (a write on one of those would be
      // "maybe sent", which the store reports as outcomeUnknown)
      await new Promise((r) => setTimeout(r, 100));
      try {
        const t0 = Date.now();
        const err = await store.put("k", "1").catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect((err as StoreUnavailableError).outcomeUnknown).toBe(false);
        expect(Date.now() - t0).toBeLessThan(1300);
      } finally {
        await etcd.start(0);
      }
      await store.put("after", "2");
      const deadline = Date.now() + 5000;
      while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(events.map((e) => e.kv.key)).toEqual(["before", "after"]);
      w.close();
      await store.close();
    });
  }
});
