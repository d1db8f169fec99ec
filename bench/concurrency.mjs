#!/usr/bin/env node
// 100 containers added to ONE bridge network, 10 at a time, then all removed (10 at a time):
// our bridge + our host-local against Go's bridge + Go's host-local doing the same.
// Checks: every call succeeds, 100 distinct IPs, no lease and no bridge port left afterwards.
//
//   node bench/concurrency.mjs [--containers 100] [--parallel 10]
import { spawnSync } from "node:child_process";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { leasesIn } from "./plugins.mjs";
import { asyncRun, cleanEnv, describeFailure, parseJson, CLEAN_PATH } from "./lib/proc.mjs";
import { CNI_VERSION, GO_DIR, goPlugin } from "./lib/plugins.mjs";
import { BUN_KINDS, variantsOf } from "./lib/variants.mjs";
import { Resources, freeSubnet, netnsPath, uniqueName } from "./lib/resources.mjs";
import { ms, ratio, table } from "./lib/stats.mjs";

/** Runs `tasks` (functions returning promises) with at most `limit` in flight. */
async function pool(tasks, limit) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

function bridgePorts(bridge) {
  const r = spawnSync("ip", ["-o", "link", "show", "master", bridge], { env: { PATH: CLEAN_PATH } });
  return r.status === 0 ? r.stdout.toString().split("\n").filter(Boolean).length : 0;
}

/**
 * One pair (main plugin `bridgeFile`, IPAM host-local found in `cniPath`) through the whole
 * add-all / delete-all cycle.
 */
export async function runPair({ label, bridgeFile, cniPath, containers = 100, parallel = 10 }) {
  const res = new Resources();
  try {
    const namespaces = res.addNetns(containers);
    const network = res.addLink(uniqueName());
    const dataDir = res.addDir();
    const { cidr, prefix } = freeSubnet();
    const conf = JSON.stringify({
      cniVersion: CNI_VERSION,
      name: network,
      type: "bridge",
      bridge: network,
      isGateway: true,
      ipMasq: false,
      ipam: { type: "host-local", subnet: cidr, dataDir },
    });
    const call = (cmd, i) => () =>
      asyncRun(bridgeFile, [], {
        env: cleanEnv({
          CNI_COMMAND: cmd,
          CNI_CONTAINERID: `ckb-${network}-${i}`,
          CNI_NETNS: netnsPath(namespaces[i]),
          CNI_IFNAME: "eth0",
          CNI_PATH: cniPath,
        }),
        input: conf,
      });
    const indexes = [...Array(containers).keys()];

    let t0 = performance.now();
    const added = await pool(
      indexes.map((i) => call("ADD", i)),
      parallel,
    );
    const addMs = performance.now() - t0;
    const addFailures = added.filter((r) => r.status !== 0);
    const ips = added
      .map((r) => parseJson(r.stdout)?.ips?.[0]?.address)
      .filter((a) => typeof a === "string" && a.startsWith(prefix));
    const distinct = new Set(ips.map((a) => a.split("/")[0])).size;
    const leasesAfterAdd = leasesIn(dataDir, network).length;

    t0 = performance.now();
    const deleted = await pool(
      indexes.map((i) => call("DEL", i)),
      parallel,
    );
    const delMs = performance.now() - t0;
    const delFailures = deleted.filter((r) => r.status !== 0);
    const leasesLeft = leasesIn(dataDir, network).length;
    const portsLeft = bridgePorts(network);

    const ok =
      addFailures.length === 0 &&
      delFailures.length === 0 &&
      distinct === containers &&
      leasesLeft === 0 &&
      portsLeft === 0;
    return {
      label,
      containers,
      parallel,
      addMs,
      delMs,
      addFailures: addFailures.length,
      delFailures: delFailures.length,
      distinct,
      leasesAfterAdd,
      leasesLeft,
      portsLeft,
      ok,
      firstError: addFailures[0]
        ? `ADD ${describeFailure(addFailures[0])}`
        : delFailures[0]
          ? `DEL ${describeFailure(delFailures[0])}`
          : undefined,
    };
  } finally {
    res.cleanup();
  }
}

/** Runs the Go pair and our pair; returns a markdown table and the figures. */
export async function benchConcurrency({ containers = 100, parallel = 10, onProgress } = {}) {
  const pairs = [];
  const goBridge = goPlugin("bridge");
  if (goBridge && goPlugin("host-local"))
    pairs.push({ id: "go", label: "Go bridge + Go host-local", bridgeFile: goBridge, cniPath: GO_DIR });
  const bridges = (await variantsOf("bridge")).filter(
    (v) => v.id === "ts" || ["snapshot", "sea", ...BUN_KINDS].includes(v.kind),
  );
  const hostLocals = await variantsOf("host-local");
  const res = new Resources();
  try {
    for (const b of bridges) {
      const h = hostLocals.find((x) => x.id === b.id);
      if (!h) continue;
      // a CNI_PATH holding only a symlink to our host-local (found through its real path)
      const linkDir = res.addDir("ckb-cnipath-");
      symlinkSync(h.file, join(linkDir, "host-local"));
      const kind = b.label.replace(/^our bridge ?/, "");
      pairs.push({
        id: b.id,
        label: `our bridge + our host-local ${kind}`.trim(),
        bridgeFile: b.file,
        cniPath: linkDir,
      });
    }
    const out = {};
    for (const p of pairs) {
      out[p.id] = await runPair({ ...p, containers, parallel });
      onProgress?.(`${p.label}: ${out[p.id].ok ? "ok" : "FAILED"}`);
    }
    const rows = pairs.map((p) => {
      const r = out[p.id];
      return [
        r.label,
        ms(r.addMs),
        ratio(r.addMs, out.go?.addMs),
        ms(r.delMs),
        ratio(r.delMs, out.go?.delMs),
        `${r.distinct}/${containers}`,
        `${r.addFailures}/${r.delFailures}`,
        r.leasesLeft,
        r.portsLeft,
        r.ok ? "yes" : "NO",
      ];
    });
    const notes = pairs
      .filter((p) => out[p.id].firstError)
      .map((p) => `- ${p.label}: \`${out[p.id].firstError.replaceAll("`", "'").replaceAll("\n", " ").slice(0, 400)}\``)
      .join("\n");
    const missing = pairs.some((p) => p.id === "ts")
      ? []
      : ["examples/bridge/dist/bridge + examples/host-local/dist/host-local"];
    return {
      markdown:
        table(
          [
            `${containers} containers, ${parallel} at a time, one bridge`,
            "ADD all ms",
            "× Go",
            "DEL all ms",
            "× Go",
            "distinct IPs",
            "failures ADD/DEL",
            "leases left",
            "ports left",
            "ok",
          ],
          rows,
        ) + (notes ? `\n\n${notes}` : ""),
      figures: out,
      missing,
    };
  } finally {
    res.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { containers: { type: "string", default: "100" }, parallel: { type: "string", default: "10" } },
  });
  const { markdown } = await benchConcurrency({
    containers: Number(values.containers),
    parallel: Number(values.parallel),
    onProgress: (s) => process.stderr.write(`${s}\n`),
  });
  console.log(markdown);
}
