/**
 * Killed or stuck delegate: the bridge's IPAM child SIGKILLed mid-ADD, or never answering.
 * ⇒ ADD fails with a clear CNI error (one JSON document) within its deadline, and rolls back:
 * no container veth, no bridge port, no bridge it created, no delegate process left.
 */
import { join } from "node:path";
import type { Scratch } from "@cnikit/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bridgePorts, leftovers, nsLinks, plugins, processesOf, runRaw, scratch, waitProcessesGone } from "./lib.js";

const FIXTURES = join(import.meta.dirname, "fixtures");

let bridgeBin: string;
beforeAll(async () => {
  bridgeBin = (await plugins()).bridge;
}, 180_000);

let s: Scratch | undefined;
afterEach(() => s?.cleanup());
afterAll(() => {
  expect(leftovers()).toEqual([]);
});

function setup(ipamFixture: string) {
  s = scratch();
  const bridge = s.link("br");
  const conf = {
    cniVersion: "1.1.0",
    name: `fl${s.id}net`,
    type: "bridge",
    bridge,
    isGateway: true,
    ipam: { type: "ipam" },
  };
  const path = [s.pluginDir({ bridge: bridgeBin, ipam: join(FIXTURES, ipamFixture) })];
  return { s, bridge, conf, path, netns: s.netns("a"), containerId: `fl${s.id}c` };
}

describe("the IPAM delegate dies or hangs during ADD", () => {
  it("SIGKILLed delegate: a code-999 error naming the plugin and the signal, at once, rolled back", async () => {
    const t = setup("ipam-killed");
    const add = await runRaw(bridgeBin, {
      command: "ADD",
      conf: t.conf,
      netns: t.netns,
      containerId: t.containerId,
      path: t.path,
    });
    expect(add.code).toBe(1);
    expect(add.stdout.trim().split("\n")).toHaveLength(1);
    expect(add.json).toMatchObject({ code: 999 });
    expect(add.json.msg).toBe("IPAM plugin ipam: netplugin failed: signal: killed");
    expect(add.ms).toBeLessThan(10_000);
    expect(nsLinks(t.netns)).toEqual([]);
    expect(bridgePorts(t.bridge)).toEqual([]);
    expect(processesOf(t.containerId)).toEqual([]);
  });

  it("stuck delegate: SIGTERM at the runtime's deadline ⇒ error within 2 s, delegate killed, rolled back", async () => {
    const t = setup("ipam-hang");
    const deadline = 1_500;
    const add = await runRaw(bridgeBin, {
      command: "ADD",
      conf: t.conf,
      netns: t.netns,
      containerId: t.containerId,
      path: t.path,
      killAfterMs: deadline,
      killSignal: "SIGTERM",
      timeoutMs: deadline + 10_000,
    });
    expect(add.signal, add.stderr).toBeNull();
    expect(add.code).toBe(1);
    expect(add.stdout.trim().split("\n")).toHaveLength(1);
    expect(add.json.msg + (add.json.details ?? "")).toMatch(/SIGTERM/);
    expect(add.ms).toBeLessThan(deadline + 2_000);
    expect(nsLinks(t.netns)).toEqual([]);
    expect(bridgePorts(t.bridge)).toEqual([]);
    // the stuck child was killed with the plugin's abort, not left behind
    expect(await waitProcessesGone(t.containerId, 2_000)).toBeGreaterThanOrEqual(0);
  });
});
