/**
 * The Bun builds (cnikit-build --target bun) of our bridge and host-local in mixed chains with the
 * Go reference plugins, in both directions, under our runtime: the same story as chains.test.ts
 * (two containers ADD, ping, CHECK, DEL, nothing left), with the second binary.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { buildFixture } from "../../../tools/build-fixture.js";
import { CniRuntime, confListFromBytes } from "@cnikit/runtime";
import { expectPing, findLink, HOST_NETNS, listLinks, Scratch } from "@cnikit/testing";
import { afterEach, beforeAll, describe, expect, it } from "vitest";

const GO_DIR = "/usr/lib/cni";
const bun = { bridge: "", "host-local": "" };

beforeAll(async () => {
  for (const name of ["bridge", "host-local"] as const) {
    bun[name] = await buildFixture(`examples/${name}`, "build:bun");
  }
}, 120_000);

let s: Scratch;
afterEach(() => s?.cleanup());

function leases(dataDir: string, network: string): string[] {
  const d = join(dataDir, network);
  return existsSync(d) ? readdirSync(d).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip")) : [];
}

async function twoContainers(plugins: Record<string, string>, extra: Record<string, unknown>[] = []) {
  const dataDir = s.dir("ipam");
  const bridge = s.link("br");
  const network = `ckbch${s.id}`;
  const list = confListFromBytes(
    JSON.stringify({
      cniVersion: "1.0.0",
      name: network,
      plugins: [{ type: "bridge", bridge, isGateway: true, ipam: { type: "host-local", subnet: s.subnet(), dataDir } }, ...extra],
    }),
  );
  const cni = new CniRuntime({ path: [s.pluginDir(plugins)], cacheDir: s.dir("cache"), stderr: null, timeoutMs: 30_000 });
  const a = s.netns("a");
  const b = s.netns("b");
  const rtA = { containerId: `ctr-a-${s.id}`, netns: a, ifName: "eth0" };
  const rtB = { containerId: `ctr-b-${s.id}`, netns: b, ifName: "eth0" };
  await cni.addNetworkList(list, rtA);
  const rb = (await cni.addNetworkList(list, rtB)) as { ips?: { address: string }[] };
  await expectPing(a, String(rb.ips?.[0]?.address).split("/")[0] as string);
  await cni.checkNetworkList(list, rtA);
  await cni.checkNetworkList(list, rtB);
  await cni.delNetworkList(list, rtA);
  await cni.delNetworkList(list, rtB);
  return {
    leases: leases(dataDir, network),
    eth0: Boolean((await findLink(a, "eth0")) ?? (await findLink(b, "eth0"))),
    ports: (await listLinks(HOST_NETNS)).filter((l) => l.master === bridge).map((l) => l.name),
  };
}

const NOTHING_LEFT = { leases: [], eth0: false, ports: [] };

describe("mixed chains with the Bun builds, under our runtime", () => {
  it("our Bun bridge + Go host-local", async () => {
    s = new Scratch();
    expect(await twoContainers({ bridge: bun.bridge, "host-local": `${GO_DIR}/host-local` })).toEqual(NOTHING_LEFT);
  });

  it("Go bridge + our Bun host-local", async () => {
    s = new Scratch();
    expect(await twoContainers({ bridge: `${GO_DIR}/bridge`, "host-local": bun["host-local"] })).toEqual(NOTHING_LEFT);
  });

  it("our Bun bridge + our Bun host-local → Go tuning", async () => {
    s = new Scratch();
    const out = await twoContainers(
      { bridge: bun.bridge, "host-local": bun["host-local"], tuning: `${GO_DIR}/tuning` },
      [{ type: "tuning", sysctl: { "net.ipv4.conf.eth0.arp_ignore": "1" } }],
    );
    expect(out).toEqual(NOTHING_LEFT);
  });
});
