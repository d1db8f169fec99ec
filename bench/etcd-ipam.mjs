#!/usr/bin/env node
// etcd-ipam: one-shot ADD/DEL against a single etcd on loopback (started here, stopped in finally),
// next to our host-local one-shot ADD/DEL and `node -e 0` in the same rounds, and etcd-ipam under
// agent mode (its shim → a cnikit-agent daemon serving dist/agent/etcd-ipam.plugin.cjs, started
// here on a temp socket dir and stopped by pid) in the same rounds; then 200 one-shot ADDs from 4
// simulated hosts, 16 processes at a time: wall time, p50/p99, duplicates.
//
//   node bench/etcd-ipam.mjs [--rounds N]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { asyncRun, cleanEnv, describeFailure, parseJson } from "./lib/proc.mjs";
import { agentMissing, startAgent } from "./lib/agent-daemon.mjs";
import { CNI_VERSION, GO_DIR, ROOT, ourPlugin } from "./lib/plugins.mjs";
import { Resources, netnsPath, uniqueName } from "./lib/resources.mjs";
import { medianOf, runScenario } from "./lib/scenario.mjs";
import { ms, percentile, ratio, table } from "./lib/stats.mjs";
import { failureNotes, hostLocalSubject } from "./plugins.mjs";

/** One etcd-ipam ADD+DEL round: a fresh netns and container id, one network per bench run. */
export function etcdIpamSubject(id, label, file, store, network, runDir) {
  return {
    id,
    label,
    setup() {
      const res = new Resources();
      try {
        const [ns] = res.addNetns();
        const cid = `ckb-${uniqueName()}`;
        const input = JSON.stringify({
          cniVersion: CNI_VERSION,
          name: network,
          type: "bridge",
          ipam: { type: "etcd-ipam", store, subnet: "10.250.0.0/16", nodeName: "bench", runDir },
        });
        const env = (cmd) =>
          cleanEnv({
            CNI_COMMAND: cmd,
            CNI_CONTAINERID: cid,
            CNI_NETNS: netnsPath(ns),
            CNI_IFNAME: "eth0",
            CNI_PATH: GO_DIR,
          });
        const check = (r) =>
          parseJson(r.stdout)?.ips?.[0]?.address?.startsWith("10.250.")
            ? undefined
            : `no address: ${r.stdout.slice(0, 300)}`;
        return {
          steps: { ADD: { file, env: env("ADD"), input, check }, DEL: { file, env: env("DEL"), input } },
          cleanup: () => res.cleanup(),
        };
      } catch (err) {
        res.cleanup();
        throw err;
      }
    },
  };
}

/** 200 one-shot ADDs from 4 hosts, `parallel` at a time; then GC of every host releases them. */
async function twoHundred(file, store, network, runDir, parallel = 16) {
  const res = new Resources();
  try {
    const [ns] = res.addNetns();
    const conf = (node) =>
      JSON.stringify({
        cniVersion: "1.1.0",
        name: network,
        ipam: { type: "etcd-ipam", store, subnet: "10.251.0.0/16", nodeName: node, runDir },
        "cni.dev/valid-attachments": [],
      });
    const times = [];
    const addrs = [];
    let failures = 0;
    let firstError;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < 200) {
          const i = next++;
          const t = performance.now();
          const r = await asyncRun(file, [], {
            env: cleanEnv({
              CNI_COMMAND: "ADD",
              CNI_CONTAINERID: `ckb-200-${i}`,
              CNI_NETNS: netnsPath(ns),
              CNI_IFNAME: "eth0",
              CNI_PATH: GO_DIR,
            }),
            input: conf(`host${i % 4}`),
          });
          times.push(performance.now() - t);
          const ip = parseJson(r.stdout)?.ips?.[0]?.address;
          if (r.status === 0 && ip) addrs.push(ip);
          else {
            failures++;
            firstError ??= describeFailure(r);
          }
        }
      }),
    );
    const wall = performance.now() - t0;
    for (let h = 0; h < 4; h++)
      await asyncRun(file, [], { env: cleanEnv({ CNI_COMMAND: "GC", CNI_PATH: GO_DIR }), input: conf(`host${h}`) });
    return {
      wall,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      distinct: new Set(addrs).size,
      failures,
      firstError,
    };
  } finally {
    res.cleanup();
  }
}

/**
 * Installs etcd-ipam's shim in a temp bin dir (its sidecar pointing at a temp socket dir) and
 * starts cnikit-agent serving the plugin module; resolves with `{ shim, stop() }` once ready.
 */
async function startEtcdIpamAgent(res) {
  const bin = res.addDir("ckb-eagent-bin-");
  const sockDir = join(res.addDir("ckb-eagent-run-"), "cnikit");
  mkdirSync(sockDir, { mode: 0o700 });
  const agent = await startAgent(bin, sockDir, { plugins: ["etcd-ipam"] });
  return { shim: join(bin, "etcd-ipam"), stop: () => agent.stop() };
}

/** The etcd-ipam section of `pnpm bench`. */
export async function benchEtcdIpam({ rounds = 20, onProgress } = {}) {
  const file = ourPlugin("etcd-ipam");
  const hostLocal = ourPlugin("host-local");
  if (!file || !hostLocal)
    return {
      markdown: "etcd-ipam or host-local is not built",
      figures: {},
      missing: ["examples/etcd-ipam/dist/etcd-ipam"],
    };
  const { startEtcd, etcdAvailable } = await import(join(ROOT, "packages/store/dist/testing.js"));
  if (!etcdAvailable())
    return { markdown: "etcd is not installed (Debian: etcd-server)", figures: {}, missing: ["etcd"] };
  const etcd = await startEtcd();
  const res = new Resources();
  const haveAgent = agentMissing(["etcd-ipam"]).length === 0;
  let agent;
  try {
    if (haveAgent) agent = await startEtcdIpamAgent(res);
    const network = uniqueName();
    // the host lease's renewal memo of one-shot calls (what /run/cnikit/etcd-ipam is by default)
    const runDir = res.addDir("ckb-erun-");
    const subjects = [
      {
        id: "node",
        label: "`node -e 0`",
        setup: () => ({ steps: { ADD: { file: "node", args: ["-e", "0"], env: cleanEnv() } }, cleanup() {} }),
      },
      hostLocalSubject("host-local", "our host-local (data dir)", hostLocal),
      etcdIpamSubject("etcd", "etcd-ipam (etcd, 1 member, loopback)", file, etcd.url("/bench"), network, runDir),
    ];
    if (agent) {
      // the floor of any call through a shim: spawning a small static executable
      subjects.push({
        id: "true",
        label: "`/bin/true` (spawning a process: the floor of a shim call)",
        setup: () => ({ steps: { ADD: { file: "/bin/true", env: cleanEnv() } }, cleanup() {} }),
      });
      const agentSubject = etcdIpamSubject(
        "agent",
        "etcd-ipam under agent mode (shim → cnikit-agent)",
        agent.shim,
        etcd.url("/bench"),
        network,
        runDir,
      );
      // warm-up: the daemon loads the plugin module and opens the store on its first call
      runScenario({ subjects: [agentSubject], rounds: 3, rssRounds: 0 });
      subjects.push(agentSubject);
    }
    const results = runScenario({ subjects, rounds, rssRounds: 0, onProgress });
    const f = Object.fromEntries(
      subjects.map((s) => [s.id, { add: medianOf(results, s.id, "ADD"), del: medianOf(results, s.id, "DEL") }]),
    );
    onProgress?.("200 ADDs from 4 hosts");
    const big = await twoHundred(file, etcd.url("/bench200"), uniqueName(), runDir);
    const rows = subjects.map((s) => [
      s.label,
      ms(f[s.id].add),
      ratio(f[s.id].add, f["host-local"].add),
      s.id === "node" || s.id === "true" ? "–" : ms(f[s.id].del),
    ]);
    const notes = failureNotes(results, subjects);
    const markdown = [
      table(["one-shot ADD / DEL", "ADD ms", "ADD × our host-local", "DEL ms"], rows),
      agent
        ? ""
        : "- etcd-ipam under agent mode: not measured (examples/etcd-ipam/dist/agent or packages/agent/dist not built)",
      notes,
      table(
        ["200 one-shot ADDs, 4 hosts, 16 at a time", "wall ms", "p50 ms", "p99 ms", "distinct", "failures"],
        [["etcd-ipam (etcd, 1 member)", ms(big.wall), ms(big.p50), ms(big.p99), big.distinct, big.failures]],
      ),
      big.firstError ? `- first failure: \`${big.firstError.slice(0, 300)}\`` : "",
    ]
      .filter(Boolean)
      .join("\n\n");
    return { markdown, figures: { ...f, big }, missing: [] };
  } finally {
    await agent?.stop();
    res.cleanup();
    await etcd.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rounds: { type: "string", default: "20" } } });
  const r = await benchEtcdIpam({ rounds: Number(values.rounds), onProgress: (s) => process.stderr.write(`  ${s}\n`) });
  console.log(r.markdown);
}
