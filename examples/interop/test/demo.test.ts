/**
 * The README's main job: `node examples/demo/dist/demo` runs the talk's demo, the ping works,
 * and nothing is left behind (namespaces, bridge, temp dirs).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { findLink, HOST_NETNS, runCommand } from "@cnikit/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";

let DEMO: string;

beforeAll(async () => {
  // the demo runs the plugins from their dist/: build what is stale, as `pnpm build` would
  for (const name of ["bridge", "host-local", "static-ipam"]) await buildFixture(`examples/${name}`);
  DEMO = await buildFixture("examples/demo");
}, 120_000);

function runDemo(args: string[]) {
  const r = spawnSync(process.execPath, [DEMO, ...args], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  const id = /cnikit-demo-([0-9a-f]{6})/.exec(r.stdout)?.[1];
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, id };
}

async function leftovers(id: string): Promise<string[]> {
  const left: string[] = [];
  const netns = (await runCommand(["ip", "netns", "list"])).stdout;
  if (netns.includes(`cnikit-demo-${id}`)) left.push("netns");
  if (await findLink(HOST_NETNS, `ckdemo${id}`)) left.push("bridge");
  if (readdirSync(tmpdir()).some((f) => f.startsWith(`cnikit-demo-${id}`))) left.push("temp dir");
  return left;
}

describe("demo", () => {
  it("--help lists the networks", () => {
    const r = runDemo(["--help"]);
    expect(r.status).toBe(0);
    for (const n of ["bridge", "go-bridge", "ptp", "static"]) expect(r.stdout).toContain(`  ${n} `);
  });

  it("rejects an unknown network", () => {
    const r = runDemo(["--network", "nope"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown network "nope"');
  });

  for (const network of ["bridge", "go-bridge", "static"]) {
    it(`--network ${network}: two containers ping each other, then everything is gone`, async () => {
      const r = runDemo(network === "bridge" ? [] : ["--network", network]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/ping a → b\s+\d+ bytes from 10\.\d+\.\d+\.\d+/);
      expect(r.stdout).toMatch(/CHECK\s+a ok, b ok/);
      expect(r.stdout).toContain("cleaned up");
      expect(r.id).toBeDefined();
      expect(await leftovers(r.id as string)).toEqual([]);
    });
  }

  it("--runtime bun: the same story with our plugins' Bun executables (dist-bun/)", async () => {
    // the demo runs dist-bun/ (pnpm build's build:bun): build what is stale
    for (const name of ["bridge", "host-local"]) await buildFixture(`examples/${name}`, "build:bun");
    const r = runDemo(["--runtime", "bun"]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("our plugins on Bun");
    expect(r.stdout).toMatch(/ping a → b\s+\d+ bytes from 10\.\d+\.\d+\.\d+/);
    expect(r.stdout).toMatch(/CHECK\s+a ok, b ok/);
    expect(await leftovers(r.id as string)).toEqual([]);
  }, 120_000);

  it("cleans up when interrupted", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [DEMO], { env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    // interrupt once the first container is attached
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (stdout.includes("container a") || child.exitCode !== null) {
          clearInterval(t);
          resolve();
        }
      }, 20);
    });
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    const id = /cnikit-demo-([0-9a-f]{6})/.exec(stdout)?.[1] as string;
    expect(code).toBe(130);
    expect(stdout).toContain("cleaned up");
    expect(await leftovers(id)).toEqual([]);
  });
});
