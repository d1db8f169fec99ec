// The host lease's renewal memo, through the BUILT etcd-ipam (one process per call) against a real
// etcd on loopback, seen through a counting proxy on loopback in front of it: the proxy forwards
// every byte both ways and counts the keep-alive and grant requests the plugin sends. A one-shot
// ADD within a tenth of the lease's TTL after the last renewal sends no keep-alive (the memo in
// `runDir`), a later one does; a `runDir` that cannot be written, a memo of another lease, a
// malformed memo or one from the future each mean renewing as before.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { openStore } from "@cnikit/store";
import { type EtcdCluster, startEtcd } from "@cnikit/store/testing";
import { Scratch } from "@cnikit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";
import { addressOf, callPlugin } from "./calls.js";

/** A loopback TCP proxy to `target` that counts the requests whose line starts with `POST <path>`. */
async function countingProxy(target: { host: string; port: number }) {
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    let pending = "";
    client.on("data", (chunk) => {
      upstream.write(chunk);
      // the requests, framed by their Content-Length (the plugin's client always sends one)
      pending += chunk.toString("latin1");
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) break;
        const head = pending.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) break;
        const path = /^POST (\S+) HTTP\/1\.1/.exec(head)?.[1] ?? "?";
        counts.set(path, (counts.get(path) ?? 0) + 1);
        pending = pending.slice(end + 4 + length);
      }
    });
    upstream.on("data", (chunk) => client.write(chunk));
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => sockets.delete(client));
    upstream.on("close", () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    count: (path: string) => counts.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const KEEPALIVE = "/v3/lease/keepalive";
const GRANT = "/v3/lease/grant";

describe("etcd-ipam: the host lease's renewal memo across one-shot calls", () => {
  let BIN: string;
  let etcd: EtcdCluster;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let s: Scratch;
  let netns: string;
  let counter = 0;

  beforeAll(async () => {
    s = new Scratch({ prefix: "ckr" });
    [BIN, etcd] = await Promise.all([buildFixture("examples/etcd-ipam"), startEtcd()]);
    netns = s.netns("n");
    const ep = new URL(etcd.endpoints[0] as string);
    proxy = await countingProxy({ host: ep.hostname, port: Number(ep.port) });
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    await etcd?.stop();
    s?.cleanup();
  });

  /** A fresh network behind the proxy; `ttl` is its hostTtl (the memo holds for a tenth of it). */
  function network(runDir: string, ttl: number) {
    const name = `rn${s.id}${++counter}`;
    const store = `etcd://127.0.0.1:${proxy.port}?prefix=/renew${s.id}`;
    const conf = { cniVersion: "1.1.0", name, ipam: { type: "etcd-ipam", store, subnet: "10.216.0.0/16", nodeName: "node-r", hostTtl: ttl, runDir } };
    const add = async (containerId: string) => {
      const r = await callPlugin(BIN, netns, "ADD", conf, { containerId });
      expect(r.code, r.out).toBe(0);
      expect(addressOf(r)).toMatch(/^10\.216\./);
    };
    return { name, store, add, hostKey: `ipam/${name}/hosts/node-r` };
  }

  /** The requests sent so far, as [grants, keep-alives]. */
  const sent = (): [number, number] => [proxy.count(GRANT), proxy.count(KEEPALIVE)];

  it("a one-shot ADD within TTL/10 of the last renewal sends no keep-alive; the first one after it does", async () => {
    const runDir = s.dir("run");
    const net = network(runDir, 10); // the memo holds for 1 s
    const [g0, k0] = sent();
    await net.add("a1"); // no host key yet: a lease is granted
    expect(sent()).toEqual([g0 + 1, k0]);
    const files = readdirSync(runDir);
    expect(files).toEqual([expect.stringMatching(/^lease-[0-9a-f]{16}\.json$/)]);
    const memo = JSON.parse(readFileSync(join(runDir, files[0] as string), "utf8"));
    const store = await openStore(net.store);
    try {
      expect(memo).toMatchObject({ lease: (await store.get(net.hostKey))?.lease, ttl: 10 });
    } finally {
      await store.close();
    }
    await net.add("a2"); // another process, within 1 s of the grant: one round trip, no keep-alive
    await net.add("a3");
    expect(sent()).toEqual([g0 + 1, k0]);
    await new Promise((r) => setTimeout(r, 1100));
    await net.add("a4"); // the memo is older than TTL/10: renewed
    expect(sent()).toEqual([g0 + 1, k0 + 1]);
    await net.add("a5"); // ... and remembered again
    expect(sent()).toEqual([g0 + 1, k0 + 1]);
  });

  it("a runDir that cannot be written: every one-shot ADD renews as before", async () => {
    const file = join(s.dir("notadir"), "file");
    writeFileSync(file, "");
    const net = network(join(file, "run"), 3600);
    const [g0, k0] = sent();
    await net.add("b1");
    await net.add("b2");
    await net.add("b3");
    expect(sent()).toEqual([g0 + 1, k0 + 2]);
  });

  it("a host key bound to another lease than the memo's is renewed, and that lease remembered", async () => {
    const runDir = s.dir("run");
    const net = network(runDir, 3600);
    await net.add("c1");
    const [memoFile] = readdirSync(runDir);
    const memoPath = join(runDir, memoFile as string);
    const first = JSON.parse(readFileSync(memoPath, "utf8")).lease;
    // the host key re-created on another lease (as after an expiry and a re-grant elsewhere)
    const store = await openStore(net.store);
    let other: string;
    try {
      other = await store.grant(3600);
      await store.put(net.hostKey, JSON.stringify({ node: "node-r" }), { lease: other });
    } finally {
      await store.close();
    }
    expect(other).not.toBe(first);
    const [g0, k0] = sent();
    await net.add("c2");
    expect(sent()).toEqual([g0, k0 + 1]);
    expect(JSON.parse(readFileSync(memoPath, "utf8")).lease).toBe(other);
    await net.add("c3");
    expect(sent()).toEqual([g0, k0 + 1]);
  });

  it("a malformed memo, or one dated in the future (a clock set back), is not trusted", async () => {
    const runDir = s.dir("run");
    const net = network(runDir, 3600);
    await net.add("d1");
    const [memoFile] = readdirSync(runDir);
    const memoPath = join(runDir, memoFile as string);
    const good = JSON.parse(readFileSync(memoPath, "utf8"));
    const [g0, k0] = sent();
    writeFileSync(memoPath, "{not json");
    await net.add("d2");
    expect(sent()).toEqual([g0, k0 + 1]);
    writeFileSync(memoPath, JSON.stringify({ ...good, at: Date.now() + 600_000 }));
    await net.add("d3");
    expect(sent()).toEqual([g0, k0 + 2]);
    writeFileSync(memoPath, JSON.stringify({ ...good, key: "etcd://elsewhere:2379\nipam/x/hosts/node-r", at: Date.now() }));
    await net.add("d4");
    expect(sent()).toEqual([g0, k0 + 3]);
    // each renewal rewrote the memo: the next call trusts it
    await net.add("d5");
    expect(sent()).toEqual([g0, k0 + 3]);
  });
});
