import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  confFromBytes,
  confListFromBytes,
  confListFromConf,
  confListFromFile,
  injectConf,
  loadConfList,
  NetworkNotFoundError,
  NoConfigsFoundError,
} from "./conf.js";

const list = (o: Record<string, unknown>) => JSON.stringify({ name: "mynet", plugins: [{ type: "bridge" }], ...o });

describe("confListFromBytes", () => {
  it("parses a list and keeps the bytes", () => {
    const text = list({ cniVersion: "1.0.0", plugins: [{ type: "bridge", bridge: "cni0" }, { type: "tuning" }] });
    const l = confListFromBytes(text);
    expect(l).toMatchObject({ name: "mynet", cniVersion: "1.0.0", disableCheck: false, disableGC: false, bytes: text });
    expect(l.plugins.map((p) => p.network.type)).toEqual(["bridge", "tuning"]);
    expect(JSON.parse(l.plugins[0]?.bytes ?? "")).toEqual({ type: "bridge", bridge: "cni0" });
  });

  it("needs a string name", () => {
    expect(() => confListFromBytes('{"plugins":[{"type":"x"}]}')).toThrow("error parsing configuration list: no name");
    expect(() => confListFromBytes('{"name":5}')).toThrow(
      "error parsing configuration list: invalid name type float64",
    );
    expect(() => confListFromBytes("{")).toThrow(/^error parsing configuration list: /);
    expect(() => confListFromBytes("[]")).toThrow(/expected a JSON object/);
    expect(() => confListFromBytes(list({ cniVersion: 1 }))).toThrow(
      "error parsing configuration list: invalid cniVersion type float64",
    );
  });

  it("picks the highest of cniVersions ∪ cniVersion not above 1.1.0", () => {
    expect(confListFromBytes(list({ cniVersion: "0.3.1", cniVersions: ["0.4.0", "1.0.0", "5.0.0"] })).cniVersion).toBe(
      "1.0.0",
    );
    expect(confListFromBytes(list({ cniVersions: ["1.1.0", "2.0.0"] })).cniVersion).toBe("1.1.0");
    expect(confListFromBytes(list({ cniVersion: "1.1.0", cniVersions: ["0.4.0"] })).cniVersion).toBe("1.1.0");
    expect(confListFromBytes(list({ cniVersion: "9.9.9", cniVersions: ["0.4.0"] })).cniVersion).toBe("0.4.0");
    expect(confListFromBytes(list({ cniVersion: "9.9.9" })).cniVersion).toBe("9.9.9");
    expect(confListFromBytes(list({})).cniVersion).toBe("");
    expect(() => confListFromBytes(list({ cniVersions: "1.0.0" }))).toThrow(/invalid type for cniVersions: string/);
    expect(() => confListFromBytes(list({ cniVersions: [1] }))).toThrow(
      "error parsing configuration list: invalid type for cniVersions index 0: float64",
    );
    expect(() => confListFromBytes(list({ cniVersions: ["x.y"] }))).toThrow(/invalid cniVersions entry x.y at index 0/);
  });

  it("reads the booleans as bool or string", () => {
    const l = confListFromBytes(list({ disableCheck: "True", disableGC: true, loadOnlyInlinedPlugins: "FALSE" }));
    expect(l).toMatchObject({ disableCheck: true, disableGC: true, loadOnlyInlinedPlugins: false });
    expect(() => confListFromBytes(list({ disableCheck: "yes" }))).toThrow(
      'error parsing configuration list: invalid value "yes" for disableCheck',
    );
    expect(() => confListFromBytes(list({ disableGC: 1 }))).toThrow(
      "error parsing configuration list: invalid type float64 for disableGC",
    );
  });

  it("checks plugins", () => {
    expect(() => confListFromBytes(list({ plugins: [] }))).toThrow(
      "error parsing configuration list: no plugins in list",
    );
    expect(() => confListFromBytes(list({ plugins: {} }))).toThrow(
      "error parsing configuration list: invalid 'plugins' type map[string]interface {}",
    );
    expect(() => confListFromBytes(list({ plugins: [{ type: "a" }, { foo: 1 }] }))).toThrow(
      "failed to parse plugin config 1: error parsing configuration: missing 'type'",
    );
    expect(confListFromBytes('{"name":"n"}').plugins).toEqual([]);
    expect(() => confListFromBytes('{"name":"n","loadOnlyInlinedPlugins":true}')).toThrow(
      "error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key",
    );
  });
});

describe("injectConf / confFromBytes / confListFromConf", () => {
  it("injects values and rejects empty keys and nil values", () => {
    const p = confFromBytes('{"type":"bridge","name":"old"}');
    expect(JSON.parse(injectConf(p, { name: "new", cniVersion: "1.0.0" }).bytes)).toEqual({
      type: "bridge",
      name: "new",
      cniVersion: "1.0.0",
    });
    expect(() => injectConf(p, { "": 1 })).toThrow("keys cannot be empty");
    expect(() => injectConf(p, { k: null })).toThrow("key 'k' value must not be nil");
  });
  it("wraps a single plugin conf", () => {
    const l = confListFromConf(confFromBytes('{"cniVersion":"0.4.0","name":"single","type":"bridge","bridge":"b0"}'));
    expect(l).toMatchObject({ name: "single", cniVersion: "0.4.0" });
    expect(l.plugins[0]?.network).toMatchObject({ type: "bridge", bridge: "b0" });
    // the bytes libcni caches: Go's json.Marshal of the wrapping map (sorted keys, HTML escaped)
    const g = confListFromConf(
      confFromBytes('{"type":"x","name":"n","cniVersion":"1.0.0","z":"<&>","a":{"y":1,"b":[{"d":2,"c":3}]}}'),
    );
    expect(g.bytes).toBe(
      '{"cniVersion":"1.0.0","name":"n","plugins":[{"a":{"b":[{"c":3,"d":2}],"y":1},"cniVersion":"1.0.0","name":"n","type":"x","z":"\\u003c\\u0026\\u003e"}]}',
    );
  });
  it("requires type", () => {
    expect(() => confFromBytes('{"name":"x"}')).toThrow("error parsing configuration: missing 'type'");
  });
});

describe("loading from a directory", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cnikit-conf-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("prefers .conflist files (sorted), then legacy .conf/.json", async () => {
    writeFileSync(
      join(dir, "20-b.conflist"),
      list({ name: "net", cniVersion: "1.0.0", plugins: [{ type: "second" }] }),
    );
    writeFileSync(join(dir, "10-a.conflist"), list({ name: "net", cniVersion: "1.0.0", plugins: [{ type: "first" }] }));
    writeFileSync(join(dir, "05-legacy.conf"), JSON.stringify({ name: "net", cniVersion: "0.4.0", type: "legacy" }));
    writeFileSync(join(dir, "06-legacy.json"), JSON.stringify({ name: "other", cniVersion: "0.3.1", type: "legacy2" }));
    mkdirSync(join(dir, "sub.conflist"));
    expect((await loadConfList(dir, "net")).plugins[0]?.network.type).toBe("first");
    const other = await loadConfList(dir, "other");
    expect(other).toMatchObject({ name: "other", cniVersion: "0.3.1" });
    expect(other.plugins[0]?.network.type).toBe("legacy2");
    const err = await loadConfList(dir, "missing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkNotFoundError);
    expect((err as Error).message).toBe(`no net configuration with name "missing" in ${dir}`);
  });

  it("reports an empty dir, and a missing name when only conflists exist", async () => {
    await expect(loadConfList(dir, "x")).rejects.toBeInstanceOf(NoConfigsFoundError);
    await expect(loadConfList(dir, "x")).rejects.toThrow(`no net configurations found in ${dir}`);
    await expect(loadConfList(join(dir, "nonexistent"), "x")).rejects.toBeInstanceOf(NoConfigsFoundError);
    writeFileSync(join(dir, "a.conflist"), list({ name: "net" }));
    await expect(loadConfList(dir, "x")).rejects.toBeInstanceOf(NetworkNotFoundError);
  });

  it("appends <dir>/<name>/*.conf unless loadOnlyInlinedPlugins", async () => {
    writeFileSync(
      join(dir, "a.conflist"),
      JSON.stringify({ name: "net", cniVersion: "1.0.0", plugins: [{ type: "inline" }] }),
    );
    mkdirSync(join(dir, "net"));
    writeFileSync(join(dir, "net", "2.conf"), '{"type":"extra2"}');
    writeFileSync(join(dir, "net", "1.conf"), '{"type":"extra1"}');
    expect((await confListFromFile(join(dir, "a.conflist"))).plugins.map((p) => p.network.type)).toEqual([
      "inline",
      "extra1",
      "extra2",
    ]);
    writeFileSync(
      join(dir, "b.conflist"),
      JSON.stringify({ name: "net", loadOnlyInlinedPlugins: true, plugins: [{ type: "inline" }] }),
    );
    expect((await confListFromFile(join(dir, "b.conflist"))).plugins).toHaveLength(1);
    writeFileSync(join(dir, "c.conflist"), JSON.stringify({ name: "empty" }));
    await expect(confListFromFile(join(dir, "c.conflist"))).rejects.toThrow("no plugin configs found");
    await expect(confListFromFile(join(dir, "nope.conflist"))).rejects.toThrow(/^error reading .*nope.conflist/);
  });

  it("fails on the first malformed conflist, like libcni", async () => {
    writeFileSync(join(dir, "a.conflist"), "{ not json");
    writeFileSync(join(dir, "b.conflist"), list({ name: "net" }));
    await expect(loadConfList(dir, "net")).rejects.toThrow(/error parsing configuration list/);
  });
});
