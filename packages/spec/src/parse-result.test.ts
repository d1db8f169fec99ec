import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "./errors.js";
import { parsePrevResult, parseResult } from "./parse-result.js";
import type { Result, Result020, Result040 } from "./types.js";

function thrown(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e instanceof CniError).toBe(true);
    return e as CniError;
  }
  throw new Error("expected an error");
}

const RESULT_110 = {
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
  ips: [
    { interface: 0, address: "1.2.3.30/24", gateway: "1.2.3.1" },
    {
      interface: 0,
      address: "abcd:1234:ffff::cdde/64",
      gateway: "abcd:1234:ffff::1",
    },
  ],
  routes: [
    { dst: "15.5.6.0/24", gw: "15.5.6.8" },
    { dst: "1111:dddd::/80", gw: "1111:dddd::aaaa" },
  ],
  dns: {
    nameservers: ["1.2.3.4", "1::cafe"],
    domain: "acompany.com",
    search: ["somedomain.com", "otherdomain.net"],
    options: ["foo", "bar"],
  },
};

describe("parseResult", () => {
  it("parses a 1.1.0 result from text and from an object", () => {
    expect(parseResult(JSON.stringify(RESULT_110))).toEqual(RESULT_110);
    expect(parseResult(RESULT_110)).toEqual(RESULT_110);
  });

  it("returns a fresh object holding only the fields of its version", () => {
    const input = {
      ...RESULT_110,
      extra: 1,
      ips: [{ version: "4", interface: 0, address: "1.2.3.30/24", foo: "bar" }],
    };
    const out = parseResult(input) as Result;
    expect(out).not.toHaveProperty("extra");
    expect(out.ips).toEqual([{ interface: 0, address: "1.2.3.30/24" }]);
    expect(out.interfaces).not.toBe(RESULT_110.interfaces);
  });

  it("parses 0.4.0/0.3.x results with IP versions, dropping 1.x-only interface fields", () => {
    const out = parseResult({
      ...RESULT_110,
      cniVersion: "0.3.1",
    }) as Result040;
    expect(out.interfaces).toEqual([{ name: "eth0", mac: "00:11:22:33:44:55", sandbox: "/proc/3553/ns/net" }]);
    expect(out.ips?.map((i) => i.version)).toEqual(["4", "6"]);
    expect(JSON.stringify(out.ips?.[0])).toBe('{"version":"4","interface":0,"address":"1.2.3.30/24","gateway":"1.2.3.1"}');
  });

  it("keeps a declared IP version and fills in a missing one from the address", () => {
    const out = parseResult({
      cniVersion: "0.4.0",
      ips: [{ version: "4", address: "10.0.0.2/24" }, { address: "fd00::2/64" }],
    }) as Result040;
    expect(out.ips?.map((i) => i.version)).toEqual(["4", "6"]);
  });

  it("parses 0.1.0/0.2.0 results", () => {
    const r020: Result020 = {
      cniVersion: "0.2.0",
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
      dns: RESULT_110.dns,
    };
    expect(parseResult(r020)).toEqual(r020);
    expect(parseResult({ ...r020, cniVersion: "0.1.0" })).toEqual({
      ...r020,
      cniVersion: "0.1.0",
    });
  });

  it('a missing or empty cniVersion means 0.1.0 (Go create.Create("", …))', () => {
    expect(parseResult({ ip4: { ip: "10.0.0.2/24" } })).toEqual({
      cniVersion: "0.1.0",
      ip4: { ip: "10.0.0.2/24" },
    });
    expect(parseResult('{"cniVersion":"","ip4":{"ip":"10.0.0.2/24"}}').cniVersion).toBe("0.1.0");
  });

  it("a missing or empty cniVersion takes the fallback (the config's version, cni#895)", () => {
    expect(parseResult({ ips: [{ address: "10.0.0.2/24" }] }, "1.0.0")).toEqual({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] });
    expect(parseResult({ cniVersion: "", ips: [{ address: "10.0.0.2/24" }] }, "0.4.0").cniVersion).toBe("0.4.0");
    expect(parseResult({ cniVersion: "1.1.0" }, "0.4.0").cniVersion).toBe("1.1.0");
  });

  it("keeps interface index 0 and omits a missing index", () => {
    const out = parseResult('{"cniVersion":"1.0.0","ips":[{"interface":0,"address":"10.0.0.2/24"},{"address":"10.0.0.3/24"}]}') as Result;
    expect(JSON.stringify(out.ips)).toBe('[{"interface":0,"address":"10.0.0.2/24"},{"address":"10.0.0.3/24"}]');
  });

  it("keeps every route field (Go's Route JSON)", () => {
    const route = {
      dst: "1.2.3.0/24",
      gw: "1.2.3.1",
      mtu: 1500,
      advmss: 1340,
      priority: 100,
      table: 50,
      scope: 253,
    };
    const out = parseResult({ cniVersion: "1.1.0", routes: [route] }) as Result;
    expect(JSON.stringify(out.routes?.[0])).toBe(JSON.stringify(route));
  });

  it("treats null fields and an empty gateway like Go (zero values)", () => {
    const out = parseResult({
      cniVersion: "1.1.0",
      interfaces: null,
      dns: null,
      ips: [{ address: "10.0.0.2/24", gateway: "" }],
    });
    expect(out).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.0.0.2/24" }],
    });
  });

  it("keeps the host part of a CIDR (Go ParseCIDR keeps the IP)", () => {
    expect(
      (
        parseResult({
          cniVersion: "1.1.0",
          ips: [{ address: "1.2.3.4/24" }],
        }) as Result
      ).ips?.[0]?.address,
    ).toBe("1.2.3.4/24");
    expect(
      (
        parseResult({
          cniVersion: "1.1.0",
          ips: [{ address: "2001:db8::/32" }],
        }) as Result
      ).ips?.[0]?.address,
    ).toBe("2001:db8::/32");
  });

  it.each([
    [{ cniVersion: "1.1.0", ips: [{ address: "1.2.3/45" }] }, "invalid CIDR address: 1.2.3/45", "at ips[0].address"],
    [{ cniVersion: "1.1.0", ips: [{ address: "1.2.3.4/99" }] }, "invalid CIDR address: 1.2.3.4/99", "at ips[0].address"],
    [{ cniVersion: "1.1.0", ips: [{ address: "1.2.3.4" }] }, "invalid CIDR address: 1.2.3.4", "at ips[0].address"],
    [{ cniVersion: "1.1.0", routes: [{ dst: "1.2.3.0/24", gw: "1.2.3.x" }] }, "invalid IP address: 1.2.3.x", "at routes[0].gw"],
    [
      {
        cniVersion: "0.4.0",
        ips: [{ version: "4", address: "10.0.0.2/24", gateway: "10.0.0.256" }],
      },
      "invalid IP address: 10.0.0.256",
      "at ips[0].gateway",
    ],
    [
      {
        cniVersion: "0.2.0",
        ip4: { ip: "10.0.0.2/24", routes: [{ dst: "nope" }] },
      },
      "invalid CIDR address: nope",
      "at ip4.routes[0].dst",
    ],
    [{ cniVersion: "0.2.0", ip6: {} }, "missing field ip6.ip", "at ip6.ip"],
    [{ cniVersion: "1.1.0", ips: [{}] }, "missing field ips[0].address", "at ips[0].address"],
  ])("rejects bad addresses with Go's message: %j", (input, msg, details) => {
    const e = thrown(() => parseResult(input));
    expect(e.code).toBe(ErrorCode.DecodingFailure);
    expect(e.msg).toBe(msg);
    expect(e.details).toBe(details);
  });

  it.each([
    [{ cniVersion: "1.1.0", ips: [{ address: 5 }] }, "ips[0].address"],
    [{ cniVersion: "0.4.0", ips: [{ address: 5 }] }, "ips[0].address"],
    [{ cniVersion: "1.1.0", ips: {} }, "ips"],
    [
      {
        cniVersion: "1.1.0",
        ips: [{ interface: "0", address: "10.0.0.2/24" }],
      },
      "ips[0].interface",
    ],
    [
      {
        cniVersion: "1.1.0",
        ips: [{ interface: 1.5, address: "10.0.0.2/24" }],
      },
      "ips[0].interface",
    ],
    [{ cniVersion: "1.1.0", interfaces: [{ name: 1 }] }, "interfaces[0].name"],
    [{ cniVersion: "1.1.0", routes: [{ dst: "0.0.0.0/0", mtu: "1500" }] }, "routes[0].mtu"],
    [{ cniVersion: "1.1.0", dns: { nameservers: "1.1.1.1" } }, "dns.nameservers"],
    [{ cniVersion: "1.1.0", dns: [] }, "dns"],
    [{ cniVersion: 1 }, "cniVersion"],
  ])("rejects wrong JSON types with a `json: cannot unmarshal` error: %j", (input, path) => {
    const e = thrown(() => parseResult(input));
    expect(e.code).toBe(ErrorCode.DecodingFailure);
    expect(e.msg).toMatch(/^json: cannot unmarshal /);
    expect(e.details).toBe(`at ${path}`);
  });

  it("rejects malformed JSON and non-objects with code 6", () => {
    const e = thrown(() => parseResult("{{{"));
    expect(e.code).toBe(ErrorCode.DecodingFailure);
    expect(e.msg).toMatch(/^decoding version from network config: /);
    for (const bad of ["null", "[]", "5", '"x"', null, 5, []]) {
      expect(thrown(() => parseResult(bad)).code).toBe(ErrorCode.DecodingFailure);
    }
  });

  it('rejects an unknown version with code 1 `unsupported CNI result version "X"`', () => {
    const e = thrown(() => parseResult({ cniVersion: "5678.456" }));
    expect(e.code).toBe(ErrorCode.IncompatibleCniVersion);
    expect(e.msg).toBe('unsupported CNI result version "5678.456"');
  });

  it("does not mutate its input", () => {
    const input = structuredClone(RESULT_110);
    parseResult(input);
    expect(input).toEqual(RESULT_110);
  });
});

describe("parsePrevResult", () => {
  it("returns undefined without a prevResult (Go: no error, PrevResult stays empty)", () => {
    expect(parsePrevResult({ cniVersion: "1.0.0" })).toBeUndefined();
    expect(parsePrevResult({ cniVersion: "1.0.0", prevResult: null })).toBeUndefined();
  });

  it("parses a 1.0.0 prevResult, dropping the IP version field (Go version_test)", () => {
    const prev = parsePrevResult({
      cniVersion: "1.0.0",
      prevResult: {
        cniVersion: "1.0.0",
        interfaces: [
          {
            name: "eth0",
            mac: "00:00:5e:00:53:01",
            sandbox: "/proc/3553/ns/net",
            pciID: "8086:9a01",
            socketPath: "/path/to/vhost/fd",
          },
        ],
        ips: [
          {
            version: "4",
            interface: 0,
            address: "1.2.3.30/24",
            gateway: "1.2.3.1",
          },
        ],
      },
    });
    expect(prev).toEqual({
      cniVersion: "1.1.0",
      interfaces: [
        {
          name: "eth0",
          mac: "00:00:5e:00:53:01",
          sandbox: "/proc/3553/ns/net",
          socketPath: "/path/to/vhost/fd",
          pciID: "8086:9a01",
        },
      ],
      ips: [{ interface: 0, address: "1.2.3.30/24", gateway: "1.2.3.1" }],
    });
  });

  it("accepts a prevResult of another family than the config (fixes cni#862)", () => {
    const prev = parsePrevResult({
      cniVersion: "1.1.0",
      prevResult: {
        cniVersion: "0.2.0",
        ip4: { ip: "10.0.0.2/24", gateway: "10.0.0.1" },
      },
    });
    expect(prev).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1" }],
    });
  });

  it("uses the config's version for a prevResult without one", () => {
    const prev = parsePrevResult({
      cniVersion: "0.4.0",
      prevResult: {
        ips: [{ version: "4", interface: 0, address: "10.0.0.2/24" }],
      },
    });
    expect(prev).toEqual({
      cniVersion: "1.1.0",
      ips: [{ interface: 0, address: "10.0.0.2/24" }],
    });
  });

  it("prefixes errors with `could not parse prevResult: `", () => {
    const e = thrown(() =>
      parsePrevResult({
        cniVersion: "1.1.0",
        prevResult: { cniVersion: "5678.456" },
      }),
    );
    expect(e.msg).toBe('could not parse prevResult: unsupported CNI result version "5678.456"');
    expect(e.code).toBe(ErrorCode.IncompatibleCniVersion);
    const bad = thrown(() =>
      parsePrevResult({
        cniVersion: "1.1.0",
        prevResult: { cniVersion: "1.1.0", ips: [{ address: "x" }] },
      }),
    );
    expect(bad.msg).toBe("could not parse prevResult: invalid CIDR address: x");
    expect(bad.code).toBe(ErrorCode.DecodingFailure);
    expect(thrown(() => parsePrevResult({ cniVersion: "1.1.0", prevResult: "{}" })).code).toBe(ErrorCode.DecodingFailure);
  });
});
