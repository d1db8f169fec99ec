import { describe, expect, it } from "vitest";
import { formatIp } from "@cnikit/spec";
import { loadHostLocalConfig, parseHostLocalArgs } from "./config.js";
import { rangeSetToString } from "./range.js";

const base = { cniVersion: "1.0.0", name: "net1", type: "bridge" };

describe("loadHostLocalConfig", () => {
  it("requires ipam and ranges", () => {
    expect(() => loadHostLocalConfig(base)).toThrow("IPAM config missing 'ipam' key");
    expect(() => loadHostLocalConfig({ ...base, ipam: { type: "host-local" } })).toThrow("no IP ranges specified");
  });

  it("orders ranges: runtimeConfig.ipRanges, legacy range, ipam.ranges", () => {
    const c = loadHostLocalConfig({
      ...base,
      ipam: {
        type: "host-local",
        subnet: "10.2.0.0/24",
        rangeStart: "10.2.0.10",
        ranges: [[{ subnet: "10.3.0.0/24" }], [{ subnet: "2001:db8::/64" }]],
        routes: [{ dst: "0.0.0.0/0" }, { dst: "192.168.0.5/16", gw: "10.2.0.1", priority: 0, table: 0 }],
        dataDir: "/tmp/x",
        resolvConf: "/etc/resolv.conf",
      },
      runtimeConfig: { ipRanges: [[{ subnet: "10.1.0.0/24" }]] },
    });
    expect(c.ranges.map(rangeSetToString)).toEqual([
      "10.1.0.1-10.1.0.254",
      "10.2.0.10-10.2.0.254",
      "10.3.0.1-10.3.0.254",
      "2001:db8::1-2001:db8::ffff:ffff:ffff:ffff",
    ]);
    expect(c.routes).toEqual([{ dst: "0.0.0.0/0" }, { dst: "192.168.0.5/16", gw: "10.2.0.1", table: 0 }]);
    expect(c).toMatchObject({ name: "net1", cniVersion: "1.0.0", type: "host-local", dataDir: "/tmp/x", resolvConf: "/etc/resolv.conf" });
  });

  it("prefixes range errors with the set index", () => {
    expect(() =>
      loadHostLocalConfig({ ...base, ipam: { type: "host-local", ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.9.0.0/31" }]] } }),
    ).toThrow("invalid range set 1: Network 10.9.0.0/31 too small to allocate from");
    expect(() => loadHostLocalConfig({ ...base, ipam: { type: "host-local", ranges: [[]] } })).toThrow(
      "invalid range set 0: empty range set",
    );
  });

  it("refuses overlapping range sets", () => {
    expect(() =>
      loadHostLocalConfig({ ...base, ipam: { type: "host-local", ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.0.0.0/16" }]] } }),
    ).toThrow("range set 0 overlaps with 1");
  });

  it("needs cniVersion >= 0.3.0 for two sets of a family", () => {
    const ipam = { type: "host-local", ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.1.0.0/24" }]] };
    expect(() => loadHostLocalConfig({ ...base, cniVersion: "0.2.0", ipam })).toThrow(
      "CNI version 0.2.0 does not support more than 1 address per family",
    );
    expect(loadHostLocalConfig({ ...base, cniVersion: "0.3.1", ipam }).ranges).toHaveLength(2);
  });

  it("collects requested IPs from CNI_ARGS, args.cni.ips and runtimeConfig.ips", () => {
    const c = loadHostLocalConfig(
      JSON.stringify({
        ...base,
        ipam: { type: "host-local", ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "2001:db8::/64" }]] },
        args: { cni: { ips: ["10.0.0.7/24"] } },
        runtimeConfig: { ips: ["2001:db8::7"] },
      }),
      "IgnoreUnknown=1;IP=10.0.0.9;K8S_POD_NAME=x",
    );
    expect(c.requestedIps.map(formatIp)).toEqual(["10.0.0.9", "10.0.0.7", "2001:db8::7"]);
  });

  it("reports bad JSON types and values", () => {
    expect(() => loadHostLocalConfig({ ...base, ipam: { type: "host-local", ranges: "x" } })).toThrow(
      "json: cannot unmarshal string into Go struct field IPAMConfig.ipam.ranges of type []allocator.RangeSet",
    );
    expect(() =>
      loadHostLocalConfig({ ...base, ipam: { type: "host-local", subnet: "10.0.0.0/24" }, runtimeConfig: { ips: ["nope"] } }),
    ).toThrow("invalid IP address nope");
    expect(() => loadHostLocalConfig("{")).toThrow();
  });
});

describe("parseHostLocalArgs", () => {
  it("follows types.LoadArgs", () => {
    expect(parseHostLocalArgs("")).toBeUndefined();
    expect(formatIp(parseHostLocalArgs("IP=10.0.0.5")!)).toBe("10.0.0.5");
    expect(() => parseHostLocalArgs("IP")).toThrow('ARGS: invalid pair "IP"');
    expect(() => parseHostLocalArgs("IP=a=b")).toThrow('ARGS: invalid pair "IP=a=b"');
    expect(() => parseHostLocalArgs("IP=x")).toThrow('ARGS: error parsing value of pair "IP=x": invalid IP address x');
    expect(() => parseHostLocalArgs("IgnoreUnknown=maybe")).toThrow("boolean unmarshal error: invalid input maybe");
    expect(parseHostLocalArgs("FOO=1")).toBeUndefined();
    expect(() => parseHostLocalArgs("FOO=1;BAR=2", true)).toThrow('ARGS: unknown args ["FOO=1" "BAR=2"]');
    expect(() => parseHostLocalArgs("IgnoreUnknown=true;FOO=1", true)).not.toThrow();
  });
});
