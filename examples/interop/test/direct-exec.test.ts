/**
 * Our bridge run the way Go's libcni runs a plugin: a fresh environment (PATH + CNI_*), the
 * config on stdin with name/cniVersion/prevResult injected by the caller, the reply on stdout.
 * No cnikit runtime anywhere: nothing in the plugins may depend on it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  bridgePorts,
  buildOurs,
  execPlugin,
  ipOf,
  leases,
  linkExistsIn,
  masqRulesMentioning,
  pingFrom,
  Scratch,
} from "./helpers.js";

let built: ReturnType<typeof buildOurs>;
let s: Scratch;

beforeAll(() => {
  built = buildOurs(["bridge", "host-local"]);
}, 120_000);
afterAll(() => built?.remove());
afterEach(() => s?.cleanup());

describe("our bridge executed directly, libcni-style", () => {
  it("VERSION answers without stdin", async () => {
    const out = await execPlugin(built.paths.bridge as string, { command: "VERSION", config: "" });
    expect(out.code).toBe(0);
    expect(out.json.supportedVersions).toEqual(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
  });

  it("ADD, CHECK with prevResult, STATUS, GC with valid attachments, DEL (cniVersion 1.1.0)", async () => {
    s = new Scratch();
    const bin = built.paths.bridge as string;
    const dataDir = s.dir("ipam");
    const network = `ckdir${s.id}`;
    const conf = {
      cniVersion: "1.1.0",
      name: network,
      type: "bridge",
      bridge: s.link("br"),
      isGateway: true,
      ipMasq: true,
      ipam: { type: "host-local", ranges: [[{ subnet: s.subnet() }]], dataDir },
    };
    const a = s.netns("a");
    const b = s.netns("b");
    const base = { path: built.dir, ifName: "eth0" };
    const callA = { ...base, containerId: `ctr-a-${s.id}`, netns: a };
    const callB = { ...base, containerId: `ctr-b-${s.id}`, netns: b };

    const ra = await execPlugin(bin, { ...callA, command: "ADD", config: conf });
    expect(ra.code, ra.stdout + ra.stderr).toBe(0);
    const rb = await execPlugin(bin, { ...callB, command: "ADD", config: conf });
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(ra.json.cniVersion).toBe("1.1.0");
    expect(pingFrom(a, ipOf(rb.json))).toMatch(/bytes from/);

    const check = await execPlugin(bin, { ...callA, command: "CHECK", config: { ...conf, prevResult: ra.json } });
    expect(check.code, check.stdout).toBe(0);
    const noPrev = await execPlugin(bin, { ...callA, command: "CHECK", config: conf });
    expect(noPrev.json?.msg).toBe("Required prevResult missing");

    const status = await execPlugin(bin, { command: "STATUS", config: conf, path: built.dir });
    expect(status.code, status.stdout).toBe(0);

    // GC keeps a; b's lease and masquerade rules go
    const gc = await execPlugin(bin, {
      command: "GC",
      path: built.dir,
      config: { ...conf, "cni.dev/valid-attachments": [{ containerID: callA.containerId, ifname: "eth0" }] },
    });
    expect(gc.code, gc.stdout).toBe(0);
    expect(leases(dataDir, network)).toEqual([ipOf(ra.json)]);
    expect(masqRulesMentioning([`${ipOf(rb.json)} `, `${ipOf(rb.json)}/`])).toEqual([]);
    expect(masqRulesMentioning([`${ipOf(ra.json)} `, `${ipOf(ra.json)}/`]).length).toBeGreaterThan(0);

    for (const call of [callA, callB]) {
      const del = await execPlugin(bin, { ...call, command: "DEL", config: conf });
      expect(del.code, del.stdout).toBe(0);
    }
    expect(leases(dataDir, network)).toEqual([]);
    expect(bridgePorts(conf.bridge)).toEqual([]);
    expect(linkExistsIn(a, "eth0")).toBe(false);
    expect(masqRulesMentioning([`${ipOf(ra.json)} `, `${ipOf(ra.json)}/`])).toEqual([]);
  });

  for (const version of ["0.2.0", "0.3.1", "0.4.0"]) {
    it(`prints its result at cniVersion ${version}`, async () => {
      s = new Scratch();
      const bin = built.paths.bridge as string;
      const conf = {
        cniVersion: version,
        name: `ckold${s.id}`,
        type: "bridge",
        bridge: s.link("br"),
        ipam: { type: "host-local", subnet: s.subnet(), dataDir: s.dir("ipam") },
      };
      const call = { path: built.dir, ifName: "eth0", containerId: `ctr-${s.id}`, netns: s.netns("a"), config: conf };
      const add = await execPlugin(bin, { ...call, command: "ADD" });
      expect(add.code, add.stdout).toBe(0);
      expect(add.json.cniVersion).toBe(version);
      if (version === "0.2.0") expect(add.json.ip4.ip).toMatch(/^10\./);
      else expect(add.json.ips[0]).toMatchObject({ version: "4", interface: 2 });
      const del = await execPlugin(bin, { ...call, command: "DEL" });
      expect(del.code, del.stdout).toBe(0);
      expect(leases(conf.ipam.dataDir, conf.name)).toEqual([]);
    });
  }

  it("rejects a config version it does not support with code 1", async () => {
    s = new Scratch();
    const out = await execPlugin(built.paths.bridge as string, {
      command: "ADD",
      config: { cniVersion: "2.0.0", name: "x", type: "bridge", bridge: s.link("br") },
      containerId: "c",
      netns: s.netns("a"),
      ifName: "eth0",
      path: built.dir,
    });
    expect(out.code).toBe(1);
    expect(out.json.code).toBe(1);
  });
});
