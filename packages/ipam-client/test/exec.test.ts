// ipam.add/del/check/status/gc and execAdd... delegating to real IPAM plugins: Go's host-local
// (/usr/lib/cni) and ours (examples/host-local/dist, built by buildFixture).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CniError } from "@cnikit/spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";
import { execAdd, execDel, ipam } from "../src/index.js";

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

function envFor(cniPath: string, containerId: string) {
  return {
    env: {
      PATH: process.env.PATH,
      CNI_PATH: cniPath,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: `/var/run/netns/${netnsName}`,
      CNI_IFNAME: "eth0",
    },
    stderr: null,
  };
}

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
    const opts = envFor("/usr/lib/cni", "ctr-go");
    const result = await ipam.add(c, opts);
    expect(result).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.95.0.2/24", gateway: "10.95.0.1" }],
      routes: [{ dst: "0.0.0.0/0" }],
    });
    await ipam.check({ ...c, cniVersion: "0.4.0" }, opts);
    await ipam.del(c, opts);
    expect(readdirSync(join(tmp, "go-net")).sort()).toEqual(["last_reserved_ip.0", "lock"]);
  });

  it("execAdd/execDel and ipam.status/gc against our host-local (1.1.0)", async () => {
    const c = conf("ts-net", "1.1.0");
    const result = await execAdd("host-local", c, envFor(oursDir, "ctr-ts"));
    expect(result.cniVersion).toBe("1.1.0");
    expect(result.ips?.[0]?.address).toBe("10.95.0.2/24");
    await ipam.add(c, envFor(oursDir, "ctr-ts2"));
    await ipam.status(c, envFor(oursDir, ""));
    await ipam.gc({ ...c, "cni.dev/valid-attachments": [{ containerID: "ctr-ts", ifname: "eth0" }] }, envFor(oursDir, ""));
    expect(readdirSync(join(tmp, "ts-net")).sort()).toEqual(["10.95.0.2", "last_reserved_ip.0", "lock"]);
    await execDel("host-local", JSON.stringify(c), envFor(oursDir, "ctr-ts"));
    expect(readdirSync(join(tmp, "ts-net")).sort()).toEqual(["last_reserved_ip.0", "lock"]);
  });

  it("passes the plugin's error through", async () => {
    const c = { ...conf("bad-net", "1.0.0"), ipam: { type: "host-local", dataDir: tmp, subnet: "10.96.0.0/31" } };
    const err = await ipam.add(c, envFor("/usr/lib/cni", "x")).catch((e: unknown) => e);
    expect(CniError.isInstance(err)).toBe(true);
    expect((err as CniError).msg).toBe("invalid range set 0: Network 10.96.0.0/31 too small to allocate from");
  });

  it("needs config.ipam.type", async () => {
    await expect(ipam.add({ cniVersion: "1.0.0", name: "n" })).rejects.toMatchObject({ code: 7, msg: "IPAM config missing 'ipam' key" });
    await expect(ipam.del({ cniVersion: "1.0.0", name: "n", ipam: {} })).rejects.toMatchObject({ code: 7 });
  });
});
