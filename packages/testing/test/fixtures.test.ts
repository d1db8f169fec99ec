import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  HOST_NETNS,
  createCleanup,
  createConflistRunner,
  createTempNetns,
  expectAddress,
  expectLink,
  expectNoAddress,
  expectNoLink,
  expectNoPing,
  expectNoRoute,
  expectPing,
  expectPluginError,
  expectPluginSuccess,
  expectRoute,
  findPlugin,
  liveTempNetns,
  listRoutes,
  NetworkAssertionError,
  PluginRunError,
  removeAllTempNetns,
  removeHostLink,
  runPlugin,
  uniqueName,
  withTempNetns,
} from "../src/index.js";
import { runCommand } from "../src/exec.js";

const ip = async (...args: string[]) => {
  const r = await runCommand(["ip", ...args]);
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
};
const netnsExists = (name: string) => existsSync(`/var/run/netns/${name}`);

afterAll(() => removeAllTempNetns());

describe("uniqueName", () => {
  it("is ck + hex, at most 15 characters, unique", () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName()));
    expect(names.size).toBe(100);
    for (const n of names) expect(n).toMatch(/^ck[0-9a-f]{10}$/);
    expect(uniqueName("ckbr", 15)).toHaveLength(15);
    expect(() => uniqueName("averylongprefix")).toThrow(RangeError);
  });
});

describe("temporary namespaces", () => {
  it("createTempNetns makes a named netns with lo up; remove() deletes it, twice is fine", async () => {
    const ns = await createTempNetns();
    try {
      expect(ns.name).toMatch(/^ck[0-9a-f]{10}$/);
      expect(ns.path).toBe(`/var/run/netns/${ns.name}`);
      expect(netnsExists(ns.name)).toBe(true);
      expect(liveTempNetns()).toContain(ns.name);
      await expectLink(ns, "lo", { up: true });
      const out = await ns.exec(["ip", "-o", "link"]);
      expect(out.stdout).toContain("lo:");
      // a @cnikit/ns handle inside it, closed by remove()
      const handle = await ns.open();
      expect((await handle.listLinks()).map((l) => l.name)).toContain("lo");
    } finally {
      await ns.remove();
    }
    expect(ns.removed).toBe(true);
    expect(netnsExists(ns.name)).toBe(false);
    expect(liveTempNetns()).not.toContain(ns.name);
    await ns.remove();
  });

  it("await using removes the namespace at the end of the block", async () => {
    let name = "";
    {
      await using ns = await createTempNetns({ prefix: "ckx" });
      name = ns.name;
      expect(name.startsWith("ckx")).toBe(true);
      expect(netnsExists(name)).toBe(true);
    }
    expect(netnsExists(name)).toBe(false);
  });

  it("withTempNetns removes its namespaces even when fn throws", async () => {
    let names: string[] = [];
    await expect(
      withTempNetns(2, async (all) => {
        names = all.map((n) => n.name);
        expect(names.every(netnsExists)).toBe(true);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(names).toHaveLength(2);
    expect(names.some(netnsExists)).toBe(false);
    expect(await withTempNetns(async (ns) => ns.name.length)).toBe(12);
  });

  it("removeAllTempNetns removes what a test forgot", async () => {
    const a = await createTempNetns();
    expect(netnsExists(a.name)).toBe(true);
    await removeAllTempNetns();
    expect(netnsExists(a.name)).toBe(false);
  });
});

describe("assertions and ping on a real veth pair", () => {
  it("sees links, addresses and routes, and explains what is there when they fail", async () => {
    await withTempNetns(2, async ([a, b]) => {
      if (!a || !b) throw new Error("two namespaces expected");
      await ip("link", "add", "ckva", "netns", a.name, "mtu", "1400", "type", "veth", "peer", "name", "ckvb", "netns", b.name);
      await ip("-n", a.name, "addr", "add", "10.123.0.1/24", "dev", "ckva");
      await ip("-n", b.name, "addr", "add", "10.123.0.2/24", "dev", "ckvb");
      await ip("-n", a.name, "link", "set", "ckva", "up");
      await ip("-n", b.name, "link", "set", "ckvb", "up");
      await ip("-n", b.name, "route", "add", "default", "via", "10.123.0.1", "dev", "ckvb");
      await ip("-n", b.name, "-6", "route", "add", "fd00:1::/64", "dev", "ckvb");

      const link = await expectLink(a, "ckva", { up: true, mtu: 1400, kind: "veth", master: null });
      expect(link.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      await expectLink(b.path, "ckvb", { mac: (await expectLink(b, "ckvb")).mac.toUpperCase() });
      await expect(expectLink(a, "eth9")).rejects.toThrow(/expected link "eth9" in netns ck[0-9a-f]+, but it has only: lo, ckva/);
      await expect(expectLink(a, "ckva", { mtu: 1500, up: false })).rejects.toThrow(
        /link "ckva" in netns .*: up: expected false, got true; mtu: expected 1500, got 1400/,
      );
      await expectNoLink(a, "ckvb");
      await expect(expectNoLink(a, "ckva")).rejects.toBeInstanceOf(NetworkAssertionError);

      await expectAddress(a, "ckva", "10.123.0.1/24");
      await expectAddress(a, "ckva", "10.123.0.1");
      await expect(expectAddress(a, "ckva", "10.123.0.1/16")).rejects.toThrow(/but it has: 10\.123\.0\.1\/24/);
      await expectNoAddress(a, "10.123.0.2");
      await expectNoAddress(a, "10.123.0.1", "nosuchlink");
      await expect(expectNoAddress(b, "10.123.0.2")).rejects.toThrow(/found 10\.123\.0\.2\/24/);

      await expectRoute(b, { dst: "default", gw: "10.123.0.1", dev: "ckvb" });
      await expectRoute(b, { dst: "0.0.0.0/0" });
      await expectRoute(b, { dst: "10.123.0.0/24", dev: "ckvb" });
      await expectRoute(b, { dst: "fd00:1::/64", dev: "ckvb" });
      await expectNoRoute(a, { dst: "default" });
      await expect(expectRoute(b, { dst: "default", gw: "10.123.0.9" })).rejects.toThrow(
        /expected route default via 10\.123\.0\.9 in netns .*, but it has:\n.*0\.0\.0\.0\/0 via 10\.123\.0\.1 dev ckvb/,
      );
      expect((await listRoutes(b)).some((r) => r.family === 6)).toBe(true);

      await expectPing(a, "10.123.0.2");
      await expectPing(b, "10.123.0.1");
      await expectNoPing(a, "10.123.0.99");
      await expect(expectPing(a, "10.123.0.99", { count: 1 })).rejects.toThrow(/expected 10\.123\.0\.99 to answer ping/);
    });
  });

  it("HOST_NETNS observes the host side", async () => {
    const name = uniqueName("ckh");
    const peer = uniqueName("ckp");
    await using cleanup = createCleanup();
    await using ns = await createTempNetns();
    await ip("link", "add", name, "type", "veth", "peer", "name", peer, "netns", ns.name);
    cleanup.defer(() => removeHostLink(name));
    await expectLink(HOST_NETNS, name, { kind: "veth", up: false });
    await expectLink(ns, peer, { kind: "veth" });
  });
});

describe("createCleanup", () => {
  it("runs every step last-first, and reports failures after running all", async () => {
    const order: number[] = [];
    const c = createCleanup();
    c.defer(() => order.push(1));
    c.defer(() => {
      throw new Error("step 2");
    });
    c.defer(async () => order.push(3));
    await expect(c.run()).rejects.toThrow("step 2");
    expect(order).toEqual([3, 1]);
    await c.run();
    await removeHostLink(uniqueName());
  });
});

describe("runPlugin against a fake plugin executable", () => {
  const dir = mkdtempSync(join(tmpdir(), "ck-testing-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const plugin = join(dir, "fake");
  writeFileSync(
    plugin,
    `#!/usr/bin/env node
let input = "";
process.stdin.on("data", (d) => (input += d)).on("end", () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("CNI_")));
  process.stderr.write(JSON.stringify({ env, input, home: process.env.HOME ?? null }) + "\\n");
  const conf = input ? JSON.parse(input) : {};
  switch (process.env.CNI_COMMAND) {
    case "VERSION": return void process.stdout.write(JSON.stringify({ cniVersion: "1.1.0", supportedVersions: ["1.0.0", "1.1.0"] }));
    case "ADD":
      if (conf.fail) { process.stdout.write(JSON.stringify({ cniVersion: "1.1.0", code: 7, msg: "bad config", details: "field x" })); process.exitCode = 1; return; }
      if (conf.junk) return void process.stdout.write("not json");
      return void process.stdout.write(JSON.stringify({ cniVersion: conf.cniVersion, interfaces: [{ name: "eth0", sandbox: process.env.CNI_NETNS }], ips: [{ address: "10.1.0.2/24", interface: 0 }] }));
    case "DEL": return;
    default: process.stdout.write("crash"); process.exitCode = 2;
  }
});
`,
  );
  chmodSync(plugin, 0o755);
  const config = { cniVersion: "1.0.0", name: "net", type: "fake" };

  it("passes CNI_* env and stdin like a runtime, with a clean environment", async () => {
    const run = await runPlugin(plugin, { command: "ADD", config, netns: "ckabc", containerId: "c1", ifName: "net1", args: { A: "1", B: "2" } });
    const seen = JSON.parse(run.stderr) as { env: Record<string, string>; input: string; home: string | null };
    expect(seen.env).toEqual({
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "c1",
      CNI_IFNAME: "net1",
      CNI_NETNS: "/var/run/netns/ckabc",
      CNI_ARGS: "A=1;B=2",
      CNI_PATH: `${dir}:/opt/cni/bin:/usr/lib/cni`,
    });
    expect(seen.home).toBeNull();
    expect(JSON.parse(seen.input)).toEqual(config);
    const result = expectPluginSuccess(run);
    expect(result?.cniVersion).toBe("1.1.0");
    expect(result?.ips?.[0]?.address).toBe("10.1.0.2/24");
    expect(run.result?.cniVersion).toBe("1.0.0");
    expect(run.durationMs).toBeGreaterThan(0);
  });

  it("defaults: containerId cnikit-test, ifName eth0; VERSION needs no config", async () => {
    const run = await runPlugin(plugin, { command: "DEL", config, path: ["/x"], env: { EXTRA: "1" } });
    expect(JSON.parse(run.stderr).env).toMatchObject({ CNI_CONTAINERID: "cnikit-test", CNI_IFNAME: "eth0", CNI_PATH: "/x" });
    expect(expectPluginSuccess(run)).toBeUndefined();
    const v = await runPlugin(plugin, { command: "VERSION" });
    expect(v.version?.supportedVersions).toEqual(["1.0.0", "1.1.0"]);
    await expect(runPlugin(plugin, { command: "ADD" })).rejects.toThrow(/needs a config/);
  });

  it("decodes errors and reports protocol violations readably", async () => {
    const failed = await runPlugin(plugin, { command: "ADD", config: { ...config, fail: true } });
    expect(failed.exitCode).toBe(1);
    expect(expectPluginError(failed, 7, /bad/)).toMatchObject({ code: 7, msg: "bad config", details: "field x" });
    expect(() => expectPluginSuccess(failed)).toThrow(/ADD failed: error 7: bad config \(field x\)\nexit: 1\nstdout:\n {2}\{/);
    expect(() => expectPluginError(failed, 4)).toThrow(/code 7, expected 4/);

    const junk = await runPlugin(plugin, { command: "ADD", config: { ...config, junk: true } });
    expect(junk.protocolError).toMatch(/not a valid result/);
    expect(() => expectPluginSuccess(junk)).toThrow(PluginRunError);

    const crash = await runPlugin(plugin, { command: "BOGUS", config });
    expect(crash.exitCode).toBe(2);
    expect(crash.protocolError).toMatch(/stdout is not JSON: "crash"/);
    expect(() => expectPluginError(crash)).toThrow(/without a CNI error/);
  });
});

// The Go reference plugins (Debian's containernetworking-plugins) are real plugins to drive.
const goBridge = findPlugin("bridge", ["/usr/lib/cni"]);
const goHostLocal = findPlugin("host-local", ["/usr/lib/cni"]);
describe.skipIf(!goBridge || !goHostLocal)("with the reference bridge + host-local plugins", () => {
  it("runPlugin: ADD into two namespaces, ping between them, DEL cleans up", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ck-ipam-"));
    const bridge = uniqueName("ckbr");
    await using cleanup = createCleanup();
    cleanup.defer(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanup.defer(() => removeHostLink(bridge));
    await withTempNetns(2, async ([a, b]) => {
      if (!a || !b) throw new Error("two namespaces expected");
      const config = {
        cniVersion: "1.0.0",
        name: uniqueName("cknet"),
        type: "bridge",
        bridge,
        ipam: { type: "host-local", subnet: "10.124.0.0/24", dataDir },
      };
      const ra = expectPluginSuccess(await runPlugin(goBridge as string, { command: "ADD", config, netns: a, containerId: "ca", path: ["/usr/lib/cni"] }));
      const rb = expectPluginSuccess(await runPlugin(goBridge as string, { command: "ADD", config, netns: b, containerId: "cb", path: ["/usr/lib/cni"] }));
      const ipA = ra?.ips?.[0]?.address ?? "";
      const ipB = rb?.ips?.[0]?.address ?? "";
      await expectLink(HOST_NETNS, bridge, { kind: "bridge", up: true });
      await expectLink(a, "eth0", { up: true, kind: "veth" });
      await expectAddress(a, "eth0", ipA);
      await expectRoute(a, { dst: "10.124.0.0/24", dev: "eth0" });
      await expectPing(a, ipB.split("/")[0] ?? "");
      expect(readdirSync(join(dataDir, config.name))).toContain(ipA.split("/")[0]);

      expectPluginSuccess(await runPlugin(goBridge as string, { command: "DEL", config, netns: a, containerId: "ca", path: ["/usr/lib/cni"] }));
      await expectNoLink(a, "eth0");
      expect(readdirSync(join(dataDir, config.name))).not.toContain(ipA.split("/")[0]);
      expectPluginSuccess(await runPlugin(goBridge as string, { command: "DEL", config, netns: b, containerId: "cb", path: ["/usr/lib/cni"] }));
    });
  });

  it("createConflistRunner: ADD, CHECK, DEL through the runtime with a private cache", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ck-ipam-"));
    const bridge = uniqueName("ckbr");
    await using cleanup = createCleanup();
    cleanup.defer(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanup.defer(() => removeHostLink(bridge));
    await using ns = await createTempNetns();
    const conflist = {
      cniVersion: "1.0.0",
      name: uniqueName("cknet"),
      plugins: [{ type: "bridge", bridge, ipam: { type: "host-local", subnet: "10.125.0.0/24", dataDir } }],
    };
    await using net = await createConflistRunner({ conflist, path: ["/usr/lib/cni"] });
    expect(net.cacheDir.startsWith(tmpdir())).toBe(true);
    const result = await net.add({ netns: ns, containerId: "c1" });
    expect(result?.cniVersion).toBe("1.1.0");
    await expectAddress(ns, "eth0", result?.ips?.[0]?.address ?? "?");
    await net.check({ netns: ns, containerId: "c1" });
    await net.del({ netns: ns, containerId: "c1" });
    await expectNoLink(ns, "eth0");
    await expect(net.add({ netns: "/var/run/netns/ck-does-not-exist", containerId: "c2" })).rejects.toThrow(/plugin type="bridge" failed \(add\)/);
    await net.remove();
    expect(existsSync(net.cacheDir)).toBe(false);
  });
});
