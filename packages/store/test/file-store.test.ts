/**
 * The file backend: the conformance suite, its on-disk layout, and many processes at once.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { openStore, StoreTimeoutError, type WatchEvent, WatchCompactedError } from "../src/index.js";
import { storeConformance } from "./conformance.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = mkdtempSync(join(tmpdir(), "cnikit-store-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `s${++n}`);

storeConformance("file", () => openStore(`file:${freshDir()}`, { pollIntervalMs: 50 }), { leaseExpiryMs: 3000 });

describe("file store", () => {
  it("keeps its layout: state.json and nothing else between writes", async () => {
    const dir = freshDir();
    const store = await openStore(`file://${dir}`);
    await store.put("a", "1");
    expect(readdirSync(dir).sort()).toEqual(["state.json"]);
    const doc = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
    expect(doc).toMatchObject({ format: 1, revision: 2, kvs: [["a", "1", 2, 2, 1]] });
    await store.close();
  });

  it("breaks the lock of a dead process, and times out on a live holder", async () => {
    const dir = freshDir();
    const store = await openStore(`file:${dir}`, { lockTimeoutMs: 300 });
    await store.put("a", "1");
    // a lock left by a process that no longer exists
    const dead = spawn(process.execPath, ["-e", "0"]);
    await new Promise((r) => dead.once("exit", r));
    writeFileSync(join(dir, "lock"), `${dead.pid} ${(await import("node:os")).hostname()}\n`);
    await store.put("a", "2");
    expect(existsSync(join(dir, "lock"))).toBe(false);
    // a lock held by a live process (this one, as if another store held it)
    writeFileSync(join(dir, "lock"), `${process.pid} ${(await import("node:os")).hostname()}\n`);
    const t0 = Date.now();
    await expect(store.put("a", "3")).rejects.toBeInstanceOf(StoreTimeoutError);
    expect(Date.now() - t0).toBeLessThan(1500);
    rmSync(join(dir, "lock"));
    expect((await store.get("a"))?.value).toBe("2");
    await store.close();
  });

  it("reports a watch from a revision older than the kept history", async () => {
    const dir = freshDir();
    const store = await openStore(`file:${dir}`, { fsync: false });
    for (let i = 0; i < 21; i++)
      await store.txn({
        success: Array.from({ length: 100 }, (_, j) => ({ type: "put" as const, key: `k${j}`, value: `${i}` })),
      });
    const errors: Error[] = [];
    const events: WatchEvent[] = [];
    const w = store.watch("", { fromRevision: 2, onError: (e) => errors.push(e) }, (e) => events.push(e));
    await w.ready;
    expect(events).toEqual([]);
    expect(errors[0]).toBeInstanceOf(WatchCompactedError);
    expect((errors[0] as WatchCompactedError).compactRevision).toBeGreaterThan(2);
    await store.close();
  });

  it("64 processes doing CAS increments: no lost update", async () => {
    const dir = freshDir();
    const worker = join(root, "cas-worker.mjs");
    await build({
      entryPoints: [join(here, "cas-worker.ts")],
      outfile: worker,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["@cnikit/source"],
      logLevel: "warning",
    });
    const procs = 64;
    const each = 2;
    const t0 = Date.now();
    const outs = await Promise.all(
      Array.from(
        { length: procs },
        (_, i) =>
          new Promise<{ code: number | null; out: string; err: string }>((done) => {
            const child = spawn(process.execPath, [worker, `file:${dir}?timeout=45000`, String(i), String(each)]);
            let out = "";
            let err = "";
            child.stdout.on("data", (c) => (out += c));
            child.stderr.on("data", (c) => (err += c));
            child.on("exit", (code) => done({ code, out, err }));
          }),
      ),
    );
    const wall = Date.now() - t0;
    for (const o of outs) expect(o, o.err).toMatchObject({ code: 0 });
    const conflicts = outs.reduce((s, o) => s + (JSON.parse(o.out) as { conflicts: number }).conflicts, 0);
    const store = await openStore(`file:${dir}`);
    expect((await store.get("counter"))?.value).toBe(String(procs * each));
    const log = (await store.range("inc/")).kvs;
    expect(log).toHaveLength(procs * each);
    expect(new Set(log.map((kv) => kv.value)).size).toBe(procs * each);
    expect(readdirSync(dir).sort()).toEqual(["state.json"]);
    await store.close();
    console.log(
      `file store: ${procs} processes x ${each} CAS increments in ${wall} ms, ${conflicts} retried CAS conflicts`,
    );
  }, 60_000);
});
