import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";
import { CniRuntime, confListFromBytes } from "../src/index.js";
import { GO_PLUGINS, lastStdin, linkNoop, readDebug, writeDebug } from "./helpers.js";

beforeAll(() => buildFixture("examples/noop"), 120_000);

describe("CniRuntime with noop plugins", () => {
  let dir: string;
  let bin: string;
  let cacheDir: string;
  let dbgA: string;
  let dbgB: string;
  let cni: CniRuntime;
  const rt = {
    containerId: "ctr1",
    netns: "/var/run/netns/fake",
    ifName: "eth0",
    args: [["K", "V"]] as [string, string][],
  };
  const resultA = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "eth0", sandbox: "/var/run/netns/fake" }],
    ips: [{ address: "10.1.2.3/24", interface: 0 }],
  };

  const makeList = (extra: Record<string, unknown> = {}, pluginB: Record<string, unknown> = {}) =>
    confListFromBytes(
      JSON.stringify({
        cniVersion: "1.0.0",
        name: "cknoopnet",
        plugins: [
          { type: "noopa", debugFile: dbgA },
          { type: "noopb", debugFile: dbgB, capabilities: { portMappings: true, mac: false }, ...pluginB },
        ],
        ...extra,
      }),
    );

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cnikit-rt-"));
    bin = join(dir, "bin");
    cacheDir = join(dir, "cache");
    mkdirSync(bin);
    linkNoop(bin, "noopa");
    linkNoop(bin, "noopb");
    dbgA = join(dir, "a.json");
    dbgB = join(dir, "b.json");
    writeDebug(dbgA, { reportResult: JSON.stringify(resultA) });
    writeDebug(dbgB, { reportResult: "PASSTHROUGH" });
    cni = new CniRuntime({ path: [bin], cacheDir, stderr: null });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("ADD runs the chain in order, passing prevResult, name, cniVersion and runtimeConfig", async () => {
    const result = await cni.addNetworkList(makeList(), {
      ...rt,
      capabilityArgs: {
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
        mac: "aa:bb:cc:dd:ee:ff",
        bandwidth: {},
      },
    });
    expect(result).toEqual(resultA);
    const a = lastStdin(dbgA);
    expect(a).toEqual({ type: "noopa", debugFile: dbgA, name: "cknoopnet", cniVersion: "1.0.0" });
    const b = lastStdin(dbgB);
    expect(b).toMatchObject({
      type: "noopb",
      name: "cknoopnet",
      cniVersion: "1.0.0",
      capabilities: { portMappings: true, mac: false },
      prevResult: resultA,
      runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] },
    });
    expect(readDebug(dbgB).cmdArgs).toMatchObject({
      containerId: "ctr1",
      netns: "/var/run/netns/fake",
      ifName: "eth0",
      args: "K=V",
      path: bin,
    });
    expect(await cni.getNetworkListCachedResult(makeList(), rt)).toEqual(resultA);
    expect(await cni.getCachedAttachments("ctr1")).toMatchObject([
      { network: "cknoopnet", ifName: "eth0", cniArgs: [["K", "V"]] },
    ]);
  });

  it("ADD failure names the plugin and keeps its code; nothing is cached", async () => {
    writeDebug(dbgB, { reportError: "banana", reportErrorCode: 11 });
    await expect(cni.addNetworkList(makeList(), rt)).rejects.toMatchObject({
      code: 11,
      message: 'plugin type="noopb" failed (add): banana',
    });
    expect(existsSync(join(cacheDir, "results", "cknoopnet-ctr1-eth0"))).toBe(false);
    writeDebug(dbgB, { reportError: "x" });
    await expect(cni.addNetworkList(makeList({}, { name: "named" }), rt)).rejects.toThrow(
      'plugin type="noopb" name="named" failed (add): x',
    );
  });

  it("ADD validates container ID, network name and interface name", async () => {
    await expect(cni.addNetworkList(makeList(), { ...rt, ifName: "a-very-long-interface-name" })).rejects.toThrow(
      /^plugin type="noopa" failed \(add\): interface name is too long/,
    );
    await expect(cni.addNetworkList(makeList(), { ...rt, containerId: "" })).rejects.toMatchObject({ code: 3 });
    await expect(cni.addNetworkList(makeList({ name: "bad name" }), rt)).rejects.toThrow(
      /invalid characters found in network name/,
    );
    await expect(cni.addNetworkList(makeList({}, { type: "missing" }), rt)).rejects.toThrow(
      `plugin type="missing" failed (add): failed to find plugin "missing" in path [${bin}]`,
    );
  });

  it("DEL runs in reverse with the cached result, then removes the cache; twice is fine", async () => {
    const list = makeList();
    await cni.addNetworkList(list, rt);
    const log = join(dir, "log");
    writeDebug(dbgA, { commandLog: log });
    writeDebug(dbgB, { commandLog: log });
    await cni.delNetworkList(list, rt);
    const entries = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(entries.map((e) => `${e.command} ${e.type}`)).toEqual(["DEL noopb", "DEL noopa"]);
    expect(lastStdin(dbgA).prevResult).toEqual(resultA);
    expect(existsSync(join(cacheDir, "results", "cknoopnet-ctr1-eth0"))).toBe(false);
    await cni.delNetworkList(list, rt);
    expect(lastStdin(dbgA).prevResult).toBeUndefined();
  });

  it("DEL with an unreadable cache deletes it and goes on without prevResult", async () => {
    mkdirSync(join(cacheDir, "results"), { recursive: true });
    const file = join(cacheDir, "results", "cknoopnet-ctr1-eth0");
    writeFileSync(file, "{ garbage");
    await cni.delNetworkList(makeList(), rt);
    expect(readDebug(dbgA).command).toBe("DEL");
    expect(lastStdin(dbgA).prevResult).toBeUndefined();
    expect(existsSync(file)).toBe(false);
  });

  it("DEL before 0.4.0 sends no prevResult; a DEL error is wrapped", async () => {
    const list = makeList({ cniVersion: "0.3.1" });
    writeDebug(dbgA, { reportResult: '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.1.2.3/24"}]}' });
    await cni.addNetworkList(list, rt);
    await cni.delNetworkList(list, rt);
    expect(lastStdin(dbgB).prevResult).toBeUndefined();
    writeDebug(dbgA, { reportError: "nope", reportErrorCode: 7 });
    await expect(cni.delNetworkList(list, rt)).rejects.toMatchObject({
      code: 7,
      message: 'plugin type="noopa" failed (delete): nope',
    });
  });

  it("CHECK passes the cached result; needs 0.4.0; disableCheck skips it", async () => {
    const list = makeList();
    await cni.addNetworkList(list, rt);
    await cni.checkNetworkList(list, rt);
    expect(readDebug(dbgB).command).toBe("CHECK");
    expect(lastStdin(dbgB).prevResult).toEqual(resultA);
    writeDebug(dbgB, { reportError: "mismatch", reportErrorCode: 100 });
    await expect(cni.checkNetworkList(list, rt)).rejects.toMatchObject({ code: 100, message: "mismatch" });
    writeDebug(dbgA, {});
    await cni.checkNetworkList(makeList({ disableCheck: "true" }), rt);
    expect(readDebug(dbgA).command).toBeUndefined();
    await expect(cni.checkNetworkList(makeList({ cniVersion: "0.3.1" }), rt)).rejects.toThrow(
      'configuration version "0.3.1" does not support the CHECK command',
    );
  });

  it("STATUS runs only from 1.1.0 and keeps the plugin's code", async () => {
    writeDebug(dbgA, {});
    await cni.getStatusNetworkList(makeList());
    expect(readDebug(dbgA).command).toBeUndefined();
    await cni.getStatusNetworkList(makeList({ cniVersion: "1.1.0" }));
    expect(readDebug(dbgA).command).toBe("STATUS");
    expect(readDebug(dbgA).cmdArgs).toMatchObject({ containerId: "", netns: "", ifName: "" });
    writeDebug(dbgA, { reportError: "not ready", reportErrorCode: 50 });
    await expect(cni.getStatusNetworkList(makeList({ cniVersion: "1.1.0" }))).rejects.toMatchObject({
      code: 50,
      message: "not ready",
    });
  });

  it("GC deletes stale cached attachments, then sends GC with the valid attachments", async () => {
    const list = makeList({ cniVersion: "1.1.0" });
    writeDebug(dbgA, { reportResult: JSON.stringify({ ...resultA, cniVersion: "1.1.0" }) });
    await cni.addNetworkList(list, rt);
    await cni.addNetworkList(list, { ...rt, containerId: "ctr2" });
    await cni.addNetworkList(makeList({ cniVersion: "1.1.0", name: "othernet" }), { ...rt, containerId: "ctr3" });
    const log = join(dir, "log");
    writeDebug(dbgA, { commandLog: log });
    writeDebug(dbgB, { commandLog: log });
    await cni.gcNetworkList(list, { validAttachments: [{ containerID: "ctr1", ifname: "eth0" }] });
    const entries = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(entries.map((e) => `${e.command} ${e.type} ${e.containerId}`)).toEqual([
      "DEL noopb ctr2",
      "DEL noopa ctr2",
      "GC noopa ",
      "GC noopb ",
    ]);
    const gcConf = lastStdin(dbgB);
    expect(gcConf["cni.dev/valid-attachments"]).toEqual([{ containerID: "ctr1", ifname: "eth0" }]);
    expect(gcConf["cni.dev/attachments"]).toEqual([{ containerID: "ctr1", ifname: "eth0" }]);
    expect((await cni.getCachedAttachments()).map((a) => `${a.network}/${a.containerId}`)).toEqual([
      "cknoopnet/ctr1",
      "othernet/ctr3",
    ]);

    // no valid list (cnitool's gc): everything of this network goes, and no key is injected
    await cni.gcNetworkList(list);
    expect(lastStdin(dbgB)).not.toHaveProperty("cni.dev/valid-attachments");
    expect((await cni.getCachedAttachments()).map((a) => a.network)).toEqual(["othernet"]);

    writeDebug(dbgA, {});
    await cni.gcNetworkList(makeList({ cniVersion: "1.1.0", name: "othernet", disableGC: true }));
    expect(readDebug(dbgA).command).toBeUndefined();
    expect(await cni.getCachedAttachments()).toHaveLength(1);
  });

  it("GC collects errors of every plugin", async () => {
    writeDebug(dbgA, { reportError: "gc a failed" });
    writeDebug(dbgB, { reportError: "gc b failed" });
    await expect(cni.gcNetworkList(makeList({ cniVersion: "1.1.0" }))).rejects.toThrow(
      "failed to GC plugin noopa: gc a failed\nfailed to GC plugin noopb: gc b failed",
    );
  });

  it("validates plugins' versions and lists enabled capabilities", async () => {
    await expect(cni.validateNetworkList(makeList({ cniVersion: "1.1.0" }))).resolves.toEqual(["portMappings"]);
    const go = new CniRuntime({ path: [GO_PLUGINS], stderr: null });
    const goList = confListFromBytes('{"cniVersion":"1.1.0","name":"n","plugins":[{"type":"bridge"},{"type":"nope"}]}');
    await expect(go.validateNetworkList(goList)).rejects.toThrow(
      `[plugin bridge does not support config version "1.1.0" failed to find plugin "nope" in path [${GO_PLUGINS}]]`,
    );
    await expect(
      go.validateNetworkList(confListFromBytes('{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"}]}')),
    ).resolves.toEqual([]);
    expect((await go.getVersionInfo("tuning")).supportedVersions).toContain("1.0.0");
  });
});
