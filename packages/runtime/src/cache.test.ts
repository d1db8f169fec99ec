import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  cacheFilePath,
  deleteCachedResult,
  listCachedAttachments,
  readCachedConfig,
  readCachedResult,
  writeCachedResult,
} from "./cache.js";

describe("result cache (libcni format)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cnikit-cache-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const key = { containerId: "ctr1", ifName: "eth0" };
  const config = '{"cniVersion":"1.0.0","name":"mynet","plugins":[{"type":"bridge"}]}';
  const result = { cniVersion: "1.0.0", ips: [{ address: "10.1.2.3/24", gateway: "10.1.2.1" }] };

  it("writes libcni's cniCacheV1 JSON at results/<net>-<ctr>-<if>, 0600 in a 0700 dir", async () => {
    await writeCachedResult(dir, {
      network: "mynet",
      ...key,
      config,
      netns: "/var/run/netns/x",
      cniArgs: [["K", "V"]],
      capabilityArgs: { portMappings: [] },
      result,
    });
    const file = join(dir, "results", "mynet-ctr1-eth0");
    expect(cacheFilePath(dir, "mynet", key)).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "results")).mode & 0o777).toBe(0o700);
    // no temporary file is left, and none is ever made inside results/ (libcni GC reads them all)
    expect(readdirSync(join(dir, "results"))).toEqual(["mynet-ctr1-eth0"]);
    expect(readdirSync(dir)).toEqual(["results"]);
    const json = JSON.parse(readFileSync(file, "utf8"));
    expect(Object.keys(json)).toEqual([
      "kind",
      "containerId",
      "config",
      "ifName",
      "networkName",
      "netns",
      "cniArgs",
      "capabilityArgs",
      "result",
    ]);
    expect(json).toEqual({
      kind: "cniCacheV1",
      containerId: "ctr1",
      config: Buffer.from(config).toString("base64"),
      ifName: "eth0",
      networkName: "mynet",
      netns: "/var/run/netns/x",
      cniArgs: [["K", "V"]],
      capabilityArgs: { portMappings: [] },
      result,
    });
    await expect(readCachedResult(dir, "mynet", "1.0.0", key)).resolves.toEqual(result);
    await expect(readCachedResult(dir, "mynet", "0.4.0", key)).resolves.toEqual({
      cniVersion: "0.4.0",
      ips: [{ version: "4", address: "10.1.2.3/24", gateway: "10.1.2.1" }],
    });
    await expect(readCachedConfig(dir, "mynet", key)).resolves.toMatchObject({
      config,
      netns: "/var/run/netns/x",
      cniArgs: [["K", "V"]],
    });
    await deleteCachedResult(dir, "mynet", key);
    await expect(readCachedResult(dir, "mynet", "1.0.0", key)).resolves.toBeUndefined();
    await deleteCachedResult(dir, "mynet", key);
  });

  it("omits empty optional fields like Go's omitempty", async () => {
    await writeCachedResult(dir, {
      network: "n",
      ...key,
      config,
      netns: "",
      cniArgs: [],
      capabilityArgs: {},
      result: undefined,
    });
    const json = JSON.parse(readFileSync(join(dir, "results", "n-ctr1-eth0"), "utf8"));
    expect(Object.keys(json)).toEqual(["kind", "containerId", "config", "ifName", "networkName"]);
  });

  it("reads the legacy bare-result format and Go-written files", async () => {
    mkdirSync(join(dir, "results"));
    writeFileSync(
      join(dir, "results", "mynet-ctr1-eth0"),
      '{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.9.0.2/16"}]}',
    );
    await expect(readCachedResult(dir, "mynet", "1.0.0", key)).resolves.toEqual({
      cniVersion: "1.0.0",
      ips: [{ address: "10.9.0.2/16" }],
    });
    writeFileSync(join(dir, "results", "mynet-ctr1-eth0"), "garbage");
    await expect(readCachedResult(dir, "mynet", "1.0.0", key)).rejects.toThrow();
  });

  it("requires all three key parts", () => {
    for (const bad of ["../../etc", "a/b", ".."]) {
      expect(() => cacheFilePath(dir, "n", { containerId: bad, ifName: "eth0" })).toThrow(
        `cache file path: invalid name "${bad}"`,
      );
      expect(() => cacheFilePath(dir, bad, { containerId: "c1", ifName: "eth0" })).toThrow(/invalid name/);
      expect(() => cacheFilePath(dir, "n", { containerId: "c1", ifName: bad })).toThrow(/invalid name/);
    }
    expect(() => cacheFilePath(dir, "n", { containerId: "", ifName: "eth0" })).toThrow(
      'cache file path requires network name ("n"), container ID (""), and interface name ("eth0")',
    );
  });

  it("lists attachments sorted, skipping junk, filtered by container", async () => {
    await writeCachedResult(dir, { network: "b", containerId: "c2", ifName: "eth0", config, netns: "/n2", result });
    await writeCachedResult(dir, { network: "a", containerId: "c1", ifName: "eth1", config, netns: "/n1", result });
    writeFileSync(join(dir, "results", "junk"), "not json");
    writeFileSync(join(dir, "results", "a-c3-eth0"), '{"kind":"other","ifName":"eth0","networkName":"a"}');
    writeFileSync(join(dir, "results", "a-c4-eth0"), '{"kind":"cniCacheV1","containerId":"c4","networkName":"a"}');
    const all = await listCachedAttachments(dir);
    expect(all.map((a) => `${a.network}/${a.containerId}/${a.ifName}`)).toEqual(["a/c1/eth1", "b/c2/eth0"]);
    expect(all[0]).toMatchObject({ config, netns: "/n1", cniArgs: [], capabilityArgs: {} });
    expect((await listCachedAttachments(dir, "c2")).map((a) => a.network)).toEqual(["b"]);
    await expect(listCachedAttachments(join(dir, "nope"))).resolves.toEqual([]);
  });
});
