// The examples of SPEC.md 1.1.0 (section 5 "Result", the Appendix ADD chain, the VERSION and
// Error examples), copied as data: parsed, validated, and round-tripped through every version.
import { describe, expect, it } from "vitest";
import { parsePrevResult, parseResult } from "./parse-result.js";
import { convertResult } from "./result-convert.js";
import { ErrorReplySchema, NetConfSchema, ResultSchema, VersionReplySchema } from "./schemas.js";
import { ALL_VERSIONS, resultFamily } from "./version.js";
import { decodeVersionReply } from "./version-reply.js";

/** Appendix, step 1: what host-local (delegated IPAM) returns. */
const HOST_LOCAL_RESULT = {
  ips: [{ address: "10.1.0.5/16", gateway: "10.1.0.1" }],
  routes: [{ dst: "0.0.0.0/0" }],
  dns: { nameservers: ["10.1.0.1"] },
};

/** Appendix, step 1: what bridge returns (and portmap passes on unchanged). */
const BRIDGE_RESULT = {
  ips: [{ address: "10.1.0.5/16", gateway: "10.1.0.1", interface: 2 }],
  routes: [{ dst: "0.0.0.0/0" }],
  interfaces: [
    { name: "cni0", mac: "00:11:22:33:44:55" },
    { name: "veth3243", mac: "55:44:33:22:11:11" },
    { name: "eth0", mac: "99:88:77:66:55:44", sandbox: "/var/run/netns/blue" },
  ],
  dns: { nameservers: ["10.1.0.1"] },
};

/** Appendix, step 2: the request config tuning receives. */
const TUNING_REQUEST = {
  cniVersion: "1.1.0",
  name: "dbnet",
  type: "tuning",
  sysctl: { "net.core.somaxconn": "500" },
  runtimeConfig: { mac: "00:11:22:33:44:66" },
  prevResult: BRIDGE_RESULT,
};

/** Appendix, step 3: the request config portmap receives. */
const PORTMAP_REQUEST = {
  cniVersion: "1.1.0",
  name: "dbnet",
  type: "portmap",
  runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] },
  prevResult: {
    ...BRIDGE_RESULT,
    interfaces: BRIDGE_RESULT.interfaces.map((i) => (i.name === "eth0" ? { ...i, mac: "00:11:22:33:44:66" } : i)),
  },
};

/** Appendix, step 1: the bridge plugin's config. */
const BRIDGE_CONFIG = {
  cniVersion: "1.1.0",
  name: "dbnet",
  type: "bridge",
  bridge: "cni0",
  keyA: ["some more", "plugin specific", "configuration"],
  ipam: { type: "host-local", subnet: "10.1.0.0/16", gateway: "10.1.0.1" },
  dns: { nameservers: ["10.1.0.1"] },
};

/** What each example looks like at a version of the 0.1.0/0.2.0 family. */
function as020(version: string) {
  return {
    cniVersion: version,
    ip4: { ip: "10.1.0.5/16", gateway: "10.1.0.1", routes: [{ dst: "0.0.0.0/0" }] },
    dns: { nameservers: ["10.1.0.1"] },
  };
}

describe("SPEC.md example results", () => {
  for (const [label, example] of [
    ["host-local (delegated IPAM) result", HOST_LOCAL_RESULT],
    ["bridge result", BRIDGE_RESULT],
  ] as const) {
    describe(label, () => {
      it("parses as 1.1.0 (no cniVersion: the config's) and satisfies ResultSchema", () => {
        const parsed = parseResult(JSON.stringify(example), "1.1.0");
        expect(parsed).toEqual({ cniVersion: "1.1.0", ...example });
        expect(ResultSchema.parse({ cniVersion: "1.1.0", ...example })).toEqual({ cniVersion: "1.1.0", ...example });
      });

      for (const to of ALL_VERSIONS) {
        it(`1.1.0 → ${to} → 1.1.0`, () => {
          const parsed = parseResult(example, "1.1.0");
          const down = convertResult(parsed, to);
          const family = resultFamily(to);
          if (family === "100") expect(down).toEqual({ cniVersion: to, ...example });
          if (family === "040") {
            expect(down).toEqual({
              cniVersion: to,
              ...example,
              ips: example.ips.map((ip) => ({ version: "4", ...ip })),
            });
          }
          if (family === "020") expect(down).toEqual(as020(to));
          // and it reads back (from its JSON) the way the 1.1.0 original looked, minus what `to` cannot hold
          const back = convertResult(parseResult(JSON.stringify(down)), "1.1.0");
          if (family === "020") {
            expect(back).toEqual({
              cniVersion: "1.1.0",
              ips: [{ address: "10.1.0.5/16", gateway: "10.1.0.1" }],
              routes: [{ dst: "0.0.0.0/0" }],
              dns: { nameservers: ["10.1.0.1"] },
            });
          } else {
            expect(back).toEqual({ cniVersion: "1.1.0", ...example });
          }
        });
      }
    });
  }
});

describe("SPEC.md example configs", () => {
  it("the tuning and portmap requests carry a prevResult read as the bridge's 1.1.0 result", () => {
    expect(parsePrevResult(TUNING_REQUEST)).toEqual({ cniVersion: "1.1.0", ...BRIDGE_RESULT });
    expect(parsePrevResult(PORTMAP_REQUEST)?.interfaces?.[2]?.mac).toBe("00:11:22:33:44:66");
  });

  it("NetConfSchema accepts the bridge, tuning and portmap configs, keeping plugin keys", () => {
    expect(NetConfSchema.parse(BRIDGE_CONFIG)).toMatchObject(BRIDGE_CONFIG);
    expect(NetConfSchema.parse(TUNING_REQUEST)).toMatchObject({ sysctl: { "net.core.somaxconn": "500" } });
    const portmap = NetConfSchema.parse(PORTMAP_REQUEST);
    expect(portmap.runtimeConfig?.portMappings).toEqual([{ hostPort: 8080, containerPort: 80, protocol: "tcp" }]);
  });

  it("the VERSION and Error examples", () => {
    const version = {
      cniVersion: "1.1.0",
      supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    };
    expect(decodeVersionReply(JSON.stringify(version))).toEqual(version);
    expect(VersionReplySchema.parse(version)).toEqual(version);
    const error = {
      cniVersion: "1.1.0",
      code: 7,
      msg: "Invalid Configuration",
      details: "Network 192.168.0.0/31 too small to allocate from.",
    };
    expect(ErrorReplySchema.parse(error)).toEqual(error);
  });
});
