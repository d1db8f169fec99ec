#!/usr/bin/env node
// Agent mode: the bridge shim (static C) forwarding to a warm cnikit-agent daemon, against Go's
// bridge in the same rounds. ADD/DEL with IPAM by our host-local run in process by the same
// daemon, by our host-local through its shim (a second daemon with --exec-delegates) and by Go's
// host-local; VERSION through the shim (answered from the sidecar); the
// shim's peak RSS; the daemon's RSS and fds before and after; 100 containers 10 at a time through
// the shims vs the Go pair.
//
//   node bench/agent.mjs [--rounds N] [--containers 100]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runPair } from "./concurrency.mjs";
import { agentMissing, procStats, startAgent } from "./lib/agent-daemon.mjs";
import { cleanEnv, parseJson } from "./lib/proc.mjs";
import { CNI_VERSION, GO_DIR, goPlugin } from "./lib/plugins.mjs";
import { Resources } from "./lib/resources.mjs";
import { medianOf, peakRssOf, runScenario } from "./lib/scenario.mjs";
import { mb, ms, ratio, table } from "./lib/stats.mjs";
import { bridgeSubject, failureNotes, failures } from "./plugins.mjs";

function withVersion(subject, file) {
  return {
    ...subject,
    setup() {
      const round = subject.setup();
      round.steps.VERSION = {
        file,
        env: cleanEnv({ CNI_COMMAND: "VERSION" }),
        input: JSON.stringify({ cniVersion: CNI_VERSION }),
        check: (r) => (Array.isArray(parseJson(r.stdout)?.supportedVersions) ? undefined : `bad VERSION: ${r.stdout}`),
      };
      return round;
    },
  };
}

/** Runs the agent rows; returns markdown and figures. */
export async function benchAgent({ rounds = 30, rssRounds = 3, containers = 100, parallel = 10, onProgress } = {}) {
  const missing = agentMissing();
  const go = goPlugin("bridge");
  if (missing.length || !go) return { markdown: "not measured (not built)", figures: {}, missing };
  const res = new Resources();
  const bin = res.addDir("ckb-agent-bin-");
  const sockDir = join(res.addDir("ckb-agent-run-"), "cnikit");
  mkdirSync(sockDir, { mode: 0o700 });
  const agent = await startAgent(bin, sockDir);
  // a second daemon with in-process delegation off: its bridge execs the host-local shim
  const binExec = res.addDir("ckb-agent-bin-exec-");
  const sockDirExec = join(res.addDir("ckb-agent-run-exec-"), "cnikit");
  mkdirSync(sockDirExec, { mode: 0o700 });
  const agentExec = await startAgent(binExec, sockDirExec, { flags: ["--exec-delegates"] });
  try {
    const shim = join(bin, "bridge");
    const shimExec = join(binExec, "bridge");
    // one warm-up call of each path (koffi and the plugin modules load on first use)
    runScenario({
      subjects: [
        bridgeSubject("warm", "warm", shim, bin),
        bridgeSubject("warm-go", "warm", shim, GO_DIR),
        bridgeSubject("warm-exec", "warm", shimExec, binExec),
      ],
      rounds: 2,
      rssRounds: 0,
    });
    const before = procStats(agent.pid);
    const subjects = [
      withVersion(bridgeSubject("go", "Go bridge + Go host-local", go, GO_DIR), go),
      withVersion(
        bridgeSubject("agent", "agent bridge + agent host-local (in process in cnikit-agent)", shim, bin),
        shim,
      ),
      bridgeSubject(
        "agent-exec",
        "agent bridge + agent host-local (--exec-delegates: its shim exec'd)",
        shimExec,
        binExec,
      ),
      bridgeSubject("agent-go-ipam", "agent bridge + Go host-local", shim, GO_DIR),
    ];
    const results = runScenario({ subjects, rounds, rssRounds, onProgress });
    const after = procStats(agent.pid);
    onProgress?.("concurrency");
    const pairGo = await runPair({
      label: "Go bridge + Go host-local",
      bridgeFile: go,
      cniPath: GO_DIR,
      containers,
      parallel,
    });
    const pairAgent = await runPair({
      label: "agent bridge + agent host-local",
      bridgeFile: shim,
      cniPath: bin,
      containers,
      parallel,
    });
    const afterConcurrency = procStats(agent.pid);
    const f = {};
    for (const s of subjects) {
      f[s.id] = {
        add: medianOf(results, s.id, "ADD"),
        del: medianOf(results, s.id, "DEL"),
        version: medianOf(results, s.id, "VERSION"),
        rss: peakRssOf(results, s.id, "ADD"),
        failures: failures(results, s.id).count,
      };
    }
    // bridge calls the first daemon answered: ADD and DEL of its two rows (VERSION: the shim)
    const calls = 2 * (rounds + rssRounds) * 2;
    f.daemon = { before, after, afterConcurrency, calls };
    f.concurrency = { go: pairGo, agent: pairAgent };
    const rows = subjects.map((s) => [
      s.label,
      ms(f[s.id].add),
      ratio(f[s.id].add, f.go.add),
      ms(f[s.id].del),
      ratio(f[s.id].del, f.go.del),
      Number.isFinite(f[s.id].version) ? ms(f[s.id].version) : "–",
      Number.isFinite(f[s.id].version) ? ratio(f[s.id].version, f.go.version) : "–",
      mb(f[s.id].rss),
      f[s.id].failures,
    ]);
    const pairRows = [pairGo, pairAgent].map((r) => [
      r.label,
      ms(r.addMs),
      ratio(r.addMs, pairGo.addMs),
      ms(r.delMs),
      ratio(r.delMs, pairGo.delMs),
      `${r.distinct}/${containers}`,
      `${r.addFailures}/${r.delFailures}`,
      r.leasesLeft,
      r.ok ? "yes" : "NO",
    ]);
    const notes = failureNotes(results, subjects);
    const markdown = [
      table(
        [
          "bridge (one call per process)",
          "ADD ms",
          "ADD × Go",
          "DEL ms",
          "DEL × Go",
          "VERSION ms",
          "VERSION × Go",
          "peak RSS ADD MB",
          "failures",
        ],
        rows,
      ),
      "Peak RSS of the agent rows is the shim's (the work runs in the daemon).",
      table(
        [
          `${containers} containers, ${parallel} at a time`,
          "ADD all ms",
          "× Go",
          "DEL all ms",
          "× Go",
          "distinct IPs",
          "failures ADD/DEL",
          "leases left",
          "ok",
        ],
        pairRows,
      ),
      table(
        ["cnikit-agent daemon", "RSS MB", "open fds"],
        [
          ["after warm-up", mb(before.rssKb), before.fds],
          [`after ~${calls} more calls`, mb(after.rssKb), after.fds],
          [
            `after the ${containers}-container run (+${containers * 4} calls)`,
            mb(afterConcurrency.rssKb),
            afterConcurrency.fds,
          ],
        ],
      ),
      notes,
    ]
      .filter(Boolean)
      .join("\n\n");
    return { markdown, figures: f, missing: [] };
  } finally {
    await agent.stop();
    await agentExec.stop();
    res.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { rounds: { type: "string", default: "30" }, containers: { type: "string", default: "100" } },
  });
  const r = await benchAgent({
    rounds: Number(values.rounds),
    containers: Number(values.containers),
    onProgress: (s) => process.stderr.write(`\r  agent: ${s}    `),
  });
  process.stderr.write("\n");
  console.log(r.markdown);
  if (r.missing.length) console.log(`missing: ${r.missing.join(", ")}`);
}
