/**
 * Shared parts of the fault suite: the plugins under test (built by buildFixture), a raw
 * process runner that can kill a plugin at a chosen moment, and a view of everything on the
 * host that one network of the suite can own (leases, links, masquerade rules, cache entries,
 * processes), to compare before and after a fault.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { listHostLocalLeases, Scratch } from "@cnikit/testing";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { buildFixture } from "../tools/build-fixture.js";

/** FAULTS_FULL=1: the long version of every campaign (50 kill points, 10,000 fuzz cases, ...). */
export const FULL = process.env.FAULTS_FULL === "1";

/** Go's reference plugins (Debian `containernetworking-plugins`). */
export const GO_DIR = "/usr/lib/cni";
export const GO_HOST_LOCAL = join(GO_DIR, "host-local");

/** Every name the suite makes starts with this (Scratch prefix), so leftovers can be found. */
export const PREFIX = "fl";

/** Scratch ids made by this test file: what `leftovers()` looks for. */
const ids: string[] = [];

/** Scratches made since the last `afterEach` of {@link faultFile}: what it cleans up. */
const live: Scratch[] = [];

/** A Scratch with the suite's prefix, remembered for the afterAll leftover check. */
export function scratch(): Scratch {
  const s = new Scratch({ prefix: PREFIX });
  ids.push(s.id);
  live.push(s);
  return s;
}

/** The bridge and host-local examples under test. */
export interface FaultPlugins {
  bridge: string;
  hostLocal: string;
}

/**
 * The hooks a fault test file needs: the plugins built before its first test (the returned
 * object is filled in then), every scratch a test made cleaned up after it, and nothing the
 * file made left on the host after its last test.
 */
export function faultFile(): FaultPlugins {
  const bins: FaultPlugins = { bridge: "", hostLocal: "" };
  beforeAll(async () => {
    Object.assign(bins, await plugins());
  }, 180_000);
  afterEach(() => {
    for (const s of live.splice(0)) s.cleanup();
  });
  afterAll(() => {
    expect(leftovers()).toEqual([]);
  });
  return bins;
}

/** The built bridge and host-local examples (built once, reused while current). */
export async function plugins(): Promise<FaultPlugins> {
  const bridge = await buildFixture("examples/bridge");
  const hostLocal = await buildFixture("examples/host-local");
  return { bridge, hostLocal };
}

/** How one raw plugin run ended. */
export interface RawRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** The JSON document on stdout, if there was exactly one. */
  // biome-ignore lint/suspicious/noExplicitAny: a plugin's reply, read field by field by the tests
  json?: any;
}

/** Options of {@link runRaw}. */
export interface RawOptions {
  command: string;
  conf: object | string;
  netns?: string;
  containerId?: string;
  ifName?: string;
  path: string[];
  args?: string;
  env?: Record<string, string>;
  /** Send `killSignal` this many ms after the spawn. */
  killAfterMs?: number;
  killSignal?: NodeJS.Signals;
  /** SIGKILL after this long whatever happens (a hang is a failure, not a stuck suite). */
  timeoutMs?: number;
}

/** Runs a plugin as a runtime does (clean env, config on stdin), optionally killing it midway. */
export function runRaw(bin: string, o: RawOptions): Promise<RawRun> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: o.command,
    CNI_CONTAINERID: o.containerId ?? "",
    CNI_NETNS: o.netns ?? "",
    CNI_IFNAME: o.ifName ?? "eth0",
    CNI_PATH: o.path.join(":"),
    CNI_ARGS: o.args ?? "",
    ...o.env,
  };
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => {}); // killed before reading its stdin
    child.stdin.end(typeof o.conf === "string" ? o.conf : JSON.stringify(o.conf));
    const timers: NodeJS.Timeout[] = [];
    if (o.killAfterMs !== undefined) {
      timers.push(setTimeout(() => child.kill(o.killSignal ?? "SIGKILL"), o.killAfterMs));
    }
    timers.push(setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 30_000));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      for (const t of timers) clearTimeout(t);
      const stdout = Buffer.concat(out).toString("utf8");
      const run: RawRun = {
        code,
        signal,
        stdout,
        stderr: Buffer.concat(err).toString("utf8"),
        ms: performance.now() - start,
      };
      try {
        if (stdout.trim() !== "") run.json = JSON.parse(stdout);
      } catch {
        // not one JSON document: left undefined, the tests assert on it
      }
      resolve(run);
    });
  });
}

/** Pids of live processes whose environment holds `CNI_CONTAINERID=<id>` (orphaned delegates). */
export function processesOf(containerId: string): number[] {
  const needle = Buffer.from(`CNI_CONTAINERID=${containerId}\0`);
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`);
      if (env.includes(needle)) out.push(Number(name));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return out;
}

/** Waits until no process of `containerId` is left; returns how many were seen at first. */
export async function waitProcessesGone(containerId: string, timeoutMs = 10_000): Promise<number> {
  const first = processesOf(containerId).length;
  const until = Date.now() + timeoutMs;
  while (processesOf(containerId).length > 0) {
    if (Date.now() > until) throw new Error(`processes of ${containerId} still running: ${processesOf(containerId)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return first;
}

function lines(argv: string[]): string[] {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n").filter((l) => l.trim() !== "") : [];
}

/** nftables masquerade rules (Go's table) whose comment names `network`. */
export function nftMasqRules(network: string): string[] {
  return lines(["nft", "list", "chain", "inet", "cni_plugins_masquerade", "masq_checks"]).filter((l) =>
    l.includes(`net: ${network},`),
  );
}

/** iptables/ip6tables nat rules and chains whose comment names `network`. */
export function iptablesMasqRules(network: string): string[] {
  return [...lines(["iptables-save", "-t", "nat"]), ...lines(["ip6tables-save", "-t", "nat"])].filter((l) =>
    l.includes(`name: "${network}"`),
  );
}

/** Names of the links in a namespace other than `lo` (empty when the namespace is gone). */
export function nsLinks(netnsPath: string): string[] {
  const name = netnsPath.split("/").pop() as string;
  return lines(["ip", "-n", name, "-o", "link", "show"])
    .map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter((n) => n !== "" && n !== "lo");
}

/** Host links enslaved to `bridge`. */
export function bridgePorts(bridge: string): string[] {
  return lines(["ip", "-o", "link", "show", "master", bridge]).map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "");
}

/** Files in a runtime cache dir (results/ and the temporary files beside it). */
export function cacheFiles(cacheDir: string): string[] {
  const out: string[] = [];
  if (!existsSync(cacheDir)) return out;
  for (const e of readdirSync(cacheDir, { withFileTypes: true })) {
    if (e.isFile()) out.push(e.name);
  }
  const results = join(cacheDir, "results");
  if (existsSync(results)) out.push(...readdirSync(results).map((f) => `results/${f}`));
  return out.sort();
}

/** What one network of the suite owns on the host. */
export interface NetState {
  leases: string[];
  containerLinks: string[];
  ports: string[];
  nft: string[];
  iptables: string[];
  cache: string[];
}

/** A snapshot of {@link NetState}. */
export function netState(o: {
  network: string;
  dataDir: string;
  bridge: string;
  netns: string[];
  cacheDir?: string;
}): NetState {
  return {
    leases: listHostLocalLeases(o.dataDir, o.network),
    containerLinks: o.netns.flatMap((n) => nsLinks(n).map((l) => `${n}:${l}`)),
    ports: bridgePorts(o.bridge),
    nft: nftMasqRules(o.network),
    iptables: iptablesMasqRules(o.network),
    cache: o.cacheDir ? cacheFiles(o.cacheDir) : [],
  };
}

/**
 * Anything left on the host that carries one of this file's scratch ids: namespaces, links,
 * temp dirs, masquerade rules, processes. Empty when the file cleaned up after itself.
 */
export function leftovers(): string[] {
  const found: string[] = [];
  const has = (s: string) => ids.some((id) => s.includes(`${PREFIX}${id}`));
  for (const l of lines(["ip", "netns", "list"])) if (has(l)) found.push(`netns ${l}`);
  for (const l of lines(["ip", "-o", "link", "show"])) if (has(l)) found.push(`link ${l.split(":")[1]?.trim()}`);
  for (const f of readdirSync(tmpdir())) if (has(f)) found.push(`dir ${join(tmpdir(), f)}`);
  for (const l of lines(["nft", "list", "ruleset"])) if (has(l)) found.push(`nft ${l.trim()}`);
  for (const l of [...lines(["iptables-save"]), ...lines(["ip6tables-save"])]) if (has(l)) found.push(`iptables ${l}`);
  for (const id of ids) {
    for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
      try {
        if (readFileSync(`/proc/${pid}/environ`).includes(Buffer.from(id))) found.push(`process ${pid} (${id})`);
      } catch {
        // gone
      }
    }
  }
  return [...new Set(found)];
}

/** The median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** The directory of a built plugin (for CNI_PATH). */
export const dirOf = dirname;
