// The handler context and what skel does around the handler: prevResult conversion, result
// conversion, schemas, rollback, stdout redirection, the netns self-check, logging.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AnyResult, CniError, type StandardSchemaV1 } from "@cnikit/spec";
import { afterEach, describe, expect, it } from "vitest";
import { definePlugin } from "./define-plugin.js";
import type { AddResult, PluginContext, PluginDefinition } from "./types.js";

const ENV = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "ctr1",
  CNI_NETNS: "/var/run/netns/does-not-exist",
  CNI_IFNAME: "eth0",
};

type AnyDef = PluginDefinition<any, any>;

function plugin(overrides: Partial<AnyDef> = {}) {
  return definePlugin<any, any>({
    name: "ctx-test",
    version: "0.0.1",
    cniVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    add: () => ({ ips: [{ address: "10.1.0.5/24", gateway: "10.1.0.1" }] }),
    del: () => {},
    ...overrides,
  });
}

async function runWith(p: ReturnType<typeof plugin>, config: object | string, env: Record<string, string> = {}) {
  const stdin = typeof config === "string" ? config : JSON.stringify(config);
  const out = await p.run({
    env: { ...ENV, ...env },
    readStdin: async () => stdin,
  });
  return { ...out, json: out.stdout ? JSON.parse(out.stdout) : undefined };
}

/** A minimal hand-written Standard Schema. */
function schema<T>(
  check: (v: unknown) => { value: T } | { issues: { message: string; path?: PropertyKey[] }[] },
): StandardSchemaV1<unknown, T> {
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (v: unknown) => check(v) as never,
    },
  };
}

const PREV_BY_VERSION: Record<string, AnyResult> = {
  "0.1.0": {
    cniVersion: "0.1.0",
    ip4: { ip: "10.1.0.5/24", gateway: "10.1.0.1" },
  },
  "0.2.0": {
    cniVersion: "0.2.0",
    ip4: { ip: "10.1.0.5/24", gateway: "10.1.0.1" },
  },
  "0.3.0": {
    cniVersion: "0.3.0",
    ips: [{ version: "4", address: "10.1.0.5/24", gateway: "10.1.0.1" }],
  },
  "0.3.1": {
    cniVersion: "0.3.1",
    ips: [{ version: "4", address: "10.1.0.5/24", gateway: "10.1.0.1" }],
  },
  "0.4.0": {
    cniVersion: "0.4.0",
    ips: [{ version: "4", address: "10.1.0.5/24", gateway: "10.1.0.1" }],
  },
  "1.0.0": {
    cniVersion: "1.0.0",
    ips: [{ address: "10.1.0.5/24", gateway: "10.1.0.1" }],
  },
  "1.1.0": {
    cniVersion: "1.1.0",
    ips: [{ address: "10.1.0.5/24", gateway: "10.1.0.1" }],
  },
};

describe("prevResult", () => {
  it.each(Object.keys(PREV_BY_VERSION))(
    "a %s prevResult reaches the handler as 1.1.0 (any config version)",
    async (v) => {
      let seen: PluginContext["prevResult"];
      const p = plugin({
        add: (ctx) => {
          seen = ctx.prevResult;
          return ctx.prevResult as AddResult;
        },
      });
      // A config of another family than the prevResult: Go rejects this (cni#862), we convert.
      const configVersion = v.startsWith("1.") ? "0.4.0" : "1.0.0";
      const out = await runWith(p, {
        cniVersion: configVersion,
        name: "n",
        type: "t",
        prevResult: PREV_BY_VERSION[v],
      });
      expect(out.exitCode).toBe(0);
      expect(seen?.cniVersion).toBe("1.1.0");
      expect(seen?.ips?.[0]).toMatchObject({
        address: "10.1.0.5/24",
        gateway: "10.1.0.1",
      });
      expect(out.json.cniVersion).toBe(configVersion);
    },
  );

  it("a prevResult without cniVersion takes the config's", async () => {
    let seen: PluginContext["prevResult"];
    const p = plugin({
      add: (ctx) => {
        seen = ctx.prevResult;
        return { ips: [] };
      },
    });
    await runWith(p, {
      cniVersion: "0.4.0",
      name: "n",
      prevResult: { ips: [{ version: "4", address: "10.0.0.2/24" }] },
    });
    expect(seen?.ips).toEqual([{ address: "10.0.0.2/24" }]);
  });

  it("is absent when the config has none", async () => {
    let ctxSeen: PluginContext | undefined;
    const p = plugin({
      add: (ctx) => {
        ctxSeen = ctx;
        return { ips: [] };
      },
    });
    await runWith(p, { cniVersion: "1.1.0", name: "n" });
    expect(ctxSeen && "prevResult" in ctxSeen).toBe(false);
  });

  it("a malformed prevResult fails ADD with code 6 but not DEL", async () => {
    const bad = {
      cniVersion: "1.1.0",
      name: "n",
      prevResult: { cniVersion: "1.0.0", ips: [{ address: "nope" }] },
    };
    const add = await runWith(plugin(), bad);
    expect(add.json).toMatchObject({ code: 6 });
    expect(add.json.msg).toMatch(/^could not parse prevResult: /);
    const del = await runWith(plugin(), bad, { CNI_COMMAND: "DEL" });
    expect(del.exitCode).toBe(0);
  });
});

describe("ADD result", () => {
  it.each([
    [
      "1.1.0",
      {
        cniVersion: "1.1.0",
        ips: [{ address: "10.1.0.5/24", gateway: "10.1.0.1" }],
      },
    ],
    [
      "1.0.0",
      {
        cniVersion: "1.0.0",
        ips: [{ address: "10.1.0.5/24", gateway: "10.1.0.1" }],
      },
    ],
    [
      "0.4.0",
      {
        cniVersion: "0.4.0",
        ips: [{ version: "4", address: "10.1.0.5/24", gateway: "10.1.0.1" }],
      },
    ],
    [
      "0.3.1",
      {
        cniVersion: "0.3.1",
        ips: [{ version: "4", address: "10.1.0.5/24", gateway: "10.1.0.1" }],
      },
    ],
    ["0.2.0", { cniVersion: "0.2.0", ip4: { ip: "10.1.0.5/24", gateway: "10.1.0.1" } }],
  ])("is converted to the config's version %s", async (v, expected) => {
    const out = await runWith(plugin(), { cniVersion: v, name: "n" });
    expect(out.exitCode).toBe(0);
    expect(out.json).toMatchObject(expected);
    expect(out.stdout.endsWith("}\n")).toBe(true);
    expect(out.stdout.split("\n")).toHaveLength(2);
  });

  it("a result of an older version returned by the handler is converted up", async () => {
    const p = plugin({
      add: () => ({ cniVersion: "0.2.0", ip4: { ip: "10.9.0.2/16" } }),
    });
    const out = await runWith(p, { cniVersion: "1.1.0", name: "n" });
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.9.0.2/16" }],
    });
  });

  it("a handler returning nothing is an internal error", async () => {
    const p = plugin({ add: (() => undefined) as never });
    const out = await runWith(p, { cniVersion: "1.1.0", name: "n" });
    expect(out.json).toMatchObject({
      code: 999,
      msg: "ADD handler returned no result",
    });
  });

  it("an invalid result is reported, not printed", async () => {
    const p = plugin({ add: () => ({ ips: [{ address: "not-an-ip" }] }) });
    const out = await runWith(p, { cniVersion: "1.1.0", name: "n" });
    expect(out.exitCode).toBe(1);
    expect(out.json.msg).toMatch(/^invalid result from ADD handler: /);
  });

  it("an IP whose interface index is outside `interfaces` is refused (and rolls back)", async () => {
    const undone: string[] = [];
    const bad = plugin({
      add: (ctx) => {
        ctx.onRollback(() => undone.push("link"));
        return {
          interfaces: [{ name: "eth0" }],
          ips: [
            { interface: 0, address: "10.1.0.5/24" },
            { interface: 1, address: "10.1.0.6/24" },
          ],
        };
      },
    });
    const out = await runWith(bad, { cniVersion: "1.1.0", name: "n" });
    expect(out.exitCode).toBe(1);
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      code: 999,
      msg: "invalid result from ADD handler: IP interface index out of range",
      details: "ips[1].interface is 1 but the result has 1 interface",
    });
    expect(undone).toEqual(["link"]);
    const none = plugin({ add: () => ({ ips: [{ interface: 0, address: "10.1.0.5/24" }] }) });
    expect((await runWith(none, { cniVersion: "0.4.0", name: "n" })).json.details).toBe(
      "ips[0].interface is 0 but the result has 0 interfaces",
    );
    const negative = plugin({
      add: () => ({ interfaces: [{ name: "eth0" }], ips: [{ interface: -1, address: "10.1.0.5/24" }] }),
    });
    expect((await runWith(negative, { cniVersion: "1.1.0", name: "n" })).json.code).toBe(999);
    // a valid index, and no index at all, pass
    const good = plugin({
      add: () => ({
        interfaces: [{ name: "eth0" }],
        ips: [{ interface: 0, address: "10.1.0.5/24" }, { address: "10.1.0.6/24" }],
      }),
    });
    expect((await runWith(good, { cniVersion: "1.1.0", name: "n" })).exitCode).toBe(0);
  });

  it("a result that cannot be expressed at the config version fails (and rolls back)", async () => {
    const undone: string[] = [];
    const p = plugin({
      add: (ctx) => {
        ctx.onRollback(() => undone.push("lease"));
        return { ips: [] };
      },
    });
    const out = await runWith(p, { cniVersion: "0.2.0", name: "n" });
    expect(out.json).toMatchObject({
      code: 999,
      msg: "cannot convert: no valid IP addresses",
    });
    expect(undone).toEqual(["lease"]);
  });
});

describe("rollback", () => {
  it("runs steps in reverse order and reports the original error", async () => {
    const order: string[] = [];
    const p = plugin({
      add: async (ctx) => {
        ctx.onRollback(() => order.push("ipam"));
        ctx.onRollback(async () => {
          order.push("veth");
          throw new Error("veth already gone");
        });
        ctx.onRollback(() => order.push("bridge"));
        throw new CniError(11, "try again later");
      },
    });
    const out = await runWith(p, { cniVersion: "1.1.0", name: "n" }, { CNI_LOG_LEVEL: "warn" });
    expect(order).toEqual(["bridge", "veth", "ipam"]);
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      code: 11,
      msg: "try again later",
    });
    expect(out.stderr).toContain("rollback step failed");
    expect(out.stderr).toContain("veth already gone");
  });

  it("does not run on success", async () => {
    const order: string[] = [];
    const p = plugin({
      add: (ctx) => {
        ctx.onRollback(() => order.push("x"));
        return { ips: [] };
      },
    });
    expect((await runWith(p, { cniVersion: "1.1.0", name: "n" })).exitCode).toBe(0);
    expect(order).toEqual([]);
  });
});

describe("stdout belongs to skel", () => {
  it("console.log, console.info and process.stdout.write in a handler go to stderr", async () => {
    const original = process.stdout.write;
    const p = plugin({
      add: async () => {
        console.log("hello from console.log");
        console.info("hello from console.info");
        process.stdout.write("raw write\n");
        await new Promise((r) => setTimeout(r, 5));
        console.log("after await");
        return { ips: [] };
      },
    });
    const out = await runWith(p, { cniVersion: "1.1.0", name: "n" });
    expect(out.json).toEqual({ cniVersion: "1.1.0" });
    expect(out.stdout).toBe('{"cniVersion":"1.1.0"}\n');
    expect(out.stderr).toContain("hello from console.log\n");
    expect(out.stderr).toContain("hello from console.info\n");
    expect(out.stderr).toContain("raw write\n");
    expect(out.stderr).toContain("after await\n");
    expect(process.stdout.write).toBe(original);
  });

  it("restores stdout after a failing handler", async () => {
    const original = process.stdout.write;
    const p = plugin({
      del: () => {
        console.log("noise");
        throw new Error("boom");
      },
    });
    const out = await runWith(p, { cniVersion: "1.1.0", name: "n" }, { CNI_COMMAND: "DEL" });
    expect(out.json).toMatchObject({ code: 999, msg: "boom" });
    expect(process.stdout.write).toBe(original);
  });
});

describe("netns self-check", () => {
  it.each(["ADD", "DEL", "CHECK"])("%s refuses the plugin's own netns, before the handler", async (command) => {
    let called = false;
    const mark = () => {
      called = true;
    };
    const p = plugin({
      add: () => {
        mark();
        return { ips: [] };
      },
      del: mark,
      check: mark,
    });
    const out = await runWith(
      p,
      { cniVersion: "1.1.0", name: "n" },
      { CNI_COMMAND: command, CNI_NETNS: "/proc/self/ns/net" },
    );
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      code: 8,
      msg: "plugin's netns and netns from CNI_NETNS should not be the same",
    });
    expect(called).toBe(false);
  });

  it.each(["1", "true", "TRUE", "True"])("is skipped with CNI_NETNS_OVERRIDE=%s", async (value) => {
    const out = await runWith(
      plugin(),
      { cniVersion: "1.1.0", name: "n" },
      { CNI_NETNS: "/proc/self/ns/net", CNI_NETNS_OVERRIDE: value },
    );
    expect(out.exitCode).toBe(0);
  });

  it("passes a path that cannot be stat'ed and a different netns", async () => {
    expect(
      (await runWith(plugin(), { cniVersion: "1.1.0", name: "n" }, { CNI_NETNS: "/nonexistent/ns" })).exitCode,
    ).toBe(0);
    expect(
      (await runWith(plugin(), { cniVersion: "1.1.0", name: "n" }, { CNI_NETNS: "/proc/1/ns/mnt" })).exitCode,
    ).toBe(0);
  });
});

describe("schemas", () => {
  const Config = schema<{ bridge: string; mtu?: number }>((v) => {
    const o = v as Record<string, unknown>;
    const issues: { message: string; path?: PropertyKey[] }[] = [];
    if (o.bridge !== undefined && typeof o.bridge !== "string")
      issues.push({ message: "expected string", path: ["bridge"] });
    if (o.mtu !== undefined && typeof o.mtu !== "number") issues.push({ message: "expected number", path: ["mtu"] });
    if (issues.length) return { issues };
    const out: { bridge: string; mtu?: number } = {
      bridge: (o.bridge as string) ?? "cni0",
    };
    if (typeof o.mtu === "number") out.mtu = o.mtu;
    return { value: out };
  });

  it("validates the config, applies defaults, keeps base fields", async () => {
    let seen: Record<string, unknown> | undefined;
    const p = plugin({
      config: Config,
      add: (ctx) => {
        seen = ctx.config;
        return { ips: [] };
      },
    });
    const out = await runWith(p, {
      cniVersion: "1.1.0",
      name: "n",
      type: "br",
      mtu: 1400,
    });
    expect(out.exitCode).toBe(0);
    expect(seen).toMatchObject({
      cniVersion: "1.1.0",
      name: "n",
      type: "br",
      bridge: "cni0",
      mtu: 1400,
    });
  });

  it("a config schema failure is code 7 with readable details", async () => {
    const p = plugin({ config: Config });
    const out = await runWith(p, {
      cniVersion: "1.1.0",
      name: "n",
      bridge: 5,
      mtu: "big",
    });
    expect(out.json).toEqual({
      cniVersion: "1.1.0",
      code: 7,
      msg: "network config is invalid",
      details: "bridge: expected string; mtu: expected number",
    });
  });

  it("typed CNI_ARGS through an args schema", async () => {
    const Args = schema<{ IP?: string | undefined }>((v) => ({
      value: { IP: (v as Record<string, string>).IP },
    }));
    let seen: unknown;
    const p = plugin({
      args: Args,
      add: (ctx) => {
        seen = ctx.args;
        return { ips: [] };
      },
    });
    await runWith(p, { cniVersion: "1.1.0", name: "n" }, { CNI_ARGS: "IP=10.0.0.9;K8S_POD_NAME=x" });
    expect(seen).toEqual({ IP: "10.0.0.9" });
  });

  it("without an args schema, args is a lazily parsed map; malformed CNI_ARGS only fails handlers that read it", async () => {
    let seen: unknown;
    const reader = plugin({
      add: (ctx) => {
        seen = ctx.args;
        return { ips: [] };
      },
    });
    await runWith(reader, { cniVersion: "1.1.0", name: "n" }, { CNI_ARGS: "A=1;B=2" });
    expect(seen).toEqual({ A: "1", B: "2" });
    expect(
      (await runWith(plugin(), { cniVersion: "1.1.0", name: "n" }, { CNI_ARGS: "some;extra;args" })).exitCode,
    ).toBe(0);
    const out = await runWith(reader, { cniVersion: "1.1.0", name: "n" }, { CNI_ARGS: "some;extra;args" });
    expect(out.json.msg).toBe('ARGS: invalid pair "some"');
  });
});

describe("logging", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("is quiet by default (warn)", async () => {
    const p = plugin({
      add: (ctx) => {
        ctx.log.info("hidden");
        ctx.log.warn("shown");
        return { ips: [] };
      },
    });
    const out = await runWith(p, { cniVersion: "1.1.0", name: "n" });
    expect(out.stderr).not.toContain("hidden");
    const line = JSON.parse(out.stderr.trim());
    expect(line).toMatchObject({
      level: "warn",
      plugin: "ctx-test",
      command: "ADD",
      containerId: "ctr1",
      msg: "shown",
    });
    expect(typeof line.time).toBe("string");
  });

  it("CNI_LOG_LEVEL=debug logs failures with the stack (stderr only, never stdout)", async () => {
    const p = plugin({
      add: () => {
        throw new Error("kaboom");
      },
    });
    const out = await runWith(p, { cniVersion: "1.1.0", name: "n" }, { CNI_LOG_LEVEL: "debug" });
    expect(out.stdout).not.toContain("at ");
    const lines = out.stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(
      lines.some((l) => l.level === "debug" && l.msg === "command failed" && String(l.stack).includes("kaboom")),
    ).toBe(true);
  });

  it("writes to CNI_LOG_FILE or the config's logFile", async () => {
    dir = mkdtempSync(join(tmpdir(), "cnikit-skel-log-"));
    const envFile = join(dir, "env.log");
    const confFile = join(dir, "sub", "conf.log");
    const p = plugin({
      add: (ctx) => {
        ctx.log.error("to file", { ip: "10.0.0.2" });
        return { ips: [] };
      },
    });
    await runWith(p, { cniVersion: "1.1.0", name: "n" }, { CNI_LOG_FILE: envFile });
    await runWith(p, { cniVersion: "1.1.0", name: "n", logFile: confFile });
    for (const file of [envFile, confFile]) {
      const line = JSON.parse(readFileSync(file, "utf8").trim());
      expect(line).toMatchObject({
        level: "error",
        plugin: "ctx-test",
        msg: "to file",
        ip: "10.0.0.2",
      });
    }
  });

  it("child loggers add fields", async () => {
    const p = plugin({
      add: (ctx) => {
        ctx.log.child({ step: "veth" }).warn("w");
        return { ips: [] };
      },
    });
    const out = await runWith(p, { cniVersion: "1.1.0", name: "n" });
    expect(JSON.parse(out.stderr.trim())).toMatchObject({
      step: "veth",
      msg: "w",
    });
  });
});

describe("signal", () => {
  it("the handler gets io.signal", async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const p = plugin({
      add: (ctx) => {
        seen = ctx.signal;
        return { ips: [] };
      },
    });
    await p.run({
      env: ENV,
      readStdin: async () => '{"cniVersion":"1.1.0","name":"n"}',
      signal: controller.signal,
    });
    expect(seen).toBe(controller.signal);
  });
});

describe("env", () => {
  it("the handler gets the injected env, so delegations can use it in-process", async () => {
    let seen: Readonly<Record<string, string | undefined>> | undefined;
    const p = plugin({
      add: (ctx) => {
        seen = ctx.env;
        return { ips: [] };
      },
    });
    const env = { ...ENV, CNI_PATH: "/opt/test/bin", EXTRA: "x" };
    await p.run({ env, readStdin: async () => '{"cniVersion":"1.1.0","name":"n"}' });
    expect(seen?.CNI_PATH).toBe("/opt/test/bin");
    expect(seen?.EXTRA).toBe("x");
    expect(seen?.CNI_COMMAND).toBe("ADD");
  });
});
