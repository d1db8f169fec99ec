#!/usr/bin/env node
// What a bridge ADD's resident memory is made of, at the moment the plugin exits: each plugin
// runs one ADD (IPAM: Go's host-local) in a fresh netns, under `strace` with its exit_group(2)
// held back for a moment (`-e inject=exit_group:delay_enter=`), while this script reads
// /proc/<pid>/smaps and sums Rss by mapping: the executable's code, read-only data and data, the
// anonymous memory (heaps, stacks), the shared libraries. Needs strace.
//
//   node bench/rss-map.mjs [--rounds 3] [--drop] [plugin ...]
//   (default: Go's bridge and examples/bridge/dist-bun/bridge; --drop: each executable's pages
//   are written back and dropped from the page cache before every round, `dd iflag=nocache`,
//   so that they are read back from disk as after a reboot instead of as left by the build)
import { spawn, spawnSync } from "node:child_process";
import { closeSync, fsyncSync, openSync, readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { bridgeConf } from "./plugins.mjs";
import { GO_DIR, goPlugin, ROOT } from "./lib/plugins.mjs";
import { cleanEnv } from "./lib/proc.mjs";
import { Resources, freeSubnet, netnsPath, uniqueName } from "./lib/resources.mjs";
import { mb, median, table } from "./lib/stats.mjs";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: "string", default: "3" }, drop: { type: "boolean", default: false } },
});
const plugins = positionals.length
  ? positionals.map((p) => resolve(p))
  : [goPlugin("bridge"), resolve(ROOT, "examples/bridge/dist-bun/bridge")];
const EXIT_GROUP = 231; // x86-64
const HOLD_US = 400_000;

/** Writes back and drops `file`'s pages from the page cache. */
function dropPages(file) {
  const fd = openSync(file, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  spawnSync("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]);
}

/** The pid strace started (its only child), once it exists. */
function childOf(pid) {
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const kids = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
    if (kids) return Number(kids.split(" ")[0]);
  }
  return undefined;
}

/** True once `pid` sits at the entry of exit_group, stopped by strace. */
function atExit(pid) {
  try {
    return readFileSync(`/proc/${pid}/syscall`, "utf8").split(" ")[0] === String(EXIT_GROUP);
  } catch {
    return false;
  }
}

/** Rss (kB) of `pid` by kind of mapping, and its Anonymous total. */
function rssMap(pid, exe) {
  const parts = { code: 0, rodata: 0, data: 0, anon: 0, libs: 0, other: 0 };
  let name = "";
  let perms = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      perms = head[1];
      name = head[2];
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    const kb = Number(rss[1]);
    if (name === exe) parts[perms.includes("x") ? "code" : perms.includes("w") ? "data" : "rodata"] += kb;
    else if (name === "" || name.startsWith("[heap") || name.startsWith("[stack") || name.startsWith("[anon")) parts.anon += kb;
    else if (name.startsWith("/") && /\.so(\.|$)/.test(name)) parts.libs += kb;
    else parts.other += kb;
  }
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  return { ...parts, total };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function oneAdd(file) {
  const res = new Resources();
  try {
    const [ns] = res.addNetns();
    const name = res.addLink(uniqueName());
    const dataDir = res.addDir();
    const { cidr } = freeSubnet();
    const env = cleanEnv({
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: `ckb-${name}`,
      CNI_NETNS: netnsPath(ns),
      CNI_IFNAME: "eth0",
      CNI_PATH: GO_DIR,
    });
    const args = ["-qq", "-o", "/dev/null", "-e", "trace=exit_group", "-e", `inject=exit_group:delay_enter=${HOLD_US}`];
    const child = spawn("strace", [...args, file], { env, stdio: ["pipe", "ignore", "ignore"] });
    child.stdin.end(JSON.stringify(bridgeConf({ name, cidr, dataDir })));
    const done = new Promise((r) => child.on("exit", r));
    let map;
    for (let waited = 0; waited < 5000 && !map; waited += 2) {
      const pid = childOf(child.pid);
      if (pid && atExit(pid)) map = rssMap(pid, file);
      else await sleep(2);
    }
    await done;
    if (!map) throw new Error(`${file}: never reached exit_group`);
    return map;
  } finally {
    res.cleanup();
  }
}

const rows = [];
for (const file of plugins) {
  const maps = [];
  for (let i = 0; i < Number(values.rounds); i++) {
    if (values.drop) dropPages(file);
    maps.push(await oneAdd(file));
  }
  const med = (k) => mb(median(maps.map((m) => m[k])));
  rows.push([file, med("total"), med("code"), med("rodata"), med("data"), med("anon"), med("libs"), med("other")]);
}
console.log(
  `Resident memory at exit of a bridge ADD, MB (median of ${values.rounds}; pages ${values.drop ? "dropped and read back from disk" : "as found in the page cache"}):\n`,
);
console.log(
  table(["plugin", "total", "its code", "its read-only data", "its data", "anonymous", "shared libraries", "other"], rows),
);
