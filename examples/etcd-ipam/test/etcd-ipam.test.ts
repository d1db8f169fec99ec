// Black-box tests of the BUILT etcd-ipam (examples/etcd-ipam/dist/etcd-ipam) against a real etcd
// (started here on loopback, random ports) and the file: store: every verb, concurrency from
// several simulated hosts, an unreachable store, exhaustion, the host-lease expiry path, and the
// plugin chained under our bridge through CniRuntime. (A 3-member cluster: etcd-ipam-cluster.test.ts;
// TLS: etcd-ipam-tls.test.ts.)
import { openStore, type Store } from "@cnikit/store";
import { type EtcdCluster, startEtcd } from "@cnikit/store/testing";
import { CniRuntime, confListFromBytes } from "@cnikit/runtime";
import { expectPing, runPlugin, Scratch } from "@cnikit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";
import { addressOf, type Call, callPlugin, keys, pool } from "./calls.js";

let BIN: string;
let etcd: EtcdCluster;
let s: Scratch;
let netns: string;
/** Every config's `runDir` (the host lease's renewal memo): a scratch directory, never /run. */
let runDir: string;

beforeAll(async () => {
  s = new Scratch({ prefix: "cke" });
  [BIN, etcd] = await Promise.all([buildFixture("examples/etcd-ipam"), startEtcd()]);
  netns = s.netns("n");
  runDir = s.dir("run");
}, 120_000);

afterAll(async () => {
  await etcd?.stop();
  s?.cleanup();
});

let netCounter = 0;
const uniq = () => `n${s.id}${++netCounter}`;

const run = (command: string, conf: object, opts: { containerId?: string; ifName?: string } = {}): Promise<Call> =>
  callPlugin(BIN, netns, command, conf, opts);

function network(store: string, ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const name = uniq();
  return {
    cniVersion: "1.1.0",
    name,
    ipam: { type: "etcd-ipam", store, nodeName: "node-a", runDir, ...ipam },
    ...extra,
  };
}

const backends: [string, () => string][] = [
  ["file", () => `file:${s.dir("store")}`],
  ["etcd", () => etcd.url(`/t${s.id}${++netCounter}`)],
];

describe.each(backends)("etcd-ipam on the %s: store", (_kind, storeUrl) => {
  it("ADD (retried → same address), CHECK, STATUS, GC, DEL (idempotent) leave no keys", async () => {
    const url = storeUrl();
    const conf = network(url, { subnet: "10.210.0.0/16", gateway: "10.210.0.1", routes: [{ dst: "0.0.0.0/0" }] });
    const a = await run("ADD", conf, { containerId: "c1" });
    expect(a.code, a.out).toBe(0);
    expect(a.json.ips[0].gateway).toBe("10.210.0.1");
    expect(a.json.routes).toEqual([{ dst: "0.0.0.0/0" }]);
    expect(addressOf(a)).toMatch(/^10\.210\.\d+\.\d+\/16$/);
    const again = await run("ADD", conf, { containerId: "c1" });
    expect(addressOf(again)).toBe(addressOf(a));
    const b = await run("ADD", conf, { containerId: "c2" });
    const c = await run("ADD", conf, { containerId: "c2", ifName: "net1" });
    expect(new Set([addressOf(a), addressOf(b), addressOf(c)]).size).toBe(3);
    expect((await run("CHECK", conf, { containerId: "c1" })).code).toBe(0);
    const missing = await run("CHECK", conf, { containerId: "nope" });
    expect(missing.code).toBe(1);
    expect(missing.json.msg).toContain("nope/eth0 has no address");
    expect((await run("STATUS", conf)).code).toBe(0);
    // GC keeps c1/eth0 only
    const gc = await run("GC", { ...conf, "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "eth0" }] });
    expect(gc.code, gc.out).toBe(0);
    expect(await keys(url, `ipam/${conf.name}/owners/`)).toEqual([`ipam/${conf.name}/owners/c1/eth0`]);
    for (let i = 0; i < 2; i++) expect((await run("DEL", conf, { containerId: "c1" })).code).toBe(0);
    expect((await run("DEL", conf, { containerId: "c2" })).code).toBe(0);
    expect(await keys(url, `ipam/${conf.name}/owners/`)).toEqual([]);
    expect(await keys(url, `ipam/${conf.name}/ips/`)).toEqual([]);
    // the host's key and its block stay (the block is reused by the next ADD)
    expect(await keys(url, `ipam/${conf.name}/hosts/`)).toEqual([`ipam/${conf.name}/hosts/node-a`]);
    expect(await keys(url, `ipam/${conf.name}/blocks/`)).toHaveLength(1);
  });

  it("IPv6 pool: 122-blocks by default", async () => {
    const url = storeUrl();
    const conf = network(url, { subnet: "fd00:210::/64" });
    const a = await run("ADD", conf, { containerId: "v6" });
    expect(a.code, a.out).toBe(0);
    expect(addressOf(a)).toMatch(/^fd00:210::[0-9a-f:]+\/64$/);
    const [block] = await keys(url, `ipam/${conf.name}/blocks/`);
    expect(block).toMatch(/-122$/);
  });

  it("pool exhausted: ADD fails with the reason, STATUS code 50", async () => {
    const url = storeUrl();
    // a /28 in /29 blocks: 2 blocks, 14 usable (network and broadcast excluded), minus 2 excluded
    const conf = network(url, { subnet: "10.211.0.0/28", blockSize: 29, exclude: ["10.211.0.5-10.211.0.6"] });
    const got = await pool(
      Array.from({ length: 12 }, (_, i) => () => run("ADD", conf, { containerId: `x${i}` })),
      4,
    );
    for (const r of got) expect(r.code, r.out).toBe(0);
    const addrs = got.map(addressOf);
    expect(new Set(addrs).size).toBe(12);
    expect(addrs).not.toContain("10.211.0.5/28");
    const full = await run("ADD", conf, { containerId: "x99" });
    expect(full.json.msg).toMatch(/no free address in 10\.211\.0\.0\/28/);
    const status = await run("STATUS", conf);
    expect(status.code).toBe(1);
    expect(status.json.code).toBe(50);
    expect(status.json.msg).toMatch(/exhausted/);
    expect((await run("DEL", conf, { containerId: "x3" })).code).toBe(0);
    expect((await run("STATUS", conf)).code).toBe(0);
  });

  it("host lease expiry: a dead host's block is marked, then taken over after the grace period", async () => {
    const url = storeUrl();
    // a /29 in /30 blocks: 2 blocks
    const base = { subnet: "10.212.0.0/29", blockSize: 30, gracePeriod: 1 };
    const name = uniq();
    // h1's lease lives 2 s, the others' an hour
    const on = (node: string) => ({
      cniVersion: "1.1.0",
      name,
      ipam: { type: "etcd-ipam", store: url, ...base, hostTtl: node === "h1" ? 2 : 3600, nodeName: node, runDir },
    });
    expect((await run("ADD", on("h1"), { containerId: "a1" })).code).toBe(0);
    expect((await run("ADD", on("h2"), { containerId: "b1" })).code).toBe(0);
    const none = await run("ADD", on("h3"), { containerId: "c1" });
    expect(none.json.msg).toMatch(/no free address/);
    // h1 makes no call and its lease expires
    const store = await openStore(url);
    try {
      const deadline = Date.now() + 10_000;
      while (await store.get(`ipam/${name}/hosts/h1`)) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await store.get(`ipam/${name}/hosts/h2`)).toBeDefined();
    } finally {
      await store.close();
    }
    const marked = await run("ADD", on("h3"), { containerId: "c1" });
    expect(marked.json.msg).toMatch(/1 block\(s\) of hosts whose lease expired return to the pool/);
    await new Promise((r) => setTimeout(r, 1100));
    const taken = await run("ADD", on("h3"), { containerId: "c1" });
    expect(taken.code, taken.out).toBe(0);
    // h1's allocation went with its block; h2's is untouched
    const owners = await keys(url, `ipam/${name}/owners/`);
    expect(owners).toEqual([`ipam/${name}/owners/b1/eth0`, `ipam/${name}/owners/c1/eth0`]);
  });

  it("a value that does not parse: a clear error naming the key, nothing written", async () => {
    const url = storeUrl();
    const conf = network(url, { subnet: "10.213.0.0/24", blockSize: 28 });
    const store: Store = await openStore(url);
    try {
      await store.put(`ipam/${conf.name}/blocks/10.213.0.0-28`, "not json");
      const before = await store.revision();
      const r = await run("ADD", conf, { containerId: "p1" });
      expect(r.code).toBe(1);
      expect(r.json.msg).toContain(`ipam/${conf.name}/blocks/10.213.0.0-28 is not a block record`);
      expect(await store.revision()).toBe(before);
    } finally {
      await store.close();
    }
  });
});

describe("etcd-ipam config and store failures", () => {
  it("bad config: code 7 naming the field", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ subnet: "10.0.0.0/16" }, /ipam\.store is required/],
      [{ store: "redis://x", subnet: "10.0.0.0/16" }, /not a file:, etcd:\/\/ or etcds:\/\/ URL/],
      [{ store: "file:/tmp/x", subnet: "10.0.0.0/33" }, /ipam\.subnet "10\.0\.0\.0\/33" is not a CIDR/],
      [{ store: "file:/tmp/x", subnet: "10.0.0.0/16", blockSize: 8 }, /ipam\.blockSize 8 must be between/],
      [
        { store: "file:/tmp/x", subnet: "10.0.0.0/16", gateway: "10.1.0.1" },
        /ipam\.gateway "10\.1\.0\.1" is not an address in/,
      ],
      [{ store: "file:/tmp/x", subnet: "10.0.0.0/16", exclude: ["fd00::/64"] }, /ipam\.exclude\[0\]/],
      [{ store: "etcd://h:1?bogus=1", subnet: "10.0.0.0/16" }, /unknown parameter "bogus"/],
      [
        { store: "file:/tmp/x", subnet: "10.0.0.0/16", runDir: "run/here" },
        /ipam\.runDir must be an absolute directory path/,
      ],
    ];
    for (const [ipam, msg] of cases) {
      const r = await run("ADD", { cniVersion: "1.1.0", name: "bad", ipam: { type: "etcd-ipam", runDir, ...ipam } });
      expect(r.json?.code, r.out).toBe(7);
      expect(r.json.msg).toMatch(msg);
    }
  });

  it("store unreachable: ADD code 11 within the retry budget, STATUS code 50", async () => {
    const conf = network("etcd://127.0.0.1:1?budget=1000", { subnet: "10.214.0.0/16" });
    const add = await run("ADD", conf);
    expect(add.json.code, add.out).toBe(11);
    expect(add.json.msg).toMatch(/try again later/);
    expect(add.ms).toBeLessThan(5000);
    const status = await run("STATUS", conf);
    expect(status.json.code).toBe(50);
    expect(status.json.details).toMatch(/ECONNREFUSED/);
  });
});

describe("etcd-ipam one-shot calls and the wire", () => {
  it("a one-shot ADD and DEL stay on etcd's JSON gateway: node:http2 is never used (a long-lived store moves to gRPC after a second)", async () => {
    const conf = network(etcd.url(`/t${s.id}wire`), { subnet: "10.215.0.0/16" });
    for (const command of ["ADD", "DEL"]) {
      const r = await runPlugin(BIN, {
        command,
        config: conf,
        netns: command === "ADD" ? netns : undefined,
        containerId: "wire",
        ifName: "eth0",
        path: ["/usr/lib/cni"],
        env: { NODE_DEBUG: "http2" },
      });
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/HTTP2 \d+:/);
    }
  });
});

describe("etcd-ipam at scale", () => {
  it("200 concurrent one-shot ADDs from 4 hosts (16 processes at a time): 200 distinct addresses, 0 failures; GC releases all", async () => {
    const url = etcd.url(`/scale${s.id}`);
    const name = uniq();
    const on = (node: string) => ({
      cniVersion: "1.1.0",
      name,
      ipam: { type: "etcd-ipam", store: url, subnet: "10.220.0.0/16", nodeName: node, runDir },
    });
    const t0 = performance.now();
    const got = await pool(
      Array.from({ length: 200 }, (_, i) => () => run("ADD", on(`host${i % 4}`), { containerId: `s${i}` })),
      16,
    );
    const wall = performance.now() - t0;
    const failures = got.filter((r) => r.code !== 0);
    expect(failures.map((f) => f.out)).toEqual([]);
    expect(new Set(got.map(addressOf)).size).toBe(200);
    const blocks = await keys(url, `ipam/${name}/blocks/`);
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(blocks.length).toBeLessThanOrEqual(12); // 50 per host fit one /26 each; more only after races for the same free block
    const lat = got.map((r) => r.ms).sort((a, b) => a - b);
    console.log(
      `200 ADDs from 4 hosts: wall ${wall.toFixed(0)} ms, p50 ${lat[100]?.toFixed(0)} ms, p99 ${lat[197]?.toFixed(0)} ms`,
    );
    const gcs = await Promise.all(
      [0, 1, 2, 3].map((h) => run("GC", { ...on(`host${h}`), "cni.dev/valid-attachments": [] })),
    );
    for (const g of gcs) expect(g.code, g.out).toBe(0);
    expect(await keys(url, `ipam/${name}/ips/`)).toEqual([]);
    expect(await keys(url, `ipam/${name}/owners/`)).toEqual([]);
  }, 120_000);

  it("file: store, 64 concurrent one-shot ADDs from 2 hosts (16 at a time): 64 distinct addresses; DEL releases all", async () => {
    // a generous lock wait: 16 processes start at once on a loaded 2-core CI machine, and a
    // holder descheduled mid-write must not turn a waiter into code 11 (the correct answer, but
    // not what this test is about)
    const url = `file:${s.dir("store64")}?timeout=20000`;
    const name = uniq();
    const on = (node: string) => ({
      cniVersion: "1.1.0",
      name,
      ipam: { type: "etcd-ipam", store: url, subnet: "10.222.0.0/16", nodeName: node, runDir },
    });
    const got = await pool(
      Array.from({ length: 64 }, (_, i) => () => run("ADD", on(`host${i % 2}`), { containerId: `f${i}` })),
      16,
    );
    expect(got.filter((r) => r.code !== 0).map((r) => r.out)).toEqual([]);
    expect(new Set(got.map(addressOf)).size).toBe(64);
    const dels = await pool(
      Array.from({ length: 64 }, (_, i) => () => run("DEL", on(`host${i % 2}`), { containerId: `f${i}` })),
      16,
    );
    for (const d of dels) expect(d.code, d.out).toBe(0);
    expect(await keys(url, `ipam/${name}/ips/`)).toEqual([]);
    expect(await keys(url, `ipam/${name}/owners/`)).toEqual([]);
  }, 60_000);
});

describe("etcd-ipam chained under bridge", () => {
  it("a conflist run by CniRuntime in a real netns gets an address from the pool and pings the gateway", async () => {
    const bridgeBin = await buildFixture("examples/bridge");
    const c = new Scratch({ prefix: "ckc" });
    try {
      const subnet = c.subnet();
      const gateway = subnet.replace(/\.0\/24$/, ".1");
      const conf = {
        cniVersion: "1.1.0",
        name: `ckchain${c.id}`,
        plugins: [
          {
            type: "bridge",
            bridge: c.link("br"),
            isGateway: true,
            ipam: {
              type: "etcd-ipam",
              store: etcd.url(`/chain${c.id}`),
              subnet,
              blockSize: 28,
              gateway,
              nodeName: "node-a",
              runDir,
            },
          },
        ],
      };
      const list = confListFromBytes(JSON.stringify(conf));
      const cni = new CniRuntime({
        path: [c.pluginDir({ bridge: bridgeBin, "etcd-ipam": BIN })],
        cacheDir: c.dir("cache"),
        stderr: null,
        timeoutMs: 30_000,
      });
      const ns = c.netns("a");
      const rt = { containerId: `chain-${c.id}`, netns: ns, ifName: "eth0" };
      const r: any = await cni.addNetworkList(list, rt);
      try {
        const address: string = r.ips[0].address;
        expect(address.startsWith(subnet.replace(/0\/24$/, ""))).toBe(true);
        expect(r.ips[0].gateway).toBe(gateway);
        await expectPing(ns, gateway);
        await cni.checkNetworkList(list, rt);
      } finally {
        await cni.delNetworkList(list, rt);
      }
      expect(await keys(etcd.url(`/chain${c.id}`), `ipam/ckchain${c.id}/owners/`)).toEqual([]);
    } finally {
      c.cleanup();
    }
  }, 60_000);
});
