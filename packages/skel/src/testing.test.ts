import type { StandardSchemaV1 } from "@cnikit/spec";
import { describe, expect, expectTypeOf, it } from "vitest";
import { definePlugin } from "./define-plugin.js";
import { RawReply } from "./raw-reply.js";
import { invoke } from "./testing.js";
import type { PluginContext } from "./types.js";

const seen: PluginContext[] = [];
const plugin = definePlugin({
  name: "invoke-test",
  version: "1.2.3",
  cniVersions: ["0.4.0", "1.0.0", "1.1.0"],
  add: (ctx) => {
    seen.push(ctx);
    return {
      interfaces: [{ name: ctx.ifName, sandbox: ctx.netns }],
      ips: [{ interface: 0, address: "10.0.0.2/24" }],
    };
  },
  del: (ctx) => {
    seen.push(ctx);
  },
});

describe("invoke", () => {
  it("runs ADD in-process and parses the result", async () => {
    const out = await invoke(plugin, {
      command: "ADD",
      config: { cniVersion: "1.0.0", name: "net", type: "invoke-test" },
      args: { K8S_POD_NAME: "web" },
      path: ["/opt/cni/bin"],
      netns: "/var/run/netns/x",
    });
    expect(out.exitCode).toBe(0);
    expect(out.error).toBeUndefined();
    expect(out.result).toEqual({
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", sandbox: "/var/run/netns/x" }],
      ips: [{ interface: 0, address: "10.0.0.2/24" }],
    });
    const ctx = seen.at(-1) as PluginContext;
    expect(ctx.rawArgs).toBe("K8S_POD_NAME=web");
    expect(ctx.args).toEqual({ K8S_POD_NAME: "web" });
    expect(ctx.containerId).toBe("cnikit-test-container");
    expect(ctx.path).toEqual(["/opt/cni/bin"]);
  });

  it("parses errors", async () => {
    const out = await invoke(plugin, {
      command: "ADD",
      config: { cniVersion: "0.3.0", name: "net" },
    });
    expect(out.exitCode).toBe(1);
    expect(out.result).toBeUndefined();
    expect(out.error).toMatchObject({
      code: 1,
      msg: "incompatible CNI versions",
    });
  });

  it("VERSION", async () => {
    const out = await invoke(plugin, { command: "VERSION" });
    expect(out.version).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.4.0", "1.0.0", "1.1.0"],
    });
  });

  it("DEL prints nothing; env overrides apply and undefined removes", async () => {
    const out = await invoke(plugin, {
      command: "DEL",
      config: '{"cniVersion":"1.1.0","name":"net"}',
      env: { CNI_NETNS: undefined, CNI_IFNAME: "net1" },
    });
    expect(out).toMatchObject({ exitCode: 0, stdout: "" });
    expect(seen.at(-1)?.ifName).toBe("net1");
    expect(seen.at(-1)?.netns).toBe("");
  });

  it("sets CNI_NETNS_OVERRIDE by default, like Go's testutils", async () => {
    const out = await invoke(plugin, {
      command: "ADD",
      config: { cniVersion: "1.1.0", name: "n" },
      netns: "/proc/self/ns/net",
    });
    expect(out.exitCode).toBe(0);
    const strict = await invoke(plugin, {
      command: "ADD",
      config: { cniVersion: "1.1.0", name: "n" },
      netns: "/proc/self/ns/net",
      env: { CNI_NETNS_OVERRIDE: undefined },
    });
    expect(strict.error?.code).toBe(8);
  });
});

describe("invoke and the per-call hooks", () => {
  const double = definePlugin({
    name: "double",
    version: "1.0.0",
    cniVersions: ({ env, config }) =>
      env.CLAIM === "old" || config?.claim === "old" ? ["0.3.1", "0.4.0"] : ["1.0.0", "1.1.0"],
    add: (ctx) => {
      if (ctx.config.exitWithCode === 3) throw new RawReply({ exitCode: 3 });
      return new RawReply({ stdout: String(ctx.config.reply) });
    },
    del: () => {},
  });

  it("shows a RawReply's stdout and exit status as is, unparsed", async () => {
    const out = await invoke(double, {
      command: "ADD",
      config: { cniVersion: "1.1.0", name: "n", reply: "not json at all" },
    });
    expect(out).toEqual({ exitCode: 0, stdout: "not json at all", stderr: "", raw: true });
    const exited = await invoke(double, {
      command: "ADD",
      config: { cniVersion: "1.1.0", name: "n", exitWithCode: 3 },
    });
    expect(exited).toMatchObject({ exitCode: 3, stdout: "", raw: true });
    expect(exited.error).toBeUndefined();
  });

  it("VERSION and negotiation use a cniVersions function's answer", async () => {
    expect((await invoke(double, { command: "VERSION", env: { CLAIM: "old" } })).version).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.3.1", "0.4.0"],
    });
    const refused = await invoke(double, { command: "ADD", config: { cniVersion: "1.1.0", name: "n", claim: "old" } });
    expect(refused.error).toMatchObject({ code: 1, details: 'config is "1.1.0", plugin supports ["0.3.1" "0.4.0"]' });
    expect(refused.raw).toBeUndefined();
  });
});

describe("types", () => {
  it("the config schema's output types ctx.config", () => {
    const Config = {} as StandardSchemaV1<unknown, { bridge: string; mtu?: number }>;
    const Args = {} as StandardSchemaV1<unknown, { IP?: string }>;
    definePlugin({
      name: "t",
      version: "1",
      cniVersions: ["1.1.0"],
      config: Config,
      args: Args,
      add: (ctx) => {
        expectTypeOf(ctx.config.bridge).toEqualTypeOf<string>();
        expectTypeOf(ctx.config.name).toEqualTypeOf<string>();
        expectTypeOf(ctx.args.IP).toEqualTypeOf<string | undefined>();
        return { ips: [] };
      },
      del: (ctx) => {
        expectTypeOf(ctx.config.mtu).toEqualTypeOf<number | undefined>();
      },
    });
    definePlugin({
      name: "t",
      version: "1",
      cniVersions: ["1.1.0"],
      add: (ctx) => {
        expectTypeOf(ctx.args).toEqualTypeOf<Record<string, string>>();
        return { ips: [] };
      },
      del: () => {},
    });
  });
});
