#!/usr/bin/env node
// Bridge ADD/DEL of Bun builds against Go's bridge, paired in the same rounds, from a small
// process (no bench harness around it): p10 and median of each, and the peak RSS of ADD under
// GNU time. IPAM is Go's host-local for every `--ours` build; `--pair bridge,host-local` adds that
// pair (the host-local's directory as CNI_PATH; `--host-local` is the default host-local)
// against the Go pair.
//
//   node bench/bun-lean.mjs [--rounds 40] [--rss-rounds 5] [--ours examples/bridge/dist-bun/bridge]...
//                           [--pair examples/bridge/dist-bun/bridge,examples/host-local/dist-bun/host-local]...
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { bridgeSubject } from "./plugins.mjs";
import { goPlugin } from "./lib/plugins.mjs";
import { runScenario } from "./lib/scenario.mjs";
import { mb, ms, percentile, ratio, table } from "./lib/stats.mjs";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "40" },
    "rss-rounds": { type: "string", default: "5" },
    ours: { type: "string", multiple: true, default: [] },
    pair: { type: "string", multiple: true, default: [] },
    "host-local": { type: "string" },
  },
});
const go = goPlugin("bridge");
const goHostLocal = goPlugin("host-local");
if (!go || !goHostLocal) throw new Error("Go bridge/host-local not found");
const subjects = [bridgeSubject("go", "Go bridge", go)];
for (const [i, f] of values.ours.entries()) subjects.push(bridgeSubject(`ours${i}`, f, resolve(f)));
if (values.pair.length) {
  subjects.push(bridgeSubject("gopair", "Go bridge + Go host-local", go));
  for (const [i, p] of values.pair.entries()) {
    // "bridge,host-local": that pair; "bridge": with --host-local
    const [f, h = values["host-local"]] = p.split(",");
    if (!h) throw new Error(`--pair ${p}: name its host-local (bridge,host-local) or pass --host-local`);
    subjects.push(bridgeSubject(`pair${i}`, `${f} + ${h}`, resolve(f), dirname(resolve(h))));
  }
}
const results = runScenario({
  subjects,
  rounds: Number(values.rounds),
  rssRounds: Number(values["rss-rounds"]),
  onProgress: (s) => process.stderr.write(`\r${s}   `),
});
process.stderr.write("\n");
const stat = (id, step, p) => percentile(results.get(id)?.steps[step]?.times ?? [], p);
const rss = (id) => results.get(id)?.steps.ADD?.rss ?? [];
const base = (id) => (id.startsWith("pair") || id === "gopair" ? "gopair" : "go");
console.log(
  table(
    [
      "bridge",
      "ADD p10",
      "p50",
      "p50 × Go",
      "p10 × Go",
      "DEL p10",
      "p50",
      "p50 × Go",
      "p10 × Go",
      "peak RSS ADD MB (min–max)",
      "failures",
    ],
    subjects.map((s) => {
      const b = base(s.id);
      const r = rss(s.id);
      const fails = Object.values(results.get(s.id).steps).reduce((n, x) => n + x.failures, 0);
      const err = Object.values(results.get(s.id).steps).find((x) => x.error)?.error;
      return [
        s.label,
        ms(stat(s.id, "ADD", 10)),
        ms(stat(s.id, "ADD", 50)),
        ratio(stat(s.id, "ADD", 50), stat(b, "ADD", 50)),
        ratio(stat(s.id, "ADD", 10), stat(b, "ADD", 10)),
        ms(stat(s.id, "DEL", 10)),
        ms(stat(s.id, "DEL", 50)),
        ratio(stat(s.id, "DEL", 50), stat(b, "DEL", 50)),
        ratio(stat(s.id, "DEL", 10), stat(b, "DEL", 10)),
        r.length ? `${mb(Math.min(...r))}–${mb(Math.max(...r))}` : "–",
        fails ? `${fails} (${String(err).slice(0, 200)})` : 0,
      ];
    }),
  ),
);
