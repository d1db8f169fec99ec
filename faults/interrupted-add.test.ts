/**
 * Interrupted ADD: the bridge plugin SIGKILLed at points spread over its ADD (by time, from 0 to
 * its median ADD duration), with cnikit's and Go's host-local, then the DEL a runtime would send
 * ⇒ the host is back to its start state (no container veth, no bridge port, no lease, no
 * masquerade rule). GC with an empty valid-attachments list (after the runtime removed the
 * sandboxes) does the same without any DEL. Through @cnikit/runtime, the result cache too.
 */
import { spawnSync } from "node:child_process";
import { CniRuntime, confListFromBytes } from "@cnikit/runtime";
import type { Scratch } from "@cnikit/testing";
import { describe, expect, it } from "vitest";
import { FULL, faultFile, GO_HOST_LOCAL, median, netState, runRaw, scratch, waitProcessesGone } from "./lib.js";

/** Kill points per IPAM plugin: 50 in the full run, 12 in CI. */
const POINTS = FULL ? 50 : 12;

const bins = faultFile();
let s: Scratch | undefined;

/** Go's host-local (Debian's build) serves config versions up to 1.0.0, so its runs use 1.0.0 (and no GC). */
function setup(ipamBin: string, cniVersion = "1.1.0") {
  s = scratch();
  const network = `fl${s.id}net`;
  const bridge = s.link("br");
  const dataDir = s.dir("ipam");
  const path = [s.pluginDir({ bridge: bins.bridge, "host-local": ipamBin })];
  const conf = {
    cniVersion,
    name: network,
    type: "bridge",
    bridge,
    isGateway: true,
    ipMasq: true,
    ipam: { type: "host-local", subnet: s.subnet(), dataDir },
  };
  return { s, network, bridge, dataDir, path, conf };
}

/** ADD/DEL pairs before the campaign: the bridge exists afterwards (DEL never removes it), and the median ADD time. */
async function warmUp(t: ReturnType<typeof setup>, netns: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const add = await runRaw(bins.bridge, {
      command: "ADD",
      conf: t.conf,
      netns,
      containerId: `fl${t.s.id}w${i}`,
      path: t.path,
    });
    expect(add.code, add.stdout + add.stderr).toBe(0);
    times.push(add.ms);
    const del = await runRaw(bins.bridge, {
      command: "DEL",
      conf: t.conf,
      netns,
      containerId: `fl${t.s.id}w${i}`,
      path: t.path,
    });
    expect(del.code, del.stdout).toBe(0);
  }
  return median(times);
}

const killPoints = (medianMs: number) =>
  Array.from({ length: POINTS }, (_, i) => Math.round((medianMs * i) / (POINTS - 1)));

describe.each([
  ["cnikit host-local", () => setup(bins.hostLocal)],
  ["Go host-local", () => setup(GO_HOST_LOCAL, "1.0.0")],
])("bridge SIGKILLed during ADD (%s)", (label, make) => {
  it(`then DEL: back to the start state at each of ${POINTS} kill points`, async () => {
    const t = make();
    const netns = t.s.netns("a");
    const med = await warmUp(t, netns);
    const start = netState({ ...t, netns: [netns] });
    expect(start.ports).toEqual([]);
    const outcomes: string[] = [];
    for (const [i, at] of killPoints(med).entries()) {
      const containerId = `fl${t.s.id}k${i}`;
      const add = await runRaw(bins.bridge, {
        command: "ADD",
        conf: t.conf,
        netns,
        containerId,
        path: t.path,
        killAfterMs: at,
      });
      outcomes.push(add.signal ?? `exit ${add.code}`);
      // what the runtime sends next: DEL of the same attachment, right away
      const del = await runRaw(bins.bridge, { command: "DEL", conf: t.conf, netns, containerId, path: t.path });
      expect(del.code, `DEL after a kill at ${at} ms: ${del.stdout}${del.stderr}`).toBe(0);
      // an IPAM child orphaned by the kill may still be running: once it is done, nothing is left
      await waitProcessesGone(containerId);
      expect(netState({ ...t, netns: [netns] }), `kill at ${at} ms of ${Math.round(med)} ms`).toEqual(start);
    }
    // the points did interrupt ADDs (the first ones at least); the last may land after it finished
    const killed = outcomes.filter((o) => o === "SIGKILL").length;
    console.info(`${label}: ${POINTS} kill points over a median ADD of ${Math.round(med)} ms, ${killed} ADDs killed`);
    expect(killed).toBeGreaterThan(POINTS / 3);
  }, 240_000);
});

describe("bridge SIGKILLed during ADD, then GC (cnikit host-local; Go's serves no GC)", () => {
  it("GC with no valid attachment, after the runtime removed the sandboxes: back to the start state", async () => {
    const t = setup(bins.hostLocal);
    const warm = t.s.netns("w");
    const med = await warmUp(t, warm);
    const start = netState({ ...t, netns: [warm] });
    const points = killPoints(med).filter((_, i) => i % 3 === 0);
    for (const [i, at] of points.entries()) {
      const netns = t.s.netns(`g${i}`);
      const containerId = `fl${t.s.id}g${i}`;
      await runRaw(bins.bridge, { command: "ADD", conf: t.conf, netns, containerId, path: t.path, killAfterMs: at });
      await waitProcessesGone(containerId);
      // a runtime that gave up on the sandbox deletes its netns (the veth pair goes with it)
      spawnSync("ip", ["netns", "delete", netns.split("/").pop() as string]);
    }
    const gc = await runRaw(bins.bridge, {
      command: "GC",
      conf: { ...t.conf, "cni.dev/valid-attachments": [] },
      path: t.path,
    });
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(netState({ ...t, netns: [warm] })).toEqual(start);
  }, 240_000);
});

describe("a runtime (@cnikit/runtime) times out during ADD", () => {
  it(`DEL through the runtime leaves no cache entry, lease, port or rule (${POINTS} points), nor does GC`, async () => {
    const t = setup(bins.hostLocal);
    const netns = t.s.netns("a");
    const cacheDir = t.s.dir("cache");
    const med = await warmUp(t, netns);
    const cni = new CniRuntime({ path: t.path, cacheDir, stderr: null });
    const { ipam, ...bridgeConf } = t.conf;
    const list = confListFromBytes(
      JSON.stringify({
        cniVersion: "1.1.0",
        name: t.network,
        plugins: [{ ...bridgeConf, ipam, name: undefined, cniVersion: undefined }],
      }),
    );
    const start = netState({ ...t, netns: [netns], cacheDir });
    expect(start.cache).toEqual([]);
    let timedOut = 0;
    for (const [i, at] of killPoints(med).entries()) {
      const rt = { containerId: `fl${t.s.id}r${i}`, netns, ifName: "eth0" };
      try {
        await cni.addNetworkList(list, rt, { signal: AbortSignal.timeout(Math.max(1, at)) });
      } catch {
        timedOut++;
      }
      await cni.delNetworkList(list, rt);
      await waitProcessesGone(rt.containerId);
      expect(netState({ ...t, netns: [netns], cacheDir }), `timeout at ${at} ms`).toEqual(start);
    }
    console.info(`runtime: ${POINTS} timeouts over a median ADD of ${Math.round(med)} ms, ${timedOut} ADDs killed`);
    expect(timedOut).toBeGreaterThan(POINTS / 3);

    // killed ADDs that completed leave cache entries; GC with no valid attachment DELs them all
    for (let i = 0; i < 4; i++) {
      const rt = { containerId: `fl${t.s.id}x${i}`, netns: t.s.netns(`x${i}`), ifName: "eth0" };
      await cni
        .addNetworkList(list, rt, { signal: AbortSignal.timeout(i === 0 ? 30_000 : Math.round((med * i) / 4)) })
        .catch(() => {});
      await waitProcessesGone(rt.containerId);
      if (i > 0) spawnSync("ip", ["netns", "delete", rt.netns.split("/").pop() as string]);
    }
    await cni.gcNetworkList(list, { validAttachments: [] });
    expect(netState({ ...t, netns: [netns], cacheDir })).toEqual(start);
  }, 240_000);
});
