#!/usr/bin/env node
// `pnpm soak`: N ADD/DEL pairs (default 2,000) of the bridge shim (IPAM: the host-local shim, both
// served by one cnikit-agent) in one netns, after 5 warm-up pairs, checking the agent issue's targets: the daemon's RSS
// after 1,000 calls ≤ 80 MB and within 10 % of its value after 200; its open fds back to the
// start value; no lease left; every call succeeded. Exit status 1 when one is missed.
//
//   node bench/agent-soak.mjs [--pairs 2000]
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { agentMissing, agentStatus, procStats, startAgent } from "./lib/agent-daemon.mjs";
import { cleanEnv, describeFailure, timedRun } from "./lib/proc.mjs";
import { freeSubnet, netnsPath, Resources, uniqueName } from "./lib/resources.mjs";
import { bridgeConf, leasesIn } from "./plugins.mjs";

const { values } = parseArgs({ options: { pairs: { type: "string", default: "2000" } } });
const pairs = Number(values.pairs);
const missing = agentMissing();
if (missing.length) {
  process.stderr.write(`soak: not built: ${missing.join(", ")} (run pnpm build)\n`);
  process.exit(2);
}
const res = new Resources();
const bin = res.addDir("ckb-soak-bin-");
const sockDir = join(res.addDir("ckb-soak-run-"), "cnikit");
mkdirSync(sockDir, { mode: 0o700 });
const agent = await startAgent(bin, sockDir);
let failed = 0;
let firstError;
const samples = [];
try {
  const [ns] = res.addNetns();
  const name = res.addLink(uniqueName());
  const dataDir = res.addDir();
  const { cidr } = freeSubnet();
  const input = JSON.stringify(bridgeConf({ name, cidr, dataDir }));
  const call = (cmd, i) => {
    const env = cleanEnv({
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: `ckb-soak-${i}`,
      CNI_NETNS: netnsPath(ns),
      CNI_IFNAME: "eth0",
      CNI_PATH: bin,
    });
    const r = timedRun(join(bin, "bridge"), [], { env, input });
    if (r.status !== 0) {
      failed++;
      firstError ??= `${cmd} ${i}: ${describeFailure(r)}`;
    }
  };
  // warm-up (not counted): the first calls load koffi and open each plugin's host-netns fd
  for (let i = 1; i <= 5; i++) {
    call("ADD", `w${i}`);
    call("DEL", `w${i}`);
  }
  // the connection of the call just answered closes on the daemon's next loop turn: let it
  const settled = async () => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    const stats = procStats(agent.pid);
    const st = await agentStatus(sockDir, "bridge");
    return {
      ...stats,
      heapTotalKb: st.heapTotalBytes / 1024,
      heapUsedKb: st.heapUsedBytes / 1024,
      externalKb: st.externalBytes / 1024,
    };
  };
  const start = await settled();
  samples.push({ calls: 0, ...start });
  const t0 = performance.now();
  for (let i = 1; i <= pairs; i++) {
    call("ADD", i);
    call("DEL", i);
    // a bridge call is 2 daemon requests (bridge + its host-local delegate); count bridge calls
    const calls = i * 2;
    if (calls === 200 || calls === 400 || calls === 1000 || calls % 1000 === 0 || i === pairs)
      samples.push({ calls, ...(await settled()) });
    if (process.stderr.isTTY && i % 50 === 0) process.stderr.write(`\r  soak: ${i}/${pairs} pairs`);
  }
  const seconds = (performance.now() - t0) / 1000;
  if (process.stderr.isTTY) process.stderr.write("\n");
  const at = (n) => samples.find((s) => s.calls === n);
  const end = samples[samples.length - 1];
  const r200 = at(200)?.rssKb;
  const r1000 = at(1000)?.rssKb;
  const leases = leasesIn(dataDir, name).length;
  const checks = [
    ["every call succeeded", failed === 0, `${failed} failed${firstError ? `; first: ${firstError}` : ""}`],
    [
      "RSS after 1,000 calls ≤ 80 MB",
      r1000 === undefined || r1000 <= 80 * 1024,
      r1000 === undefined ? "fewer than 1,000 calls" : `${(r1000 / 1024).toFixed(1)} MB`,
    ],
    [
      "RSS after 1,000 within 10 % of after 200",
      r1000 === undefined || r1000 <= r200 * 1.1,
      r1000 === undefined ? "fewer than 1,000 calls" : `${(r200 / 1024).toFixed(1)} → ${(r1000 / 1024).toFixed(1)} MB`,
    ],
    ["open fds back to the start value", end.fds === start.fds, `${start.fds} → ${end.fds}`],
    ["no lease left", leases === 0, `${leases}`],
  ];
  console.log(
    `${pairs} ADD/DEL pairs (${pairs * 2} bridge calls, ${pairs * 4} daemon requests) in ${seconds.toFixed(1)} s`,
  );
  console.log("calls  RSS MB  heap total MB  heap used MB  external MB  fds");
  const mbOf = (kb) => (kb / 1024).toFixed(1);
  for (const s of samples) {
    console.log(
      `${String(s.calls).padStart(5)}  ${mbOf(s.rssKb).padStart(6)}  ${mbOf(s.heapTotalKb).padStart(13)}  ${mbOf(s.heapUsedKb).padStart(12)}  ${mbOf(s.externalKb).padStart(11)}  ${s.fds}`,
    );
  }
  for (const [what, ok, detail] of checks) console.log(`${ok ? "ok  " : "FAIL"} ${what}: ${detail}`);
  process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
} finally {
  await agent.stop();
  res.cleanup();
}
