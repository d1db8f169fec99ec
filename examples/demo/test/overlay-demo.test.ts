// The built demo with --network overlay, as root: a full run on a private etcd (3 hosts, 30
// pairs, a host leaving, CHECK, DEL), and Ctrl-C in the middle of a run; both leave no netns,
// link or process behind.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildFixture, REPO_ROOT } from "../../../tools/build-fixture.js";

let DEMO: string;

beforeAll(async () => {
  // what the demo runs: the overlay plugin and agent, host-local
  [DEMO] = await Promise.all([
    buildFixture("examples/demo"),
    buildFixture("examples/overlay"),
    buildFixture("examples/overlay", "build:overlay-agent"),
    buildFixture("examples/host-local"),
  ]);
}, 180_000);

interface Run {
  code: number | null;
  out: string;
}

function runDemo(args: string[], onLine?: (line: string, kill: (sig: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [DEMO, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      const text = d.toString();
      out += text;
      for (const line of text.split("\n")) onLine?.(line, (sig) => child.kill(sig));
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("close", (code) => resolve({ code, out }));
  });
}

/** The run's id from its underlay line (`netns ckd<id>-ul`). */
function runId(out: string): string {
  const m = /netns (ckd[0-9a-f]{6})-ul/.exec(out);
  if (!m) throw new Error(`no underlay line in:\n${out}`);
  return m[1] as string;
}

function leftovers(id: string): string[] {
  const netns = readdirSync("/run/netns").filter((n) => n.startsWith(id));
  const procs = readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(join("/proc", p, "cmdline"), "utf8").includes(id);
      } catch {
        return false;
      }
    });
  return [...netns.map((n) => `netns ${n}`), ...procs.map((p) => `process ${p}`)];
}

describe("demo --network overlay", () => {
  it("--store etcd: 3 hosts, every pair reachable, a host leaves, CHECK, DEL, nothing left", async () => {
    const r = await runDemo(["--network", "overlay", "--store", "etcd"]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/store\s+etcd \(pid \d+\) in the underlay netns/);
    expect(r.out).toMatch(/agent h3\s+pid \d+\s+subnet 10\.244\.\d+\.0\/24/);
    const matrixLines = r.out.split("\n").filter((l) => l.startsWith("ping matrix:"));
    expect(matrixLines).toEqual(["ping matrix: 30/30 pairs reachable"]);
    expect(r.out).toMatch(
      /h3 leaves\s+lease 10\.244\.\d+\.0\/24 released; its route, neighbour and FDB entry \(3\/3 objects\) gone on h1, h2/,
    );
    expect(r.out).toMatch(/CHECK\s+h1a, h1b, h2a, h2b ok/);
    expect(r.out).toMatch(/cleaned up\s+2 agent\(s\), etcd stopped/);
    expect(leftovers(runId(r.out))).toEqual([]);
  }, 120_000);

  it("Ctrl-C during the run cleans up everything and exits 130", async () => {
    let sent = false;
    const r = await runDemo(["--network", "overlay", "--hosts", "2"], (line, kill) => {
      if (!sent && /container h1a/.test(line)) {
        sent = true;
        kill("SIGINT");
      }
    });
    expect(sent).toBe(true);
    expect(r.code, r.out).toBe(130);
    expect(r.out).toMatch(/interrupted\s+SIGINT, cleaning up/);
    expect(r.out).toMatch(/cleaned up/);
    expect(leftovers(runId(r.out))).toEqual([]);
  }, 120_000);
});
