import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { delegateAdd, delegateCheck, delegateDel, delegateGC, delegateStatus } from "../src/index.js";
import { buildFixture } from "../../../tools/build-fixture.js";
import { GO_PLUGINS } from "./helpers.js";

const CNI_KEYS = ["CNI_COMMAND", "CNI_ARGS", "CNI_PATH", "CNI_NETNS", "CNI_IFNAME", "CNI_CONTAINERID"] as const;

describe("delegate* with the real noop plugin", () => {
  let dir: string;
  let debugFile: string;
  let saved: Record<string, string | undefined>;
  const conf = { cniVersion: "1.1.0", name: "ckdelegate", type: "noop" };
  const recorded = () => JSON.parse(readFileSync(debugFile, "utf8"));

  let noop: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cnikit-delegate-"));
    debugFile = join(dir, "debug.json");
    noop = await buildFixture("examples/noop");
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    saved = Object.fromEntries(CNI_KEYS.map((k) => [k, process.env[k]]));
    writeFileSync(
      debugFile,
      JSON.stringify({ reportResult: JSON.stringify({ cniVersion: "1.1.0", ips: [{ address: "10.1.2.3/24" }], dns: {} }) }),
    );
    process.env.CNI_ARGS = `DEBUG=${debugFile}`;
    process.env.CNI_PATH = dirname(noop);
    process.env.CNI_NETNS = "/some/netns/path";
    process.env.CNI_IFNAME = "eth7";
    process.env.CNI_CONTAINERID = "container";
    delete process.env.CNI_COMMAND;
  });
  afterEach(() => {
    for (const k of CNI_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it("delegateAdd returns the delegate's result (1.1.0) and passes the parent's env", async () => {
    const result = await delegateAdd("noop", conf);
    expect(result).toEqual({ cniVersion: "1.1.0", ips: [{ address: "10.1.2.3/24" }] });
    expect(recorded().command).toBe("ADD");
    expect(recorded().cmdArgs.ifName).toBe("eth7");
    expect(recorded().cmdArgs.stdin).toBe(JSON.stringify(conf));
  });

  it("sends a string config verbatim", async () => {
    const text = ` {"cniVersion":"1.1.0", "name":"ckdelegate","type":"noop"}\n`;
    await delegateAdd("noop", text);
    expect(recorded().cmdArgs.stdin).toBe(text);
  });

  it("converts an older delegate result to 1.1.0", async () => {
    writeFileSync(debugFile, JSON.stringify({ reportResult: '{"cniVersion":"0.2.0","ip4":{"ip":"10.1.2.3/24","gateway":"10.1.2.1"}}' }));
    const result = await delegateAdd("noop", { ...conf, cniVersion: "0.2.0" });
    expect(result).toEqual({ cniVersion: "1.1.0", ips: [{ address: "10.1.2.3/24", gateway: "10.1.2.1" }] });
  });

  const verbs = [
    ["ADD", (c: object) => delegateAdd("noop", c)],
    ["CHECK", (c: object) => delegateCheck("noop", c)],
    ["DEL", (c: object) => delegateDel("noop", c)],
    ["STATUS", (c: object) => delegateStatus("noop", c)],
    ["GC", (c: object) => delegateGC("noop", c)],
  ] as const;

  for (const [verb, fn] of verbs) {
    it(`${verb}: the delegate gets ${verb} while the parent's CNI_COMMAND=NOPE is untouched`, async () => {
      process.env.CNI_COMMAND = "NOPE";
      await fn(conf);
      expect(recorded().command).toBe(verb);
      expect(process.env.CNI_COMMAND).toBe("NOPE");
    });
  }

  for (const [verb, fn] of [
    ["ADD", (c: object) => delegateAdd("nope-not-a-plugin", c)],
    ["CHECK", (c: object) => delegateCheck("nope-not-a-plugin", c)],
    ["DEL", (c: object) => delegateDel("nope-not-a-plugin", c)],
    ["STATUS", (c: object) => delegateStatus("nope-not-a-plugin", c)],
  ] as const) {
    it(`${verb} of a missing plugin fails with "failed to find plugin"`, async () => {
      await expect(fn(conf)).rejects.toThrow(/^failed to find plugin "nope-not-a-plugin" in path \[/);
    });
  }

  it("takes CNI_PATH from the env option when given", async () => {
    await expect(delegateDel("noop", conf, { env: { ...process.env, CNI_PATH: "/nonexistent" } })).rejects.toThrow(
      'failed to find plugin "noop" in path [/nonexistent]',
    );
  });

  it("keeps the delegate's error code", async () => {
    writeFileSync(debugFile, JSON.stringify({ reportError: "no more addresses", reportErrorCode: 11 }));
    await expect(delegateAdd("noop", conf)).rejects.toMatchObject({ code: 11, msg: "no more addresses" });
  });
});

describe("delegating to the real Go host-local plugin", () => {
  let dir: string;
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    saved = Object.fromEntries(CNI_KEYS.map((k) => [k, process.env[k]]));
    dir = mkdtempSync(join(tmpdir(), "cnikit-hostlocal-"));
  });
  afterEach(() => {
    for (const k of CNI_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    rmSync(dir, { recursive: true, force: true });
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
    Object.assign(process.env, {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: `ctr-${net}`,
      CNI_NETNS: "/var/run/netns/unused",
      CNI_IFNAME: "eth0",
      CNI_ARGS: "",
      CNI_PATH: GO_PLUGINS,
    });
    const result = await delegateAdd("host-local", conf, { stderr: null });
    expect(result.cniVersion).toBe("1.1.0");
    const ip = result.ips?.[0]?.address.split("/")[0] as string;
    expect(ip.startsWith(subnet.split(".").slice(0, 3).join("."))).toBe(true);
    expect(result.routes).toEqual([{ dst: "0.0.0.0/0" }]);
    const leaseFile = join(dir, net, ip);
    expect(readFileSync(leaseFile, "utf8")).toBe(`ctr-${net}\r\neth0`);

    await delegateCheck("host-local", { ...conf, prevResult: { ...result, cniVersion: "1.0.0" } }, { stderr: null });
    await delegateDel("host-local", conf, { stderr: null });
    expect(existsSync(leaseFile)).toBe(false);
    // DEL is idempotent
    await delegateDel("host-local", conf, { stderr: null });
    expect(readdirSync(join(dir, net)).filter((f) => /^\d/.test(f))).toEqual([]);
  });

  it("surfaces host-local's own error", async () => {
    Object.assign(process.env, {
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "ctr",
      CNI_NETNS: "/var/run/netns/unused",
      CNI_IFNAME: "eth0",
      CNI_PATH: GO_PLUGINS,
    });
    const conf = { cniVersion: "1.0.0", name: "cknet", type: "bridge", ipam: { type: "host-local", dataDir: dir } };
    await expect(delegateAdd("host-local", conf, { stderr: null })).rejects.toMatchObject({ name: "CniError" });
  });
});
