#!/usr/bin/env node
// One agent-mode bridge ADD+DEL under `strace -f` of the daemon (after warm-up calls), for
// seeing the syscalls and their timing inside one call:
//
//   node bench/agent-trace.mjs [--out /tmp/agent.strace] [--rounds 1]
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startAgent } from "./lib/agent-daemon.mjs";
import { Resources } from "./lib/resources.mjs";
import { runScenario } from "./lib/scenario.mjs";
import { bridgeSubject } from "./plugins.mjs";

const { values } = parseArgs({ options: { out: { type: "string", default: "/tmp/agent.strace" }, rounds: { type: "string", default: "1" } } });
const res = new Resources();
const bin = res.addDir("ckb-trace-bin-");
const sockDir = join(res.addDir("ckb-trace-run-"), "cnikit");
mkdirSync(sockDir, { mode: 0o700 });
const calls = [];
const agent = await startAgent(bin, sockDir, { onCall: (c) => calls.push(c) });
let strace;
try {
  const subject = bridgeSubject("agent", "agent", join(bin, "bridge"), bin);
  runScenario({ subjects: [subject], rounds: 5, rssRounds: 0, settleMs: 0 });
  strace = spawn("strace", ["-f", "-tt", "-T", "-yy", "-s", "64", "-o", values.out, "-p", String(agent.pid)], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 1000));
  calls.length = 0;
  runScenario({ subjects: [subject], rounds: Number(values.rounds), rssRounds: 0 });
  await new Promise((r) => setTimeout(r, 300));
  console.log(calls);
} finally {
  strace?.kill("SIGINT");
  await new Promise((r) => setTimeout(r, 300));
  await agent.stop();
  res.cleanup();
}
