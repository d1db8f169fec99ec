#!/usr/bin/env node
// overlay vs bridge: one-shot ADD (and DEL) of the built overlay plugin and of the built bridge
// plugin in the same host netns, in paired rounds (overlay and bridge alternate, the order
// flipping every round). The overlay's agent (file: store) runs in that host netns; both plugins
// delegate to our host-local and are started with `nsenter --net=` into the host netns.
// Target: the overlay adds nothing to the per-container path (ratio ≈ 1).
//
//   node bench/overlay.mjs [--rounds N]
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./lib/plugins.mjs";
import { GNU_TIME } from "./lib/proc.mjs";

const { values } = parseArgs({ options: { rounds: { type: "string" } } });
const ROUNDS = Number(values.rounds ?? 20);

const OVERLAY = join(ROOT, "examples/overlay/dist/overlay");
const AGENT = join(ROOT, "examples/overlay/dist/overlay-agent");
const BRIDGE = join(ROOT, "examples/bridge/dist/bridge");
const HOST_LOCAL_DIR = join(ROOT, "examples/host-local/dist");
for (const f of [OVERLAY, AGENT, BRIDGE, join(HOST_LOCAL_DIR, "host-local")]) {
  if (!existsSync(f)) throw new Error(`${f} missing: run pnpm build`);
}

const id = randomBytes(3).toString("hex");
const HOST = `ckbo${id}-h`;
const dir = mkdtempSync(join(tmpdir(), `ckbo${id}-`));
const made = [];

function sh(...argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Runs a plugin in the host netns; resolves with its wall time and (with GNU time) the CPU time
 * (user + sys, its IPAM child included) in ms, and its stdout. CPU time is far less disturbed
 * by other jobs on a busy machine than wall time.
 */
function plugin(file, command, conf, netns, cid) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const cpuFile = join(dir, "cpu");
    const argv = GNU_TIME ? [GNU_TIME, "-f", "%U %S", "-o", cpuFile, file] : [file];
    const child = spawn("nsenter", [`--net=/run/netns/${HOST}`, ...argv], {
      env: {
        PATH: process.env.PATH,
        CNI_COMMAND: command,
        CNI_CONTAINERID: cid,
        CNI_NETNS: `/run/netns/${netns}`,
        CNI_IFNAME: "eth0",
        CNI_PATH: HOST_LOCAL_DIR,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", () => {});
    child.on("error", reject);
    child.on("close", (code) => {
      const wall = performance.now() - t0;
      if (code !== 0) {
        reject(new Error(`${file} ${command}: exit ${code}: ${out}`));
        return;
      }
      let cpu = Number.NaN;
      if (GNU_TIME) {
        const [u, sys] = readFileSync(cpuFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
        cpu = (u + sys) * 1000;
      }
      resolve({ wall, cpu, out });
    });
    child.stdin.end(JSON.stringify(conf));
  });
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

let agent;
try {
  // the host: a netns with eth0 (one end of a veth pair) carrying the underlay address
  sh("ip", "netns", "add", HOST);
  made.push(HOST);
  sh("ip", "-n", HOST, "link", "set", "lo", "up");
  sh("ip", "-n", HOST, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p");
  sh("ip", "-n", HOST, "addr", "add", "192.168.78.11/24", "dev", "eth0");
  sh("ip", "-n", HOST, "link", "set", "eth0", "up");
  sh("ip", "-n", HOST, "link", "set", "eth0p", "up");
  const network = `ckbo${id}`;
  const runDir = join(dir, "run");
  agent = spawn(
    "nsenter",
    [
      `--net=/run/netns/${HOST}`,
      process.execPath,
      AGENT,
      "--store",
      `file:${join(dir, "store")}`,
      "--network",
      network,
      "--underlay",
      "eth0",
      "--run-dir",
      runDir,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  await new Promise((resolve, reject) => {
    let log = "";
    agent.stderr.on("data", (d) => {
      log += d;
      if (/ ready: /.test(log)) resolve();
    });
    agent.on("close", (code) => reject(new Error(`agent exited ${code}: ${log}`)));
    setTimeout(() => reject(new Error(`agent not ready: ${log}`)), 20_000);
  });
  const confs = {
    overlay: {
      cniVersion: "1.1.0",
      name: network,
      type: "overlay",
      runDir: join(runDir, network),
      ipam: { type: "host-local", dataDir: join(dir, "ipam-overlay") },
    },
    bridge: {
      cniVersion: "1.1.0",
      name: `${network}b`,
      type: "bridge",
      bridge: `ckbo${id}b`,
      isGateway: true,
      mtu: 1450,
      ipam: { type: "host-local", ranges: [[{ subnet: "10.99.0.0/24" }]], dataDir: join(dir, "ipam-bridge") },
    },
  };
  const files = { overlay: OVERLAY, bridge: BRIDGE };
  const add = { overlay: [], bridge: [] };
  const cpu = { overlay: [], bridge: [] };
  const del = { overlay: [], bridge: [] };
  const pairs = [];
  // one warm-up round each (page cache, code cache), not counted
  for (let round = -1; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ["overlay", "bridge"] : ["bridge", "overlay"];
    const t = {};
    for (const kind of order) {
      const ns = `ckbo${id}-${kind[0]}${round + 1}`;
      sh("ip", "netns", "add", ns);
      made.push(ns);
      const cid = `${ns}-c`;
      const a = await plugin(files[kind], "ADD", confs[kind], ns, cid);
      if (!JSON.parse(a.out).ips?.[0]?.address) throw new Error(`${kind}: no address: ${a.out}`);
      const d = await plugin(files[kind], "DEL", confs[kind], ns, cid);
      sh("ip", "netns", "del", ns);
      made.pop();
      if (round < 0) continue;
      add[kind].push(a.wall);
      cpu[kind].push(a.cpu);
      del[kind].push(d.wall);
      t[kind] = a.wall;
    }
    if (round >= 0) pairs.push(t.overlay / t.bridge);
  }
  const f = (x) => `${x.toFixed(1)} ms`;
  console.log(
    `overlay vs bridge, one-shot ADD/DEL in the same host netns, ${ROUNDS} paired rounds (load ${spawnSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).stdout.split(" ").slice(0, 3).join(" ")})`,
  );
  console.log(
    `  ADD  overlay median ${f(median(add.overlay))}  bridge median ${f(median(add.bridge))}  ratio of medians ${(median(add.overlay) / median(add.bridge)).toFixed(3)}  median of paired ratios ${median(pairs).toFixed(3)}`,
  );
  if (GNU_TIME) {
    console.log(
      `  ADD CPU (user+sys, host-local included; GNU time counts 10 ms ticks, so means)  overlay mean ${f(mean(cpu.overlay))}  bridge mean ${f(mean(cpu.bridge))}  ratio ${(mean(cpu.overlay) / mean(cpu.bridge)).toFixed(3)}`,
    );
  }
  console.log(
    `  DEL  overlay median ${f(median(del.overlay))}  bridge median ${f(median(del.bridge))}  ratio ${(median(del.overlay) / median(del.bridge)).toFixed(3)}`,
  );
} finally {
  if (agent && agent.exitCode === null) {
    const exited = new Promise((r) => agent.once("close", r));
    agent.kill("SIGTERM");
    await exited;
  }
  for (const ns of made.reverse()) spawnSync("ip", ["netns", "del", ns]);
  rmSync(dir, { recursive: true, force: true });
}
