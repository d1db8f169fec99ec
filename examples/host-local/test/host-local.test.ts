// Black-box tests of the BUILT host-local (examples/host-local/dist/host-local) side by side with
// Go's /usr/lib/cni/host-local on one data dir: concurrency under the shared flock, identical
// results and error texts, leases written by one read and released by the other, GC and STATUS.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPlugin } from "@cnikit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";

let OURS: string;
const GO = "/usr/lib/cni/host-local";

const netnsName = `ck${randomBytes(4).toString("hex")}`;
const netnsPath = `/var/run/netns/${netnsName}`;
let tmp: string;

beforeAll(async () => {
  OURS = await buildFixture("examples/host-local");
  execFileSync("ip", ["netns", "add", netnsName]);
  tmp = mkdtempSync(join(tmpdir(), "ck-hostlocal-"));
}, 120_000);

afterAll(() => {
  try {
    execFileSync("ip", ["netns", "delete", netnsName], { stdio: "pipe" });
  } catch {
    /* already gone */
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** One call as a runtime makes it, in the test's netns; `json` is what the plugin printed, decoded. */
async function run(
  binary: string,
  command: string,
  conf: object,
  opts: { containerId?: string; ifName?: string; args?: string } = {},
) {
  const r = await runPlugin(binary, {
    command,
    config: conf,
    netns: netnsPath,
    containerId: opts.containerId ?? "ctr",
    ifName: opts.ifName ?? "eth0",
    args: opts.args,
    path: ["/usr/lib/cni"],
  });
  const json: any = r.result ?? r.error ?? r.version;
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr, json };
}

let netCounter = 0;
function network(ipam: Record<string, unknown>, cniVersion = "1.0.0") {
  const name = `net${++netCounter}`;
  const dataDir = join(tmp, name);
  const conf = { cniVersion, name, type: "host-local", ipam: { type: "host-local", dataDir, ...ipam } };
  return { conf, dir: join(dataDir, name), name, dataDir };
}

const leaseFiles = (dir: string) => readdirSync(dir).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip."));

describe("host-local (ours) next to Go's host-local", () => {
  it("64 concurrent allocations (half ours, half Go) get 64 distinct IPs; all released", async () => {
    const { conf, dir } = network({ ranges: [[{ subnet: "10.77.0.0/24" }]] });
    const calls = Array.from({ length: 64 }, (_, i) => run(i % 2 === 0 ? OURS : GO, "ADD", conf, { containerId: `c${i}` }));
    const replies = await Promise.all(calls);
    for (const r of replies) expect(r.code, r.stdout + r.stderr).toBe(0);
    const ips = replies.map((r) => r.json.ips[0].address as string);
    expect(new Set(ips).size).toBe(64);
    expect(leaseFiles(dir)).toHaveLength(64);
    for (const [i, ip] of ips.entries()) {
      expect(readFileSync(join(dir, ip.split("/")[0] as string), "utf8")).toBe(`c${i}\r\neth0`);
    }
    // Release each lease with the other implementation.
    const dels = await Promise.all(ips.map((_, i) => run(i % 2 === 0 ? GO : OURS, "DEL", conf, { containerId: `c${i}` })));
    for (const r of dels) expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["last_reserved_ip.0", "lock"]);
  });

  it("prints the same results as Go for every version it supports", async () => {
    for (const v of ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]) {
      const a = network({ subnet: "10.78.0.0/24", routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.78.0.254" }] }, v);
      const b = network({ subnet: "10.78.0.0/24", routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.78.0.254" }] }, v);
      const ours = await run(OURS, "ADD", a.conf);
      const go = await run(GO, "ADD", b.conf);
      expect(ours.code, ours.stdout).toBe(0);
      expect(go.code, go.stdout).toBe(0);
      const strip = (j: any) => {
        const { dns, ...rest } = j;
        return dns && Object.keys(dns).length > 0 ? j : rest;
      };
      expect(strip(ours.json), v).toEqual(strip(go.json));
    }
  });

  it("exhausts a /29 with the same error as Go", async () => {
    const { conf } = network({ ranges: [[{ subnet: "10.79.0.0/29" }]] });
    for (let i = 0; i < 5; i++) {
      const r = await run(i % 2 ? GO : OURS, "ADD", conf, { containerId: `x${i}` });
      expect(r.code, r.stdout).toBe(0);
    }
    const ours = await run(OURS, "ADD", conf, { containerId: "x6" });
    const go = await run(GO, "ADD", conf, { containerId: "x7" });
    expect(ours.json).toEqual({
      cniVersion: "1.0.0",
      code: 999,
      msg: "failed to allocate for range 0: no IP addresses available in range set: 10.79.0.1-10.79.0.6",
    });
    expect(ours.json.msg).toBe(go.json.msg);
  });

  it("honours a requested IP (CNI_ARGS IP=) and refuses it twice, like Go", async () => {
    const { conf, dir } = network({ ranges: [[{ subnet: "10.80.0.0/24" }]] });
    const ours = await run(OURS, "ADD", conf, { containerId: "r1", args: "IgnoreUnknown=1;IP=10.80.0.42" });
    expect(ours.json.ips[0]).toEqual({ address: "10.80.0.42/24", gateway: "10.80.0.1" });
    const go = await run(GO, "ADD", conf, { containerId: "r2", args: "IgnoreUnknown=1;IP=10.80.0.42" });
    const again = await run(OURS, "ADD", conf, { containerId: "r3", args: "IgnoreUnknown=1;IP=10.80.0.42" });
    expect(go.json.msg).toBe(
      "failed to allocate for range 0: requested IP address 10.80.0.42 is not available in range set 10.80.0.1-10.80.0.254",
    );
    expect(again.json.msg).toBe(go.json.msg);
    const gw = await run(OURS, "ADD", conf, { containerId: "r4", args: "IP=10.80.0.1" });
    const goGw = await run(GO, "ADD", conf, { containerId: "r5", args: "IgnoreUnknown=1;IP=10.80.0.1" });
    expect(gw.json.msg).toBe(goGw.json.msg);
    expect(leaseFiles(dir)).toEqual(["10.80.0.42"]);
  });

  it("refuses a duplicate allocation like Go", async () => {
    const { conf } = network({ ranges: [[{ subnet: "10.81.0.0/24" }]] });
    expect((await run(GO, "ADD", conf, { containerId: "d1" })).code).toBe(0);
    const ours = await run(OURS, "ADD", conf, { containerId: "d1" });
    expect(ours.json.msg).toBe("failed to allocate for range 0: 10.81.0.2 has been allocated to d1, duplicate allocation is not allowed");
    const go = await run(GO, "ADD", conf, { containerId: "d1" });
    expect(go.json.msg).toBe(ours.json.msg);
  });

  it("Go allocates, ours releases; ours allocates, Go releases; Go CHECKs ours", async () => {
    const { conf, dir } = network({ ranges: [[{ subnet: "10.82.0.0/24" }], [{ subnet: "fd00:82::/64" }]] });
    expect((await run(GO, "ADD", conf, { containerId: "g1" })).code).toBe(0);
    const ours = await run(OURS, "ADD", conf, { containerId: "o1" });
    expect(ours.json.ips).toEqual([
      { address: "10.82.0.3/24", gateway: "10.82.0.1" },
      { address: "fd00:82::3/64", gateway: "fd00:82::1" },
    ]);
    expect((await run(GO, "CHECK", conf, { containerId: "o1" })).code).toBe(0);
    expect((await run(OURS, "CHECK", conf, { containerId: "g1" })).code).toBe(0);
    const goMiss = await run(GO, "CHECK", conf, { containerId: "zz" });
    const oursMiss = await run(OURS, "CHECK", conf, { containerId: "zz" });
    expect(oursMiss.json.msg).toBe("host-local: Failed to find address added by container zz");
    expect(oursMiss.json.msg).toBe(goMiss.json.msg);
    expect((await run(OURS, "DEL", conf, { containerId: "g1" })).code).toBe(0);
    expect((await run(GO, "DEL", conf, { containerId: "o1" })).code).toBe(0);
    expect(leaseFiles(dir)).toEqual([]);
    expect((await run(OURS, "DEL", conf, { containerId: "o1" })).code).toBe(0);
  });

  it("reports config errors with Go's texts", async () => {
    const cases: object[] = [
      { cniVersion: "1.0.0", name: "e1", type: "host-local" },
      network({}).conf,
      network({ subnet: "10.83.0.0/31" }).conf,
      network({ subnet: "10.83.0.5/24" }).conf,
      network({ ranges: [[{ subnet: "10.83.0.0/24" }], [{ subnet: "10.83.0.0/25" }]] }).conf,
      network({ ranges: [[{ subnet: "10.83.0.0/24", rangeStart: "10.83.1.1" }]] }).conf,
    ];
    for (const conf of cases) {
      const ours = await run(OURS, "ADD", conf);
      const go = await run(GO, "ADD", conf);
      expect(ours.code).toBe(1);
      expect(ours.json.msg, JSON.stringify(conf)).toBe(go.json.msg);
    }
  });

  it("GC releases leases not in cni.dev/valid-attachments (or legacy cni.dev/attachments)", async () => {
    const { conf, dir } = network({ ranges: [[{ subnet: "10.84.0.0/24" }]] });
    for (const [i, id] of ["keep", "gone1", "gone2"].entries()) {
      expect((await run(i === 1 ? GO : OURS, "ADD", conf, { containerId: id })).code).toBe(0);
    }
    writeFileSync(join(dir, "10.84.0.200"), "legacy-keep");
    const gc = await run(OURS, "GC", {
      ...conf,
      cniVersion: "1.1.0",
      "cni.dev/valid-attachments": [
        { containerID: "keep", ifname: "eth0" },
        { containerID: "legacy-keep", ifname: "eth0" },
      ],
    });
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    expect(leaseFiles(dir).sort()).toEqual(["10.84.0.2", "10.84.0.200"]);
    expect(readdirSync(dir)).toContain("lock");
    expect(readdirSync(dir)).toContain("last_reserved_ip.0");
    const legacy = await run(OURS, "GC", { ...conf, cniVersion: "1.1.0", "cni.dev/attachments": [{ containerID: "keep", ifname: "eth0" }] });
    expect(legacy.code, legacy.stdout + legacy.stderr).toBe(0);
    expect(leaseFiles(dir)).toEqual(["10.84.0.2"]);
    expect((await run(GO, "CHECK", conf, { containerId: "keep" })).code).toBe(0);
  });

  it("STATUS: ok when the data dir is writable, code 50 otherwise", async () => {
    const { conf } = network({ ranges: [[{ subnet: "10.85.0.0/24" }]] }, "1.1.0");
    const ok = await run(OURS, "STATUS", conf);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const file = join(tmp, "not-a-dir");
    writeFileSync(file, "");
    chmodSync(file, 0o600);
    const bad = await run(OURS, "STATUS", { ...conf, ipam: { ...conf.ipam, dataDir: file } });
    expect(bad.code).toBe(1);
    expect(bad.json).toMatchObject({ code: 50, msg: "host-local data dir is not writable" });
  });

  it("answers VERSION with every version", async () => {
    const r = await run(OURS, "VERSION", { cniVersion: "1.1.0" });
    expect(r.json.supportedVersions).toEqual(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
  });
});
