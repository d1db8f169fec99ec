// Real zod 4 schemas (classic `import * as z from "zod"` and `zod/mini`) as a plugin's
// `config:` and `args:`: typed context, defaults, code 7 / code 4 with readable details.

import { definePlugin } from "@cnikit/skel";
import { invoke } from "@cnikit/skel/testing";
import { describe, expect, expectTypeOf, it } from "vitest";
import * as z from "zod";
import * as zm from "zod/mini";

const BASE = { cniVersion: "1.1.0", name: "zodnet", type: "zod-test" };

describe("zod classic", () => {
  const Config = z.object({
    bridge: z.string().max(15).default("cni0"),
    mtu: z.number().int().min(68).optional(),
    ipam: z.looseObject({ type: z.string() }),
  });
  const Args = z.object({
    K8S_POD_NAME: z.string().optional(),
    IP: z.ipv4().optional(),
  });

  function plugin(seen: { config?: unknown; args?: unknown }) {
    return definePlugin({
      name: "zod-test",
      version: "1.0.0",
      cniVersions: ["1.0.0", "1.1.0"],
      config: Config,
      args: Args,
      add: (ctx) => {
        expectTypeOf(ctx.config.bridge).toEqualTypeOf<string>();
        expectTypeOf(ctx.config.mtu).toEqualTypeOf<number | undefined>();
        expectTypeOf(ctx.config.ipam.type).toEqualTypeOf<string>();
        expectTypeOf(ctx.config.cniVersion).toEqualTypeOf<string>();
        expectTypeOf(ctx.args.IP).toEqualTypeOf<string | undefined>();
        seen.config = ctx.config;
        seen.args = ctx.args;
        return { ips: [] };
      },
      del: () => {},
    });
  }

  it("types and fills the config (defaults applied, base and unknown keys kept) and the args", async () => {
    const seen: { config?: unknown; args?: unknown } = {};
    const out = await invoke(plugin(seen), {
      command: "ADD",
      config: { ...BASE, ipam: { type: "host-local", subnet: "10.1.0.0/16" }, vendorKey: 1 },
      args: "IgnoreUnknown=1;K8S_POD_NAME=web-0;IP=10.1.0.9;OTHER=x",
    });
    expect(out.exitCode).toBe(0);
    expect(seen.config).toEqual({
      ...BASE,
      bridge: "cni0",
      ipam: { type: "host-local", subnet: "10.1.0.0/16" },
      vendorKey: 1,
    });
    expect(seen.args).toEqual({ K8S_POD_NAME: "web-0", IP: "10.1.0.9" });
  });

  it("a config that fails the schema is code 7 with every issue in details, nothing else on stdout", async () => {
    const out = await invoke(plugin({}), {
      command: "ADD",
      config: { ...BASE, bridge: "a-very-long-bridge-name", mtu: 10.5 },
    });
    expect(out.exitCode).toBe(1);
    expect(out.error).toMatchObject({ cniVersion: "1.1.0", code: 7, msg: "network config is invalid" });
    const details = out.error?.details ?? "";
    expect(details).toMatch(/(^|; )bridge: /);
    expect(details).toMatch(/(^|; )mtu: /);
    expect(details).toMatch(/(^|; )ipam: /);
    expect(out.stdout.trim().split("\n")).toHaveLength(1);
  });

  it("CNI_ARGS that fail the args schema are code 4 naming the key", async () => {
    const out = await invoke(plugin({}), {
      command: "ADD",
      config: { ...BASE, ipam: { type: "x" } },
      args: "IP=10.1.0.0/24",
    });
    expect(out.error).toMatchObject({ code: 4, msg: "CNI_ARGS is invalid" });
    expect(out.error?.details).toMatch(/^IP: /);
  });

  it("a strict args schema accepts other plugins' keys with IgnoreUnknown=1 only", async () => {
    const strict = definePlugin({
      name: "strict",
      version: "1",
      cniVersions: ["1.1.0"],
      args: z.strictObject({ K8S_POD_NAME: z.string() }),
      add: (ctx) => ({ ips: [], dns: { domain: ctx.args.K8S_POD_NAME } }),
      del: () => {},
    });
    const ok = await invoke(strict, { command: "ADD", config: BASE, args: "IgnoreUnknown=1;K8S_POD_NAME=p;X=y" });
    expect(ok.result).toEqual({ cniVersion: "1.1.0", dns: { domain: "p" } });
    const bad = await invoke(strict, { command: "ADD", config: BASE, args: "K8S_POD_NAME=p;X=y" });
    expect(bad.error).toMatchObject({ code: 4, msg: "CNI_ARGS is invalid" });
  });

  it("DEL, CHECK, STATUS and GC handlers get the config validated too", async () => {
    const all = definePlugin({
      name: "all",
      version: "1",
      cniVersions: ["1.1.0"],
      config: Config,
      add: () => ({ ips: [] }),
      del: () => {},
      check: () => {},
      status: () => {},
      gc: () => {},
    });
    for (const command of ["DEL", "CHECK", "STATUS", "GC"]) {
      const out = await invoke(all, { command, config: { ...BASE, mtu: "x" }, path: ["/opt/cni/bin"] });
      expect(out.error?.code, command).toBe(7);
    }
  });
});

describe("zod/mini", () => {
  it("works as config and args schemas, typed the same way", async () => {
    let seen: unknown;
    const p = definePlugin({
      name: "mini",
      version: "1",
      cniVersions: ["1.1.0"],
      config: zm.object({ bridge: zm._default(zm.string(), "cni0"), mtu: zm.optional(zm.number()) }),
      args: zm.object({ K8S_POD_NAME: zm.optional(zm.string()) }),
      add: (ctx) => {
        expectTypeOf(ctx.config.bridge).toEqualTypeOf<string>();
        expectTypeOf(ctx.args.K8S_POD_NAME).toEqualTypeOf<string | undefined>();
        seen = { bridge: ctx.config.bridge, mtu: ctx.config.mtu, pod: ctx.args.K8S_POD_NAME };
        return { ips: [] };
      },
      del: () => {},
    });
    const ok = await invoke(p, { command: "ADD", config: { ...BASE, mtu: 1400 }, args: "K8S_POD_NAME=a" });
    expect(ok.exitCode).toBe(0);
    expect(seen).toEqual({ bridge: "cni0", mtu: 1400, pod: "a" });
    const bad = await invoke(p, { command: "ADD", config: { ...BASE, mtu: "big" } });
    expect(bad.error).toMatchObject({ code: 7, msg: "network config is invalid" });
    expect(bad.error?.details).toMatch(/^mtu: /);
  });
});

describe("@cnikit/spec/schemas", () => {
  it("NetConfSchema.extend(...) is a usable plugin config schema", async () => {
    const { NetConfSchema } = await import("@cnikit/spec/schemas");
    const Config = NetConfSchema.extend({ bridge: z.string().default("cni0") });
    let bridge: string | undefined;
    const p = definePlugin({
      name: "ext",
      version: "1",
      cniVersions: ["1.1.0"],
      config: Config,
      add: (ctx) => {
        expectTypeOf(ctx.config.bridge).toEqualTypeOf<string>();
        bridge = ctx.config.bridge;
        return { ips: [] };
      },
      del: () => {},
    });
    expect((await invoke(p, { command: "ADD", config: BASE })).exitCode).toBe(0);
    expect(bridge).toBe("cni0");
    const bad = await invoke(p, { command: "ADD", config: { ...BASE, type: 5 } });
    expect(bad.error).toMatchObject({ code: 7 });
    expect(bad.error?.details).toMatch(/^type: /);
  });
});
