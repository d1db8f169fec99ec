/**
 * Our bridge run the way Go's libcni runs a plugin: a fresh environment (PATH + CNI_*), the
 * config on stdin with name/cniVersion/prevResult injected by the caller, the reply on stdout.
 * No cnikit runtime anywhere: nothing in the plugins may depend on it.
 */
import {
  expectNoLink,
  expectPing,
  expectPluginError,
  expectPluginSuccess,
  listHostLocalLeases,
  runPlugin,
  Scratch,
} from "@cnikit/testing";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { bridgePorts, buildOurPlugins, ipOf, masqRulesMentioning } from "./interop.js";

let built: Awaited<ReturnType<typeof buildOurPlugins>>;
let s: Scratch;

beforeAll(async () => {
  built = await buildOurPlugins(["bridge", "host-local"]);
}, 120_000);
afterEach(() => s?.cleanup());

describe("our bridge executed directly, libcni-style", () => {
  it("VERSION answers without stdin", async () => {
    const out = await runPlugin(built.paths.bridge as string, { command: "VERSION", config: "" });
    expect(out.exitCode).toBe(0);
    expect(out.version?.supportedVersions).toEqual(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]);
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
    const base = { path: built.path, ifName: "eth0" };
    const callA = { ...base, containerId: `ctr-a-${s.id}`, netns: a };
    const callB = { ...base, containerId: `ctr-b-${s.id}`, netns: b };

    const ra = await runPlugin(bin, { ...callA, command: "ADD", config: conf });
    expectPluginSuccess(ra);
    const rb = await runPlugin(bin, { ...callB, command: "ADD", config: conf });
    expectPluginSuccess(rb);
    expect(ra.result?.cniVersion).toBe("1.1.0");
    await expectPing(a, ipOf(rb.result));

    expectPluginSuccess(await runPlugin(bin, { ...callA, command: "CHECK", config: { ...conf, prevResult: ra.result } }));
    const noPrev = await runPlugin(bin, { ...callA, command: "CHECK", config: conf });
    expect(noPrev.error?.msg).toBe("Required prevResult missing");

    expectPluginSuccess(await runPlugin(bin, { command: "STATUS", config: conf, path: built.path }));

    // GC keeps a; b's lease and masquerade rules go
    const gc = await runPlugin(bin, {
      command: "GC",
      path: built.path,
      config: { ...conf, "cni.dev/valid-attachments": [{ containerID: callA.containerId, ifname: "eth0" }] },
    });
    expectPluginSuccess(gc);
    expect(listHostLocalLeases(dataDir, network)).toEqual([ipOf(ra.result)]);
    expect(await masqRulesMentioning([`${ipOf(rb.result)} `, `${ipOf(rb.result)}/`])).toEqual([]);
    expect((await masqRulesMentioning([`${ipOf(ra.result)} `, `${ipOf(ra.result)}/`])).length).toBeGreaterThan(0);

    for (const call of [callA, callB]) {
      expectPluginSuccess(await runPlugin(bin, { ...call, command: "DEL", config: conf }));
    }
    expect(listHostLocalLeases(dataDir, network)).toEqual([]);
    expect(await bridgePorts(conf.bridge)).toEqual([]);
    await expectNoLink(a, "eth0");
    expect(await masqRulesMentioning([`${ipOf(ra.result)} `, `${ipOf(ra.result)}/`])).toEqual([]);
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
      const call = { path: built.path, ifName: "eth0", containerId: `ctr-${s.id}`, netns: s.netns("a"), config: conf };
      const add = await runPlugin(bin, { ...call, command: "ADD" });
      expectPluginSuccess(add);
      const printed = add.result as { cniVersion: string; ip4?: { ip: string }; ips?: unknown[] };
      expect(printed.cniVersion).toBe(version);
      if (version === "0.2.0") expect(printed.ip4?.ip).toMatch(/^10\./);
      else expect(printed.ips?.[0]).toMatchObject({ version: "4", interface: 2 });
      expectPluginSuccess(await runPlugin(bin, { ...call, command: "DEL" }));
      expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
    });
  }

  it("rejects a config version it does not support with code 1", async () => {
    s = new Scratch();
    const out = await runPlugin(built.paths.bridge as string, {
      command: "ADD",
      config: { cniVersion: "2.0.0", name: "x", type: "bridge", bridge: s.link("br") },
      containerId: "c",
      netns: s.netns("a"),
      ifName: "eth0",
      path: built.path,
    });
    expect(out.exitCode).toBe(1);
    expectPluginError(out, 1);
  });
});
