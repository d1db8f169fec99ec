#!/usr/bin/env node
// Agent-mode bridge ADD/DEL against Go's bridge, from a small node process (no harness fork
// cost to speak of): Go bridge + Go host-local vs the bridge shim → cnikit-agent with host-local
// in process, in rotated order every round, each round in a fresh netns with a fresh bridge and
// data dir. With `--base <dir>` a second daemon from another checkout of the repository (built,
// e.g. a copy of main) runs in the same rounds, so a change to the daemon or the plugins is
// measured paired against what it replaces. Prints medians, p10 and the median of the per-round
// ratios, each daemon's own time per call (its log's `call` lines) and the CPU time its main thread
// (and the whole process) ran per ADD+DEL pair: the steadiest figure on a busy machine. `--exec` adds a daemon of
// this tree started with --exec-delegates (host-local's shim executed instead of run in process).
// `--warm`: each subject keeps its bridge and data dir across rounds (a node's Nth container)
// instead of a new bridge and data dir per round (a node's first container, as `pnpm bench`).
//
//   node bench/agent-lean.mjs [--rounds 30] [--base /tmp/cnikit-main] [--no-go] [--cpu-prof dir] [--exec] [--warm]
//                             [--node-flags="--max-semi-space-size=8"] (extra flags of this tree's daemon)
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { setImmediate as tick } from "node:timers/promises";
import { startAgent } from "./lib/agent-daemon.mjs";
import { GO_DIR, goPlugin } from "./lib/plugins.mjs";
import { cleanEnv, parseJson } from "./lib/proc.mjs";
import { Resources, freeSubnet, netnsPath, uniqueName } from "./lib/resources.mjs";
import { runScenario } from "./lib/scenario.mjs";
import { median, percentile } from "./lib/stats.mjs";
import { bridgeConf, bridgeSubject } from "./plugins.mjs";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "30" },
    base: { type: "string" },
    "no-go": { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    "node-flags": { type: "string", default: "" },
    exec: { type: "boolean", default: false },
    warm: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);

const res = new Resources();
const daemons = [];
/**
 * `--warm`: a node's steady state, the Nth container of a network. The subject's bridge, subnet
 * and host-local data dir are made once and kept across its rounds (only the netns and the
 * container ID are new each round); the first warm-up call creates the bridge.
 */
function warmBridgeSubject(id, label, file, cniPath) {
  const name = res.addLink(uniqueName());
  const dataDir = res.addDir(`ckb-${id}-data-`);
  const { cidr, prefix } = freeSubnet();
  const input = JSON.stringify(bridgeConf({ name, cidr, dataDir }));
  return {
    id,
    label,
    setup() {
      const round = new Resources();
      const [ns] = round.addNetns();
      const containerId = `ckb-${uniqueName()}`;
      const env = (cmd) =>
        cleanEnv({ CNI_COMMAND: cmd, CNI_CONTAINERID: containerId, CNI_NETNS: netnsPath(ns), CNI_IFNAME: "eth0", CNI_PATH: cniPath });
      const ip = (r) => parseJson(r.stdout)?.ips?.[0]?.address;
      return {
        steps: {
          ADD: { file, env: env("ADD"), input, check: (r) => (ip(r)?.startsWith(prefix) ? undefined : `no ${prefix}x address: ${r.stdout.slice(0, 300)}`) },
          DEL: { file, env: env("DEL"), input },
        },
        cleanup: () => round.cleanup(),
      };
    },
  };
}
const subjectOf = (id, label, file, cniPath) =>
  values.warm ? warmBridgeSubject(id, label, file, cniPath) : bridgeSubject(id, label, file, cniPath);

/** Starts a daemon of the checkout whose bench/lib/agent-daemon.mjs is `lib`; returns its subject and call log. */
async function daemon(id, label, start, nodeFlags = [], flags = []) {
  const bin = res.addDir(`ckb-${id}-bin-`);
  const sockDir = join(res.addDir(`ckb-${id}-run-`), "cnikit");
  mkdirSync(sockDir, { mode: 0o700 });
  const calls = [];
  const agent = await start(bin, sockDir, { onCall: (c) => calls.push(c), nodeFlags, flags });
  daemons.push(agent);
  return { id, label, calls, pid: agent.pid, subject: subjectOf(id, label, join(bin, "bridge"), bin) };
}

/** CPU time (ms) the daemon's main thread has run (schedstat), and the whole process's (utime + stime). */
function cpuMs(pid) {
  const main = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return { main, all: ((Number(stat[11]) + Number(stat[12])) * 1000) / CLK_TCK };
}
const CLK_TCK = 100;

try {
  const subjects = [];
  const agents = [];
  const go = goPlugin("bridge");
  if (go && !values["no-go"]) subjects.push(subjectOf("go", "Go bridge + Go host-local", go, GO_DIR));
  const profFlags = values["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-interval=50", `--cpu-prof-dir=${values["cpu-prof"]}`] : [];
  const extra = values["node-flags"].split(" ").filter(Boolean);
  agents.push(await daemon("new", "agent (this tree)", startAgent, [...extra, ...profFlags]));
  if (values.base) {
    const { startAgent: startBase } = await import(join(values.base, "bench/lib/agent-daemon.mjs"));
    agents.push(await daemon("base", `agent (${values.base})`, startBase));
  }
  if (values.exec) agents.push(await daemon("exec", "agent (this tree, --exec-delegates)", startAgent, [], ["--exec-delegates"]));
  for (const a of agents) subjects.push(a.subject);
  // warm-up: koffi and the plugin modules load on the first calls
  runScenario({ subjects: values.warm ? subjects : agents.map((a) => a.subject), rounds: 3, rssRounds: 0, settleMs: 0 });
  await tick();
  await new Promise((r) => setTimeout(r, 200));
  for (const a of agents) a.calls.length = 0;
  const cpu0 = new Map(agents.map((a) => [a.id, cpuMs(a.pid)]));

  const times = new Map(subjects.map((s) => [s.id, { ADD: [], DEL: [] }]));
  for (let round = 0; round < rounds; round++) {
    // one round at a time, rotated, with the event loop let run in between so the daemons'
    // logs are drained (a full stderr pipe would block a daemon)
    const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]);
    const r = runScenario({ subjects: order, rounds: 1, rssRounds: 0 });
    for (const s of subjects) {
      const steps = r.get(s.id).steps;
      for (const step of ["ADD", "DEL"]) {
        if (steps[step]?.failures) throw new Error(`${s.id} ${step}: ${steps[step].error}`);
        times.get(s.id)[step].push(steps[step].times[0]);
      }
    }
    await tick();
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 200));
  const cpu = new Map(
    agents.map((a) => {
      const [b, e] = [cpu0.get(a.id), cpuMs(a.pid)];
      return [a.id, { main: (e.main - b.main) / rounds, all: (e.all - b.all) / rounds }];
    }),
  );

  const f = (v) => v.toFixed(2);
  console.log(`${rounds} rounds, load average ${(await import("node:os")).loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  console.log("subject                         step   median    p10    p90");
  for (const s of subjects) {
    for (const step of ["ADD", "DEL"]) {
      const t = times.get(s.id)[step];
      console.log(`${s.id.padEnd(32)}${step.padEnd(5)}${f(median(t)).padStart(8)}${f(percentile(t, 10)).padStart(7)}${f(percentile(t, 90)).padStart(7)}`);
    }
  }
  const pairs = [];
  if (times.has("go")) for (const a of agents) pairs.push([a.id, "go"]);
  if (values.base) pairs.push(["new", "base"]);
  if (values.exec) pairs.push(["new", "exec"]);
  for (const [a, b] of pairs) {
    for (const step of ["ADD", "DEL"]) {
      const ra = times.get(a)[step];
      const rb = times.get(b)[step];
      const per = ra.map((x, i) => x / rb[i]);
      console.log(
        `${a}/${b} ${step}: ratio of medians ${f(median(ra) / median(rb))}, median of per-round ratios ${f(median(per))} (p10 ${f(percentile(per, 10))}, p90 ${f(percentile(per, 90))})`,
      );
    }
  }
  console.log("daemon `call` ms (median / p10): bridge ADD, host-local ADD (in process), bridge DEL, host-local DEL");
  for (const a of agents) {
    const pick = (plugin, command) => a.calls.filter((c) => c.plugin === plugin && c.command === command).map((c) => c.ms);
    const cols = [pick("bridge", "ADD"), pick("host-local", "ADD"), pick("bridge", "DEL"), pick("host-local", "DEL")];
    console.log(`${a.id.padEnd(6)} ${cols.map((c) => `${f(median(c))} / ${f(percentile(c, 10))} (n=${c.length})`).join("   ")}`);
    const c = cpu.get(a.id);
    console.log(`${a.id.padEnd(6)} CPU per ADD+DEL pair: main thread ${f(c.main)} ms, whole daemon ${f(c.all)} ms`);
    if (process.env.AGENT_LEAN_ALL) console.log(`${a.id} bridge ADD ms, sorted: ${cols[0].sort((x, y) => x - y).map(f).join(" ")}`);
  }
} finally {
  for (const d of daemons) await d.stop();
  res.cleanup();
}
