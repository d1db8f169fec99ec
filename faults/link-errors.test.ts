/**
 * Kernel-side failures during the bridge's ADD: the netns removed (before and while ADD runs),
 * the bridge name taken by a link that is not a bridge, an MTU the kernel refuses, the interface
 * name already taken inside the container. Each gives its own error, and the ADD rolls back: no
 * lease, no host veth, nothing of the user's touched.
 */
import { spawnSync } from "node:child_process";
import type { Scratch } from "@cnikit/testing";
import { listHostLocalLeases } from "@cnikit/testing";
import { describe, expect, it } from "vitest";
import { bridgePorts, faultFile, median, netState, nsLinks, runRaw, scratch, waitProcessesGone } from "./lib.js";

const bins = faultFile();
let s: Scratch | undefined;

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

function setup(extra: Record<string, unknown> = {}) {
  s = scratch();
  const bridge = s.link("br");
  const dataDir = s.dir("ipam");
  const network = `fl${s.id}net`;
  const conf = {
    cniVersion: "1.1.0",
    name: network,
    type: "bridge",
    bridge,
    isGateway: true,
    ipMasq: true,
    ipam: { type: "host-local", subnet: s.subnet(), dataDir },
    ...extra,
  };
  const path = [s.pluginDir({ bridge: bins.bridge, "host-local": bins.hostLocal })];
  const add = (netns: string, containerId: string) =>
    runRaw(bins.bridge, { command: "ADD", conf, netns, containerId, path });
  const del = (netns: string, containerId: string) =>
    runRaw(bins.bridge, { command: "DEL", conf, netns, containerId, path });
  return { s, bridge, dataDir, network, conf, path, add, del };
}

/** One error document on stdout, exit 1. */
function expectOneError(r: Awaited<ReturnType<typeof runRaw>>): { code: number; msg: string; details?: string } {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stdout.trim().split("\n")).toHaveLength(1);
  return r.json;
}

describe("bridge ADD against a hostile kernel state", () => {
  it("the bridge name is taken by a veth: refused by name, the veth untouched, no lease", async () => {
    const t = setup();
    const peer = t.s.link("pr");
    ip("link", "add", t.bridge, "type", "veth", "peer", "name", peer);
    const netns = t.s.netns("a");
    const e = expectOneError(await t.add(netns, "c1"));
    expect(e).toMatchObject({
      code: 999,
      msg: `failed to create bridge "${t.bridge}": "${t.bridge}" already exists but is not a bridge`,
    });
    expect(nsLinks(netns)).toEqual([]);
    expect(listHostLocalLeases(t.dataDir, t.network)).toEqual([]);
    const still = spawnSync("ip", ["-d", "-o", "link", "show", t.bridge], { encoding: "utf8" }).stdout;
    expect(still).toMatch(/veth/);
  });

  it("an MTU out of the kernel's range (70000): refused as config (code 7) before anything is made", async () => {
    const t = setup({ mtu: 70_000 });
    const netns = t.s.netns("a");
    const e = expectOneError(await t.add(netns, "c1"));
    expect(e).toMatchObject({ code: 7, msg: "failed to load netconf: invalid MTU 70000" });
    expect(spawnSync("ip", ["link", "show", t.bridge]).status).not.toBe(0);
    expect(listHostLocalLeases(t.dataDir, t.network)).toEqual([]);
  });

  it("an MTU the kernel refuses for IPv6 (1000 < 1280, an IPv6 range): a specific error, no veth, no lease", async () => {
    const t = setup({ mtu: 1000 });
    t.conf.ipam = { type: "host-local", subnet: `fd${t.s.id.slice(0, 2)}:${t.s.id.slice(2)}::/64`, dataDir: t.dataDir };
    const netns = t.s.netns("a");
    const e = expectOneError(await t.add(netns, "c1"));
    expect(e).toMatchObject({
      code: 7,
      msg: 'MTU 1000 is below IPv6\'s minimum of 1280: the kernel disables IPv6 on "eth0", which cannot take the IPv6 address IPAM returned',
    });
    expect(nsLinks(netns)).toEqual([]);
    expect(bridgePorts(t.bridge)).toEqual([]);
    expect(listHostLocalLeases(t.dataDir, t.network)).toEqual([]);
  });

  it("the interface name is taken inside the container: a specific error, theirs kept, no host veth, no lease", async () => {
    const t = setup();
    const netns = t.s.netns("a");
    ip("-n", netns.split("/").pop() as string, "link", "add", "eth0", "type", "veth", "peer", "name", "theirs");
    const e = expectOneError(await t.add(netns, "c1"));
    expect(e.msg).toMatch(/^container veth name \("eth0"\) peer provided \("veth[0-9a-f]{8}"\) already exists$/);
    expect(nsLinks(netns).sort()).toEqual(["eth0", "theirs"]);
    expect(bridgePorts(t.bridge)).toEqual([]);
    expect(listHostLocalLeases(t.dataDir, t.network)).toEqual([]);
  });

  it("the netns is gone before ADD: a specific error, nothing created, no lease", async () => {
    const t = setup();
    const gone = `/var/run/netns/fl${t.s.id}gone`;
    const e = expectOneError(await t.add(gone, "c1"));
    expect(e).toEqual({
      cniVersion: "1.1.0",
      code: 8,
      msg: `failed to open netns "${gone}"`,
      details: "no such file or directory",
    });
    expect(listHostLocalLeases(t.dataDir, t.network)).toEqual([]);
    expect(bridgePorts(t.bridge)).toEqual([]);
  });

  it("the netns is removed while ADD runs: an error naming it or a result; after the runtime's DEL nothing is left", async () => {
    const t = setup();
    // the median ADD time, with a netns that stays
    const warm = t.s.netns("w");
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await t.add(warm, `w${i}`);
      expect(r.code, r.stdout).toBe(0);
      times.push(r.ms);
      expect((await t.del(warm, `w${i}`)).code).toBe(0);
    }
    const start = netState({ ...t, netns: [] });
    const med = median(times);
    const outcomes: string[] = [];
    for (const [i, frac] of [0, 0.2, 0.4, 0.6, 0.8].entries()) {
      const netns = t.s.netns(`m${i}`);
      const containerId = `fl${t.s.id}m${i}`;
      const run = t.add(netns, containerId);
      await new Promise((r) => setTimeout(r, med * frac));
      spawnSync("ip", ["netns", "delete", netns.split("/").pop() as string]);
      const r = await run;
      if (r.code !== 0) {
        const e = expectOneError(r);
        expect(e.msg).toBe(`failed to open netns "${netns}"`);
        outcomes.push(e.msg);
      } else outcomes.push("ok");
      await waitProcessesGone(containerId);
      const d = await t.del(netns, containerId);
      expect(d.code, d.stdout).toBe(0);
      expect(
        netState({ ...t, netns: [] }),
        `netns removed at ${Math.round(med * frac)} ms: ${outcomes.at(-1)}`,
      ).toEqual(start);
    }
  }, 120_000);
});
