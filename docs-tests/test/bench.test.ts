// The short version of `pnpm bench` that CI runs: the bench runner (bench/lib/runner.c, which
// spawns and times every call so no time is the harness's own fork) does what the tables rely
// on, and `bench/run.mjs` with 2 rounds produces every table with zero failures. The full run
// (40 rounds, all sections, ~6 min) is `pnpm bench`; no figure is asserted here.
// Needs root and the packages built (`pnpm build`), as the rest of the suite does.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain JavaScript module of the benchmark
import { asyncRun, timedRun } from "../../bench/lib/proc.mjs";
// @ts-expect-error: plain JavaScript module of the benchmark
import { runnerBinary } from "../../bench/lib/runner.mjs";

const ROOT = join(import.meta.dirname, "..", "..");
const ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };

interface Run {
  ms: number;
  kb: number;
  status: number | null;
  signal: string | null;
  error?: Error;
  stdout: string;
  stderr: string;
}

describe("the bench runner", () => {
  it("is built (gcc or musl-gcc are installed by the quickstart)", () => {
    expect(runnerBinary()).toMatch(/runner-[0-9a-f]{12}$/);
  });

  it("passes exactly the env given, stdin in full, and returns stdout, stderr, status and time", () => {
    const input = "x".repeat(300_000); // more than a pipe holds: written while the output is read
    const script = 'wc -c; h="$HOME"; [ -z "$h" ] && h="no home"; echo "[$CNI_COMMAND][$h]" >&2; exit 3';
    const r: Run = timedRun("/bin/sh", ["-c", script], {
      env: { ...ENV, CNI_COMMAND: "ADD" },
      input,
    });
    expect(r.status).toBe(3);
    expect(r.stdout.trim()).toBe("300000");
    expect(r.stderr).toBe("[ADD][no home]\n");
    expect(r.ms).toBeGreaterThan(0);
  });

  it("reports a signal, a spawn failure, and the peak RSS of what ran", () => {
    const killed: Run = timedRun("/bin/sh", ["-c", "kill -9 $$"], { env: ENV });
    expect(killed.status).toBeNull();
    expect(killed.signal).toBe("SIGKILL");
    const missing: Run = timedRun("/nonexistent/plugin", [], { env: ENV });
    expect(missing.status).toBeNull();
    expect(missing.error?.message).toMatch(/errno 2/);
    // a process that touches 64 MB reports at least that much
    const big: Run = timedRun(process.execPath, ["-e", "Buffer.alloc(64 * 1024 * 1024, 1)"], { env: ENV });
    expect(big.status).toBe(0);
    expect(big.kb).toBeGreaterThan(64 * 1024);
  });

  it("runs many commands at once without blocking", async () => {
    const started = performance.now();
    const runs: Run[] = await Promise.all(
      Array.from({ length: 12 }, (_, i) => asyncRun("/bin/sh", ["-c", `sleep 0.3; echo ${i}`], { env: ENV })),
    );
    expect(runs.map((r) => r.stdout.trim())).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
    expect(runs.every((r) => r.status === 0)).toBe(true);
    expect(performance.now() - started).toBeLessThan(3000); // 12 × 0.3 s one after another would be 3.6 s
  });
});

describe("pnpm bench, short", () => {
  it("produces every table with 2 rounds and no failure", async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = spawn(
          process.execPath,
          ["bench/run.mjs", "--no-write", "--rounds", "2", "--skip", "concurrency,etcd-ipam,ns-ops"],
          { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
        );
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        child.on("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
      },
    );
    expect(code, stderr).toBe(0);
    for (const title of ["Start-up: VERSION", "host-local ADD / DEL", "bridge ADD / DEL", "Agent mode", "Targets"])
      expect(stdout).toContain(`### ${title}`);
    expect(stdout).toContain("timed by the bench runner");
    expect(stdout).not.toMatch(/^- .*(first error|failed|: exit )/m);
    // the last column of every subject row of the per-call tables is its failure count
    const rows = stdout.split("\n").filter((l) => /^\| (Go|our|agent|`node)/.test(l) && /\| \d+ +\|$/.test(l));
    expect(rows.length).toBeGreaterThan(20);
    for (const row of rows) expect(row, row).toMatch(/\| 0 +\|$/);
  }, 300_000);
});
