#!/usr/bin/env node
// Probe: is etcd's gRPC API (over node:http2, protobuf encoded by hand) faster than its JSON
// gateway (the store's HTTP/1.1 client) for etcd-ipam's ADD transaction, from one long-lived
// process? One etcd member on loopback (started like the bench starts it), the two clients
// alternating in the same rounds (order swapped every round), each call after `--idle` ms of
// idle and, in a second pass, in a tight loop. Medians and p10 per client.
//
//   node bench/etcd-grpc-probe.mjs [--rounds 60] [--idle 50]
import http2 from "node:http2";
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

// ---- a throwaway protobuf encoder/decoder, enough for KV/Txn ----
function varint(out, n) {
  let v = BigInt(n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}
/** A message as [field, kind, value] triples → bytes. */
function msg(fields) {
  const out = [];
  for (const [f, kind, v] of fields) {
    if (kind === "varint") {
      if (v === 0 || v === 0n || v === false) continue;
      varint(out, (f << 3) | 0);
      varint(out, v === true ? 1 : v);
    } else {
      const bytes = typeof v === "string" ? Buffer.from(v, "utf8") : v;
      varint(out, (f << 3) | 2);
      varint(out, bytes.length);
      for (const b of bytes) out.push(b);
    }
  }
  return Buffer.from(out);
}
function decode(buf) {
  const fields = new Map();
  let i = 0;
  const readVarint = () => {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      r |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return r;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const tag = Number(readVarint());
    const f = tag >> 3;
    const wt = tag & 7;
    let v;
    if (wt === 0) v = readVarint();
    else if (wt === 2) {
      const n = Number(readVarint());
      v = buf.subarray(i, i + n);
      i += n;
    } else throw new Error(`wire type ${wt}`);
    const list = fields.get(f) ?? [];
    list.push(v);
    fields.set(f, list);
  }
  return fields;
}
const one = (m, f) => m.get(f)?.[0];
const num = (m, f) => Number(one(m, f) ?? 0n);

const TARGET = { version: 0, create: 1, mod: 2, value: 3 };
const RESULT = { "==": 0, ">": 1, "<": 2, "!=": 3 };
const TARGET_FIELD = { version: 4, create: 5, mod: 6, value: 7 };
const prefixEnd = (s) => {
  const b = Buffer.from(s, "utf8");
  const e = Buffer.from(b);
  for (let i = e.length - 1; i >= 0; i--) {
    if (e[i] < 0xff) {
      e[i]++;
      return e.subarray(0, i + 1);
    }
  }
  return Buffer.of(0);
};
function encodeOp(p, op) {
  switch (op.type) {
    case "put":
      return msg([[2, "bytes", msg([[1, "bytes", p + op.key], [2, "bytes", op.value]])]]);
    case "get":
      return msg([[1, "bytes", msg([[1, "bytes", p + op.key]])]]);
    case "range":
      return msg([[1, "bytes", msg([[1, "bytes", p + op.prefix], [2, "bytes", prefixEnd(p + op.prefix)]])]]);
    case "delete":
      return msg([[3, "bytes", msg([[1, "bytes", p + op.key]])]]);
  }
  throw new Error(op.type);
}
function encodeTxn(p, req) {
  const fields = [];
  for (const c of req.compare ?? [])
    fields.push([
      1,
      "bytes",
      msg([
        [1, "varint", RESULT[c.op]],
        [2, "varint", TARGET[c.target]],
        [3, "bytes", p + c.key],
        [TARGET_FIELD[c.target], c.target === "value" ? "bytes" : "varint", c.target === "value" ? String(c.value) : c.value],
      ]),
    ]);
  for (const o of req.success ?? []) fields.push([2, "bytes", encodeOp(p, o)]);
  for (const o of req.failure ?? []) fields.push([3, "bytes", encodeOp(p, o)]);
  return msg(fields);
}
function decodeKv(p, b) {
  const m = decode(b);
  return {
    key: (one(m, 1) ?? Buffer.alloc(0)).toString("utf8").slice(p.length),
    value: (one(m, 5) ?? Buffer.alloc(0)).toString("utf8"),
    createRevision: num(m, 2),
    modRevision: num(m, 3),
    version: num(m, 4),
  };
}
function decodeTxn(p, req, buf) {
  const m = decode(buf);
  const succeeded = num(m, 2) === 1;
  const revision = num(decode(one(m, 1) ?? Buffer.alloc(0)), 3);
  const ops = (succeeded ? req.success : req.failure) ?? [];
  const responses = m.get(3) ?? [];
  const results = ops.map((op, i) => {
    const r = decode(responses[i] ?? Buffer.alloc(0));
    if (op.type === "put") return { type: "put" };
    const range = decode(one(r, 1) ?? Buffer.alloc(0));
    const kvs = (range.get(2) ?? []).map((k) => decodeKv(p, k));
    return op.type === "get" ? { type: "get", kvs } : { type: "range", kvs, more: num(range, 3) === 1 };
  });
  return { succeeded, results, revision };
}

class GrpcProbe {
  constructor(url, prefix) {
    this.session = http2.connect(url);
    this.session.on("error", () => undefined);
    this.prefix = prefix;
  }
  unary(path, body) {
    return new Promise((resolve, reject) => {
      const frame = Buffer.allocUnsafe(5 + body.length);
      frame[0] = 0;
      frame.writeUInt32BE(body.length, 1);
      body.copy(frame, 5);
      const req = this.session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
      });
      const chunks = [];
      let status;
      let message;
      req.on("response", (h) => {
        if (h["grpc-status"] !== undefined) {
          status = Number(h["grpc-status"]);
          message = h["grpc-message"];
        }
      });
      req.on("trailers", (h) => {
        status = Number(h["grpc-status"]);
        message = h["grpc-message"];
      });
      req.on("data", (c) => chunks.push(c));
      req.on("error", reject);
      req.on("end", () => {
        if (status !== 0) return reject(new Error(`grpc ${status}: ${message}`));
        const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        resolve(all.subarray(5, 5 + all.readUInt32BE(1)));
      });
      req.end(frame);
    });
  }
  async txn(req) {
    const out = await this.unary("/etcdserverpb.KV/Txn", encodeTxn(this.prefix, req));
    return decodeTxn(this.prefix, req, out);
  }
  close() {
    this.session.close();
  }
}

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
  const grpc = new GrpcProbe(etcd.endpoints[0], "/bench/");
  await store.put(`${base}blocks/${homeId}`, ownBlock);
  await store.put(`${base}hosts/bench`, ownBlock);
  // both clients answer the same
  {
    const t = addTxn("check", "10.250.0.9");
    const a = await grpc.txn(t);
    const b = await store.txn({ ...t, compare: t.compare, success: t.success, failure: t.failure });
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
  grpc.close();
  await store.close();
} finally {
  await etcd.stop();
}
console.log(`load average: ${(await import("node:os")).loadavg().map((x) => x.toFixed(2)).join(" ")}`);
