/**
 * The churn soak (bench/churn-soak.mjs), short: ADD/DEL pairs 8 at a time through
 * @cnikit/runtime, cnikit's and Go's host-local alternating on one data dir ⇒ no failure, no
 * address handed out twice, and links, leases, cache entries, masquerade rules and the
 * runtime's open fds back to their start counts. `pnpm soak` runs the full 2,000 pairs.
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { REPO_ROOT } from "../tools/build-fixture.js";
import { FULL, plugins } from "./lib.js";

const PAIRS = FULL ? 400 : 48;

beforeAll(async () => {
  await plugins(); // built and current (the soak runs the dist/ binaries)
}, 180_000);

function runSoak(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, "bench/churn-soak.mjs"), "--pairs", String(PAIRS), "--json"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b) => {
      stdout += b;
    });
    child.stderr.on("data", (b) => {
      stderr += b;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

it(`churn: ${PAIRS} ADD/DEL pairs, 8 at a time, cnikit and Go host-local on one data dir`, async () => {
  const r = await runSoak();
  const summary = JSON.parse(r.stdout);
  expect(summary.errors, r.stderr).toEqual([]);
  expect(summary.failures).toBe(0);
  expect(summary.duplicates).toBe(0);
  expect(summary.end).toEqual(summary.start);
  expect(summary.start).toMatchObject({ leases: 0, cache: 0, nft: 0, iptables: 0 });
  for (const c of Object.values(summary.calls) as { n: number }[]) expect(c.n).toBe(PAIRS / 2);
  expect(r.code).toBe(0);
  // the soak removed what it made
  const { prefix, bridge, netns } = summary.names as { prefix: string; bridge: string; netns: string[] };
  const nsList = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
  for (const n of netns) expect(nsList).not.toContain(n);
  expect(spawnSync("ip", ["link", "show", bridge]).status).not.toBe(0);
  expect(spawnSync("nft", ["list", "ruleset"], { encoding: "utf8" }).stdout).not.toContain(prefix);
}, 600_000);
