// ipam.add/del/check/status/gc delegating to real IPAM plugins: Go's host-local
// (/usr/lib/cni) and ours, built into a temporary CNI_PATH dir.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CniError } from "@cnikit/spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";
import { type IpamContext, ipam } from "../src/index.js";

const netnsName = `ck${randomBytes(4).toString("hex")}`;
let tmp: string;
let oursDir: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "ck-ipam-exec-"));
  oursDir = dirname(await buildFixture("examples/host-local"));
  execFileSync("ip", ["netns", "add", netnsName]);
}, 120_000);

afterAll(() => {
  try {
    execFileSync("ip", ["netns", "delete", netnsName], { stdio: "pipe" });
  } catch {
    /* gone */
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** A handler's context: the config as stdin text (plus decoded), the invocation's env. */
function ctxFor(cniPath: string, containerId: string, config: Record<string, unknown>): IpamContext {
  return {
    stdin: JSON.stringify(config),
    config,
    env: {
      PATH: process.env.PATH,
      CNI_PATH: cniPath,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: `/var/run/netns/${netnsName}`,
      CNI_IFNAME: "eth0",
    },
  };
}

const quiet = { stderr: null };

function conf(name: string, cniVersion: string) {
  return {
    cniVersion,
    name,
    type: "bridge",
    bridge: "unused",
    ipam: { type: "host-local", dataDir: tmp, ranges: [[{ subnet: "10.95.0.0/24" }]], routes: [{ dst: "0.0.0.0/0" }] },
  };
}

describe("ipam delegation", () => {
  it("ipam.add/check/del against Go's host-local; the result is 1.1.0", async () => {
    const c = conf("go-net", "0.3.1");
    const ctx = ctxFor("/usr/lib/cni", "ctr-go", c);
    const result = await ipam.add(ctx, quiet);
    expect(result).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.95.0.2/24", gateway: "10.95.0.1" }],
      routes: [{ dst: "0.0.0.0/0" }],
    });
    await ipam.check(ctx, { ...quiet, conf: { ...c, cniVersion: "0.4.0" } });
    await ipam.del(ctx, quiet);
    expect(readdirSync(join(tmp, "go-net")).sort()).toEqual(["last_reserved_ip.0", "lock"]);
  });

  it("ipam.add/del/status/gc against our host-local (1.1.0); stdin alone names the plugin", async () => {
    const c = conf("ts-net", "1.1.0");
    const { config: _, ...noConfig } = ctxFor(oursDir, "ctr-ts", c);
    const result = await ipam.add(noConfig, quiet);
    expect(result.cniVersion).toBe("1.1.0");
    expect(result.ips?.[0]?.address).toBe("10.95.0.2/24");
    await ipam.add(ctxFor(oursDir, "ctr-ts2", c), quiet);
    await ipam.status(ctxFor(oursDir, "", c), quiet);
    const gc = { ...c, "cni.dev/valid-attachments": [{ containerID: "ctr-ts", ifname: "eth0" }] };
    await ipam.gc(ctxFor(oursDir, "", gc), quiet);
    expect(readdirSync(join(tmp, "ts-net")).sort()).toEqual(["10.95.0.2", "last_reserved_ip.0", "lock"]);
    await ipam.del(ctxFor(oursDir, "ctr-ts", c), quiet);
    expect(readdirSync(join(tmp, "ts-net")).sort()).toEqual(["last_reserved_ip.0", "lock"]);
  });

  it("names the plugin in its error, keeping code and message", async () => {
    const c = { ...conf("bad-net", "1.0.0"), ipam: { type: "host-local", dataDir: tmp, subnet: "10.96.0.0/31" } };
    const err = await ipam.add(ctxFor("/usr/lib/cni", "x", c), quiet).catch((e: unknown) => e);
    expect(err instanceof CniError).toBe(true);
    expect((err as CniError).msg).toBe(
      "IPAM plugin host-local: invalid range set 0: Network 10.96.0.0/31 too small to allocate from",
    );
  });

  it("a 1.1.0 config to Go's host-local (up to 1.0.0): ADD says so, named; STATUS is not asked (code 2)", async () => {
    const c = conf("new-net", "1.1.0");
    await expect(ipam.add(ctxFor("/usr/lib/cni", "ctr-new", c), quiet)).rejects.toMatchObject({
      code: 1,
      msg: "IPAM plugin host-local: incompatible CNI versions",
      details: expect.stringContaining('config is "1.1.0"'),
    });
    await expect(ipam.status(ctxFor("/usr/lib/cni", "", c), quiet)).rejects.toMatchObject({
      code: 2,
      msg: 'IPAM plugin host-local: cannot ask for STATUS: it does not support the config\'s cniVersion "1.1.0" (it supports 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0)',
    });
  });

  it("the type comes from options.conf when one is sent", async () => {
    const c = conf("other-net", "1.0.0");
    const sent = { ...c, ipam: { ...c.ipam, type: "not-there" } };
    await expect(ipam.add(ctxFor("/usr/lib/cni", "x", c), { ...quiet, conf: sent })).rejects.toMatchObject({
      msg: expect.stringMatching(/^IPAM plugin not-there: failed to find plugin "not-there"/),
    });
  });

  it("an aborted ctx.signal kills the plugin", async () => {
    const ac = new AbortController();
    ac.abort(new Error("received SIGTERM"));
    const ctx = { ...ctxFor("/usr/lib/cni", "ctr-abort", conf("abort-net", "1.0.0")), signal: ac.signal };
    await expect(ipam.add(ctx, quiet)).rejects.toMatchObject({
      msg: expect.stringMatching(/^IPAM plugin host-local: netplugin .* aborted: received SIGTERM$/),
    });
  });

  it("needs config.ipam.type", async () => {
    const env = {};
    await expect(ipam.add({ stdin: '{"cniVersion":"1.0.0","name":"n"}', env })).rejects.toMatchObject({
      code: 7,
      msg: "IPAM config missing 'ipam' key",
    });
    await expect(ipam.del({ stdin: '{"cniVersion":"1.0.0","name":"n","ipam":{}}', env })).rejects.toMatchObject({ code: 7 });
  });
});
