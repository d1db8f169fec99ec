#!/usr/bin/env node
// VERSION of our plugins (and Go's) against a bare `node -e 0`, side by side.
//
//   node bench/startup.mjs [--rounds N]
import { parseArgs } from "node:util";
import { cleanEnv, parseJson } from "./lib/proc.mjs";
import { CNI_VERSION, goPlugin } from "./lib/plugins.mjs";
import { medianOf, peakRssOf, runScenario } from "./lib/scenario.mjs";
import { mb, ms, ratio, table } from "./lib/stats.mjs";
import { variantsOf } from "./lib/variants.mjs";

/** Example plugins whose VERSION is measured (when built). */
export const OUR_PLUGINS = ["host-local", "bridge", "static-ipam", "noop"];

function versionStep(file) {
  return {
    file,
    env: cleanEnv({ CNI_COMMAND: "VERSION" }),
    input: JSON.stringify({ cniVersion: CNI_VERSION }),
    check: (r) =>
      Array.isArray(parseJson(r.stdout)?.supportedVersions)
        ? undefined
        : `bad VERSION reply: ${r.stdout.slice(0, 200)}`,
  };
}

/** Builds the subject list: node -e 0, Go plugins, our built plugins. */
export async function startupSubjects() {
  const subjects = [
    {
      id: "node",
      label: "`node -e 0`",
      setup: () => ({ steps: { VERSION: { file: "node", args: ["-e", "0"], env: cleanEnv() } }, cleanup() {} }),
    },
  ];
  for (const name of ["bridge", "host-local"]) {
    const file = goPlugin(name);
    if (file)
      subjects.push({
        id: `go-${name}`,
        label: `Go ${name}`,
        setup: () => ({ steps: { VERSION: versionStep(file) }, cleanup() {} }),
      });
  }
  for (const name of OUR_PLUGINS) {
    // build variants only for the two plugins the targets are about (keeps the run short)
    for (const v of await variantsOf(name, name === "host-local" || name === "bridge" ? undefined : ["bun"])) {
      subjects.push({
        id: `${v.id}-${name}`,
        label: v.label,
        setup: () => ({ steps: { VERSION: versionStep(v.file) }, cleanup() {} }),
      });
    }
  }
  return subjects;
}

/** Runs the VERSION benchmark; returns a markdown table and the figures. */
export async function benchStartup({ rounds = 30, rssRounds = 3, onProgress } = {}) {
  const subjects = await startupSubjects();
  const results = runScenario({ subjects, rounds, rssRounds, onProgress });
  const node = medianOf(results, "node", "VERSION");
  const rows = subjects.map((s) => {
    const r = results.get(s.id).steps.VERSION;
    const med = medianOf(results, s.id, "VERSION");
    return [
      s.label,
      ms(med),
      ratio(med, node),
      mb(peakRssOf(results, s.id, "VERSION")),
      r?.failures ? `${r.failures} ✗ ${r.error}` : "0",
    ];
  });
  const figures = Object.fromEntries(
    subjects.map((s) => [
      s.id,
      { median: medianOf(results, s.id, "VERSION"), rss: peakRssOf(results, s.id, "VERSION") },
    ]),
  );
  return {
    markdown: table(["VERSION (start-up)", "median ms", "× node -e 0", "peak RSS MB", "failures"], rows),
    figures,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rounds: { type: "string", default: "30" } } });
  const { markdown } = await benchStartup({ rounds: Number(values.rounds) });
  console.log(markdown);
}
