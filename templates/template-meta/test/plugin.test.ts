// Runs the built chained plugin (dist/__PLUGIN_NAME__) against real network namespaces.
// Needs root: `sudo npm test`. The conflist test chains it after the reference bridge and
// host-local plugins (containernetworking-plugins: /opt/cni/bin or /usr/lib/cni).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  createCleanup,
  createConflistRunner,
  createTempNetns,
  expectAddress,
  expectLink,
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
const hostLocal = findPlugin("host-local");

/** A namespace holding eth0 (one end of a veth pair), as an interface plugin would leave it. */
async function namespaceWithEth0(): Promise<TempNetns> {
  const ns = await createTempNetns();
  const r = await ns.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return ns;
}

function config(ns: TempNetns, extra: Record<string, unknown> = {}) {
  return {
    cniVersion: "1.1.0",
    name: "testnet",
    type: "__PLUGIN_NAME__",
    mtu: 1400,
    sysctl: { "net.ipv4.conf.IFNAME.arp_notify": "1" },
    prevResult: { cniVersion: "1.1.0", interfaces: [{ name: "eth0", sandbox: ns.path }], ips: [] },
    ...extra,
  };
}

describe("__PLUGIN_NAME__", () => {
  it("answers VERSION", async () => {
    const run = await runPlugin(plugin, { command: "VERSION" });
    expect(run.version?.supportedVersions).toContain("1.1.0");
  });

  it("ADD sets the MTU and sysctls and passes prevResult on; CHECK verifies them", async () => {
    await using ns = await namespaceWithEth0();
    const result = expectPluginSuccess(await runPlugin(plugin, { command: "ADD", config: config(ns), netns: ns }));
    expect(result?.interfaces).toEqual([{ name: "eth0", sandbox: ns.path, mtu: 1400 }]);
    await expectLink(ns, "eth0", { mtu: 1400 });
    expect((await ns.exec(["cat", "/proc/sys/net/ipv4/conf/eth0/arp_notify"])).stdout.trim()).toBe("1");

    expectPluginSuccess(await runPlugin(plugin, { command: "CHECK", config: config(ns), netns: ns }));
    await ns.exec(["ip", "link", "set", "eth0", "mtu", "1500"]);
    expectPluginError(await runPlugin(plugin, { command: "CHECK", config: config(ns), netns: ns }), 999, /MTU is 1500, expected 1400/);

    expectPluginSuccess(await runPlugin(plugin, { command: "DEL", config: config(ns), netns: ns }));
  });

  it("refuses to run without prevResult, and sysctls outside net.*", async () => {
    await using ns = await namespaceWithEth0();
    expectPluginError(await runPlugin(plugin, { command: "ADD", config: config(ns, { prevResult: undefined }), netns: ns }), 7, /chained/);
    expectPluginError(await runPlugin(plugin, { command: "ADD", config: config(ns, { sysctl: { "kernel.hostname": "x" } }), netns: ns }), 7);
  });

  it.skipIf(!bridgePlugin || !hostLocal)("tunes the interface the bridge plugin created (conflist through the runtime)", async () => {
    await using cleanup = createCleanup();
    const bridge = uniqueName("ckbr");
    const dataDir = mkdtempSync(join(tmpdir(), "ipam-"));
    cleanup.defer(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanup.defer(() => removeHostLink(bridge));
    await using ns = await createTempNetns();
    const conflist = {
      cniVersion: "1.0.0",
      name: uniqueName("net"),
      plugins: [
        { type: "bridge", bridge, ipam: { type: "host-local", subnet: "10.23.0.0/24", dataDir } },
        { type: "__PLUGIN_NAME__", mtu: 1280 },
      ],
    };
    const path = [dirname(plugin), dirname(bridgePlugin ?? ""), dirname(hostLocal ?? "")];
    await using net = await createConflistRunner({ conflist, path });
    const result = await net.add({ netns: ns, containerId: "c1" });
    await expectLink(ns, "eth0", { mtu: 1280, up: true });
    await expectAddress(ns, "eth0", result?.ips?.[0]?.address ?? "");
    await net.check({ netns: ns, containerId: "c1" });
    await net.del({ netns: ns, containerId: "c1" });
    await expectNoLink(ns, "eth0");
  });
});
