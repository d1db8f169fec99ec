#!/usr/bin/env node
// Paired comparison of etcd-ipam builds against one etcd member on loopback (started here,
// stopped in finally), in the same rounds (order rotated every round, 50 ms of settling after
// each subject, as runScenario does):
//   - one-shot ADD of this build and of an older build's dist (--old), with our host-local;
//   - ADD under agent mode through the shim, one cnikit-agent daemon per plugin module: this
//     build's (its store moves to gRPC a second after its first call), the same module with the
//     move disabled (gateway only: the wire alone), and the older build's agent module.
// Besides the whole call, the daemon's own time per call (its `call` log line).
//
//   node bench/etcd-ipam-wire.mjs --old /path/to/older/examples/etcd-ipam/dist [--rounds 40]
import { spawn } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { etcdIpamSubject } from "./etcd-ipam.mjs";
import { CLEAN_PATH } from "./lib/proc.mjs";
import { ROOT, ourPlugin } from "./lib/plugins.mjs";
import { Resources, uniqueName } from "./lib/resources.mjs";
import { runScenario } from "./lib/scenario.mjs";
import { percentile } from "./lib/stats.mjs";
import { hostLocalSubject } from "./plugins.mjs";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "40" }, old: { type: "string" } },
});
const rounds = Number(values.rounds);
const NEW = join(ROOT, "examples/etcd-ipam/dist");
const OLD = values.old;

/** A daemon serving `module` (an etcd-ipam agent module) with its shim in a bin dir of its own. */
async function startDaemon(res, module, shimFrom) {
  const bin = res.addDir("ckw-bin-");
  const sockDir = join(res.addDir("ckw-run-"), "cnikit");
  mkdirSync(sockDir, { mode: 0o700 });
  const shim = join(bin, "etcd-ipam");
  copyFileSync(shimFrom, shim);
  chmodSync(shim, 0o755);
  writeFileSync(
    `${shim}.agent.json`,
    JSON.stringify({
      ...JSON.parse(readFileSync(`${shimFrom}.agent.json`, "utf8")),
      socket: join(sockDir, "etcd-ipam.sock"),
      fallback: join(NEW, "etcd-ipam"),
      timeoutMs: 30_000,
    }),
  );
  const logFile = join(res.addDir("ckw-log-"), "agent.log");
  const fd = openSync(logFile, "w");
  const child = spawn(
    process.execPath,
    [
      "--max-semi-space-size=1",
      "--optimize-for-size",
      join(ROOT, "packages/agent/dist/cli.js"),
      "serve",
      "--socket-dir",
      sockDir,
      module,
    ],
    { stdio: ["ignore", "ignore", fd], env: { PATH: CLEAN_PATH, UV_THREADPOOL_SIZE: "16" } },
  );
  closeSync(fd);
  const log = () => readFileSync(logFile, "utf8");
  for (const t0 = Date.now(); !log().includes('"msg":"ready"'); ) {
    if (Date.now() - t0 > 15_000 || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`cnikit-agent did not get ready: ${log()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const exited = new Promise((r) => child.once("exit", r));
  return {
    shim,
    /** The daemon's own time of each ADD (its `call` log lines). */
    addMs: () =>
      log()
        .split("\n")
        .filter((l) => l.includes('"msg":"call"') && l.includes('"command":"ADD"'))
        .map((l) => JSON.parse(l).ms),
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

const { startEtcd } = await import(join(ROOT, "packages/store/dist/testing.js"));
const etcd = await startEtcd();
const res = new Resources();
const daemons = [];
try {
  const store = etcd.url("/wire");
  const network = uniqueName();
  const runDir = res.addDir("ckw-erun-");
  // this build's agent module with the move to gRPC disabled: the gateway alone
  const gwModule = join(res.addDir("ckw-gw-"), "etcd-ipam.plugin.cjs");
  const text = readFileSync(join(NEW, "agent/etcd-ipam.plugin.cjs"), "utf8");
  if (!text.includes("GRPC_AFTER_MS = 1e3;")) throw new Error("GRPC_AFTER_MS = 1e3 not found in the agent module");
  writeFileSync(gwModule, text.replace("GRPC_AFTER_MS = 1e3;", "GRPC_AFTER_MS = 2e9;"));
  const agents = {
    "agent new (gRPC)": await startDaemon(res, join(NEW, "agent/etcd-ipam.plugin.cjs"), join(NEW, "agent/etcd-ipam")),
    "agent new, gateway only": await startDaemon(res, gwModule, join(NEW, "agent/etcd-ipam")),
  };
  if (OLD) agents["agent old"] = await startDaemon(res, join(OLD, "agent/etcd-ipam.plugin.cjs"), join(OLD, "agent/etcd-ipam"));
  daemons.push(...Object.values(agents));
  const subjects = [
    hostLocalSubject("host-local", "our host-local", ourPlugin("host-local")),
    etcdIpamSubject("one-shot new", "one-shot new", join(NEW, "etcd-ipam"), store, network, runDir),
    ...(OLD ? [etcdIpamSubject("one-shot old", "one-shot old", join(OLD, "etcd-ipam"), store, network, runDir)] : []),
    ...Object.entries(agents).map(([id, a]) => etcdIpamSubject(id, id, a.shim, store, network, runDir)),
  ];
  // warm-up: each daemon loads its module and opens the store; the new one moves to gRPC a second later
  runScenario({ subjects: subjects.filter((s) => s.id.startsWith("agent")), rounds: 3, rssRounds: 0 });
  await new Promise((r) => setTimeout(r, 1500));
  const before = Object.fromEntries(Object.entries(agents).map(([id, a]) => [id, a.addMs().length]));
  const load0 = loadavg()[0];
  const results = runScenario({
    subjects,
    rounds,
    rssRounds: 0,
    onProgress: (s) => process.stderr.write(`\r  ${s}`),
  });
  process.stderr.write("\n");
  const hl = percentile(results.get("host-local").steps.ADD.times, 50);
  console.log(`${rounds} rounds; load average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at the end`);
  for (const s of subjects) {
    const { times, failures } = results.get(s.id).steps.ADD;
    const line = [
      s.id.padEnd(26),
      `ADD median ${percentile(times, 50).toFixed(2)} ms`,
      `p10 ${percentile(times, 10).toFixed(2)}`,
      `× host-local ${(percentile(times, 50) / hl).toFixed(2)}`,
      `failures ${failures}`,
    ];
    const a = agents[s.id];
    if (a) {
      const own = a.addMs().slice(before[s.id]);
      line.push(`daemon's own ${percentile(own, 50).toFixed(2)} ms (p10 ${percentile(own, 10).toFixed(2)}, n ${own.length})`);
    }
    console.log(line.join("  "));
  }
} finally {
  for (const d of daemons) await d.stop().catch(() => {});
  res.cleanup();
  await etcd.stop();
}
