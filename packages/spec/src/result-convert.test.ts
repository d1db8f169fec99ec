import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "./errors.js";
import { convertResult, NO_VALID_IP_MESSAGE, resultVersionOf, toCurrentResult } from "./result-convert.js";
import type { AnyResult, Result, Result020, Result040 } from "./types.js";
import { ALL_VERSIONS, resultFamily } from "./version.js";

// The 1.1.0 result of SPEC.md / Go's pkg/types/100 test: every field set.
const DNS = {
  nameservers: ["1.2.3.4", "1::cafe"],
  domain: "acompany.com",
  search: ["somedomain.com", "otherdomain.net"],
  options: ["foo", "bar"],
};
const ROUTES = [
  { dst: "15.5.6.0/24", gw: "15.5.6.8" },
  { dst: "1111:dddd::/80", gw: "1111:dddd::aaaa" },
];

/** How much a version's shape can hold: 3 = 1.x, 2 = 0.3/0.4, 1 = 0.1/0.2. */
const level = (v: string) => ({ "100": 3, "040": 2, "020": 1 })[resultFamily(v) as "100" | "040" | "020"];

/** The example result as it looks at `version` after passing through a shape of `lvl`. */
function example(version: string, lvl = 3): AnyResult {
  const l = Math.min(lvl, level(version));
  if (level(version) === 1) {
    return {
      cniVersion: version,
      ip4: {
        ip: "1.2.3.30/24",
        gateway: "1.2.3.1",
        routes: [{ dst: "15.5.6.0/24", gw: "15.5.6.8" }],
      },
      ip6: {
        ip: "abcd:1234:ffff::cdde/64",
        gateway: "abcd:1234:ffff::1",
        routes: [{ dst: "1111:dddd::/80", gw: "1111:dddd::aaaa" }],
      },
      dns: structuredClone(DNS),
    } satisfies Result020;
  }
  const intf =
    l === 3
      ? {
          name: "eth0",
          mac: "00:11:22:33:44:55",
          mtu: 1500,
          sandbox: "/proc/3553/ns/net",
          pciID: "8086:9a01",
          socketPath: "/path/to/vhost/fd",
        }
      : {
          name: "eth0",
          mac: "00:11:22:33:44:55",
          sandbox: "/proc/3553/ns/net",
        };
  const idx = l >= 2 ? { interface: 0 } : {};
  const ips = [
    { ...idx, address: "1.2.3.30/24", gateway: "1.2.3.1" },
    {
      ...idx,
      address: "abcd:1234:ffff::cdde/64",
      gateway: "abcd:1234:ffff::1",
    },
  ];
  const out: Record<string, unknown> = { cniVersion: version };
  if (l >= 2) out.interfaces = [intf];
  out.ips = level(version) === 2 ? ips.map((ip, i) => ({ version: i === 0 ? "4" : "6", ...ip })) : ips;
  out.routes = structuredClone(ROUTES);
  out.dns = structuredClone(DNS);
  return out as unknown as AnyResult;
}

function deepFreeze<T>(x: T): T {
  if (x && typeof x === "object") {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}

describe("convertResult: every pair of versions", () => {
  for (const from of ALL_VERSIONS) {
    for (const to of ALL_VERSIONS) {
      it(`${from} → ${to}`, () => {
        const input = deepFreeze(example(from));
        const snapshot = structuredClone(input);
        const out = convertResult(input, to);
        expect(out).toEqual(example(to, level(from)));
        expect(input).toEqual(snapshot);
        // round trip back: only what the narrower shape can hold survives
        expect(convertResult(out, from)).toEqual(example(from, Math.min(level(from), level(to))));
      });
    }
  }
});

describe("convertResult: Go's per-family behaviour", () => {
  it("1.1.0 → 1.0.0 changes only cniVersion and back is identical", () => {
    const r = example("1.1.0");
    const down = convertResult(r, "1.0.0");
    expect(down).toEqual({ ...r, cniVersion: "1.0.0" });
    expect(convertResult(down, "1.1.0")).toEqual(r);
  });

  it("returns a deep copy (no shared lists) even for a label change", () => {
    const r = example("1.1.0") as Result;
    const out = convertResult(r, "1.0.0") as Result;
    expect(out.ips).not.toBe(r.ips);
    expect(out.interfaces?.[0]).not.toBe(r.interfaces?.[0]);
    expect(out.dns).not.toBe(r.dns);
  });

  it("1.1.0 → 0.4.0 keeps name/mac/sandbox, adds version, keeps interface 0", () => {
    const out = convertResult(example("1.1.0"), "0.4.0") as Result040;
    expect(out.interfaces).toEqual([{ name: "eth0", mac: "00:11:22:33:44:55", sandbox: "/proc/3553/ns/net" }]);
    expect(out.ips?.map((i) => [i.version, i.interface])).toEqual([
      ["4", 0],
      ["6", 0],
    ]);
    expect(JSON.stringify(out.ips?.[0])).toBe('{"version":"4","interface":0,"address":"1.2.3.30/24","gateway":"1.2.3.1"}');
  });

  it("keeps every route field going down to 0.4.0 (Go's Route still carries them)", () => {
    const route = {
      dst: "0.0.0.0/0",
      gw: "10.0.0.1",
      mtu: 1500,
      advmss: 1340,
      priority: 100,
      table: 50,
      scope: 0,
    };
    const out = convertResult(
      {
        cniVersion: "1.1.0",
        ips: [{ address: "10.0.0.2/24" }],
        routes: [route],
      },
      "0.4.0",
    ) as Result040;
    expect(out.routes).toEqual([route]);
    const old = convertResult(out, "0.2.0") as Result020;
    expect(old.ip4?.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.0.0.1" }]);
  });

  it("0.3.1 → 0.1.0 drops interfaces and spreads routes per family with dst+gw only", () => {
    const out = convertResult(example("0.3.1"), "0.1.0");
    expect(out).toEqual(example("0.1.0"));
    expect(JSON.stringify(out)).not.toContain("interface");
  });

  it("down to 0.2.0 keeps only the first IP of each family and drops routes of a family without IP", () => {
    const r: Result = {
      cniVersion: "1.0.0",
      ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1" }, { address: "10.0.1.2/24" }],
      routes: [
        { dst: "0.0.0.0/0", gw: "10.0.0.1" },
        { dst: "::/0", gw: "fd00::1" },
      ],
    };
    expect(convertResult(r, "0.2.0")).toEqual({
      cniVersion: "0.2.0",
      ip4: {
        ip: "10.0.0.2/24",
        gateway: "10.0.0.1",
        routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
      },
    });
  });

  it("0.4.0 → 0.2.0 selects IPs by their version field", () => {
    const r: Result040 = {
      cniVersion: "0.4.0",
      ips: [
        { version: "6", address: "fd00::2/64" },
        { version: "4", address: "10.0.0.2/24" },
      ],
    };
    expect(convertResult(r, "0.2.0")).toEqual({
      cniVersion: "0.2.0",
      ip4: { ip: "10.0.0.2/24" },
      ip6: { ip: "fd00::2/64" },
    });
  });

  it("treats an IPv4-mapped IPv6 address as IPv4, like Go's To4()", () => {
    const out = convertResult(
      {
        cniVersion: "1.1.0",
        ips: [{ address: "::ffff:10.0.0.2/120" }, { address: "::10.0.0.2/120" }],
      },
      "0.4.0",
    ) as Result040;
    expect(out.ips?.map((i) => i.version)).toEqual(["4", "6"]);
  });

  it("errors with `cannot convert: no valid IP addresses` (code 999) when there is no IP", () => {
    for (const from of ["1.1.0", "1.0.0", "0.4.0", "0.3.0"]) {
      for (const to of ["0.2.0", "0.1.0", ""]) {
        let err: unknown;
        try {
          convertResult(
            {
              cniVersion: from,
              interfaces: [{ name: "eth0" }],
              routes: [{ dst: "0.0.0.0/0" }],
            },
            to,
          );
        } catch (e) {
          err = e;
        }
        expect(err instanceof CniError).toBe(true);
        expect((err as CniError).code).toBe(ErrorCode.Internal);
        expect((err as CniError).msg).toBe(NO_VALID_IP_MESSAGE);
        expect(NO_VALID_IP_MESSAGE).toBe("cannot convert: no valid IP addresses");
      }
    }
  });

  it('a target of "" means 0.1.0 (Go: 1.0.0 converted to "" reports 0.1.0)', () => {
    expect(convertResult(example("1.0.0"), "").cniVersion).toBe("0.1.0");
  });

  it("rejects unknown target and source versions with code 1", () => {
    expect(() => convertResult(example("1.1.0"), "2.0.0")).toThrow('unsupported CNI result version "2.0.0"');
    try {
      convertResult(example("1.1.0"), "0.5.0");
    } catch (e) {
      expect((e as CniError).code).toBe(ErrorCode.IncompatibleCniVersion);
    }
    expect(() => convertResult({ cniVersion: "5678.456" } as Result, "1.1.0")).toThrow('unsupported CNI result version "5678.456"');
  });

  it("round trips 0.2.0 → 0.4.0 → 0.2.0 with and without route gateways", () => {
    const withGw = example("0.2.0");
    expect(convertResult(convertResult(withGw, "0.4.0"), "0.2.0")).toEqual(withGw);
    const noGw: Result020 = {
      cniVersion: "0.2.0",
      ip4: {
        ip: "1.2.3.30/24",
        gateway: "1.2.3.1",
        routes: [{ dst: "15.5.6.0/24" }],
      },
      ip6: {
        ip: "abcd:1234:ffff::cdde/64",
        routes: [{ dst: "1111:dddd::/80" }],
      },
    };
    const mid = convertResult(noGw, "0.4.0") as Result040;
    expect(mid.routes).toEqual([{ dst: "15.5.6.0/24" }, { dst: "1111:dddd::/80" }]);
    expect(mid.ips).toEqual([
      { version: "4", address: "1.2.3.30/24", gateway: "1.2.3.1" },
      { version: "6", address: "abcd:1234:ffff::cdde/64" },
    ]);
    expect(convertResult(mid, "0.2.0")).toEqual(noGw);
  });

  it("0.1.0/0.2.0 → 1.x has no interfaces and no interface index", () => {
    const out = convertResult(example("0.1.0"), "1.1.0") as Result;
    expect(out.interfaces).toBeUndefined();
    expect(out.ips?.every((i) => !("interface" in i))).toBe(true);
    expect(out.ips?.every((i) => !("version" in i))).toBe(true);
  });

  it("omits empty lists and empty dns when the family changes", () => {
    const out = convertResult({ cniVersion: "0.2.0", ip4: { ip: "10.0.0.2/24" }, dns: {} }, "1.1.0");
    expect(out).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.0.0.2/24" }],
    });
  });

  it("an IP without interface index stays without one; index 0 is kept", () => {
    const r: Result = {
      cniVersion: "1.1.0",
      ips: [{ address: "10.0.0.2/24" }, { interface: 0, address: "10.0.0.3/24" }],
    };
    const out = convertResult(r, "0.3.0") as Result040;
    expect(JSON.stringify(out.ips)).toBe('[{"version":"4","address":"10.0.0.2/24"},{"version":"4","interface":0,"address":"10.0.0.3/24"}]');
    expect(convertResult(out, "1.0.0")).toEqual({ ...r, cniVersion: "1.0.0" });
  });
});

describe("resultVersionOf / a result without cniVersion", () => {
  it("infers the family from the shape", () => {
    expect(resultVersionOf({ cniVersion: "", ip4: { ip: "10.0.0.2/24" } })).toBe("0.2.0");
    expect(
      resultVersionOf({
        cniVersion: "",
        ips: [{ version: "4", address: "10.0.0.2/24" }],
      }),
    ).toBe("0.4.0");
    expect(resultVersionOf({ cniVersion: "", ips: [{ address: "10.0.0.2/24" }] })).toBe("1.1.0");
    expect(resultVersionOf({} as Result)).toBe("1.1.0");
    expect(resultVersionOf({ cniVersion: "0.3.1" })).toBe("0.3.1");
  });

  it("converts a handler's result that has no cniVersion", () => {
    const out = convertResult({ ips: [{ address: "10.0.0.2/24" }] } as unknown as Result, "0.4.0");
    expect(out).toEqual({
      cniVersion: "0.4.0",
      ips: [{ version: "4", address: "10.0.0.2/24" }],
    });
  });
});

describe("toCurrentResult", () => {
  it("converts any version to 1.1.0", () => {
    for (const v of ALL_VERSIONS) {
      expect(toCurrentResult(example(v)).cniVersion).toBe("1.1.0");
    }
    expect(toCurrentResult(example("0.2.0"))).toEqual({
      cniVersion: "1.1.0",
      ips: [
        { address: "1.2.3.30/24", gateway: "1.2.3.1" },
        { address: "abcd:1234:ffff::cdde/64", gateway: "abcd:1234:ffff::1" },
      ],
      routes: ROUTES,
      dns: DNS,
    });
  });
});
