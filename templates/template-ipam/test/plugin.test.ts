// Runs the built IPAM plugin (dist/__PLUGIN_NAME__) the way a runtime or a main plugin does.
// Needs root: `sudo npm test`. The last test chains it behind the reference bridge plugin
// (containernetworking-plugins: /opt/cni/bin or /usr/lib/cni) into a real network namespace.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createCleanup,
  createConflistRunner,
  createTempNetns,
  expectAddress,
  expectNoLink,
  expectPluginError,
  expectPluginSuccess,
  findPlugin,
  removeHostLink,
  runPlugin,
  type TempNetns,
  uniqueName,
} from "@cnikit/testing";

const plugin = fileURLToPath(new URL("../dist/__PLUGIN_NAME__", import.meta.url));
const bridgePlugin = findPlugin("bridge");

// IPAM plugins do not touch the netns, but ADD and CHECK are called with one
let netns: TempNetns;
beforeAll(async () => {
  netns = await createTempNetns();
});
afterAll(() => netns?.remove());

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "ipam-"));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

function config(extra: Record<string, unknown> = {}) {
  return {
    cniVersion: "1.1.0",
    name: "testnet",
    type: "bridge",
    ipam: { type: "__PLUGIN_NAME__", subnet: "10.22.0.0/29", dataDir, routes: [{ dst: "0.0.0.0/0" }], ...extra },
  };
}
const add = (containerId: string, cfg = config()) => runPlugin(plugin, { command: "ADD", config: cfg, containerId, netns });
const del = (containerId: string, cfg = config()) => runPlugin(plugin, { command: "DEL", config: cfg, containerId });

describe("__PLUGIN_NAME__", () => {
  it("answers VERSION", async () => {
    const run = await runPlugin(plugin, { command: "VERSION" });
    expect(run.version?.supportedVersions).toContain("1.1.0");
  });

  it("hands out addresses in order, skipping the gateway, and stores them like host-local", async () => {
    const a = expectPluginSuccess(await add("ca"));
    const b = expectPluginSuccess(await add("cb"));
    expect(a?.ips).toEqual([{ address: "10.22.0.2/29", gateway: "10.22.0.1" }]);
    expect(b?.ips?.[0]?.address).toBe("10.22.0.3/29");
    expect(a?.routes).toEqual([{ dst: "0.0.0.0/0" }]);
    // Go host-local's format: <dataDir>/<network>/<ip> holds "<containerID>\r\n<ifname>"
    expect(readFileSync(join(dataDir, "testnet", "10.22.0.2"), "utf8")).toBe("ca\r\neth0");
  });

  it("gives a retried ADD the same address", async () => {
    const first = expectPluginSuccess(await add("ca"));
    const again = expectPluginSuccess(await add("ca"));
    expect(again?.ips?.[0]?.address).toBe(first?.ips?.[0]?.address);
  });

  it("fails cleanly when the subnet is full", async () => {
    for (const id of ["c1", "c2", "c3", "c4", "c5"]) expectPluginSuccess(await add(id));
    expectPluginError(await add("c6"), 999, /no IP addresses available/);
  });

  it("DEL releases the lease and is idempotent; CHECK notices a missing lease", async () => {
    expectPluginSuccess(await add("ca"));
    expectPluginSuccess(await runPlugin(plugin, { command: "CHECK", config: config(), containerId: "ca", netns }));
    expectPluginSuccess(await del("ca"));
    expect(existsSync(join(dataDir, "testnet", "10.22.0.2"))).toBe(false);
    expectPluginSuccess(await del("ca"));
    expectPluginError(await runPlugin(plugin, { command: "CHECK", config: config(), containerId: "ca", netns }), 999);
  });

  it("GC releases the leases of attachments that are gone", async () => {
    expectPluginSuccess(await add("keep"));
    expectPluginSuccess(await add("gone"));
    const gc = { ...config(), "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] };
    expectPluginSuccess(await runPlugin(plugin, { command: "GC", config: gc }));
    expect(existsSync(join(dataDir, "testnet", "10.22.0.2"))).toBe(true);
    expect(existsSync(join(dataDir, "testnet", "10.22.0.3"))).toBe(false);
  });

  it("rejects a config without a valid subnet (error 7)", async () => {
    expectPluginError(await add("ca", config({ subnet: "10.22.0.0" })), 7);
  });

  it.skipIf(!bridgePlugin)("works behind the reference bridge plugin in a real netns", async () => {
    await using cleanup = createCleanup();
    const bridge = uniqueName("ckbr");
    cleanup.defer(() => removeHostLink(bridge));
    await using ns = await createTempNetns();
    const conflist = {
      cniVersion: "1.0.0",
      name: "testnet",
      plugins: [{ type: "bridge", bridge, ipam: { type: "__PLUGIN_NAME__", subnet: "10.22.0.0/29", dataDir } }],
    };
    await using net = await createConflistRunner({ conflist, path: [dirname(plugin), dirname(bridgePlugin ?? "")] });
    const result = await net.add({ netns: ns, containerId: "c1" });
    expect(result?.ips?.[0]?.address).toBe("10.22.0.2/29");
    await expectAddress(ns, "eth0", "10.22.0.2/29");
    await net.del({ netns: ns, containerId: "c1" });
    await expectNoLink(ns, "eth0");
    expect(existsSync(join(dataDir, "testnet", "10.22.0.2"))).toBe(false);
  });
});
