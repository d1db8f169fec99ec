import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type DelegateContext,
  type DelegateOptions,
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateGC,
  delegateStatus,
} from "../src/index.js";
import { buildFixture } from "../../../tools/build-fixture.js";
import { GO_PLUGINS, writeScript } from "./helpers.js";

describe("delegate* with the real noop plugin", () => {
  let dir: string;
  let debugFile: string;
  let commandLog: string;
  const conf = { cniVersion: "1.1.0", name: "ckdelegate", type: "noop" };
  const stdin = JSON.stringify(conf);
  const recorded = () => JSON.parse(readFileSync(debugFile, "utf8"));
  /** A handler's context: the invocation's own env, not this test process's. */
  let ctx: DelegateContext & { env: Record<string, string | undefined> };

  let noop: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cnikit-delegate-"));
    debugFile = join(dir, "debug.json");
    commandLog = join(dir, "commands.jsonl");
    noop = await buildFixture("examples/noop");
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const steer = (d: Record<string, unknown>) => writeFileSync(debugFile, JSON.stringify(d));
  beforeEach(() => {
    rmSync(commandLog, { force: true });
    steer({ reportResult: JSON.stringify({ cniVersion: "1.1.0", ips: [{ address: "10.1.2.3/24" }], dns: {} }) });
    ctx = {
      stdin,
      env: {
        PATH: process.env.PATH,
        CNI_COMMAND: "NOPE",
        CNI_ARGS: `DEBUG=${debugFile}`,
        CNI_PATH: dirname(noop),
        CNI_NETNS: "/some/netns/path",
        CNI_IFNAME: "eth7",
        CNI_CONTAINERID: "container",
      },
    };
  });
  afterEach(() => {
    expect(process.env.CNI_ARGS ?? "").not.toContain(debugFile); // nothing leaked into this process
  });

  it("delegateAdd returns the delegate's result (1.1.0), with ctx.stdin verbatim and ctx.env", async () => {
    const text = ` {"cniVersion":"1.1.0", "name":"ckdelegate","type":"noop"}\n`;
    const result = await delegateAdd("noop", { ...ctx, stdin: text });
    expect(result).toEqual({ cniVersion: "1.1.0", ips: [{ address: "10.1.2.3/24" }] });
    expect(recorded().command).toBe("ADD");
    expect(recorded().cmdArgs).toMatchObject({ ifName: "eth7", containerId: "container", netns: "/some/netns/path", stdin: text });
  });

  it("options.conf sends a modified config instead (an object JSON-encoded, text verbatim)", async () => {
    await delegateAdd("noop", ctx, { conf: { ...conf, extra: 1 } });
    expect(recorded().cmdArgs.stdin).toBe(JSON.stringify({ ...conf, extra: 1 }));
    const text = '{ "cniVersion": "1.1.0", "name": "other", "type": "noop" }';
    await delegateDel("noop", ctx, { conf: text });
    expect(recorded().cmdArgs.stdin).toBe(text);
  });

  it("converts an older delegate result to 1.1.0", async () => {
    steer({ reportResult: '{"cniVersion":"0.2.0","ip4":{"ip":"10.1.2.3/24","gateway":"10.1.2.1"}}' });
    const result = await delegateAdd("noop", ctx, { conf: { ...conf, cniVersion: "0.2.0" } });
    expect(result).toEqual({ cniVersion: "1.1.0", ips: [{ address: "10.1.2.3/24", gateway: "10.1.2.1" }] });
  });

  const verbs = [
    ["ADD", (c: DelegateContext) => delegateAdd("noop", c)],
    ["CHECK", (c: DelegateContext) => delegateCheck("noop", c)],
    ["DEL", (c: DelegateContext) => delegateDel("noop", c)],
    ["STATUS", (c: DelegateContext) => delegateStatus("noop", c)],
    ["GC", (c: DelegateContext) => delegateGC("noop", c)],
  ] as const;

  for (const [verb, fn] of verbs) {
    it(`${verb}: the delegate gets ${verb}; only CNI_COMMAND of ctx.env is replaced`, async () => {
      await fn(ctx);
      expect(recorded().command).toBe(verb);
      expect(ctx.env.CNI_COMMAND).toBe("NOPE");
    });
  }

  for (const [verb, fn] of [
    ["ADD", (c: DelegateContext) => delegateAdd("nope-not-a-plugin", c)],
    ["CHECK", (c: DelegateContext) => delegateCheck("nope-not-a-plugin", c)],
    ["DEL", (c: DelegateContext) => delegateDel("nope-not-a-plugin", c)],
    ["STATUS", (c: DelegateContext) => delegateStatus("nope-not-a-plugin", c)],
    ["GC", (c: DelegateContext) => delegateGC("nope-not-a-plugin", c)],
  ] as const) {
    it(`${verb} of a missing plugin fails with "plugin X: failed to find plugin"`, async () => {
      await expect(fn(ctx)).rejects.toThrow(/^plugin nope-not-a-plugin: failed to find plugin "nope-not-a-plugin" in path \[/);
    });
  }

  it("finds the delegate in ctx.env's CNI_PATH, not this process's", async () => {
    await expect(delegateDel("noop", { ...ctx, env: { ...ctx.env, CNI_PATH: "/nonexistent" } })).rejects.toThrow(
      'plugin noop: failed to find plugin "noop" in path [/nonexistent]',
    );
  });

  it("names the delegate in its error and keeps its code and details", async () => {
    steer({ reportError: "no more addresses", reportErrorCode: 11 });
    await expect(delegateAdd("noop", ctx)).rejects.toMatchObject({ code: 11, msg: "plugin noop: no more addresses" });
    await expect(delegateAdd("noop", ctx, { errorPrefix: "delegate noop" })).rejects.toMatchObject({
      code: 11,
      msg: "delegate noop: no more addresses",
    });
  });

  it("kills the delegate when ctx.signal aborts", async () => {
    const ac = new AbortController();
    ac.abort(new Error("received SIGTERM"));
    await expect(delegateAdd("noop", { ...ctx, signal: ac.signal })).rejects.toMatchObject({
      code: 999,
      msg: expect.stringMatching(/^plugin noop: netplugin .*noop aborted: received SIGTERM$/),
    });
  });

  /** A delegate claiming `versions` that logs each CNI_COMMAND it gets (noop's VERSION cannot be steered: CNI_ARGS is "" then). */
  function versionedDelegate(versions: string[]): string {
    writeScript(
      join(dir, "versioned"),
      `echo "$CNI_COMMAND" >> ${commandLog}\n[ "$CNI_COMMAND" = VERSION ] && echo '${JSON.stringify({ cniVersion: "1.0.0", supportedVersions: versions })}'\nexit 0`,
    );
    return "versioned";
  }
  const lines = () => readFileSync(commandLog, "utf8").trim().split("\n");

  it("STATUS asks VERSION first, then STATUS", async () => {
    const type = versionedDelegate(["1.0.0", "1.1.0"]);
    await delegateStatus(type, { ...ctx, env: { ...ctx.env, CNI_PATH: dir } });
    expect(lines()).toEqual(["VERSION", "STATUS"]);
  });

  it("STATUS to a delegate without the config's version: code 2 naming it and its versions, STATUS never sent", async () => {
    const type = versionedDelegate(["0.4.0", "1.0.0"]);
    await expect(delegateStatus(type, { ...ctx, env: { ...ctx.env, CNI_PATH: dir } })).rejects.toMatchObject({
      code: 2,
      msg: 'plugin versioned: cannot ask for STATUS: it does not support the config\'s cniVersion "1.1.0" (it supports 0.4.0, 1.0.0)',
    });
    expect(lines()).toEqual(["VERSION"]);
  });

  it("STATUS with a config older than 1.1.0: code 2, nothing run", async () => {
    await expect(delegateStatus("noop", ctx, { conf: { ...conf, cniVersion: "1.0.0" } })).rejects.toMatchObject({
      code: 2,
      msg: 'plugin noop: cannot ask for STATUS: the config\'s cniVersion "1.0.0" has no STATUS (it needs 1.1.0 or later)',
    });
    expect(existsSync(commandLog)).toBe(false);
  });

  it("options.exec replaces the executor (a fake), and sees the request", async () => {
    const seen: string[] = [];
    const opts: DelegateOptions = {
      exec: async (req) => {
        seen.push(`${req.env.CNI_COMMAND} ${req.env.CNI_IFNAME} ${String(req.stdin)}`);
        return '{"cniVersion":"1.1.0","ips":[{"address":"10.9.9.9/24"}]}';
      },
    };
    const result = await delegateAdd("noop", ctx, opts);
    expect(result.ips).toEqual([{ address: "10.9.9.9/24" }]);
    expect(seen).toEqual([`ADD eth7 ${stdin}`]);
  });
});

describe("delegating to the real Go host-local plugin", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "cnikit-hostlocal-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const ctxFor = (conf: object, containerId: string): DelegateContext => ({
    stdin: JSON.stringify(conf),
    env: {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: containerId,
      CNI_NETNS: "/var/run/netns/unused",
      CNI_IFNAME: "eth0",
      CNI_ARGS: "",
      CNI_PATH: GO_PLUGINS,
    },
  });

  it("ADD allocates a lease, CHECK passes, DEL releases it", async () => {
    const net = `ck${randomBytes(4).toString("hex")}`;
    const subnet = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}.0/24`;
    const conf = {
      cniVersion: "1.0.0",
      name: net,
      type: "bridge",
      ipam: { type: "host-local", dataDir: dir, ranges: [[{ subnet }]], routes: [{ dst: "0.0.0.0/0" }] },
    };
    const ctx = ctxFor(conf, `ctr-${net}`);
    const result = await delegateAdd("host-local", ctx, { stderr: null });
    expect(result.cniVersion).toBe("1.1.0");
    const ip = result.ips?.[0]?.address.split("/")[0] as string;
    expect(ip.startsWith(subnet.split(".").slice(0, 3).join("."))).toBe(true);
    expect(result.routes).toEqual([{ dst: "0.0.0.0/0" }]);
    const leaseFile = join(dir, net, ip);
    expect(readFileSync(leaseFile, "utf8")).toBe(`ctr-${net}\r\neth0`);

    await delegateCheck("host-local", ctx, { conf: { ...conf, prevResult: { ...result, cniVersion: "1.0.0" } }, stderr: null });
    await delegateDel("host-local", ctx, { stderr: null });
    expect(existsSync(leaseFile)).toBe(false);
    // DEL is idempotent
    await delegateDel("host-local", ctx, { stderr: null });
    expect(readdirSync(join(dir, net)).filter((f) => /^\d/.test(f))).toEqual([]);
  });

  it("surfaces host-local's own error, named", async () => {
    const conf = { cniVersion: "1.0.0", name: "cknet", type: "bridge", ipam: { type: "host-local", dataDir: dir } };
    await expect(delegateAdd("host-local", ctxFor(conf, "ctr"), { stderr: null })).rejects.toMatchObject({
      name: "CniError",
      msg: expect.stringMatching(/^plugin host-local: /),
    });
  });

  it("a 1.1.0 config to host-local (up to 1.0.0): its incompatible-version error, named, code kept", async () => {
    const conf = { cniVersion: "1.1.0", name: "cknet", type: "bridge", ipam: { type: "host-local", dataDir: dir, subnet: "10.99.0.0/24" } };
    await expect(delegateAdd("host-local", ctxFor(conf, "ctr"), { stderr: null })).rejects.toMatchObject({
      code: 1,
      msg: "plugin host-local: incompatible CNI versions",
      details: expect.stringContaining('config is "1.1.0"'),
    });
    await expect(delegateStatus("host-local", ctxFor(conf, ""), { stderr: null })).rejects.toMatchObject({
      code: 2,
      msg: 'plugin host-local: cannot ask for STATUS: it does not support the config\'s cniVersion "1.1.0" (it supports 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0)',
    });
  });
});
