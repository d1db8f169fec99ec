// Port of the behaviours pinned by Go's pkg/skel/skel_test.go (same codes and messages),
// adjusted where we follow the spec instead (CNI_PATH optional except for GC).

import { CniError } from "@cnikit/spec";
import { describe, expect, it, vi } from "vitest";
import { definePlugin } from "./define-plugin.js";
import { RawReply } from "./raw-reply.js";
import type { CniVersionsCall, PluginContext, PluginDefinition } from "./types.js";

// Go's fixture uses 9.8.7; ADD must print a result at the config version, so we use a real one.
const STDIN = '{ "name":"skel-test", "some": "config", "cniVersion": "1.0.0" }';

function fixtureEnv(command: string): Record<string, string | undefined> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: "some-container-id",
    CNI_NETNS: "/some/netns/path",
    CNI_IFNAME: "eth0",
    CNI_ARGS: "some;extra;args",
    CNI_PATH: "/some/cni/path",
  };
}

function setup(overrides: Partial<PluginDefinition> = {}) {
  const calls: Record<string, PluginContext[]> = {
    add: [],
    del: [],
    check: [],
    status: [],
    gc: [],
  };
  const record = (name: string) => (ctx: PluginContext) => {
    calls[name]?.push(ctx);
  };
  const plugin = definePlugin({
    name: "skel-test",
    version: "1.0.0",
    cniVersions: ["1.0.0", "10.0.0"],
    about: "",
    add: (ctx) => {
      record("add")(ctx);
      return { ips: [{ address: "10.0.0.2/24" }] };
    },
    del: record("del"),
    check: record("check"),
    status: record("status"),
    gc: record("gc"),
    ...overrides,
  });
  const count = () => Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v.length]));
  return { plugin, calls, count };
}

async function run(
  plugin: ReturnType<typeof definePlugin>,
  env: Record<string, string | undefined>,
  stdin: string | (() => Promise<string>) = STDIN,
) {
  const readStdin = typeof stdin === "function" ? stdin : async () => stdin;
  const out = await plugin.run({ env, readStdin });
  const text = out.stdout;
  return { ...out, json: text ? JSON.parse(text) : undefined };
}

function without(env: Record<string, string | undefined>, ...names: string[]) {
  const copy = { ...env };
  for (const n of names) delete copy[n];
  return copy;
}

describe("ADD", () => {
  it("calls only ADD with the raw CmdArgs", async () => {
    const { plugin, calls, count } = setup();
    const out = await run(plugin, fixtureEnv("ADD"));
    expect(out.exitCode).toBe(0);
    expect(count()).toEqual({ add: 1, del: 0, check: 0, status: 0, gc: 0 });
    const ctx = calls.add?.[0] as PluginContext;
    expect(ctx.command).toBe("ADD");
    expect(ctx.containerId).toBe("some-container-id");
    expect(ctx.netns).toBe("/some/netns/path");
    expect(ctx.ifName).toBe("eth0");
    expect(ctx.rawArgs).toBe("some;extra;args");
    expect(ctx.path).toEqual(["/some/cni/path"]);
    expect(ctx.stdin).toBe(STDIN);
    expect(ctx.config).toMatchObject({
      name: "skel-test",
      some: "config",
      cniVersion: "1.0.0",
    });
    expect(out.stdout).toBe('{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}]}\n');
  });

  it("rejects a container ID with bad characters", async () => {
    const { plugin, count } = setup();
    const out = await run(plugin, {
      ...fixtureEnv("ADD"),
      CNI_CONTAINERID: "some-%%container-id",
    });
    expect(out.exitCode).toBe(1);
    expect(out.json).toMatchObject({
      code: 4,
      msg: "invalid characters in containerID",
      details: "some-%%container-id",
    });
    expect(count().add).toBe(0);
  });

  it.each([
    ["1234567890123456", "interface name is too long", "interface name should be less than 16 characters"],
    [".", "interface name is . or ..", undefined],
    ["..", "interface name is . or ..", undefined],
    ["test/test", "interface name contains / or : or whitespace characters", undefined],
    ["test:test", "interface name contains / or : or whitespace characters", undefined],
    ["test test", "interface name contains / or : or whitespace characters", undefined],
  ])("rejects interface name %j", async (ifName, msg, details) => {
    const { plugin, count } = setup();
    const out = await run(plugin, { ...fixtureEnv("ADD"), CNI_IFNAME: ifName });
    expect(out.exitCode).toBe(1);
    expect(out.json.code).toBe(4);
    expect(out.json.msg).toBe(msg);
    expect(out.json.details).toBe(details);
    expect(count().add).toBe(0);
  });

  it.each(["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"])("requires %s", async (name) => {
    const { plugin, count } = setup();
    const out = await run(plugin, without(fixtureEnv("ADD"), name));
    expect(out.exitCode).toBe(1);
    expect(out.json).toMatchObject({
      code: 4,
      msg: `required env variables [${name}] missing`,
    });
    expect(count().add).toBe(0);
  });

  it.each(["CNI_ARGS", "CNI_PATH"])("does not require %s (CNI_PATH per spec 1.1.0)", async (name) => {
    const { plugin, calls } = setup();
    const out = await run(plugin, without(fixtureEnv("ADD"), name));
    expect(out.exitCode).toBe(0);
    expect(calls.add).toHaveLength(1);
    if (name === "CNI_PATH") expect(calls.add?.[0]?.path).toEqual([]);
  });

  it("reports all missing variables in one error, in Go's order", async () => {
    const { plugin } = setup();
    const out = await run(plugin, without(fixtureEnv("ADD"), "CNI_NETNS", "CNI_IFNAME", "CNI_CONTAINERID"));
    expect(out.json).toMatchObject({
      code: 4,
      msg: "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing",
    });
  });

  it("like Go, an invalid present variable is reported before missing ones", async () => {
    const { plugin } = setup();
    const env = without({ ...fixtureEnv("ADD"), CNI_CONTAINERID: "bad%id" }, "CNI_NETNS");
    expect((await run(plugin, env)).json).toMatchObject({ code: 4, msg: "invalid characters in containerID" });
  });

  it("does not read stdin when the env is wrong", async () => {
    const { plugin } = setup();
    const reader = vi.fn(async () => STDIN);
    await run(plugin, without(fixtureEnv("ADD"), "CNI_IFNAME"), reader);
    expect(reader).not.toHaveBeenCalled();
  });

  it("treats a config without cniVersion as 0.1.0", async () => {
    const { plugin, calls } = setup({ cniVersions: ["0.1.0"] });
    const stdin = '{ "name":"skel-test", "some": "config" }';
    const out = await run(plugin, fixtureEnv("ADD"), stdin);
    expect(out.exitCode).toBe(0);
    expect(calls.add?.[0]?.stdin).toBe(stdin);
  });

  it("rejects a config version the plugin does not support", async () => {
    const { plugin, count } = setup({ cniVersions: ["4.3.2"] });
    const out = await run(plugin, fixtureEnv("ADD"), '{ "name":"skel-test", "some": "config" }');
    expect(out.exitCode).toBe(1);
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      code: 1,
      msg: "incompatible CNI versions",
      details: 'config is "0.1.0", plugin supports ["4.3.2"]',
    });
    expect(count().add).toBe(0);
  });

  it("splits CNI_PATH and drops empty entries", async () => {
    const { plugin, calls } = setup();
    await run(plugin, { ...fixtureEnv("ADD"), CNI_PATH: "/a::/b:" });
    expect(calls.add?.[0]?.path).toEqual(["/a", "/b"]);
  });
});

describe("CHECK", () => {
  it("calls only CHECK and prints nothing", async () => {
    const { plugin, calls, count } = setup();
    const out = await run(plugin, fixtureEnv("CHECK"));
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe("");
    expect(count()).toEqual({ add: 0, del: 0, check: 1, status: 0, gc: 0 });
    expect(calls.check?.[0]?.rawArgs).toBe("some;extra;args");
  });

  it.each(["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"])("requires %s", async (name) => {
    const { plugin } = setup();
    const out = await run(plugin, without(fixtureEnv("CHECK"), name));
    expect(out.json).toMatchObject({
      code: 4,
      msg: `required env variables [${name}] missing`,
    });
  });

  it.each(["CNI_ARGS", "CNI_PATH"])("does not require %s (CNI_PATH per spec 1.1.0)", async (name) => {
    const { plugin, count } = setup();
    const out = await run(plugin, without(fixtureEnv("CHECK"), name));
    expect(out).toMatchObject({ exitCode: 0, stdout: "" });
    expect(count().check).toBe(1);
  });

  it("aggregates missing variables", async () => {
    const { plugin } = setup();
    const out = await run(plugin, without(fixtureEnv("CHECK"), "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"));
    expect(out.json).toMatchObject({
      code: 4,
      msg: "required env variables [CNI_NETNS,CNI_IFNAME] missing",
    });
  });

  it("needs a config version >= 0.4.0", async () => {
    const { plugin, count } = setup({ cniVersions: ["0.3.0", "0.4.0"] });
    const out = await run(plugin, fixtureEnv("CHECK"), '{"name":"skel-test","cniVersion":"0.3.0"}');
    expect(out.json).toMatchObject({
      code: 1,
      msg: "config version does not allow CHECK",
    });
    expect(count().check).toBe(0);
  });

  it("needs a plugin version >= the config's", async () => {
    const { plugin } = setup({ cniVersions: ["0.1.0", "0.2.0", "0.3.0"] });
    const out = await run(plugin, fixtureEnv("CHECK"), '{"name":"skel-test","cniVersion":"0.4.0"}');
    expect(out.json).toMatchObject({
      code: 1,
      msg: "plugin version does not allow CHECK",
    });
  });

  it("reports a malformed config version as a decoding failure", async () => {
    const { plugin, count } = setup();
    const out = await run(plugin, fixtureEnv("CHECK"), '{"name":"skel-test","cniVersion":"adsfsadf"}');
    expect(out.json.code).toBe(6);
    expect(count().check).toBe(0);
  });

  it("reports a bad network name as invalid config", async () => {
    const { plugin, count } = setup();
    const out = await run(plugin, fixtureEnv("CHECK"), '{"name":"te%%st","cniVersion":"0.4.0"}');
    expect(out.json).toMatchObject({
      code: 7,
      msg: "invalid characters found in network name",
      details: "te%%st",
    });
    expect(count().check).toBe(0);
  });

  it("reports a malformed plugin version as a decoding failure", async () => {
    const { plugin } = setup({ cniVersions: ["0.1.0", "0.2.0", "adsfasdf"] });
    const out = await run(plugin, fixtureEnv("CHECK"), '{"name":"skel-test","cniVersion":"0.4.0"}');
    expect(out.json.code).toBe(6);
  });

  it("succeeds without output when the plugin has no CHECK handler", async () => {
    const { plugin } = setup({
      check: undefined,
    } as unknown as Partial<PluginDefinition>);
    const out = await run(plugin, fixtureEnv("CHECK"));
    expect(out).toMatchObject({ exitCode: 0, stdout: "" });
  });
});

describe("DEL", () => {
  it("calls only DEL", async () => {
    const { plugin, count } = setup();
    const out = await run(plugin, fixtureEnv("DEL"));
    expect(out).toMatchObject({ exitCode: 0, stdout: "" });
    expect(count()).toEqual({ add: 0, del: 1, check: 0, status: 0, gc: 0 });
  });

  it.each(["CNI_COMMAND", "CNI_CONTAINERID", "CNI_IFNAME"])("requires %s", async (name) => {
    const { plugin } = setup();
    const out = await run(plugin, without(fixtureEnv("DEL"), name));
    expect(out.json).toMatchObject({
      code: 4,
      msg: `required env variables [${name}] missing`,
    });
  });

  it.each(["CNI_NETNS", "CNI_ARGS", "CNI_PATH"])("does not require %s", async (name) => {
    const { plugin, calls } = setup();
    const out = await run(plugin, without(fixtureEnv("DEL"), name));
    expect(out.exitCode).toBe(0);
    expect(calls.del).toHaveLength(1);
  });
});

describe("GC and STATUS", () => {
  const gcEnv = () => ({ CNI_COMMAND: "GC", CNI_PATH: "/some/cni/path" });
  const v110 = '{"name":"skel-test","cniVersion":"1.1.0"}';

  it("GC gets only path and stdin", async () => {
    const { plugin, calls, count } = setup({ cniVersions: ["1.1.0"] });
    const out = await run(plugin, gcEnv(), v110);
    expect(out).toMatchObject({ exitCode: 0, stdout: "" });
    expect(count()).toEqual({ add: 0, del: 0, check: 0, status: 0, gc: 1 });
    const ctx = calls.gc?.[0] as PluginContext;
    expect([ctx.containerId, ctx.netns, ctx.ifName, ctx.rawArgs]).toEqual(["", "", "", ""]);
    expect(ctx.path).toEqual(["/some/cni/path"]);
    expect(ctx.stdin).toBe(v110);
  });

  it("GC does not validate variables it does not need", async () => {
    const { plugin } = setup({ cniVersions: ["1.1.0"] });
    const out = await run(plugin, { ...gcEnv(), CNI_CONTAINERID: "bad%id", CNI_IFNAME: "a/b" }, v110);
    expect(out.exitCode).toBe(0);
  });

  it("GC requires CNI_PATH", async () => {
    const { plugin } = setup({ cniVersions: ["1.1.0"] });
    const out = await run(plugin, { CNI_COMMAND: "GC" }, v110);
    expect(out.json).toMatchObject({
      code: 4,
      msg: "required env variables [CNI_PATH] missing",
    });
  });

  it.each(["GC", "STATUS"])("%s needs config >= 1.1.0", async (command) => {
    const { plugin } = setup({ cniVersions: ["0.3.0", "1.1.0"] });
    const out = await run(plugin, { ...gcEnv(), CNI_COMMAND: command }, '{"name":"skel-test","cniVersion":"0.3.0"}');
    expect(out.json).toMatchObject({
      code: 1,
      msg: `config version does not allow ${command}`,
    });
  });

  it.each(["GC", "STATUS"])("%s needs a plugin version >= config", async (command) => {
    const { plugin } = setup({ cniVersions: ["0.1.0", "0.2.0", "0.3.0"] });
    const out = await run(plugin, { ...gcEnv(), CNI_COMMAND: command }, v110);
    expect(out.json).toMatchObject({
      code: 1,
      msg: `plugin version does not allow ${command}`,
    });
  });

  it("GC: bad config version → 6, bad name → 7 (before the version gate), bad plugin versions → 6", async () => {
    const { plugin } = setup({ cniVersions: ["1.1.0"] });
    expect((await run(plugin, gcEnv(), '{"name":"skel-test","cniVersion":"x.y"}')).json.code).toBe(6);
    expect((await run(plugin, gcEnv(), '{"name":"te%%st","cniVersion":"0.4.0"}')).json.code).toBe(7);
    const bad = setup({ cniVersions: ["0.1.0", "0.2.0", "adsfasdf"] }).plugin;
    expect((await run(bad, gcEnv(), v110)).json.code).toBe(6);
  });

  it("STATUS calls only STATUS; CNI_PATH optional", async () => {
    const { plugin, count } = setup({ cniVersions: ["1.1.0"] });
    const out = await run(plugin, { CNI_COMMAND: "STATUS" }, v110);
    expect(out).toMatchObject({ exitCode: 0, stdout: "" });
    expect(count()).toEqual({ add: 0, del: 0, check: 0, status: 1, gc: 0 });
  });

  it("STATUS reports the handler's error (code 50)", async () => {
    const { plugin } = setup({
      cniVersions: ["1.1.0"],
      status: () => {
        throw new CniError(50, "plugin not available", "bridge is down");
      },
    });
    const out = await run(plugin, { CNI_COMMAND: "STATUS" }, v110);
    expect(out.exitCode).toBe(1);
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      code: 50,
      msg: "plugin not available",
      details: "bridge is down",
    });
  });

  it.each([
    [51, "limited connectivity"],
    [11, "try again later"],
    [4242, "plugin-specific"],
  ])("STATUS passes code %i through unchanged", async (code, msg) => {
    const { plugin } = setup({
      cniVersions: ["1.1.0"],
      status: () => {
        throw new CniError(code, msg);
      },
    });
    const out = await run(plugin, { CNI_COMMAND: "STATUS" }, v110);
    expect(out.exitCode).toBe(1);
    expect(out.json).toEqual({ cniVersion: "1.1.0", code, msg });
  });

  it("missing GC/STATUS handlers succeed silently", async () => {
    const { plugin } = setup({
      cniVersions: ["1.1.0"],
      gc: undefined,
      status: undefined,
    } as unknown as Partial<PluginDefinition>);
    expect(await run(plugin, gcEnv(), v110)).toMatchObject({
      exitCode: 0,
      stdout: "",
    });
    expect(await run(plugin, { CNI_COMMAND: "STATUS" }, v110)).toMatchObject({
      exitCode: 0,
      stdout: "",
    });
  });

  it("GC receives valid attachments, falling back to the legacy key", async () => {
    const { plugin, calls } = setup({ cniVersions: ["1.1.0"] });
    const att = [{ containerID: "c1", ifname: "eth0" }];
    await run(
      plugin,
      gcEnv(),
      JSON.stringify({
        name: "n",
        cniVersion: "1.1.0",
        "cni.dev/valid-attachments": att,
      }),
    );
    await run(
      plugin,
      gcEnv(),
      JSON.stringify({
        name: "n",
        cniVersion: "1.1.0",
        "cni.dev/attachments": att,
      }),
    );
    await run(plugin, gcEnv(), JSON.stringify({ name: "n", cniVersion: "1.1.0" }));
    expect(calls.gc?.map((c) => c.validAttachments)).toEqual([att, att, []]);
    const bad = await run(
      plugin,
      gcEnv(),
      JSON.stringify({
        name: "n",
        cniVersion: "1.1.0",
        "cni.dev/valid-attachments": [1],
      }),
    );
    expect(bad.json).toMatchObject({
      code: 7,
      msg: "invalid cni.dev/valid-attachments",
    });
  });
});

describe("VERSION", () => {
  it("prints the supported versions with cniVersion 1.1.0", async () => {
    const { plugin, count } = setup();
    const out = await run(plugin, fixtureEnv("VERSION"));
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe('{"cniVersion":"1.1.0","supportedVersions":["1.0.0","10.0.0"]}\n');
    expect(Object.values(count()).every((n) => n === 0)).toBe(true);
  });

  it.each(["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"])("does not need %s", async (name) => {
    const { plugin } = setup();
    expect((await run(plugin, without(fixtureEnv("VERSION"), name))).exitCode).toBe(0);
  });

  it("never reads stdin", async () => {
    const { plugin } = setup();
    const reader = vi.fn(async () => {
      throw new Error("banana");
    });
    const out = await run(plugin, fixtureEnv("VERSION"), reader);
    expect(reader).not.toHaveBeenCalled();
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["1.0.0", "10.0.0"],
    });
  });
});

describe("unknown or missing command", () => {
  it("rejects an unknown command", async () => {
    const { plugin, count } = setup();
    const out = await run(plugin, fixtureEnv("NOPE"));
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      code: 4,
      msg: "unknown CNI_COMMAND: NOPE",
    });
    expect(Object.values(count()).every((n) => n === 0)).toBe(true);
  });

  it("prints the about banner when CNI_COMMAND is empty", async () => {
    const { plugin } = setup({ about: "test framework v42" });
    const out = await run(plugin, fixtureEnv(""));
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain("test framework v42");
  });

  it("prints exactly the about banner with no env at all", async () => {
    const { plugin } = setup({ about: "AWESOME PLUGIN" });
    const out = await run(plugin, {});
    expect(out).toEqual({
      exitCode: 0,
      stdout: "",
      stderr: "AWESOME PLUGIN\nCNI protocol versions supported: 1.0.0, 10.0.0\n",
      json: undefined,
    });
  });

  it("defaults the about string to `CNI <name> plugin <version>`", async () => {
    const { plugin } = setup({
      about: undefined,
    } as unknown as Partial<PluginDefinition>);
    expect(plugin.about).toBe("CNI skel-test plugin 1.0.0");
    expect((await run(plugin, {})).stderr).toMatch(/^CNI skel-test plugin 1\.0\.0\n/);
  });

  it("with an empty about, a missing CNI_COMMAND is an error", async () => {
    const { plugin } = setup({ about: "" });
    const out = await run(plugin, {});
    expect(out.json).toMatchObject({
      code: 4,
      msg: "required env variables [CNI_COMMAND] missing",
    });
  });
});

describe("stdin and handler errors", () => {
  it("reports a stdin read failure as code 5", async () => {
    const { plugin, count } = setup();
    const out = await run(plugin, fixtureEnv("ADD"), async () => {
      throw new Error("banana");
    });
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      code: 5,
      msg: "error reading from stdin: banana",
    });
    expect(count().add).toBe(0);
  });

  it("passes a typed error through unchanged", async () => {
    const { plugin } = setup({
      add: () => {
        throw new CniError(1234, "insufficient something");
      },
    });
    const out = await run(plugin, fixtureEnv("ADD"));
    expect(out.json).toEqual({
      cniVersion: "1.0.0",
      code: 1234,
      msg: "insufficient something",
    });
  });

  it("wraps a plain error as 999 with its message, and no stack on stdout", async () => {
    const { plugin } = setup({
      add: () => {
        throw new Error("potato");
      },
    });
    const out = await run(plugin, fixtureEnv("ADD"));
    expect(out.json).toEqual({ cniVersion: "1.0.0", code: 999, msg: "potato" });
    expect(out.stdout).not.toContain("at ");
  });

  it("wraps a thrown non-Error as 999", async () => {
    const { plugin } = setup({
      del: () => {
        throw "just a string";
      },
    });
    const out = await run(plugin, fixtureEnv("DEL"));
    expect(out.json).toMatchObject({ code: 999, msg: "just a string" });
  });

  it.each([
    ["", 6, /^error unmarshall network config: /],
    ["{", 6, /^error unmarshall network config: /],
    ["[1,2]", 6, /expected a JSON object, got array/],
    ["null", 6, /got null/],
    ['"x"', 6, /got string/],
    ['{"name": 5}', 6, /"name" must be a string/],
    ["{}", 7, /^missing network name$/],
    ['{"name":"n","cniVersion":1}', 6, /^decoding version from network config: /],
  ])("stdin %j → code %i", async (stdin, code, msg) => {
    const { plugin, count } = setup();
    const out = await run(plugin, fixtureEnv("ADD"), stdin);
    expect(out.exitCode).toBe(1);
    expect(out.json.code).toBe(code);
    expect(out.json.msg).toMatch(msg);
    expect(count().add).toBe(0);
  });

  it("binary junk on stdin → code 6", async () => {
    const { plugin } = setup();
    const junk = Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x7b]);
    const out = await plugin.run({
      env: fixtureEnv("ADD"),
      readStdin: async () => junk,
    });
    expect(JSON.parse(out.stdout)).toMatchObject({ code: 6 });
  });

  it("a 10 MB config works", async () => {
    const { plugin, calls } = setup();
    const big = JSON.stringify({
      name: "skel-test",
      cniVersion: "1.0.0",
      blob: "x".repeat(10 * 1024 * 1024),
    });
    const out = await plugin.run({
      env: fixtureEnv("ADD"),
      readStdin: async () => Buffer.from(big),
    });
    expect(out.exitCode).toBe(0);
    expect(String(calls.add?.[0]?.config.blob).length).toBe(10 * 1024 * 1024);
  });

  it("uses the config's cniVersion in error replies once known", async () => {
    const { plugin } = setup();
    const out = await run(plugin, fixtureEnv("ADD"), '{"name":"te%%st","cniVersion":"0.4.0"}');
    expect(out.json.cniVersion).toBe("0.4.0");
    const out2 = await run(plugin, fixtureEnv("ADD"), '{"name":"ok","cniVersion":"0.4.0"}');
    expect(out2.json).toMatchObject({ cniVersion: "0.4.0", code: 1 });
    const out3 = await run(plugin, fixtureEnv("ADD"), "[]");
    expect(out3.json.cniVersion).toBe("1.1.0");
  });
});

describe("definePlugin", () => {
  it("refuses an empty version list", () => {
    expect(() =>
      definePlugin({
        name: "x",
        version: "1",
        cniVersions: [],
        add: () => ({ cniVersion: "1.1.0" }),
        del: () => {},
      }),
    ).toThrow(TypeError);
  });
});

describe("cniVersions as a function of the call", () => {
  function decidedBy(answer: (call: CniVersionsCall) => readonly string[] | Promise<readonly string[]>) {
    const calls: CniVersionsCall[] = [];
    const cniVersions = vi.fn((call: CniVersionsCall) => {
      calls.push(call);
      return answer(call);
    });
    return { ...setup({ cniVersions }), versionCalls: calls, cniVersions };
  }

  it("VERSION: asked with the env only, stdin not read, its answer printed", async () => {
    const { plugin, versionCalls } = decidedBy(({ env }) =>
      env.CNI_ARGS === "OLD=1" ? ["0.4.0"] : ["1.0.0", "1.1.0"],
    );
    const reader = vi.fn(async () => STDIN);
    const out = await run(plugin, { CNI_COMMAND: "VERSION", CNI_ARGS: "OLD=1" }, reader);
    expect(out.json).toEqual({ cniVersion: "1.1.0", supportedVersions: ["0.4.0"] });
    expect(reader).not.toHaveBeenCalled();
    expect(versionCalls).toHaveLength(1);
    expect(versionCalls[0]).toEqual({ env: { CNI_COMMAND: "VERSION", CNI_ARGS: "OLD=1" } });
    expect("config" in (versionCalls[0] as object)).toBe(false);
  });

  it("the about banner lists its answer", async () => {
    const plugin = definePlugin({
      name: "per-call",
      version: "2.0.0",
      cniVersions: () => ["0.3.1", "1.1.0"],
      add: () => ({}),
      del: () => {},
    });
    const out = await plugin.run({ env: {} });
    expect(out.stderr).toBe("CNI per-call plugin 2.0.0\nCNI protocol versions supported: 0.3.1, 1.1.0\n");
  });

  it("ADD: asked once, after stdin, with the decoded config; negotiation uses its answer", async () => {
    const { plugin, versionCalls, count } = decidedBy(({ config }) =>
      config?.legacy === true ? ["0.4.0"] : ["1.0.0", "1.1.0"],
    );
    const env = fixtureEnv("ADD");
    const ok = await run(plugin, env, STDIN);
    expect(ok.exitCode).toBe(0);
    expect(count().add).toBe(1);
    expect(versionCalls).toHaveLength(1);
    expect(versionCalls[0]?.env).toBe(env);
    expect(versionCalls[0]?.config).toEqual(JSON.parse(STDIN));

    const refused = await run(plugin, env, '{"name":"n","cniVersion":"1.0.0","legacy":true}');
    expect(refused.json).toEqual({
      cniVersion: "1.0.0",
      code: 1,
      msg: "incompatible CNI versions",
      details: 'config is "1.0.0", plugin supports ["0.4.0"]',
    });
    expect(count().add).toBe(1);
  });

  it("the command floors use its answer too", async () => {
    const { plugin } = decidedBy(() => ["0.4.0"]);
    const out = await run(plugin, fixtureEnv("CHECK"), STDIN);
    expect(out.json).toMatchObject({ code: 1, msg: "plugin version does not allow CHECK" });
  });

  it("may be async", async () => {
    const { plugin } = decidedBy(async () => ["1.0.0"]);
    expect((await run(plugin, fixtureEnv("ADD"))).exitCode).toBe(0);
    expect((await run(plugin, fixtureEnv("VERSION"))).json.supportedVersions).toEqual(["1.0.0"]);
  });

  it("is not asked when stdin is bad", async () => {
    const { plugin, cniVersions } = decidedBy(() => ["1.0.0"]);
    const out = await run(plugin, fixtureEnv("ADD"), "{");
    expect(out.json.code).toBe(6);
    expect(cniVersions).not.toHaveBeenCalled();
  });

  it("what it throws is reported like a handler's error", async () => {
    const typed = decidedBy(() => {
      throw new CniError(7, "cannot tell", "no debug file");
    });
    expect((await run(typed.plugin, fixtureEnv("ADD"))).json).toEqual({
      cniVersion: "1.0.0",
      code: 7,
      msg: "cannot tell",
      details: "no debug file",
    });
    const plain = decidedBy(() => {
      throw new Error("potato");
    });
    const out = await run(plain.plugin, fixtureEnv("VERSION"));
    expect(out.exitCode).toBe(1);
    expect(out.json).toEqual({ cniVersion: "1.1.0", code: 999, msg: "potato" });
  });

  it("an empty or malformed answer → 999", async () => {
    for (const answer of [[], [1], "1.0.0"] as unknown as (readonly string[])[]) {
      const { plugin, count } = decidedBy(() => answer);
      const out = await run(plugin, fixtureEnv("ADD"));
      expect(out.json).toMatchObject({ code: 999, msg: "cniVersions function returned no versions" });
      expect(count().add).toBe(0);
    }
  });

  it("the plugin exposes the function as defined", () => {
    const decide = () => ["1.1.0"];
    const plugin = definePlugin({ name: "x", version: "1", cniVersions: decide, add: () => ({}), del: () => {} });
    expect(plugin.cniVersions).toBe(decide);
  });
});

describe("RawReply", () => {
  function recordingIo(command: string, stdin = STDIN) {
    const writes: string[] = [];
    return {
      writes,
      io: {
        env: fixtureEnv(command),
        readStdin: async () => stdin,
        stdout: { write: (s: string) => writes.push(s) },
      },
    };
  }

  it("returned by ADD: its text verbatim, once, unvalidated and unconverted", async () => {
    const { plugin } = setup({ add: () => new RawReply({ stdout: '{ "result": "anything at all" }' }) });
    const { io, writes } = recordingIo("ADD");
    const out = await plugin.run(io);
    expect(out).toEqual({ exitCode: 0, stdout: '{ "result": "anything at all" }', stderr: "", raw: true });
    expect(writes).toEqual(['{ "result": "anything at all" }']);
  });

  it("thrown from a helper: a bare exit status, nothing on stdout, rollbacks run", async () => {
    const undone: string[] = [];
    const { plugin } = setup({
      add: (ctx) => {
        ctx.onRollback(() => undone.push("link"));
        const helper = () => {
          throw new RawReply({ exitCode: 3 });
        };
        helper();
        return {};
      },
    });
    const { io, writes } = recordingIo("ADD");
    const out = await plugin.run(io);
    expect(out).toMatchObject({ exitCode: 3, stdout: "", raw: true });
    expect(writes).toEqual([]);
    expect(undone).toEqual(["link"]);
  });

  it("exit status 0: no rollback; any handler may use it", async () => {
    const undone: string[] = [];
    const { plugin } = setup({
      del: (ctx) => {
        ctx.onRollback(() => undone.push("x"));
        throw new RawReply({ stdout: "bye\n" });
      },
      check: () => new RawReply({ exitCode: 42, stdout: "not ready" }),
    });
    expect(await plugin.run(recordingIo("DEL").io)).toMatchObject({ exitCode: 0, stdout: "bye\n", raw: true });
    expect(undone).toEqual([]);
    const check = await plugin.run(recordingIo("CHECK").io);
    expect(check).toMatchObject({ exitCode: 42, stdout: "not ready", raw: true });
  });

  it("a normal run does not say raw", async () => {
    const { plugin } = setup();
    const out = await plugin.run(recordingIo("ADD").io);
    expect(out.exitCode).toBe(0);
    expect("raw" in out).toBe(false);
  });

  it("does not bypass the checks before the handler", async () => {
    const { plugin } = setup({ add: () => new RawReply({ stdout: "x" }) });
    const out = await run(plugin, fixtureEnv("ADD"), '{"name":"n","cniVersion":"0.4.0"}');
    expect(out.json).toMatchObject({ code: 1 });
    expect(out.raw).toBeUndefined();
  });

  it("main() exits with its status", async () => {
    const { plugin } = setup({ add: () => new RawReply({ exitCode: 5, stdout: "raw" }) });
    const { io, writes } = recordingIo("ADD");
    const before = process.exitCode;
    try {
      expect(await plugin.main({ ...io, stderr: { write: () => true }, exit: false })).toBe(5);
      expect(process.exitCode).toBe(5);
    } finally {
      process.exitCode = before;
    }
    expect(writes).toEqual(["raw"]);
  });

  it("refuses an exit status outside 0-255 and a non-string stdout", () => {
    for (const exitCode of [-1, 256, 1.5, Number.NaN]) expect(() => new RawReply({ exitCode })).toThrow(TypeError);
    expect(() => new RawReply({ stdout: 7 as unknown as string })).toThrow(TypeError);
    expect(new RawReply()).toMatchObject({ stdout: "", exitCode: 0 });
  });

  it("instanceof holds for a RawReply built by another bundled copy", () => {
    const foreign = Object.defineProperty({ stdout: "", exitCode: 0 }, Symbol.for("cnikit.RawReply"), { value: true });
    expect(foreign instanceof RawReply).toBe(true);
    expect({ stdout: "", exitCode: 0 } instanceof RawReply).toBe(false);
    expect(new RawReply() instanceof RawReply).toBe(true);
  });
});
