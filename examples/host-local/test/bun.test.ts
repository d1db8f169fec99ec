/**
 * host-local built for Bun (`npm run build:bun`: cnikit-build --target bun) side by side with Go's
 * host-local on one data dir: concurrent ADDs under the shared flock give distinct addresses, a
 * lease written by one is checked and released by the other, GC and STATUS answer.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { buildFixture } from "../../../tools/build-fixture.js";
import { expectPluginSuccess, runPlugin, Scratch } from "@cnikit/testing";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const GO_DIR = "/usr/lib/cni";
const GO = `${GO_DIR}/host-local`;
let ours = "";

beforeAll(async () => {
  ours = await buildFixture("examples/host-local", "build:bun");
}, 120_000);

let s: Scratch;
afterEach(() => s?.cleanup());

function leases(dataDir: string, network: string): string[] {
  const d = join(dataDir, network);
  return existsSync(d) ? readdirSync(d).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip")).sort() : [];
}
const ipOf = (r: { ips?: { address: string }[] } | undefined) => String(r?.ips?.[0]?.address).split("/")[0] as string;

describe("host-local built for Bun, with Go's on one data dir", () => {
  it("20 concurrent ADDs (Bun and Go alternating): 20 distinct leases; each DEL by the other one", async () => {
    s = new Scratch();
    const dataDir = s.dir("ipam");
    const network = `ckbun${s.id}`;
    const config = { cniVersion: "1.0.0", name: network, type: "bridge", ipam: { type: "host-local", subnet: s.subnet(), dataDir } };
    const netns = s.netns("a");
    const bins = [ours, GO];
    const adds = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runPlugin(bins[i % 2] as string, { command: "ADD", config, netns, containerId: `c${i}`, path: [GO_DIR] })),
    );
    const ips = adds.map((r) => ipOf(expectPluginSuccess(r) as { ips?: { address: string }[] }));
    expect(new Set(ips).size).toBe(20);
    expect(leases(dataDir, network)).toEqual([...ips].sort());
    const check = await runPlugin(ours, { command: "CHECK", config: { ...config, prevResult: adds[1]?.result }, netns, containerId: "c1", path: [GO_DIR] });
    expectPluginSuccess(check);
    await Promise.all(
      adds.map(async (_, i) => expectPluginSuccess(await runPlugin(bins[(i + 1) % 2] as string, { command: "DEL", config, netns, containerId: `c${i}`, path: [GO_DIR] }))),
    );
    expect(leases(dataDir, network)).toEqual([]);
  });

  it("VERSION, STATUS and GC", async () => {
    s = new Scratch();
    const dataDir = s.dir("ipam");
    const network = `ckbun${s.id}`;
    const config = { cniVersion: "1.1.0", name: network, type: "bridge", ipam: { type: "host-local", subnet: s.subnet(), dataDir } };
    const v = await runPlugin(ours, { command: "VERSION", env: { PATH: "/nonexistent" } });
    expect(v.version?.supportedVersions, v.stderr).toContain("1.1.0");
    const netns = s.netns("a");
    expectPluginSuccess(await runPlugin(ours, { command: "ADD", config, netns, containerId: "keep", path: [GO_DIR] }));
    expectPluginSuccess(await runPlugin(ours, { command: "ADD", config, netns, containerId: "drop", ifName: "eth1", path: [GO_DIR] }));
    expect(leases(dataDir, network)).toHaveLength(2);
    const status = await runPlugin(ours, { command: "STATUS", config, path: [GO_DIR] });
    expect(status.exitCode, status.stdout + status.stderr).toBe(0);
    const gc = await runPlugin(ours, {
      command: "GC",
      config: { ...config, "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] },
      path: [GO_DIR],
    });
    expect(gc.exitCode, gc.stdout + gc.stderr).toBe(0);
    expect(leases(dataDir, network)).toHaveLength(1);
  });
});
