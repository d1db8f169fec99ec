// Runs the built plugin (dist/__PLUGIN_NAME__) the way a container runtime does, against real
// network namespaces. Needs root: `sudo npm test`. IPAM is delegated to the reference
// host-local plugin (containernetworking-plugins: /opt/cni/bin or /usr/lib/cni).
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  HOST_NETNS,
  createCleanup,
  createConflistRunner,
  createTempNetns,
  expectAddress,
  expectLink,
  expectNoLink,
  expectPing,
  expectPluginError,
  expectPluginSuccess,
  findPlugin,
  removeHostLink,
  runPlugin,
  uniqueName,
  withTempNetns,
} from "@cnikit/testing";

const plugin = fileURLToPath(new URL("../dist/__PLUGIN_NAME__", import.meta.url));
const hostLocal = findPlugin("host-local");
const path = [dirname(plugin), ...(hostLocal ? [dirname(hostLocal)] : [])];

/** A network config with its own bridge, subnet and IPAM data dir, so tests never collide. */
// cniVersion 1.0.0: Debian's reference plugins (1.1.x) do not speak 1.1.0 yet.
function network(bridge: string, dataDir: string) {
  return {
    cniVersion: "1.0.0",
    name: uniqueName("net"),
    type: "__PLUGIN_NAME__",
    bridge,
    ipam: { type: "host-local", subnet: "10.99.0.0/24", dataDir },
  };
}

const ipOf = (cidr: string | undefined) => (cidr ?? "").split("/")[0] ?? "";

describe("__PLUGIN_NAME__", () => {
  it("answers VERSION", async () => {
    const run = await runPlugin(plugin, { command: "VERSION" });
    expect(run.exitCode).toBe(0);
    expect(run.version?.supportedVersions).toContain("1.1.0");
  });

  it("rejects a bad config with CNI error 7", async () => {
    await using ns = await createTempNetns();
    const run = await runPlugin(plugin, {
      command: "ADD",
      netns: ns,
      config: { cniVersion: "1.1.0", name: "n", type: "__PLUGIN_NAME__", bridge: "a-name-longer-than-15", ipam: { type: "host-local" } },
      path,
    });
    expectPluginError(run, 7);
  });

  it.skipIf(!hostLocal)("ADD attaches two containers to a bridge, they ping each other, DEL cleans up", async () => {
    await using cleanup = createCleanup();
    const bridge = uniqueName("ckbr");
    const dataDir = mkdtempSync(join(tmpdir(), "ipam-"));
    cleanup.defer(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanup.defer(() => removeHostLink(bridge));
    const config = network(bridge, dataDir);

    await withTempNetns(2, async ([a, b]) => {
      if (!a || !b) throw new Error("expected two namespaces");
      const resultA = expectPluginSuccess(await runPlugin(plugin, { command: "ADD", config, netns: a, containerId: "ca", path }));
      const resultB = expectPluginSuccess(await runPlugin(plugin, { command: "ADD", config, netns: b, containerId: "cb", path }));
      const ipA = resultA?.ips?.[0]?.address;
      const ipB = resultB?.ips?.[0]?.address;
      expect(ipA).toMatch(/^10\.99\.0\.\d+\/24$/);
      expect(ipB).not.toBe(ipA);

      await expectLink(HOST_NETNS, bridge, { kind: "bridge", up: true });
      await expectLink(a, "eth0", { up: true, kind: "veth" });
      await expectAddress(a, "eth0", ipA ?? "");
      await expectAddress(b, "eth0", ipB ?? "");
      await expectPing(a, ipOf(ipB));

      expectPluginSuccess(await runPlugin(plugin, { command: "DEL", config, netns: a, containerId: "ca", path }));
      await expectNoLink(a, "eth0");
      expect(readdirSync(join(dataDir, config.name))).not.toContain(ipOf(ipA));
      // DEL is idempotent
      expectPluginSuccess(await runPlugin(plugin, { command: "DEL", config, netns: a, containerId: "ca", path }));
      expectPluginSuccess(await runPlugin(plugin, { command: "DEL", config, netns: b, containerId: "cb", path }));
    });
  });

  it.skipIf(!hostLocal)("ADD into a netns that is gone fails on the netns and takes no address", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ipam-"));
    try {
      const config = network(uniqueName("ckbr"), dataDir);
      const gone = `/var/run/netns/${uniqueName("gone")}`;
      const run = await runPlugin(plugin, { command: "ADD", config, netns: gone, containerId: "cg", path });
      expectPluginError(run, 8, gone); // failed to open netns "<path>"
      expect(readdirSync(dataDir)).toEqual([]); // host-local was never asked
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!hostLocal)("runs in a conflist through the runtime: ADD, CHECK, DEL", async () => {
    await using cleanup = createCleanup();
    const bridge = uniqueName("ckbr");
    const dataDir = mkdtempSync(join(tmpdir(), "ipam-"));
    cleanup.defer(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanup.defer(() => removeHostLink(bridge));
    const { type, bridge: br, ipam, ...list } = network(bridge, dataDir);
    await using net = await createConflistRunner({ conflist: { ...list, plugins: [{ type, bridge: br, ipam }] }, path });
    await using ns = await createTempNetns();

    const result = await net.add({ netns: ns, containerId: "c1" });
    await expectAddress(ns, "eth0", result?.ips?.[0]?.address ?? "");
    await net.check({ netns: ns, containerId: "c1" });
    await net.del({ netns: ns, containerId: "c1" });
    await expectNoLink(ns, "eth0");
  });
});
