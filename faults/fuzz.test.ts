/**
 * Seeded property-based fuzz (fast-check) over what a plugin or a runtime decodes from outside:
 * the network config through skel (with the bridge's config schema), host-local's IPAM config,
 * results (parsing and conversion to every version), CNI_ARGS, and the runtime's conflist loader.
 * Every case must end in a value or one CniError; through skel, in exactly one JSON document on
 * stdout (a result, or an error with a numeric code and a message). Never a crash (TypeError,
 * RangeError...), a hang, or a second document.
 *
 * FAULTS_FULL=1 runs 10,000 cases per target; CI runs 300. FAULTS_SEED replays a seed.
 */
import { loadHostLocalConfig } from "@cnikit/host-local";
import { confFromBytes, confListFromBytes } from "@cnikit/runtime";
import { definePlugin } from "@cnikit/skel";
import { invoke } from "@cnikit/skel/testing";
import { ALL_VERSIONS, CniError, convertResult, loadCniArgs, parseCniArgs, parseResult } from "@cnikit/spec";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bridgeConfigSchema } from "../examples/bridge/src/config.js";
import { FULL } from "./lib.js";

const RUNS = FULL ? 10_000 : 300;
const SEED = Number(process.env.FAULTS_SEED ?? 20261203);
const params = { seed: SEED, numRuns: RUNS };
const TIMEOUT = FULL ? 600_000 : 60_000;

/** Runs `fn`: a value, or a CniError with a numeric code and a message; anything else fails the case. */
function endsInValueOrCniError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof CniError)) throw new Error(`not a CniError: ${String(err)}`, { cause: err });
    expect(Number.isInteger(err.code)).toBe(true);
    expect(typeof err.msg).toBe("string");
    expect(err.msg.length).toBeGreaterThan(0);
  }
}

const versions = fc.constantFrom(...ALL_VERSIONS, "", "1.2.0", "0.0.1", "x.y.z", "1.0");
const ipLike = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 40 })).map(([ip, p]) => `${ip}/${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 130 })).map(([ip, p]) => `${ip}/${p}`),
  fc.string(),
);
/** Any JSON value, with CNI-shaped values (versions, IPs) mixed in so the decoders get past their first checks. */
const value: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: fc.jsonValue() }, versions, ipLike);

/** Objects near a valid one: each key kept, dropped or replaced by anything, plus random keys. */
function near(base: Record<string, unknown>, extra: Record<string, fc.Arbitrary<unknown>> = {}): fc.Arbitrary<unknown> {
  const keys = Object.keys(base);
  return fc
    .tuple(
      fc.array(fc.constantFrom("keep", "drop", "replace"), { minLength: keys.length, maxLength: keys.length }),
      fc.array(value, { minLength: keys.length, maxLength: keys.length }),
      fc.record(extra, { requiredKeys: [] }),
      fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 3 }),
    )
    .map(([ops, vals, ext, random]) => {
      const out: Record<string, unknown> = {};
      keys.forEach((k, i) => {
        if (ops[i] === "keep") out[k] = base[k];
        else if (ops[i] === "replace") out[k] = vals[i];
      });
      return { ...random, ...out, ...ext };
    });
}

const ipamBase = {
  type: "host-local",
  subnet: "10.1.0.0/24",
  rangeStart: "10.1.0.10",
  gateway: "10.1.0.1",
  dataDir: "/tmp/x",
};
const ipamConfig = near(ipamBase, {
  ranges: fc.array(fc.array(near({ subnet: "10.2.0.0/24", rangeEnd: "10.2.0.20" }), { maxLength: 2 }), {
    maxLength: 2,
  }),
  routes: fc.array(near({ dst: "0.0.0.0/0", gw: "10.1.0.1" }), { maxLength: 2 }),
});
const netConfig = near(
  { cniVersion: "1.1.0", name: "net", type: "bridge", bridge: "br0", isGateway: true, mtu: 1500 },
  {
    ipam: ipamConfig,
    args: near({ cni: { ips: ["10.1.0.9"] } }),
    runtimeConfig: near({ ips: ["10.1.0.9/24"], mac: "0a:58:0a:01:00:09", ipRanges: [[{ subnet: "10.3.0.0/24" }]] }),
    prevResult: near({ cniVersion: "1.1.0", ips: [{ address: "10.1.0.5/24" }] }),
    "cni.dev/valid-attachments": fc.array(near({ containerID: "c1", ifname: "eth0" }), { maxLength: 2 }),
  },
);
const cniArgs = fc.oneof(
  fc.string(),
  fc
    .array(fc.tuple(fc.constantFrom("IP", "MAC", "IgnoreUnknown", "K8S_POD_NAME", ""), fc.string({ maxLength: 12 })), {
      maxLength: 4,
    })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join(";")),
);

describe(`fuzz (seed ${SEED}, ${RUNS} cases per target)`, () => {
  it(
    "skel + the bridge's config schema: one JSON document on stdout, a result or an error with a code",
    async () => {
      const plugin = definePlugin({
        name: "fuzz",
        version: "0.0.0",
        cniVersions: ALL_VERSIONS,
        config: bridgeConfigSchema,
        // reading ctx.args makes skel parse CNI_ARGS (it does so lazily)
        add: (ctx) => ({
          cniVersion: "1.1.0",
          ips: [{ address: "10.1.0.5/24" }],
          dns: { domain: String(Object.keys(ctx.args).length) },
        }),
        del: () => {},
        check: () => {},
        gc: () => {},
        status: () => {},
      });
      const stdin = fc.oneof(
        { weight: 4, arbitrary: netConfig.map((c) => JSON.stringify(c)) },
        fc.string(),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      );
      const env = fc.record(
        {
          CNI_COMMAND: fc.constantFrom("ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION", "", "add", "BOGUS"),
          CNI_CONTAINERID: fc.oneof(fc.constant("c1"), fc.string({ maxLength: 20 })),
          CNI_IFNAME: fc.oneof(fc.constant("eth0"), fc.string({ maxLength: 20 })),
          CNI_ARGS: cniArgs,
          CNI_NETNS: fc.constantFrom("/var/run/netns/fl-fuzz", "", "relative"),
          CNI_PATH: fc.constantFrom("/usr/lib/cni", ""),
        },
        { requiredKeys: ["CNI_COMMAND"] },
      );
      await fc.assert(
        fc.asyncProperty(stdin, env, async (config, vars) => {
          const out = await invoke(plugin, { command: vars.CNI_COMMAND, config, env: vars });
          const text = out.stdout.trim();
          if (vars.CNI_COMMAND === "" && out.exitCode === 0) {
            expect(text).toBe(""); // the about banner goes to stderr
            return;
          }
          const lines = text.split("\n");
          expect(lines.length <= 1 || !text.includes("}\n{")).toBe(true);
          if (text === "") {
            expect(out.exitCode).toBe(0); // DEL/CHECK/GC/STATUS success print nothing
            return;
          }
          const doc = JSON.parse(text);
          expect(typeof doc).toBe("object");
          if (out.exitCode === 0) expect(doc.code).toBeUndefined();
          else {
            expect(out.exitCode).toBe(1);
            expect(Number.isInteger(doc.code)).toBe(true);
            expect(typeof doc.msg).toBe("string");
          }
        }),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    "host-local's IPAM config loader",
    () => {
      fc.assert(
        fc.property(netConfig, cniArgs, (conf, args) => {
          endsInValueOrCniError(() => loadHostLocalConfig(conf as Record<string, unknown>, args));
        }),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    "result parsing, and conversion of what parses to every version",
    () => {
      const result = near(
        { cniVersion: "1.1.0", ips: [{ address: "10.1.0.5/24", gateway: "10.1.0.1", interface: 0 }] },
        {
          interfaces: fc.array(near({ name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/var/run/netns/x" }), {
            maxLength: 2,
          }),
          ips: fc.array(near({ version: "4", address: "10.1.0.5/24", gateway: "10.1.0.1", interface: 0 }), {
            maxLength: 3,
          }),
          ip4: near({ ip: "10.1.0.5/24", gateway: "10.1.0.1", routes: [{ dst: "0.0.0.0/0" }] }),
          ip6: near({ ip: "fd00::5/64" }),
          routes: fc.array(near({ dst: "0.0.0.0/0", gw: "10.1.0.1", mtu: 1500 }), { maxLength: 2 }),
          dns: near({ nameservers: ["10.1.0.1"], domain: "x", search: ["a"], options: ["ndots:5"] }),
        },
      );
      fc.assert(
        fc.property(
          fc.oneof(
            result,
            fc.string().map((s) => s as unknown),
          ),
          versions,
          (input, fallback) => {
            endsInValueOrCniError(() => {
              const parsed = parseResult(input, fallback);
              for (const v of ALL_VERSIONS) endsInValueOrCniError(() => convertResult(parsed, v));
            });
          },
        ),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    "CNI_ARGS parsing",
    () => {
      fc.assert(
        fc.property(cniArgs, (args) => {
          endsInValueOrCniError(() => parseCniArgs(args));
          endsInValueOrCniError(() => loadCniArgs(args));
        }),
        params,
      );
    },
    TIMEOUT,
  );

  it(
    "the runtime's config and conflist loaders",
    () => {
      const list = near(
        { cniVersion: "1.1.0", name: "net", disableCheck: false, disableGC: false },
        { plugins: fc.array(near({ type: "bridge", capabilities: { portMappings: true } }), { maxLength: 3 }) },
      );
      const bytes = fc.oneof(
        { weight: 4, arbitrary: list.map((l) => JSON.stringify(l)) },
        fc.string(),
        fc.uint8Array({ maxLength: 64 }).map((b) => b as string | Uint8Array),
      );
      fc.assert(
        fc.property(bytes, (b) => {
          endsInValueOrCniError(() => confListFromBytes(b));
          endsInValueOrCniError(() => confFromBytes(b));
        }),
        params,
      );
    },
    TIMEOUT,
  );
});
