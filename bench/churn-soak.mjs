#!/usr/bin/env node
// Churn soak: N ADD/DEL pairs (default 2,000), C at a time (default 8), through @cnikit/runtime
// (result cache on), of the cnikit bridge with masquerade, its IPAM alternating between cnikit's
// host-local and Go's host-local on ONE data dir. Checks: 0 failed calls, 0 addresses handed out
// twice at the same time, and the counts of links (bridge ports + container links), leases,
// cache entries, nftables/iptables masquerade rules and this process's open fds equal at start
// and end. Prints p50/p99 per call (ADD and DEL, per IPAM) and exits 1 when a check fails.
//
//   node bench/churn-soak.mjs [--pairs 2000] [--concurrency 8] [--json]
//
// `--json` prints one JSON summary (the fault suite runs a short version and reads it).
import { spawnSync } from "node:child_process";
import { readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CniRuntime, confListFromBytes } from "../packages/runtime/dist/index.js";
import { CNI_VERSION, goPlugin, ourPlugin } from "./lib/plugins.mjs";
import { freeSubnet, netnsPath, Resources, uniqueName } from "./lib/resources.mjs";
import { ms, percentile, table } from "./lib/stats.mjs";

const { values } = parseArgs({
  options: {
    pairs: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "8" },
    json: { type: "boolean", default: false },
  },
});
const pairs = Number(values.pairs);
const lanes = Number(values.concurrency);
const bridgeBin = ourPlugin("bridge");
const ourHostLocal = ourPlugin("host-local");
const goHostLocal = goPlugin("host-local");
if (!bridgeBin || !ourHostLocal || !goHostLocal) {
  process.stderr.write(
    "churn-soak: needs examples/bridge and examples/host-local built (pnpm build) and Go's host-local\n",
  );
  process.exit(2);
}

function lines(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n").filter((l) => l.trim() !== "") : [];
}

const res = new Resources();
const prefix = uniqueName();
const bridge = res.addLink(prefix);
const dataDir = res.addDir("ckb-churn-ipam-");
const cacheDir = res.addDir("ckb-churn-cache-");
const binOurs = res.addDir("ckb-churn-bin-");
const binGo = res.addDir("ckb-churn-bin-");
symlinkSync(bridgeBin, join(binOurs, "bridge"));
symlinkSync(ourHostLocal, join(binOurs, "host-local"));
symlinkSync(bridgeBin, join(binGo, "bridge"));
symlinkSync(goHostLocal, join(binGo, "host-local"));
const network = `${prefix}net`;
const { cidr } = freeSubnet();
const list = confListFromBytes(
  JSON.stringify({
    cniVersion: CNI_VERSION,
    name: network,
    plugins: [
      { type: "bridge", bridge, isGateway: true, ipMasq: true, ipam: { type: "host-local", subnet: cidr, dataDir } },
    ],
  }),
);
const runtimes = {
  cnikit: new CniRuntime({ path: [binOurs], cacheDir, stderr: null, timeoutMs: 60_000 }),
  go: new CniRuntime({ path: [binGo], cacheDir, stderr: null, timeoutMs: 60_000 }),
};
const netns = res.addNetns(lanes);
for (const n of netns) spawnSync("ip", ["-n", n, "link", "set", "lo", "up"]);

/** What the soak owns on the host, counted. */
function counts() {
  const leaseDir = join(dataDir, network);
  let leases = 0;
  try {
    leases = readdirSync(leaseDir).filter(
      (f) => f !== "lock" && !f.startsWith("last_reserved_ip") && !f.startsWith("."),
    ).length;
  } catch {}
  let cache = 0;
  try {
    cache = readdirSync(join(cacheDir, "results")).length;
  } catch {}
  cache += readdirSync(cacheDir).filter((f) => f !== "results").length;
  const ports = lines("ip", ["-o", "link", "show", "master", bridge]).length;
  const containerLinks = netns.reduce((n, ns) => n + lines("ip", ["-n", ns, "-o", "link", "show"]).length, 0);
  const nft = lines("nft", ["list", "chain", "inet", "cni_plugins_masquerade", "masq_checks"]).filter((l) =>
    l.includes(`net: ${network},`),
  ).length;
  const iptables = [...lines("iptables-save", ["-t", "nat"]), ...lines("ip6tables-save", ["-t", "nat"])].filter((l) =>
    l.includes(`name: "${network}"`),
  ).length;
  const fds = readdirSync("/proc/self/fd").length;
  return { links: ports + containerLinks, leases, cache, nft, iptables, fds };
}

const times = { cnikit: { ADD: [], DEL: [] }, go: { ADD: [], DEL: [] } };
const live = new Map(); // address → containerId holding it
let failures = 0;
let duplicates = 0;
const errors = [];

async function pair(i, lane, record) {
  const kind = i % 2 === 0 ? "cnikit" : "go";
  const cni = runtimes[kind];
  const rt = { containerId: `${prefix}-${i}`, netns: netnsPath(netns[lane]), ifName: "eth0" };
  let t = performance.now();
  let result;
  try {
    result = await cni.addNetworkList(list, rt);
  } catch (err) {
    failures++;
    errors.push(`ADD ${i} (${kind}): ${err.message}`);
  }
  if (record) times[kind].ADD.push(performance.now() - t);
  const addresses = (result?.ips ?? []).map((x) => x.address);
  for (const a of addresses) {
    if (live.has(a)) {
      duplicates++;
      errors.push(`${a} handed to ${rt.containerId} while ${live.get(a)} holds it`);
    }
    live.set(a, rt.containerId);
  }
  t = performance.now();
  try {
    await cni.delNetworkList(list, rt);
  } catch (err) {
    failures++;
    errors.push(`DEL ${i} (${kind}): ${err.message}`);
  }
  if (record) times[kind].DEL.push(performance.now() - t);
  for (const a of addresses) if (live.get(a) === rt.containerId) live.delete(a);
}

async function run(total, record, offset) {
  let next = 0;
  await Promise.all(
    netns.map(async (_, lane) => {
      for (let i = next++; i < total; i = next++) await pair(offset + i, lane, record);
    }),
  );
}

let summary;
const started = performance.now();
try {
  // warm-up, not counted: creates the bridge (it stays, as with the reference plugin), the
  // masquerade table, and each runtime's first-use state
  await run(lanes * 2, false, 1_000_000);
  const start = counts();
  await run(pairs, true, 0);
  const end = counts();
  const stat = (xs) => ({ n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99) });
  summary = {
    pairs,
    concurrency: lanes,
    seconds: (performance.now() - started) / 1000,
    failures,
    duplicates,
    start,
    end,
    calls: {
      "ADD cnikit host-local": stat(times.cnikit.ADD),
      "DEL cnikit host-local": stat(times.cnikit.DEL),
      "ADD Go host-local": stat(times.go.ADD),
      "DEL Go host-local": stat(times.go.DEL),
    },
    errors: errors.slice(0, 10),
    names: { prefix, bridge, netns },
  };
} finally {
  res.cleanup();
}
const same = JSON.stringify(summary.start) === JSON.stringify(summary.end);
summary.ok = summary.failures === 0 && summary.duplicates === 0 && same;
if (values.json) {
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} else {
  const out = [
    `churn soak: ${pairs} ADD/DEL pairs, ${lanes} at a time, bridge (cnikit) + host-local (cnikit / Go alternating, one data dir), through @cnikit/runtime, ${summary.seconds.toFixed(0)} s`,
    `failures ${failures}, duplicate addresses ${duplicates}`,
    table(
      ["count", "start", "end"],
      Object.keys(summary.start).map((k) => [k, summary.start[k], summary.end[k]]),
    ),
    "",
    table(
      ["call", "n", "p50 ms", "p99 ms"],
      Object.entries(summary.calls).map(([k, v]) => [k, v.n, ms(v.p50), ms(v.p99)]),
    ),
  ];
  if (errors.length) out.push("", "first errors:", ...summary.errors);
  out.push("", summary.ok ? "OK" : "FAILED");
  process.stdout.write(`${out.join("\n")}\n`);
}
process.exitCode = summary.ok ? 0 : 1;
