/**
 * Config loading and gateway bookkeeping (no root needed).
 */
import { CniError, ErrorCode } from "@cnikit/spec";
import { describe, expect, it } from "vitest";
import { invoke } from "@cnikit/skel/testing";
import { assertAddable, containerMac, DEFAULT_BRIDGE, loadBridgeConf } from "../src/config.js";
import { calcGateways } from "../src/gateways.js";
import { createBridgePlugin } from "../src/plugin.js";

const base = { cniVersion: "1.0.0", name: "net", type: "bridge" };

function codeOf(fn: () => unknown): { code: number; msg: string } | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return { code: err.code, msg: err.msg };
    throw err;
  }
  return undefined;
}

describe("loadBridgeConf", () => {
  it("applies the reference plugin's defaults", () => {
    const conf = loadBridgeConf(base);
    expect(conf).toMatchObject({
      bridge: DEFAULT_BRIDGE,
      isGateway: false,
      isDefaultGateway: false,
      ipMasq: false,
      hairpinMode: false,
      promiscMode: false,
      mtu: undefined,
      ipam: undefined,
      dns: undefined,
      mac: undefined,
    });
  });

  it("isDefaultGateway implies isGateway", () => {
    expect(loadBridgeConf({ ...base, isDefaultGateway: true }).isGateway).toBe(true);
  });

  it("takes the MAC from CNI_ARGS, then args.cni.mac, then runtimeConfig.mac", () => {
    const env = { MAC: "02:00:00:00:00:01" };
    expect(containerMac(loadBridgeConf(base), env)).toBe("02:00:00:00:00:01");
    expect(containerMac(loadBridgeConf(base), {})).toBeUndefined();
    const withArgs = { ...base, args: { cni: { mac: "02:00:00:00:00:02" } } };
    expect(containerMac(loadBridgeConf(withArgs), env)).toBe("02:00:00:00:00:02");
    const withRc = { ...withArgs, runtimeConfig: { mac: "02:00:00:00:00:03" } };
    expect(containerMac(loadBridgeConf(withRc), env)).toBe("02:00:00:00:00:03");
  });

  it("passes dns through only when something is set", () => {
    expect(loadBridgeConf({ ...base, dns: {} }).dns).toBeUndefined();
    expect(loadBridgeConf({ ...base, dns: { nameservers: ["192.0.2.53"] } }).dns).toEqual({
      nameservers: ["192.0.2.53"],
    });
  });

  it("treats an ipam section without a type as layer 2 only", () => {
    expect(loadBridgeConf({ ...base, ipam: {} }).ipam).toBeUndefined();
    expect(loadBridgeConf({ ...base, ipam: { type: "host-local", subnet: "10.1.0.0/16" } }).ipam).toEqual({
      type: "host-local",
      subnet: "10.1.0.0/16",
    });
  });

  it.each([
    [{ mtu: "1500" }, /"mtu" must be an integer, got string/],
    [{ isGateway: "yes" }, /"isGateway" must be a boolean/],
    [{ bridge: "a-name-longer-than-15" }, /invalid bridge name/],
    [{ vlan: 5000 }, /invalid VLAN ID 5000 \(must be between 0 and 4094\)/],
    [{ ipMasqBackend: "pf" }, /invalid ipMasqBackend "pf"/],
    [{ ipam: "host-local" }, /"ipam" must be an object/],
    [{ dns: { nameservers: "1.1.1.1" } }, /"dns.nameservers" must be a list of strings/],
  ])("rejects %j with code 7", (extra, msg) => {
    const err = codeOf(() => loadBridgeConf({ ...base, ...extra }));
    expect(err?.code).toBe(ErrorCode.InvalidNetworkConfig);
    expect(err?.msg).toMatch(msg);
  });

  it.each(["ADD", "DEL", "CHECK"])("the plugin's config hook rejects a bad config on %s with the same code and message", async (command) => {
    const out = await invoke(createBridgePlugin(), { command, config: { ...base, mtu: "1500" } });
    expect(out.exitCode).toBe(1);
    expect(out.error?.code).toBe(ErrorCode.InvalidNetworkConfig);
    expect(out.error?.msg).toMatch(/"mtu" must be an integer, got string/);
    expect(out.error?.msg).toBe(codeOf(() => loadBridgeConf({ ...base, mtu: "1500" }))?.msg);
  });

  it("refuses hairpin + promiscuous mode, and unimplemented keys, on ADD only", () => {
    const both = loadBridgeConf({ ...base, hairpinMode: true, promiscMode: true });
    expect(codeOf(() => assertAddable(both))).toEqual({
      code: ErrorCode.InvalidNetworkConfig,
      msg: "cannot set hairpin mode and promiscuous mode at the same time",
    });
    const vlan = loadBridgeConf({ ...base, vlan: 100, macspoofchk: true });
    expect(codeOf(() => assertAddable(vlan))).toEqual({
      code: ErrorCode.UnsupportedField,
      msg: "vlan, macspoofchk are not supported by this bridge plugin",
    });
  });
});

describe("calcGateways", () => {
  it("points IPs at the container interface and fills gateways for isGateway", () => {
    const g = calcGateways([{ address: "10.1.0.5/24" }], [], { isGateway: true, isDefaultGateway: false }, 2);
    expect(g.ips).toEqual([{ address: "10.1.0.5/24", gateway: "10.1.0.1", interface: 2 }]);
    expect(g.v4.cidrs).toEqual(["10.1.0.1/24"]);
    expect(g.routes).toEqual([]);
  });

  it("keeps the IPAM gateway and adds one default route per family for isDefaultGateway", () => {
    const g = calcGateways(
      [{ address: "10.1.0.5/24", gateway: "10.1.0.254" }, { address: "fd00:1::5/64" }],
      [],
      { isGateway: true, isDefaultGateway: true },
      2,
    );
    expect(g.routes).toEqual([
      { dst: "0.0.0.0/0", gw: "10.1.0.254" },
      { dst: "::/0", gw: "fd00:1::1" },
    ]);
    expect(g.v4.cidrs).toEqual(["10.1.0.254/24"]);
    expect(g.v6.cidrs).toEqual(["fd00:1::1/64"]);
  });

  it("does not add a default route the IPAM result already has", () => {
    const g = calcGateways(
      [{ address: "10.1.0.5/24" }],
      [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }],
      { isGateway: true, isDefaultGateway: true },
      2,
    );
    expect(g.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.1.0.1" }]);
  });

  it("leaves gateways alone without isGateway", () => {
    const g = calcGateways([{ address: "10.1.0.5/24" }], [], { isGateway: false, isDefaultGateway: false }, 2);
    expect(g.ips[0]?.gateway).toBeUndefined();
    expect(g.v4.cidrs).toEqual([]);
  });
});
