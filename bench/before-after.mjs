#!/usr/bin/env node
// Two builds of the example plugins side by side in the same rounds: this checkout's against
// another checkout's (e.g. the last release, or main before a change), with the Go reference
// plugins as the yardstick. Use it to show that a change costs nothing on the hot path:
//
//   git worktree add /tmp/before <commit> && (cd /tmp/before && pnpm install && pnpm build)
//   node bench/before-after.mjs --before /tmp/before [--rounds 40]
//
// Rows: bridge ADD/DEL (both delegating to Go's host-local, as `pnpm bench` does), host-local
// ADD/DEL called directly, and VERSION of both; each with its ratio to Go in the same rounds.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { timedRun, cleanEnv } from "./lib/proc.mjs";
import { goPlugin } from "./lib/plugins.mjs";
import { medianOf, runScenario } from "./lib/scenario.mjs";
import { median, ms, ratio, rotate, table } from "./lib/stats.mjs";
import { bridgeSubject, hostLocalSubject } from "./plugins.mjs";

const { values } = parseArgs({ options: { before: { type: "string" }, rounds: { type: "string", default: "40" } } });
if (!values.before) {
  process.stderr.write("usage: node bench/before-after.mjs --before <other checkout, built> [--rounds N]\n");
  process.exit(2);
}
const rounds = Number(values.rounds);
const here = resolve(import.meta.dirname, "..");
const there = resolve(values.before);
const bin = (root, name) => join(root, "examples", name, "dist", name);
for (const root of [here, there]) {
  for (const name of ["bridge", "host-local"]) {
    if (!existsSync(bin(root, name))) throw new Error(`${bin(root, name)} is missing: run pnpm build in ${root}`);
  }
}
const progress = (what) => (s) => process.stderr.write(`\r${what}: ${s}   `);

const bridge = runScenario({
  subjects: [
    bridgeSubject("go", "Go bridge", goPlugin("bridge")),
    bridgeSubject("before", "bridge, before", bin(there, "bridge")),
    bridgeSubject("after", "bridge, after", bin(here, "bridge")),
  ],
  rounds,
  rssRounds: 0,
  onProgress: progress("bridge"),
});
const hostLocal = runScenario({
  subjects: [
    hostLocalSubject("go", "Go host-local", goPlugin("host-local")),
    hostLocalSubject("before", "host-local, before", bin(there, "host-local")),
    hostLocalSubject("after", "host-local, after", bin(here, "host-local")),
  ],
  rounds,
  rssRounds: 0,
  onProgress: progress("host-local"),
});

// VERSION: alternating rounds of the four executables
const version = { go: [], before: [], after: [], "before-hl": [], "after-hl": [] };
const files = {
  go: goPlugin("bridge"),
  before: bin(there, "bridge"),
  after: bin(here, "bridge"),
  "before-hl": bin(there, "host-local"),
  "after-hl": bin(here, "host-local"),
};
const env = cleanEnv({ CNI_COMMAND: "VERSION" });
for (let round = 0; round < rounds; round++) {
  for (const id of rotate(Object.keys(files), round)) {
    const r = timedRun(files[id], [], { env, input: '{"cniVersion":"1.0.0"}' });
    if (r.status === 0) version[id].push(r.ms);
  }
  progress("VERSION")(`round ${round + 1}/${rounds}`);
}
process.stderr.write("\n");

const rows = [];
for (const [what, results] of [
  ["bridge", bridge],
  ["host-local", hostLocal],
]) {
  for (const step of ["ADD", "DEL"]) {
    const go = medianOf(results, "go", step);
    const before = medianOf(results, "before", step);
    const after = medianOf(results, "after", step);
    rows.push([
      `${what} ${step}`,
      ms(go),
      `${ms(before)} (${ratio(before, go)})`,
      `${ms(after)} (${ratio(after, go)})`,
      ratio(after, before),
    ]);
  }
}
const v = Object.fromEntries(Object.entries(version).map(([k, t]) => [k, median(t)]));
rows.push([
  "bridge VERSION",
  ms(v.go),
  `${ms(v.before)} (${ratio(v.before, v.go)})`,
  `${ms(v.after)} (${ratio(v.after, v.go)})`,
  ratio(v.after, v.before),
]);
rows.push([
  "host-local VERSION",
  ms(v.go),
  ms(v["before-hl"]),
  ms(v["after-hl"]),
  ratio(v["after-hl"], v["before-hl"]),
]);
process.stdout.write(`${rounds} rounds, medians (ms); ratios to Go in the same rounds\n\n`);
process.stdout.write(`${table(["", "Go", "before", "after", "after ÷ before"], rows)}\n`);
