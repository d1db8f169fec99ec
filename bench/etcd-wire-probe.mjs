#!/usr/bin/env node
// The store's two wires for etcd-ipam's ADD transaction, from one long-lived process: etcd's JSON
// gateway (the store's HTTP/1.1 client) and etcd's gRPC API (node:http2, protobuf encoded by
// hand), each pinned on a store of its own (the etcd backend's internal setWire). One etcd member
// on loopback (started like the bench starts it), the two alternating in the same rounds (order
// swapped every round), each call after `--idle` ms of idle and, in a second pass, in a tight
// loop. Medians and p10 per wire.
//
//   node bench/etcd-wire-probe.mjs [--rounds 60] [--idle 50]
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./lib/plugins.mjs";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "60" }, idle: { type: "string", default: "50" } },
});
const rounds = Number(values.rounds);
const idleMs = Number(values.idle);

const { openStore } = await import(join(ROOT, "packages/store/dist/index.js"));
const { startEtcd } = await import(join(ROOT, "packages/store/dist/testing.js"));

// ---- etcd-ipam's ADD transaction (as BlockAllocator.claimGuess sends it) ----
const base = "ipam/probe/";
const ownBlock = JSON.stringify({ node: "bench" });
const homeId = "10.250.0.0-26";
function addTxn(cid, ip) {
  const ipKey = `${base}ips/${homeId}/${ip}`;
  const ownerKey = `${base}owners/${cid}/eth0`;
  return {
    compare: [
      { key: ipKey, target: "create", op: "==", value: 0 },
      { key: ownerKey, target: "create", op: "==", value: 0 },
      { key: `${base}blocks/${homeId}`, target: "value", op: "==", value: ownBlock },
    ],
    success: [
      { type: "put", key: ipKey, value: JSON.stringify({ containerID: cid, ifname: "eth0", node: "bench" }) },
      { type: "put", key: ownerKey, value: JSON.stringify({ ip, block: homeId }) },
      { type: "get", key: `${base}hosts/bench` },
    ],
    failure: [
      { type: "get", key: ownerKey },
      { type: "get", key: `${base}hosts/bench` },
      { type: "range", prefix: `${base}blocks/` },
      { type: "range", prefix: `${base}ips/${homeId}/` },
    ],
    keys: [ipKey, ownerKey],
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const etcd = await startEtcd();
try {
  const url = etcd.url("/bench");
  const store = await openStore(url);
  const grpc = await openStore(url);
  if (!(await store.setWire("gateway")) || !(await grpc.setWire("grpc"))) throw new Error("cannot pin the wires");
  await store.put(`${base}blocks/${homeId}`, ownBlock);
  await store.put(`${base}hosts/bench`, ownBlock);
  // both clients answer the same
  {
    const t = addTxn("check", "10.250.0.9");
    const a = await grpc.txn(t);
    const b = await store.txn(t);
    if (!a.succeeded || b.succeeded || b.results[0].kvs[0]?.value !== JSON.stringify({ ip: "10.250.0.9", block: homeId }))
      throw new Error(`answers differ: ${JSON.stringify(a)} / ${JSON.stringify(b)}`);
    const c = await grpc.txn(t);
    if (c.succeeded || JSON.stringify(c.results) !== JSON.stringify(b.results))
      throw new Error(`answers differ: ${JSON.stringify(c.results)} / ${JSON.stringify(b.results)}`);
    await store.deletePrefix(`${base}ips/`);
    await store.deletePrefix(`${base}owners/`);
  }
  const clients = {
    gateway: (t) => store.txn(t),
    grpc: (t) => grpc.txn(t),
  };
  let n = 0;
  const oneCall = async (name) => {
    n++;
    const t = addTxn(`c${n}`, `10.250.0.${(n % 60) + 2}`);
    const t0 = performance.now();
    const r = await clients[name](t);
    const dt = performance.now() - t0;
    if (!r.succeeded) throw new Error(`${name}: ADD did not succeed`);
    await store.txn({ success: t.keys.map((key) => ({ type: "delete", key })) });
    return dt;
  };
  for (let i = 0; i < 10; i++) for (const name of Object.keys(clients)) await oneCall(name); // warm-up
  for (const mode of ["idle", "tight"]) {
    const times = { gateway: [], grpc: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? ["gateway", "grpc"] : ["grpc", "gateway"];
      for (const name of order) {
        if (mode === "idle") await sleep(idleMs);
        times[name].push(await oneCall(name));
      }
    }
    const line = (name) =>
      `${name.padEnd(8)} median ${pct(times[name], 50).toFixed(3)} ms  p10 ${pct(times[name], 10).toFixed(3)} ms  p90 ${pct(times[name], 90).toFixed(3)} ms`;
    const diffs = times.gateway.map((g, i) => g - times.grpc[i]);
    console.log(`${mode === "idle" ? `${idleMs} ms idle before each call` : "tight loop"}, ${rounds} rounds:`);
    console.log(`  ${line("gateway")}\n  ${line("grpc")}\n  paired gateway − grpc: median ${pct(diffs, 50).toFixed(3)} ms`);
  }
  await grpc.close();
  await store.close();
} finally {
  await etcd.stop();
}
console.log(`load average: ${(await import("node:os")).loadavg().map((x) => x.toFixed(2)).join(" ")}`);
