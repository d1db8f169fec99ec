/**
 * The bridge built for Bun (`npm run build:bun`: cnikit-build --target bun), run as a runtime
 * runs it: the core story (two containers ADD, ping, CHECK, DEL, nothing left) with our Bun
 * host-local and with Go's as the IPAM delegate. Built by buildFixture (dist-bun/, as `pnpm build`).
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { expectPing, expectPluginSuccess, findLink, runPlugin, Scratch } from "@cnikit/testing";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";

const GO_DIR = "/usr/lib/cni";
const bin = { bridge: "", "host-local": "" };

beforeAll(async () => {
  for (const name of ["bridge", "host-local"] as const) {
    bin[name] = await buildFixture(`examples/${name}`, "build:bun");
  }
}, 120_000);

let s: Scratch;
afterEach(() => s?.cleanup());

function leases(dataDir: string, network: string): string[] {
  const d = join(dataDir, network);
  return existsSync(d) ? readdirSync(d).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip")) : [];
}

describe("bridge built for Bun", () => {
  for (const ipam of ["our Bun host-local", "Go host-local"] as const) {
    it(`two containers: ADD, ping, CHECK, DEL (IPAM: ${ipam})`, async () => {
      s = new Scratch();
      const path = ipam === "Go host-local" ? [GO_DIR] : [dirname(bin["host-local"])];
      const dataDir = s.dir("ipam");
      const network = `ckbun${s.id}`;
      const config = { cniVersion: "1.0.0", name: network, type: "bridge", bridge: s.link("br"), isGateway: true, ipam: { type: "host-local", subnet: s.subnet(), dataDir } };
      const a = s.netns("a");
      const b = s.netns("b");
      const ra = expectPluginSuccess(await runPlugin(bin.bridge, { command: "ADD", config, netns: a, containerId: `a${s.id}`, path }));
      const rb = expectPluginSuccess(await runPlugin(bin.bridge, { command: "ADD", config, netns: b, containerId: `b${s.id}`, path }));
      const ipB = String(rb?.ips?.[0]?.address).split("/")[0] as string;
      expect(leases(dataDir, network)).toHaveLength(2);
      await expectPing(a, ipB);
      expectPluginSuccess(await runPlugin(bin.bridge, { command: "CHECK", config: { ...config, prevResult: ra }, netns: a, containerId: `a${s.id}`, path }));
      for (const [ns, id] of [[a, `a${s.id}`], [b, `b${s.id}`]] as const) {
        expectPluginSuccess(await runPlugin(bin.bridge, { command: "DEL", config, netns: ns, containerId: id, path }));
        expect(await findLink(ns, "eth0")).toBeUndefined();
      }
      expect(leases(dataDir, network)).toEqual([]);
      // DEL is idempotent
      expectPluginSuccess(await runPlugin(bin.bridge, { command: "DEL", config, netns: a, containerId: `a${s.id}`, path }));
    });
  }

  it("answers VERSION without node or bun on PATH", async () => {
    const v = await runPlugin(bin.bridge, { command: "VERSION", env: { PATH: "/nonexistent" } });
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.version?.supportedVersions).toContain("1.1.0");
  });
});
