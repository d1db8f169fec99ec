import { describe, expect, it } from "vitest";
import * as z from "zod";
import { ErrorCode } from "./errors.js";
import {
  AttachmentSchema,
  CidrSchema,
  ConfListSchema,
  DnsSchema,
  ErrorReplySchema,
  IPConfigSchema,
  IpamConfigSchema,
  IpSchema,
  NetConfSchema,
  PluginConfSchema,
  Result020Schema,
  Result040Schema,
  ResultSchema,
  RouteSchema,
  RuntimeConfigSchema,
  VersionReplySchema,
} from "./schemas.js";
import { validateWithSchema } from "./standard-schema.js";
import type { ConfList, NetConf, Result, Result020, Result040, RuntimeConfig } from "./types.js";

const RESULT: Result = {
  cniVersion: "1.1.0",
  interfaces: [
    {
      name: "eth0",
      mac: "00:11:22:33:44:55",
      mtu: 1500,
      sandbox: "/proc/3553/ns/net",
      pciID: "8086:9a01",
      socketPath: "/path/to/vhost/fd",
    },
  ],
  ips: [{ interface: 0, address: "1.2.3.30/24", gateway: "1.2.3.1" }],
  routes: [
    {
      dst: "15.5.6.0/24",
      gw: "15.5.6.8",
      mtu: 1500,
      advmss: 1340,
      priority: 100,
      table: 50,
      scope: 253,
    },
  ],
  dns: {
    nameservers: ["1.2.3.4"],
    domain: "acompany.com",
    search: ["a.com"],
    options: ["foo"],
  },
};

describe("result schemas", () => {
  it("accept valid results of each family", () => {
    expect(ResultSchema.parse(RESULT)).toEqual(RESULT);
    const r040: Result040 = {
      cniVersion: "0.4.0",
      interfaces: [{ name: "eth0" }],
      ips: [{ version: "4", interface: 0, address: "10.0.0.2/24" }],
    };
    expect(Result040Schema.parse(r040)).toEqual(r040);
    const r020: Result020 = {
      cniVersion: "0.2.0",
      ip4: {
        ip: "10.0.0.2/24",
        gateway: "10.0.0.1",
        routes: [{ dst: "0.0.0.0/0" }],
      },
    };
    expect(Result020Schema.parse(r020)).toEqual(r020);
  });

  it("reject bad CIDRs and IPs with Go's messages", () => {
    const bad = ResultSchema.safeParse({
      cniVersion: "1.1.0",
      ips: [{ address: "1.2.3/45" }],
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe("invalid CIDR address: 1.2.3/45");
    expect(RouteSchema.safeParse({ dst: "1.2.3.0/24", gw: "1.2.3.x" }).error?.issues[0]?.message).toBe("invalid IP address: 1.2.3.x");
    expect(
      Result040Schema.safeParse({
        cniVersion: "0.4.0",
        ips: [{ version: "5", address: "10.0.0.2/24" }],
      }).success,
    ).toBe(false);
    expect(IPConfigSchema.safeParse({ interface: -1, address: "10.0.0.2/24" }).success).toBe(false);
    expect(CidrSchema.safeParse(5).success).toBe(false);
    expect(IpSchema.parse("fd00::1")).toBe("fd00::1");
  });

  it("round-trip a Route with every field", () => {
    const route = RESULT.routes?.[0];
    expect(JSON.stringify(RouteSchema.parse(route))).toBe(JSON.stringify(route));
  });

  it("DnsSchema", () => {
    expect(DnsSchema.parse({})).toEqual({});
    expect(DnsSchema.safeParse({ nameservers: "1.1.1.1" }).success).toBe(false);
  });
});

describe("config schemas", () => {
  it("NetConfSchema keeps unknown keys and types the well-known ones", () => {
    const conf = {
      cniVersion: "1.1.0",
      name: "dbnet",
      type: "bridge",
      bridge: "cni0",
      keyA: ["some more", "plugin specific", "configuration"],
      ipam: { type: "host-local", subnet: "10.1.0.0/16", gateway: "10.1.0.1" },
      dns: { nameservers: ["10.1.0.1"] },
      capabilities: { portMappings: true },
      runtimeConfig: {
        portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
        custom: { x: 1 },
      },
      args: { cni: { ips: ["10.1.0.5"] } },
      prevResult: { cniVersion: "1.1.0" },
      "cni.dev/valid-attachments": [{ containerID: "a51debf7e1eb", ifname: "eth0" }],
      "cni.dev/attachments": [{ containerID: "a51debf7e1eb", ifname: "eth0" }],
    };
    const out = NetConfSchema.parse(conf);
    const typed: Pick<NetConf, "name" | "type" | "cniVersion"> = out;
    expect(typed.name).toBe("dbnet");
    expect(out).toEqual(conf);
  });

  it("NetConfSchema: a missing cniVersion means 0.1.0; name and type are required", () => {
    expect(NetConfSchema.parse({ name: "n", type: "t" }).cniVersion).toBe("0.1.0");
    expect(NetConfSchema.safeParse({ cniVersion: "1.1.0", type: "t" }).success).toBe(false);
    expect(NetConfSchema.safeParse({ cniVersion: "1.1.0", name: "n" }).success).toBe(false);
    expect(
      NetConfSchema.safeParse({
        cniVersion: "1.1.0",
        name: "n",
        type: "t",
        ipam: {},
      }).success,
    ).toBe(false);
  });

  it("extends into a plugin's own config and reports issues through validateWithSchema", () => {
    const BridgeConf = NetConfSchema.extend({
      bridge: z.string().max(15).default("cni0"),
      mtu: z.int().min(68).optional(),
    });
    expect(
      validateWithSchema(BridgeConf, { cniVersion: "1.1.0", name: "n", type: "bridge" }, { code: 7, what: "network config" }).bridge,
    ).toBe("cni0");
    try {
      validateWithSchema(
        BridgeConf,
        {
          cniVersion: "1.1.0",
          name: "n",
          type: "bridge",
          mtu: 10,
          ipam: { type: 1 },
        },
        { code: ErrorCode.InvalidNetworkConfig, what: "network config" },
      );
      expect.unreachable();
    } catch (e) {
      expect((e as { details: string }).details).toMatch(/ipam\.type: .*; mtu: /);
    }
  });

  it("RuntimeConfigSchema knows every CONVENTIONS.md capability and keeps unknown keys", () => {
    const rc: RuntimeConfig = {
      portMappings: [
        {
          hostPort: 8080,
          containerPort: 80,
          protocol: "tcp",
          hostIP: "127.0.0.1",
        },
      ],
      ipRanges: [
        [
          {
            subnet: "10.1.0.0/16",
            rangeStart: "10.1.0.10",
            rangeEnd: "10.1.0.99",
            gateway: "10.1.0.1",
          },
        ],
      ],
      bandwidth: {
        ingressRate: 1000000,
        ingressBurst: 100000,
        egressRate: 1000000,
        egressBurst: 100000,
      },
      dns: { nameservers: ["10.1.0.1"], search: ["example.com"] },
      ips: ["10.1.0.5/24"],
      mac: "c2:11:22:33:44:55",
      aliases: ["web"],
      cgroupPath: "/kubelet.slice/pod1",
      deviceID: "0000:00:1f.6",
      infinibandGUID: "c2:11:22:33:44:55:66:77",
      "io.kubernetes.cri.pod-annotations": { "example.com/a": "b" },
      somethingElse: { kept: true },
    };
    expect(RuntimeConfigSchema.parse(rc)).toEqual(rc);
    expect(
      RuntimeConfigSchema.safeParse({
        portMappings: [{ hostPort: "80", containerPort: 80 }],
      }).success,
    ).toBe(false);
    expect(RuntimeConfigSchema.safeParse({ ipRanges: [[{ subnet: "10.1.0.0" }]] }).success).toBe(false);
  });

  it("IpamConfigSchema, AttachmentSchema, PluginConfSchema keep unknown keys", () => {
    expect(
      IpamConfigSchema.parse({
        type: "host-local",
        ranges: [[{ subnet: "10.0.0.0/24" }]],
      }),
    ).toHaveProperty("ranges");
    expect(AttachmentSchema.parse({ containerID: "c", ifname: "eth0" })).toEqual({ containerID: "c", ifname: "eth0" });
    expect(AttachmentSchema.safeParse({ containerID: "c" }).success).toBe(false);
    expect(PluginConfSchema.parse({ type: "portmap", snat: true })).toEqual({
      type: "portmap",
      snat: true,
    });
  });

  it("ConfListSchema reads libcni's boolean flags as bool or string in any case", () => {
    const base = {
      cniVersion: "1.1.0",
      name: "dbnet",
      plugins: [{ type: "bridge" }, { type: "tuning" }],
    };
    const out = ConfListSchema.parse({
      ...base,
      cniVersions: ["1.0.0", "1.1.0"],
      disableCheck: "TRUE",
      disableGC: false,
      loadOnlyInlinedPlugins: "False",
    });
    const flags: Pick<ConfList, "name"> & {
      disableCheck?: boolean | undefined;
    } = out;
    expect(flags.disableCheck).toBe(true);
    expect(out.disableGC).toBe(false);
    expect(out.loadOnlyInlinedPlugins).toBe(false);
    expect(out.cniVersions).toEqual(["1.0.0", "1.1.0"]);
    expect(ConfListSchema.parse({ ...base, disableCheck: true }).disableCheck).toBe(true);
    const bad = ConfListSchema.safeParse({ ...base, disableCheck: "yes" });
    expect(bad.success).toBe(false);
    expect(ConfListSchema.safeParse({ ...base, disableGC: 1 }).success).toBe(false);
  });

  it("ConfListSchema: plugins may come from files, but not with loadOnlyInlinedPlugins, and never empty", () => {
    expect(ConfListSchema.safeParse({ cniVersion: "1.1.0", name: "n" }).success).toBe(true);
    const noPlugins = ConfListSchema.safeParse({
      cniVersion: "1.1.0",
      name: "n",
      loadOnlyInlinedPlugins: "true",
    });
    expect(noPlugins.error?.issues[0]?.message).toBe("`loadOnlyInlinedPlugins` is true, and no 'plugins' key");
    expect(ConfListSchema.safeParse({ cniVersion: "1.1.0", name: "n", plugins: [] }).error?.issues[0]?.message).toBe("no plugins in list");
    expect(
      ConfListSchema.safeParse({
        cniVersion: "1.1.0",
        plugins: [{ type: "x" }],
      }).success,
    ).toBe(false);
  });

  it("VersionReplySchema and ErrorReplySchema", () => {
    expect(
      VersionReplySchema.parse({
        cniVersion: "1.1.0",
        supportedVersions: ["1.1.0"],
      }),
    ).toEqual({ cniVersion: "1.1.0", supportedVersions: ["1.1.0"] });
    expect(VersionReplySchema.safeParse({ cniVersion: "1.1.0" }).success).toBe(false);
    const err = {
      cniVersion: "1.1.0",
      code: 7,
      msg: "Invalid Configuration",
      details: "Network 192.168.0.0/31 too small to allocate from.",
    };
    expect(ErrorReplySchema.parse(err)).toEqual(err);
    expect(ErrorReplySchema.parse({ code: 3, msg: "x" })).toEqual({
      code: 3,
      msg: "x",
    });
    expect(ErrorReplySchema.safeParse({ code: "3", msg: "x" }).success).toBe(false);
  });
});
