// The overlay across simulated hosts, as root in real netns: the BUILT overlay-agent (one process
// per host netns) and overlay plugin (run by CniRuntime inside the host netns), the file: store
// (etcd in the demo test). Ping matrix, the 1 s programming target, lease removal, address flush,
// agent restart, the MTU edge, a port mismatch, two VNIs side by side, a one-host overlay.
import { randomBytes } from "node:crypto";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Netns } from "@cnikit/ns";
import { CniRuntime, confListFromBytes, type NetworkConfigList } from "@cnikit/runtime";
import { openStore } from "@cnikit/store";
import { listHostLocalLeases, runPlugin } from "@cnikit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture, REPO_ROOT } from "../../../tools/build-fixture.js";
import { addressIn, subnetKey } from "../src/lease.js";
import { runIn, type SimAgent, SimCluster, type SimHost, execIn } from "../src/sim.js";

let PLUGIN: string;
let AGENT: string;
let HOST_LOCAL: string;

beforeAll(async () => {
  [PLUGIN, AGENT, HOST_LOCAL] = await Promise.all([
    buildFixture("examples/overlay"),
    buildFixture("examples/overlay", "build:overlay-agent"),
    buildFixture("examples/host-local"),
  ]);
}, 180_000);

const newPrefix = () => `ckov${randomBytes(3).toString("hex")}`;

/** Plugin dir, conflist and runtime of one host for one network. */
function hostNet(sim: SimCluster, host: SimHost, network: string) {
  const bin = join(sim.dir, "bin");
  mkdirSync(bin, { recursive: true });
  try {
    symlinkSync(PLUGIN, join(bin, "overlay"));
    symlinkSync(HOST_LOCAL, join(bin, "host-local"));
  } catch {
    // made by an earlier call
  }
  const list: NetworkConfigList = confListFromBytes(
    JSON.stringify({
      cniVersion: "1.1.0",
      name: network,
      plugins: [
        {
          type: "overlay",
          runDir: join(host.runDir, network),
          ipam: { type: "host-local", dataDir: join(sim.dir, host.label, "ipam") },
        },
      ],
    }),
  );
  const cni = new CniRuntime({
    path: [bin],
    cacheDir: join(sim.dir, host.label, "cache"),
    exec: execIn(host.ns),
    timeoutMs: 20_000,
  });
  return { list, cni, bin };
}

interface Ctr {
  label: string;
  host: SimHost;
  ns: Netns;
  ip: string;
}

async function attach(sim: SimCluster, host: SimHost, network: string, label: string): Promise<Ctr> {
  const c = await sim.container(label);
  const { list, cni } = hostNet(sim, host, network);
  const r = await cni.addNetworkList(list, { containerId: c.name, netns: c.path, ifName: "eth0" });
  const ip = (r as { ips?: { address: string }[] }).ips?.[0]?.address.split("/")[0];
  if (!ip) throw new Error(`no address for ${label}: ${JSON.stringify(r)}`);
  return { label, host, ns: c.ns, ip };
}

async function ping(from: Ctr, to: string, extra: string[] = []): Promise<boolean> {
  const r = await runIn(from.ns, ["ping", "-c", "1", "-W", "1", ...extra, to]);
  return r.code === 0;
}

/** The three objects `host` holds for the subnet `peer`: [neighbour, fdb, route] presence. */
async function objectsFor(host: SimHost, vxlan: string, peer: string): Promise<[boolean, boolean, boolean]> {
  const vx = await host.ns.findLink(vxlan);
  if (!vx) return [false, false, false];
  const gw = addressIn(peer, 0);
  const [n, f, r] = await Promise.all([
    host.ns.listNeighbours({ link: vx.index, family: 4 }),
    host.ns.listFdbEntries({ link: vx.index }),
    host.ns.listRoutes({ family: 4, dev: vx.index }),
  ]);
  const neigh = n.find((x) => x.ip === gw && x.state === "permanent");
  return [
    neigh !== undefined,
    f.some((x) => x.mac === neigh?.mac && x.dst !== undefined),
    r.some((x) => x.dst === peer && x.gw === gw),
  ];
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 5000, stepMs = 10): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await fn()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Starts agents on h1 and h2, then on h3, and measures from h3's lease (the agent's own log
 * line, written right after its claim committed; same clock) until its three objects are on
 * both h1 and h2 (polled every 5 ms; a host found later counts with the later time).
 */
async function newPeerLatency(
  sim: SimCluster,
  store: string,
  network: string,
): Promise<{ ms: number; agents: SimAgent[] }> {
  const [h1, h2, h3] = sim.hosts as [SimHost, SimHost, SimHost];
  const agents = [await sim.startAgent(h1, { store, network }), await sim.startAgent(h2, { store, network })];
  const start = sim.startAgent(h3, { store, network });
  const leased = await new Promise<{ at: number; subnet: string }>((resolve, reject) => {
    const t = setInterval(() => {
      const line = [...sim.agents].find((x) => x.host === h3)?.lines.find((l) => / leased /.test(l));
      if (!line) return;
      clearInterval(t);
      resolve({ at: Date.parse(line.split(" ")[0] as string), subnet: /leased (\S+)/.exec(line)?.[1] as string });
    }, 2);
    start.catch((e) => {
      clearInterval(t);
      reject(e);
    });
  });
  const done: number[] = [];
  for (const h of [h1, h2]) {
    const vxlan = `${network}.1`;
    await until(
      `h3's lease on ${h.label}`,
      async () => (await objectsFor(h, vxlan, leased.subnet)).every(Boolean),
      5000,
      5,
    );
    done.push(Date.now());
  }
  agents.push(await start);
  return { ms: Math.max(...done) - leased.at, agents };
}

const subnetOf = (a: SimAgent) =>
  /(?:leased|kept) (\S+)/.exec(a.lines.find((l) => / (leased|kept) /.test(l)) ?? "")?.[1] as string;
/**
 * A /24 of the pool that none of `agents` holds, for a lease the test writes by hand (agents lease
 * at random, so a fixed subnet collided with an agent's own once in a few hundred runs).
 */
const unheldSubnet = (agents: readonly SimAgent[]) => {
  const held = new Set(agents.map(subnetOf));
  return ["10.244.250.0/24", "10.244.251.0/24", "10.244.252.0/24", "10.244.253.0/24"].find(
    (n) => !held.has(n),
  ) as string;
};

describe("overlay across three hosts (file: store)", () => {
  let sim: SimCluster;
  let store: string;
  const network = `ckov-${randomBytes(2).toString("hex")}`;
  const vxlan = `${network}.1`;
  let agents: SimAgent[] = [];
  const ctrs: Ctr[] = [];

  beforeAll(async () => {
    sim = await SimCluster.create({ prefix: newPrefix(), hosts: 3, agentBin: AGENT });
    store = `file:${join(sim.dir, "store")}?fsync=false`;
  }, 60_000);
  afterAll(async () => {
    expect(await sim?.destroy()).toEqual([]);
  });

  it("programs a new peer on every host within 1 s of its lease appearing, then pings every pair", async () => {
    const measured = await newPeerLatency(sim, store, network);
    agents = measured.agents;
    console.log(`new peer programmed on every host ${measured.ms} ms after its lease appeared (file: store)`);
    expect(measured.ms).toBeLessThan(1000);

    // two containers per host, then every directed pair
    for (const h of sim.hosts) for (const l of ["a", "b"]) ctrs.push(await attach(sim, h, network, `${h.label}${l}`));
    const subnets = agents.map(subnetOf);
    expect(new Set(subnets).size).toBe(3);
    for (const c of ctrs) expect(subnets.some((s) => c.ip.startsWith(s.split(".").slice(0, 3).join(".")))).toBe(true);
    const pairs = ctrs.flatMap((a) => ctrs.filter((b) => b !== a).map((b) => [a, b] as const));
    const ok = await Promise.all(pairs.map(([a, b]) => ping(a, b.ip)));
    expect(pairs.filter((_, i) => !ok[i]).map(([a, b]) => `${a.label}→${b.label}`)).toEqual([]);
    expect(pairs.length).toBe(30);
    // the agents and the plugins ran inside the host netns: nothing of the network in ours
    expect((await Netns.host().listLinks()).filter((l) => l.name.startsWith(network))).toEqual([]);
  });

  it("container MTU is underlay − 50: ping -M do -s 1422 passes, -s 1423 fails", async () => {
    const [a, , b] = ctrs as [Ctr, Ctr, Ctr];
    expect((await a.ns.getLink("eth0")).mtu).toBe(1450);
    expect(await ping(a, b.ip, ["-M", "do", "-s", "1422"])).toBe(true);
    expect(await ping(a, b.ip, ["-M", "do", "-s", "1423"])).toBe(false);
  });

  it("an address flush of the vxlan device is repaired (neighbours and routes come back)", async () => {
    const h1 = sim.hosts[0] as SimHost;
    const peer = subnetOf(agents[1] as SimAgent);
    const r = await runIn(h1.ns, ["ip", "addr", "flush", "dev", vxlan]);
    expect(r.code).toBe(0);
    const ms = await until("repair after flush", async () => (await objectsFor(h1, vxlan, peer)).every(Boolean), 3000);
    console.log(`address flush repaired after ${ms.toFixed(0)} ms`);
    expect(await ping(ctrs[0] as Ctr, (ctrs[2] as Ctr).ip)).toBe(true);
  });

  it("an agent restart keeps its subnet and loses no container traffic", async () => {
    const h2 = sim.hosts[1] as SimHost;
    const before = subnetOf(agents[1] as SimAgent);
    const [a, , b] = ctrs as [Ctr, Ctr, Ctr];
    // 60 pings 50 ms apart across the restart
    const flood = runIn(a.ns, ["ping", "-c", "60", "-i", "0.05", "-W", "1", b.ip], 20_000);
    await new Promise((r) => setTimeout(r, 500));
    await (agents[1] as SimAgent).stop();
    agents[1] = await sim.startAgent(h2, { store, network });
    const out = await flood;
    expect(subnetOf(agents[1] as SimAgent)).toBe(before);
    expect(out.out).toMatch(/60 received, 0% packet loss/);
  });

  it("a peer's lease added, changed (new VtepMAC and PublicIP) and deleted: its objects follow on every host", async () => {
    const peer = unheldSubnet(agents);
    const gw = peer.replace("/24", "");
    const key = subnetKey(network, peer);
    const lease = (mac: string, ip: string) =>
      JSON.stringify({ PublicIP: ip, BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: mac, Port: 8472 } });
    const state = async (h: SimHost) => {
      const vx = await h.ns.getLink(vxlan);
      const n = (await h.ns.listNeighbours({ link: vx.index, family: 4 })).find((x) => x.ip === gw);
      const f = (await h.ns.listFdbEntries({ link: vx.index })).filter((x) => x.dst).map((x) => `${x.mac} ${x.dst}`);
      const r = (await h.ns.listRoutes({ family: 4, dev: vx.index })).find((x) => x.dst === peer);
      return { neigh: n?.mac, fdb: f.filter((x) => x.startsWith("0a:00:00:00:01")), route: r?.gw };
    };
    const st = await openStore(store);
    try {
      await st.put(key, lease("0a:00:00:00:01:01", "192.168.77.91"));
      for (const h of sim.hosts) {
        await until(`add on ${h.label}`, async () => (await state(h)).route === gw, 2000);
        expect(await state(h)).toEqual({
          neigh: "0a:00:00:00:01:01",
          fdb: ["0a:00:00:00:01:01 192.168.77.91"],
          route: gw,
        });
      }
      await st.put(key, lease("0a:00:00:00:01:02", "192.168.77.92"));
      const changed = { neigh: "0a:00:00:00:01:02", fdb: ["0a:00:00:00:01:02 192.168.77.92"], route: gw };
      for (const h of sim.hosts) {
        await until(
          `change on ${h.label}`,
          async () => JSON.stringify(await state(h)) === JSON.stringify(changed),
          2000,
        );
      }
      await st.delete(key);
      for (const h of sim.hosts) {
        await until(
          `removal on ${h.label}`,
          async () => JSON.stringify(await state(h)) === JSON.stringify({ fdb: [] }),
          2000,
        );
      }
    } finally {
      await st.close();
    }
  });

  it("a lease that goes away (agent stopped, lease revoked as on expiry) removes the three objects on every peer", async () => {
    const [h1, h2, h3] = sim.hosts as [SimHost, SimHost, SimHost];
    const gone = subnetOf(agents[2] as SimAgent);
    await (agents[2] as SimAgent).stop();
    // SIGTERM keeps the lease: the peers keep the objects
    await new Promise((r) => setTimeout(r, 500));
    expect(await objectsFor(h1, vxlan, gone)).toEqual([true, true, true]);
    const st = await openStore(store);
    try {
      const kv = await st.get(subnetKey(network, gone));
      expect(kv?.lease).toBeDefined();
      await st.revoke(kv?.lease as string);
    } finally {
      await st.close();
    }
    for (const h of [h1, h2])
      await until(`removal on ${h.label}`, async () => (await objectsFor(h, vxlan, gone)).every((x) => !x), 2000);
    expect(await objectsFor(h3, vxlan, subnetOf(agents[0] as SimAgent))).toEqual([true, true, true]); // h3's own state is left alone
  });
});

describe("overlay with etcd", () => {
  it("programs a new peer on every host within 1 s of its lease appearing (etcd in the underlay)", async () => {
    const sim = await SimCluster.create({ prefix: newPrefix(), hosts: 3, agentBin: AGENT });
    try {
      const { url: store } = await sim.startEtcd();
      const network = `ckve-${randomBytes(2).toString("hex")}`;
      const { ms } = await newPeerLatency(sim, store, network);
      console.log(`new peer programmed on every host ${ms} ms after its lease appeared (etcd)`);
      expect(ms).toBeLessThan(1000);
    } finally {
      expect(await sim.destroy()).toEqual([]);
    }
  });
});

describe("overlay edge cases", () => {
  it("a peer with another port or VNI is logged and skipped; two VNIs side by side both work", async () => {
    const sim = await SimCluster.create({ prefix: newPrefix(), hosts: 3, agentBin: AGENT });
    try {
      const store = `file:${join(sim.dir, "store")}?fsync=false`;
      const [h1, h2, h3] = sim.hosts as [SimHost, SimHost, SimHost];
      const netA = `ckva-${randomBytes(2).toString("hex")}`;
      const netB = `ckvb-${randomBytes(2).toString("hex")}`;
      const a1 = await sim.startAgent(h1, { store, network: netA, vni: 1 });
      const a2 = await sim.startAgent(h2, { store, network: netA, vni: 1 });
      const bad = await sim.startAgent(h3, { store, network: netA, vni: 1, port: 4789 });
      await a1.waitFor(
        new RegExp(
          `peer ${subnetOf(bad).replaceAll(".", "\\.")} \\(${h3.ip.replaceAll(".", "\\.")}\\) uses port 4789, this host 8472: skipped`,
        ),
        3000,
      );
      expect(await objectsFor(h1, `${netA}.1`, subnetOf(bad))).toEqual([false, false, false]);
      // a lease with another VNI (written here, as a misconfigured host would)
      const foreign = unheldSubnet([a1, a2, bad]);
      const foreignRe = new RegExp(
        `peer ${foreign.replaceAll(".", "\\.")} \\(192\\.168\\.77\\.99\\) uses VNI 9, this host 1: skipped`,
      );
      const st = await openStore(store);
      try {
        const value = {
          PublicIP: "192.168.77.99",
          BackendType: "vxlan",
          BackendData: { VNI: 9, VtepMAC: "0a:00:00:00:00:09", Port: 8472 },
        };
        await st.put(subnetKey(netA, foreign), JSON.stringify(value));
      } finally {
        await st.close();
      }
      await a1.waitFor(foreignRe, 3000);
      expect(await objectsFor(h1, `${netA}.1`, foreign)).toEqual([false, false, false]);

      // network B: VNI 2 on the same hosts and port, another pool
      await sim.startAgent(h1, { store, network: netB, vni: 2, pool: "10.245.0.0/16" });
      await sim.startAgent(h2, { store, network: netB, vni: 2, pool: "10.245.0.0/16" });
      const pairs = [
        [await attach(sim, h1, netA, "a1"), await attach(sim, h2, netA, "a2")],
        [await attach(sim, h1, netB, "b1"), await attach(sim, h2, netB, "b2")],
      ] as const;
      expect(pairs[1][0].ip).toMatch(/^10\.245\./);
      for (const [x, y] of pairs) {
        expect(await ping(x, y.ip)).toBe(true);
        expect(await ping(y, x.ip)).toBe(true);
      }
      // the networks stay apart
      expect(await ping(pairs[0][0], pairs[1][1].ip)).toBe(false);
    } finally {
      expect(await sim.destroy()).toEqual([]);
    }
  });

  it("a one-host overlay serves containers; STATUS is 50 until its agent runs", async () => {
    const sim = await SimCluster.create({ prefix: newPrefix(), hosts: 1, agentBin: AGENT });
    try {
      const store = `file:${join(sim.dir, "store")}?fsync=false`;
      const h1 = sim.hosts[0] as SimHost;
      const network = `ckv1-${randomBytes(2).toString("hex")}`;
      const conf = {
        cniVersion: "1.1.0",
        name: network,
        type: "overlay",
        runDir: join(h1.runDir, network),
        ipam: { type: "host-local" },
      };
      const before = await runPlugin(PLUGIN, { command: "STATUS", config: conf });
      expect(before.exitCode).toBe(1);
      expect((before.error as { code: number }).code).toBe(50);
      const add = await runPlugin(PLUGIN, {
        command: "ADD",
        config: conf,
        netns: (await sim.container("early")).path,
        path: [join(REPO_ROOT, "examples/host-local/dist")],
      });
      expect((add.error as { code: number }).code).toBe(11);

      const agent = await sim.startAgent(h1, { store, network });
      const ok = await runPlugin(PLUGIN, {
        command: "STATUS",
        config: conf,
        path: [join(REPO_ROOT, "examples/host-local/dist")],
      });
      expect(ok.exitCode, JSON.stringify(ok.error)).toBe(0);
      const bad = await runPlugin(PLUGIN, { command: "STATUS", config: { ...conf, runDir: 7 } });
      expect(bad.error).toMatchObject({ code: 7, msg: 'overlay: "runDir" must be a string' });
      const x = await attach(sim, h1, network, "x");
      const y = await attach(sim, h1, network, "y");
      expect(await ping(x, y.ip)).toBe(true);
      // the host reaches its containers through the bridge
      const r = await runIn(h1.ns, ["ping", "-c", "1", "-W", "1", x.ip]);
      expect(r.code).toBe(0);
      // GC through the overlay (the bridge code, then host-local with the leased subnet)
      const dataDir = join(sim.dir, h1.label, "ipam");
      expect(listHostLocalLeases(dataDir, network).sort()).toEqual([x.ip, y.ip].sort());
      const { list, cni } = hostNet(sim, h1, network);
      await cni.gcNetworkList(list, { validAttachments: [{ containerID: `${sim.prefix}-x`, ifname: "eth0" }] });
      expect(listHostLocalLeases(dataDir, network)).toEqual([x.ip]);
      expect(await y.ns.findLink("eth0")).toBeUndefined(); // the runtime DELs a stale attachment first
      // a stopped agent: STATUS 50, containers keep working (x reaches its gateway, the host's bridge)
      await agent.stop();
      expect((await runPlugin(PLUGIN, { command: "STATUS", config: conf })).error).toMatchObject({ code: 50 });
      expect(await ping(x, x.ip.replace(/\.\d+$/, ".1"))).toBe(true);
    } finally {
      expect(await sim.destroy()).toEqual([]);
    }
  });
});
