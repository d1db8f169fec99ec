#!/usr/bin/env node
// Ad-hoc side-by-side timing of commands (alternating rounds, clean env, medians), for
// trying an optimisation before it goes into a plugin:
//
//   node bench/compare.mjs [--rounds 40] [--env CNI_COMMAND=VERSION] [--stdin file] -- "node -e 0" "examples/noop/dist/noop"
//
// Commands are split on spaces; each runs with only PATH and the --env variables set. E.g. the
// Bun builds against Go and Bun's own start:
//
//   node bench/compare.mjs --env CNI_COMMAND=VERSION --stdin v.json -- /usr/lib/cni/bridge examples/bridge/dist-bun/bridge "$(node -e 'import("./packages/build/dist/index.js").then((m) => console.log(m.findBun()))') -e 0"
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { cleanEnv, describeFailure, timedRun } from "./lib/proc.mjs";
import { median, ms, percentile, ratio, rotate, table } from "./lib/stats.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "40" },
    env: { type: "string", multiple: true, default: [] },
    stdin: { type: "string" },
  },
});
const env = cleanEnv(
  Object.fromEntries(values.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])),
);
const input = values.stdin ? readFileSync(values.stdin) : "";
const cmds = positionals.map((c) => c.split(" ").filter(Boolean));
const times = cmds.map(() => []);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const i of rotate([...cmds.keys()], round)) {
    const [file, ...args] = cmds[i];
    const r = timedRun(file, args, { env, input });
    if (r.status !== 0) {
      console.error(`${cmds[i].join(" ")}: ${describeFailure(r)}`);
      process.exit(1);
    }
    times[i].push(r.ms);
  }
}
const base = median(times[0]);
console.log(
  table(
    ["command", "median ms", "p10", "p90", `× first`],
    cmds.map((c, i) => [
      c.join(" "),
      ms(median(times[i])),
      ms(percentile(times[i], 10)),
      ms(percentile(times[i], 90)),
      ratio(median(times[i]), base),
    ]),
  ),
);
