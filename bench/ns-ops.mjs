#!/usr/bin/env node
// Micro-benchmark: per-operation median cost of @cnikit/ns (netlink in-process) vs spawning `ip`.
// Needs root and a built package: `pnpm --filter @cnikit/ns build && node bench/ns-ops.mjs [iterations]`.
// Creates one netns named ckbench<hex> and removes it at the end (with everything inside it).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Netns } from "../packages/ns/dist/index.js";

const N = Number(process.argv[2] ?? 40);
const name = `ckbench${randomBytes(3).toString("hex")}`;
const ip = (...args) => execFileSync("ip", args, { stdio: "ignore" });
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function time(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const rows = [];
const ns = await Netns.create(name);
try {
  const path = ns.path;
  await ns.setLinkUp("lo");
  const ops = {
    "open netns handle (+socket, get lo)": {
      nl: async () => {
        const h = await Netns.open(path);
        await h.getLink("lo");
        h.close();
      },
      ip: () => ip("-n", name, "link", "show", "lo"),
    },
    "create veth pair": {
      nl: (i) => ns.createVeth({ name: `na${i}`, peer: { name: `nb${i}` } }),
      ip: (i) => ip("-n", name, "link", "add", `ia${i}`, "type", "veth", "peer", "name", `ib${i}`),
    },
    "link set up": {
      nl: (i) => ns.setLinkUp(`na${i}`),
      ip: (i) => ip("-n", name, "link", "set", `ia${i}`, "up"),
    },
    "addr add": {
      nl: (i) => ns.addAddress(`na${i}`, `10.201.${i}.1/24`),
      ip: (i) => ip("-n", name, "addr", "add", `10.202.${i}.1/24`, "dev", `ia${i}`),
    },
    "route add": {
      nl: (i) => ns.addRoute({ dst: `10.211.${i}.0/24`, dev: `na${i}` }),
      ip: (i) => ip("-n", name, "route", "add", `10.212.${i}.0/24`, "dev", `ia${i}`),
    },
    "sysctl set (in netns)": {
      nl: (i) => ns.setSysctl(`net.ipv4.conf.na${i}.rp_filter`, 2),
      ip: (i) => ip("netns", "exec", name, "sysctl", "-qw", `net.ipv4.conf.ia${i}.rp_filter=2`),
    },
    "delete veth pair": {
      nl: (i) => ns.deleteLink(`na${i}`),
      ip: (i) => ip("-n", name, "link", "del", `ia${i}`),
    },
  };
  // warm-up (loads the addons, JITs the codecs)
  await ns.createVeth({ name: "warm0", peer: { name: "warm1" } });
  await ns.deleteLink("warm0");
  for (const [op, impl] of Object.entries(ops)) {
    const nl = [];
    const sp = [];
    for (let i = 0; i < N; i++) {
      nl.push(await time(() => impl.nl(i)));
      sp.push(await time(() => impl.ip(i)));
    }
    rows.push({ op, nl: median(nl), ip: median(sp) });
  }
} finally {
  ns.close();
  await Netns.remove(name);
}

const pad = (s, n) => String(s).padEnd(n);
const lines = [
  `@cnikit/ns vs spawning ip — median of ${N} runs per op (ms), node ${process.version}`,
  "",
  `${pad("operation", 38)}${pad("netlink", 10)}${pad("ip spawn", 10)}speed-up`,
  `${"-".repeat(38)}${"-".repeat(10)}${"-".repeat(10)}--------`,
  ...rows.map(
    (r) => `${pad(r.op, 38)}${pad(r.nl.toFixed(3), 10)}${pad(r.ip.toFixed(3), 10)}${(r.ip / r.nl).toFixed(1)}x`,
  ),
];
process.stdout.write(`${lines.join("\n")}\n`);
const slow = rows.filter((r) => r.op !== "open netns handle (+socket, get lo)" && r.nl >= 1);
if (slow.length) process.stdout.write(`\nnote: ops at or above 1 ms median: ${slow.map((r) => r.op).join(", ")}\n`);
