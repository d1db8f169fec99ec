#!/usr/bin/env node
// What makes a plugin bundle big: bundles an entry the way cnikit-build does
// (nothing written) and lists its inputs by bytes in the output, biggest first.
//
//   node bench/bundle-report.mjs examples/bridge/src/main.ts [--top 40] [--why <input substring>]
//
// `--why` prints the import chain that pulls an input in (esbuild metafile `imports`).
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "40" }, why: { type: "string" } },
});
if (positionals.length !== 1) {
  process.stderr.write("usage: node bench/bundle-report.mjs <entry.ts> [--top N] [--why substring]\n");
  process.exit(2);
}
const entry = resolve(positionals[0]);
const result = await build({
  entryPoints: [entry],
  bundle: true,
  write: false,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["@cnikit/source"],
  treeShaking: true,
  metafile: true,
  outfile: "/tmp/ckb-bundle-report.js",
  logLevel: "error",
});
const output = Object.values(result.metafile.outputs)[0];
const rows = Object.entries(output.inputs)
  .map(([file, v]) => [v.bytesInOutput, file])
  .sort((a, b) => b[0] - a[0]);
for (const [bytes, file] of rows.slice(0, Number(values.top))) console.log(String(bytes).padStart(9), file);
console.log(String(output.bytes).padStart(9), "total");

if (values.why) {
  // breadth-first search from the entry through the import graph
  const inputs = result.metafile.inputs;
  const start = Object.keys(inputs).find((k) => resolve(k) === entry);
  const prev = new Map([[start, null]]);
  const queue = [start];
  let found;
  while (queue.length && !found) {
    const cur = queue.shift();
    for (const imp of inputs[cur]?.imports ?? []) {
      if (imp.external || prev.has(imp.path)) continue;
      prev.set(imp.path, cur);
      if (imp.path.includes(values.why)) {
        found = imp.path;
        break;
      }
      queue.push(imp.path);
    }
  }
  if (!found) console.log(`\nnothing matching ${values.why}`);
  else {
    const chain = [];
    for (let n = found; n; n = prev.get(n)) chain.unshift(n);
    console.log(`\nwhy ${found}:\n  ${chain.join("\n  -> ")}`);
  }
}
