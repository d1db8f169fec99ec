// static-ipam: in-process through @cnikit/skel/testing, and the BUILT executable as a runtime
// runs it (and as an IPAM delegate of Go's bridge-less path: plain exec).
import { invoke } from "@cnikit/skel/testing";
import { expectPluginSuccess, runPlugin } from "@cnikit/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";
import { createStaticIpamPlugin } from "../src/plugin.js";

const plugin = createStaticIpamPlugin();

const conf = (ipam: Record<string, unknown>, extra: Record<string, unknown> = {}, cniVersion = "1.1.0") => ({
  cniVersion,
  name: "demo",
  type: "static-ipam",
  ipam: { type: "static-ipam", ...ipam },
  ...extra,
});

const demo = {
  addresses: [
    { address: "10.10.0.5/24", gateway: "10.10.0.1" },
    { address: "fd00:10::5/64" },
  ],
  routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.0/16", gw: "10.10.0.254" }],
  dns: { nameservers: ["10.10.0.53"], domain: "example.com", search: ["example.com"] },
};

describe("static-ipam (in-process)", () => {
  it("ADD returns the configured addresses, routes and dns", async () => {
    const out = await invoke(plugin, { command: "ADD", config: conf(demo) });
    expect(out.exitCode, out.stdout + out.stderr).toBe(0);
    expect(out.result).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.10.0.5/24", gateway: "10.10.0.1" }, { address: "fd00:10::5/64" }],
      routes: demo.routes,
      dns: demo.dns,
    });
  });

  it("converts to older versions", async () => {
    const out = await invoke(plugin, { command: "ADD", config: conf(demo, {}, "0.2.0") });
    expect(out.exitCode, out.stdout).toBe(0);
    expect(out.result).toMatchObject({ cniVersion: "0.2.0", ip4: { ip: "10.10.0.5/24", gateway: "10.10.0.1" }, ip6: { ip: "fd00:10::5/64" } });
  });

  it("takes runtimeConfig.ips / args.cni.ips instead of the configured addresses", async () => {
    const rt = await invoke(plugin, { command: "ADD", config: conf(demo, { runtimeConfig: { ips: ["10.20.0.7/16"] } }) });
    expect((rt.result as { ips: unknown[] }).ips).toEqual([{ address: "10.20.0.7/16" }]);
    const args = await invoke(plugin, { command: "ADD", config: conf(demo, { args: { cni: { ips: ["10.30.0.7/16"] } } }) });
    expect((args.result as { ips: unknown[] }).ips).toEqual([{ address: "10.30.0.7/16" }]);
  });

  it("adds CNI_ARGS IP= addresses and GATEWAY= gateways", async () => {
    const out = await invoke(plugin, { command: "ADD", config: conf({}), args: "IgnoreUnknown=1;IP=10.40.0.9/24,fd00:40::9/64;GATEWAY=10.40.0.1" });
    expect((out.result as { ips: unknown[] }).ips).toEqual([{ address: "10.40.0.9/24", gateway: "10.40.0.1" }, { address: "fd00:40::9/64" }]);
  });

  it("validates", async () => {
    const cases: [object, string, string?][] = [
      [{ cniVersion: "1.1.0", name: "demo", type: "static-ipam" }, "IPAM config missing 'ipam' key"],
      [conf({ addresses: [{ address: "10.0.0.5" }] }), "the 'address' field is expected to be in CIDR notation, got: '10.0.0.5'"],
      [conf({ addresses: [{ address: "10.0.0.5/24", gateway: "nope" }] }), "invalid gateway address: nope"],
      [conf({}, { runtimeConfig: { ips: ["10.0.0.5"] } }), "an entry in the 'ips' field is NOT in CIDR notation, got: '10.0.0.5'"],
      [conf({ addresses: [{ address: "10.0.0.5/24" }, { address: "10.0.1.5/24" }] }, {}, "0.2.0"), "CNI version 0.2.0 does not support more than 1 address per family"],
      [conf({}), "the 'ip' field is expected to be in CIDR notation, got: '10.0.0.1'", "IP=10.0.0.1"],
    ];
    for (const [config, msg, args] of cases) {
      const out = await invoke(plugin, { command: "ADD", config, ...(args ? { args } : {}) });
      expect(out.exitCode).toBe(1);
      expect(out.error?.msg, JSON.stringify(config)).toBe(msg);
    }
    const del = await invoke(plugin, { command: "DEL", config: conf({ addresses: [{ address: "bad" }] }) });
    expect(del.exitCode).toBe(1);
  });

  it("DEL is a no-op; CHECK compares prevResult", async () => {
    expect((await invoke(plugin, { command: "DEL", config: conf(demo) })).exitCode).toBe(0);
    const prevResult = { cniVersion: "1.1.0", ips: [{ address: "10.10.0.5/24", gateway: "10.10.0.1" }] };
    expect((await invoke(plugin, { command: "CHECK", config: conf(demo, { prevResult }) })).exitCode).toBe(0);
    const wrong = { cniVersion: "1.1.0", ips: [{ address: "10.10.0.5/24", gateway: "10.10.0.2" }] };
    const bad = await invoke(plugin, { command: "CHECK", config: conf(demo, { prevResult: wrong }) });
    expect(bad.error?.msg).toBe("static: Failed to match addr 10.10.0.5 on interface eth0");
    const none = await invoke(plugin, { command: "CHECK", config: conf(demo) });
    expect(none.error?.msg).toBe("Required prevResult missing");
  });
});

describe("static-ipam (built executable)", () => {
  let binary: string;
  beforeAll(async () => {
    binary = await buildFixture("examples/static-ipam");
  }, 120_000);

  const run = (command: string, config: object) =>
    runPlugin(binary, { command, config, containerId: "ctr1", netns: "/var/run/netns/ck-static-none", path: ["/usr/lib/cni"] });

  it("ADD prints the result at the config's version; DEL succeeds", async () => {
    const add = await run("ADD", conf(demo, {}, "1.0.0"));
    expectPluginSuccess(add);
    expect(add.result).toEqual({
      cniVersion: "1.0.0",
      ips: [{ address: "10.10.0.5/24", gateway: "10.10.0.1" }, { address: "fd00:10::5/64" }],
      routes: demo.routes,
      dns: demo.dns,
    });
    expectPluginSuccess(await run("DEL", conf(demo)));
  });

  it("answers VERSION", async () => {
    const v = await runPlugin(binary, { command: "VERSION" });
    expect(v.version?.supportedVersions).toContain("0.1.0");
    expect(v.version?.supportedVersions).toContain("1.1.0");
  });
});
