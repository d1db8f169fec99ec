#!/usr/bin/env node
// ADD and DEL of our example plugins against the Go reference plugins, side by side.
// - bridge: ours vs Go's, both delegating IPAM to Go's host-local (so the main plugin is compared);
// - host-local: ours vs Go's, called directly, with `node -e 0` in the same rounds.
// Every round gets a fresh netns, a fresh bridge name and a fresh data dir (all ckb<hex>, removed
// in finally).
//
//   node bench/plugins.mjs [--rounds N] [--only bridge|host-local] [--kinds bun,bun-shared]
//   (--kinds: which build variants besides dist/ to measure; default all)
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cleanEnv, parseJson } from "./lib/proc.mjs";
import { CNI_VERSION, GO_DIR, goPlugin } from "./lib/plugins.mjs";
import { Resources, freeSubnet, netnsPath, uniqueName } from "./lib/resources.mjs";
import { medianOf, peakRssOf, runScenario } from "./lib/scenario.mjs";
import { mb, ms, ratio, table } from "./lib/stats.mjs";
import { dirname } from "node:path";
import { BUN_KINDS, variantsOf } from "./lib/variants.mjs";

/** Lease files (IP-named) left in host-local's data dir for `network`. */
export function leasesIn(dataDir, network) {
  try {
    return readdirSync(join(dataDir, network)).filter((f) => /^[0-9a-f.:]+$/i.test(f) && /[.:]/.test(f));
  } catch {
    return [];
  }
}

function expectIp(prefix) {
  return (r) => {
    const ip = parseJson(r.stdout)?.ips?.[0]?.address;
    return typeof ip === "string" && ip.startsWith(prefix)
      ? undefined
      : `no ${prefix}x address in result: ${r.stdout.slice(0, 300)}`;
  };
}

/**
 * One ADD+DEL round of `file`, called as a runtime calls it, in a fresh netns with a fresh
 * host-local data dir. `conf({ name, cidr, dataDir })` gives the plugin's config; `bridge` also
 * registers the network name as a host link to remove (the bridge the plugin creates).
 */
function addDelSubject(id, label, file, { cniPath, bridge, conf }) {
  return {
    id,
    label,
    setup() {
      const res = new Resources();
      try {
        const [ns] = res.addNetns();
        const name = bridge ? res.addLink(uniqueName()) : uniqueName();
        const dataDir = res.addDir();
        const { cidr, prefix } = freeSubnet();
        const input = JSON.stringify(conf({ name, cidr, dataDir }));
        const env = (cmd) =>
          cleanEnv({
            CNI_COMMAND: cmd,
            CNI_CONTAINERID: `ckb-${name}`,
            CNI_NETNS: netnsPath(ns),
            CNI_IFNAME: "eth0",
            CNI_PATH: cniPath,
          });
        return {
          steps: {
            ADD: { file, env: env("ADD"), input, check: expectIp(prefix) },
            DEL: {
              file,
              env: env("DEL"),
              input,
              check: () =>
                leasesIn(dataDir, name).length ? `lease left after DEL: ${leasesIn(dataDir, name)}` : undefined,
            },
          },
          cleanup: () => res.cleanup(),
        };
      } catch (err) {
        res.cleanup();
        throw err;
      }
    },
  };
}

/** One bridge ADD+DEL round for `file`, delegating IPAM through CNI_PATH=`cniPath`. */
/** The bridge network every bridge bench uses: bridge `name`, gateway, no masquerade, host-local IPAM in `dataDir`. */
export function bridgeConf({ name, cidr, dataDir }) {
  return {
    cniVersion: CNI_VERSION,
    name,
    type: "bridge",
    bridge: name,
    isGateway: true,
    ipMasq: false,
    ipam: { type: "host-local", subnet: cidr, dataDir },
  };
}

export function bridgeSubject(id, label, file, cniPath = GO_DIR) {
  return addDelSubject(id, label, file, { cniPath, bridge: true, conf: bridgeConf });
}

/** One host-local ADD+DEL round for `file` (called directly, as a runtime calls an IPAM plugin). */
export function hostLocalSubject(id, label, file) {
  return addDelSubject(id, label, file, {
    cniPath: GO_DIR,
    bridge: false,
    conf: ({ name, cidr, dataDir }) => ({
      cniVersion: CNI_VERSION,
      name,
      type: "bridge",
      ipam: { type: "host-local", subnet: cidr, dataDir },
    }),
  });
}

const nodeSubject = {
  id: "node",
  label: "`node -e 0`",
  setup: () => ({ steps: { ADD: { file: "node", args: ["-e", "0"], env: cleanEnv() } }, cleanup() {} }),
};

/** Failures of a subject as a count, plus the first error (listed under the table). */
export function failures(results, id) {
  const steps = Object.entries(results.get(id)?.steps ?? {});
  const count = steps.reduce((n, [, s]) => n + s.failures, 0);
  const first = steps.find(([, s]) => s.error);
  return { count, error: first ? `${first[0]}: ${first[1].error}` : undefined };
}

/** Markdown lines listing the first error of every failing subject. */
export function failureNotes(results, subjects) {
  return subjects
    .map((s) => ({ s, f: failures(results, s.id) }))
    .filter(({ f }) => f.count)
    .map(
      ({ s, f }) =>
        `- ${s.label}: ${f.count} failed step(s); first: \`${f.error.replaceAll("`", "'").replaceAll("\n", " ").slice(0, 400)}\``,
    )
    .join("\n");
}

function figures(results, subjects) {
  return Object.fromEntries(
    subjects.map((s) => [
      s.id,
      {
        add: medianOf(results, s.id, "ADD"),
        del: medianOf(results, s.id, "DEL"),
        rss: peakRssOf(results, s.id, "ADD"),
        failures: failures(results, s.id).count,
      },
    ]),
  );
}

/**
 * Our bridge vs Go's bridge (both with Go host-local), and in the same rounds our bridge with our
 * host-local of the same build (the Node dist and the Bun builds) vs the Go pair.
 */
export async function benchBridge({ rounds = 30, rssRounds = 3, onProgress, kinds } = {}) {
  const go = goPlugin("bridge");
  const ours = await variantsOf("bridge", kinds);
  const hostLocals = await variantsOf("host-local", kinds);
  const subjects = [];
  if (go) subjects.push(bridgeSubject("go", "Go bridge", go));
  for (const v of ours) subjects.push(bridgeSubject(v.id, v.label, v.file));
  for (const v of ours.filter((x) => x.id === "ts" || BUN_KINDS.includes(x.kind))) {
    const h = hostLocals.find((x) => x.id === v.id);
    // CNI_PATH: the host-local build's own directory (dist/, dist-bun/, or the shared dir)
    if (h)
      subjects.push(
        bridgeSubject(
          `pair-${v.id}`,
          `${v.label.replace(/^our bridge/, "our bridge + our host-local")} (IPAM: ours)`,
          v.file,
          dirname(h.file),
        ),
      );
  }
  const results = runScenario({ subjects, rounds, rssRounds, onProgress });
  const f = figures(results, subjects);
  const rows = subjects.map((s) => [
    s.label,
    ms(f[s.id].add),
    ratio(f[s.id].add, f.go?.add),
    ms(f[s.id].del),
    ratio(f[s.id].del, f.go?.del),
    mb(f[s.id].rss),
    f[s.id].failures,
  ]);
  const notes = failureNotes(results, subjects);
  return {
    markdown:
      table(
        ["bridge (IPAM: Go host-local)", "ADD ms", "ADD × Go", "DEL ms", "DEL × Go", "peak RSS ADD MB", "failures"],
        rows,
      ) + (notes ? `\n\n${notes}` : ""),
    figures: f,
    missing: ours.length ? [] : ["examples/bridge/dist/bridge"],
  };
}

/** Our host-local vs Go's, with `node -e 0` in the same rounds. */
export async function benchHostLocal({ rounds = 30, rssRounds = 3, onProgress, kinds } = {}) {
  const go = goPlugin("host-local");
  const ours = await variantsOf("host-local", kinds);
  const subjects = [nodeSubject];
  if (go) subjects.push(hostLocalSubject("go", "Go host-local", go));
  for (const v of ours) subjects.push(hostLocalSubject(v.id, v.label, v.file));
  const results = runScenario({ subjects, rounds, rssRounds, onProgress });
  const f = figures(results, subjects);
  const rows = subjects.map((s) => [
    s.label,
    ms(f[s.id].add),
    ratio(f[s.id].add, f.node.add),
    ratio(f[s.id].add, f.go?.add),
    ms(f[s.id].del),
    ratio(f[s.id].del, f.go?.del),
    mb(f[s.id].rss),
    f[s.id].failures,
  ]);
  const notes = failureNotes(results, subjects);
  return {
    markdown:
      table(
        [
          "host-local (`node -e 0`: same rounds)",
          "ADD ms",
          "ADD × node -e 0",
          "ADD × Go",
          "DEL ms",
          "DEL × Go",
          "peak RSS ADD MB",
          "failures",
        ],
        rows,
      ) + (notes ? `\n\n${notes}` : ""),
    figures: f,
    missing: ours.length ? [] : ["examples/host-local/dist/host-local"],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { rounds: { type: "string", default: "30" }, only: { type: "string" }, kinds: { type: "string" } },
  });
  const rounds = Number(values.rounds);
  const kinds = values.kinds?.split(",").filter(Boolean);
  if (values.only !== "host-local") console.log(`${(await benchBridge({ rounds, kinds })).markdown}\n`);
  if (values.only !== "bridge") console.log((await benchHostLocal({ rounds, kinds })).markdown);
}
