/**
 * `demo --agent` (root): the demo's bridge network with our plugins as agent shims served by a
 * private cnikit-agent, which the demo starts and stops by pid; nothing is left behind.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findLink, HOST_NETNS, runCommand } from "@cnikit/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { buildFixture, REPO_ROOT } from "../../../tools/build-fixture.js";

let DEMO: string;
beforeAll(async () => {
  for (const name of ["bridge", "host-local"]) {
    await buildFixture(`examples/${name}`);
    await buildFixture(`examples/${name}`, "build:agent");
  }
  DEMO = await buildFixture("examples/demo");
}, 180_000);

describe("demo --agent", () => {
  it("runs the bridge network through the shims and a private cnikit-agent, prints per-call times, stops it", async () => {
    const cli = join(REPO_ROOT, "packages/agent/dist/cli.js");
    expect(existsSync(cli), `${cli} is missing: run pnpm build`).toBe(true);
    const r = spawnSync(process.execPath, [DEMO, "--agent"], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/plugins\s+bridge \(cnikit, agent shim\), host-local \(cnikit, agent shim\)/);
    const pid = Number(/cnikit-agent pid (\d+) serving bridge, host-local/.exec(r.stdout)?.[1]);
    expect(pid).toBeGreaterThan(0);
    // per-call times from the daemon, host-local run inside it
    expect(r.stdout).toMatch(/in agent\s+host-local ADD [\d.]+ ms \(in process\), bridge ADD [\d.]+ ms/);
    expect(r.stdout).toMatch(/in agent\s+host-local DEL [\d.]+ ms \(in process\), bridge DEL [\d.]+ ms/);
    expect(r.stdout).toMatch(/ping a → b\s+\d+ bytes from/);
    expect(r.stdout).toContain(`cleaned up   cnikit-agent (pid ${pid})`);
    // the daemon is gone, and so is everything else the run made
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    const id = /cnikit-demo-([0-9a-f]{6})/.exec(r.stdout)?.[1] as string;
    expect((await runCommand(["ip", "netns", "list"])).stdout).not.toContain(`cnikit-demo-${id}`);
    expect(await findLink(HOST_NETNS, `ckdemo${id}`)).toBeUndefined();
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith(`cnikit-demo-${id}`))).toEqual([]);
  });
});
