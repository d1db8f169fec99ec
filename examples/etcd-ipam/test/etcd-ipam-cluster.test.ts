// The BUILT etcd-ipam against a private 3-member etcd cluster on loopback, members stopped and
// started while one-shot ADDs run from 3 simulated hosts:
// - a follower restarted: no failure, no duplicate;
// - the leader SIGKILLed: no failure either. The store retries what certainly did not reach etcd
//   (refused connections, "no leader" during the election) within its 5 s budget, and an ADD
//   whose write may have been applied re-reads its owner key instead of writing again; an
//   election takes well under a second here, so no ADD runs out of budget. The test checks that
//   ADDs really were in flight when the leader died, and that none failed;
// - quorum lost (2 of 3 members down) with a 600 ms budget: every ADD fails with code 11 ("try
//   again later") within the budget, and the same ADDs succeed once the members are back, with
//   no duplicate. That is the code-11 path, produced for real.
import { openStore } from "@cnikit/store";
import { type EtcdCluster, etcdAvailable, startEtcdCluster } from "@cnikit/store/testing";
import { Scratch } from "@cnikit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";
import { addressOf, type Call, callPlugin, keys, pool } from "./calls.js";

describe.skipIf(!etcdAvailable())("etcd-ipam on a 3-member etcd cluster", () => {
  let BIN: string;
  let cluster: EtcdCluster;
  let s: Scratch;
  let netns: string;

  beforeAll(async () => {
    s = new Scratch({ prefix: "ckh" });
    [BIN, cluster] = await Promise.all([buildFixture("examples/etcd-ipam"), startEtcdCluster()]);
    netns = s.netns("n");
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    s?.cleanup();
  });

  let counter = 0;
  const network = (budget?: number) => {
    const name = `ha${s.id}${++counter}`;
    const url = cluster.url(`/ha${s.id}`) + (budget ? `&budget=${budget}` : "");
    const runDir = s.dir("run");
    const on = (node: string) => ({
      cniVersion: "1.1.0",
      name,
      ipam: { type: "etcd-ipam", store: url, subnet: "10.221.0.0/16", nodeName: node, runDir },
    });
    return { name, url, on };
  };
  const run = (command: string, conf: object, containerId: string) => callPlugin(BIN, netns, command, conf, { containerId });

  /** 60 ADDs from 3 hosts, 8 at a time; `disturb` runs once 12 have finished. */
  async function addsWhile(on: (node: string) => object, tag: string, disturb: () => Promise<void>) {
    let done = 0;
    let disturbed: Promise<{ at: number }> | undefined;
    const got = await pool(
      Array.from({ length: 60 }, (_, i) => async () => {
        const r = await run("ADD", on(`host${i % 3}`), `${tag}${i}`);
        if (++done === 12) disturbed = disturb().then(() => ({ at: performance.now() }));
        return r;
      }),
      8,
    );
    return { got, disturbedAt: (await disturbed)?.at ?? Number.NaN };
  }

  /** The store agrees with the answers: one owner and one address key per ADD, no address twice. */
  async function expectConsistent(url: string, name: string, got: Call[]) {
    const addrs = got.map(addressOf);
    expect(new Set(addrs).size).toBe(got.length);
    const store = await openStore(url);
    try {
      const owners = (await store.range(`ipam/${name}/owners/`)).kvs.map((kv) => JSON.parse(kv.value).ip as string);
      const ips = (await store.range(`ipam/${name}/ips/`)).kvs;
      expect(owners).toHaveLength(got.length);
      expect(ips).toHaveLength(got.length);
      expect(new Set(owners).size).toBe(got.length);
      expect(new Set(owners)).toEqual(new Set(addrs.map((a) => a.replace(/\/\d+$/, ""))));
    } finally {
      await store.close();
    }
  }

  async function delAll(net: ReturnType<typeof network>, tag: string) {
    const dels = await pool(
      Array.from({ length: 60 }, (_, i) => () => run("DEL", net.on(`host${i % 3}`), `${tag}${i}`)),
      8,
    );
    for (const d of dels) expect(d.code, d.out).toBe(0);
    expect(await keys(net.url, `ipam/${net.name}/ips/`)).toEqual([]);
    expect(await keys(net.url, `ipam/${net.name}/owners/`)).toEqual([]);
  }

  it("a follower restarted during 60 ADDs from 3 hosts: no failure, no duplicate", async () => {
    const net = network();
    let follower = -1;
    const { got, disturbedAt } = await addsWhile(net.on, "f", async () => {
      const leader = await cluster.leader();
      follower = (leader + 1) % 3;
      await cluster.kill(follower);
      await cluster.start(follower);
    });
    expect(follower).toBeGreaterThanOrEqual(0);
    expect(cluster.members[follower]?.pid).toBeDefined(); // back
    expect(got.filter((r) => r.end > disturbedAt).length, "ADDs ran after the restart").toBeGreaterThan(0);
    expect(got.filter((r) => r.code !== 0).map((r) => r.out)).toEqual([]);
    await expectConsistent(net.url, net.name, got);
    await delAll(net, "f");
  }, 120_000);

  it("the leader SIGKILLed during 60 ADDs: retried transparently within the budget, no failure, no duplicate", async () => {
    const net = network();
    let victim = -1;
    let killedAt = Number.NaN;
    const { got } = await addsWhile(net.on, "k", async () => {
      victim = await cluster.leader();
      await cluster.kill(victim);
      killedAt = performance.now();
    });
    expect(cluster.members[victim]?.pid).toBeUndefined(); // the leader is dead; the ADDs after it went to the others
    const inFlight = got.filter((r) => r.start < killedAt && r.end > killedAt);
    const after = got.filter((r) => r.start > killedAt);
    expect(inFlight.length + after.length, "ADDs ran while the leader was dead").toBeGreaterThan(0);
    expect(got.filter((r) => r.code !== 0).map((r) => r.out)).toEqual([]);
    await expectConsistent(net.url, net.name, got);
    console.log(
      `leader kill: ${inFlight.length} ADDs in flight at the kill, ${after.length} started after it, 0 failed; ` +
        `slowest ${Math.max(...got.map((r) => r.ms)).toFixed(0)} ms`,
    );
    await cluster.start(victim);
    await delAll(net, "k");
  }, 120_000);

  it("quorum lost (2 of 3 down), budget 600 ms: ADDs fail with code 11 within the budget; the same ADDs succeed once it is back, no duplicate", async () => {
    const net = network(600);
    // a few ADDs before, so the host owns a block
    for (let i = 0; i < 3; i++) expect((await run("ADD", net.on("host0"), `q${i}`)).code).toBe(0);
    const leader = await cluster.leader();
    const down = [(leader + 1) % 3, (leader + 2) % 3];
    for (const i of down) await cluster.kill(i);
    let failed: Call[];
    try {
      failed = await pool(
        Array.from({ length: 6 }, (_, i) => () => run("ADD", net.on(`host${i % 3}`), `q${3 + i}`)),
        3,
      );
    } finally {
      for (const i of down) await cluster.start(i);
    }
    for (const r of failed) {
      expect(r.code, r.out).toBe(1);
      expect(r.json?.code, r.out).toBe(11);
      expect(r.json?.msg).toBe("etcd-ipam: ADD: the store cannot be reached, try again later");
      expect(r.json?.details).toMatch(/etcd|budget/);
      expect(r.ms).toBeLessThan(600 + 2500); // the budget, plus the process and a last call deadline
    }
    const retried = [];
    for (let i = 0; i < 6; i++) {
      const r = await run("ADD", net.on(`host${i % 3}`), `q${3 + i}`);
      expect(r.code, r.out).toBe(0);
      retried.push(r);
    }
    const before = [];
    for (let i = 0; i < 3; i++) before.push(await run("ADD", net.on("host0"), `q${i}`)); // retried ADD: same address
    await expectConsistent(net.url, net.name, [...before, ...retried]);
    console.log(`quorum lost: 6 of 6 ADDs failed with code 11 in ${Math.max(...failed.map((r) => r.ms)).toFixed(0)} ms at most; all 6 succeeded on retry`);
  }, 120_000);
});
