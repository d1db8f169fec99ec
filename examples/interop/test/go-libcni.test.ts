/**
 * Interop with a real Go libcni runtime (examples/interop/go-libcni, built offline against Debian's
 * libcni 1.1.2 sources): whatever one runtime adds, the other checks, deletes and GCs, through
 * the shared result cache, with the Go reference plugins and with our example plugins.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cnitoolContainerId, readCachedConfig, readCachedResult, writeCachedResult } from "@cnikit/runtime";
import { bundleCli } from "../../../tools/bundle-cli.js";
import { buildGolibcni } from "./golibcni.js";
import { buildOurPlugins, GO_DIR } from "./interop.js";

let EX_BRIDGE: string;
let EX_HOST_LOCAL: string;
let golibcni: string;
let cli: string;
let cliDir: string;

beforeAll(async () => {
  const ours = await buildOurPlugins(["bridge", "host-local"]);
  EX_BRIDGE = ours.paths.bridge as string;
  EX_HOST_LOCAL = ours.paths["host-local"] as string;
  golibcni = buildGolibcni();
  cliDir = mkdtempSync(join(tmpdir(), "cnikit-glcli-"));
  cli = await bundleCli(cliDir);
}, 300_000);

afterAll(() => {
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
});

interface Ns {
  name: string;
  path: string;
}

interface Env {
  dir: string;
  bin: string;
  confDir: string;
  cacheDir: string;
  dataDir: string;
  net: string;
  bridge: string;
  /** e.g. "10.123.45" (a /24 no host route covers). */
  prefix: string;
  netns: Ns[];
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const envs: Env[] = [];

function hex(n: number): string {
  return randomBytes(n).toString("hex");
}

/** A random 10.x.y.0/24 that no existing (non-default) route of the host covers. */
function freeSubnetPrefix(): string {
  for (let i = 0; i < 50; i++) {
    const prefix = `10.${1 + Math.floor(Math.random() * 254)}.${Math.floor(Math.random() * 256)}`;
    const r = spawnSync("ip", ["-4", "route", "show", "match", `${prefix}.0/24`], { encoding: "utf8" });
    const covering = r.stdout.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("default"));
    if (r.status === 0 && covering.length === 0) return prefix;
  }
  throw new Error("no free 10.x.y.0/24 found");
}

function setup(): Env {
  const dir = mkdtempSync(join(tmpdir(), "cnikit-golibcni-"));
  const id = hex(4);
  const e: Env = {
    dir,
    bin: join(dir, "bin"),
    confDir: join(dir, "net.d"),
    cacheDir: join(dir, "cache"),
    dataDir: join(dir, "ipam"),
    net: `ckglnet${id}`,
    bridge: `ckgl${id}`,
    prefix: freeSubnetPrefix(),
    netns: [],
  };
  mkdirSync(e.bin);
  mkdirSync(e.confDir);
  envs.push(e);
  return e;
}

afterEach(() => {
  for (const e of envs.splice(0)) {
    for (const ns of e.netns) spawnSync("ip", ["netns", "del", ns.name]);
    spawnSync("ip", ["link", "del", e.bridge]);
    rmSync(e.dir, { recursive: true, force: true });
  }
});

function newNs(e: Env): Ns {
  const name = `ckgl${hex(5)}`;
  const r = spawnSync("ip", ["netns", "add", name], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip netns add ${name}: ${r.stderr}`);
  const ns = { name, path: `/var/run/netns/${name}` };
  e.netns.push(ns);
  return ns;
}

/** Puts plugin binaries into the env's private CNI_PATH dir. */
function plugins(e: Env, map: Record<string, string>): void {
  for (const [name, target] of Object.entries(map)) symlinkSync(target, join(e.bin, name));
}

/** An env whose CNI_PATH holds our built examples/bridge and examples/host-local. */
function setupWithExamples(): Env {
  const e = setup();
  plugins(e, { bridge: EX_BRIDGE, "host-local": EX_HOST_LOCAL });
  return e;
}

const GO_BRIDGE_HL = {
  bridge: join(GO_DIR, "bridge"),
  "host-local": join(GO_DIR, "host-local"),
  tuning: join(GO_DIR, "tuning"),
};

function bridgePlugin(e: Env): Record<string, unknown> {
  return {
    type: "bridge",
    bridge: e.bridge,
    isGateway: true,
    ipam: { type: "host-local", ranges: [[{ subnet: `${e.prefix}.0/24` }]], dataDir: e.dataDir },
  };
}

/** Writes the conflist and returns its exact text (what both runtimes cache). */
function writeConf(e: Env, extra: Record<string, unknown>[] = [], cniVersion = "1.0.0"): string {
  const text = `${JSON.stringify({ cniVersion, name: e.net, plugins: [bridgePlugin(e), ...extra] }, null, 2)}\n`;
  writeFileSync(join(e.confDir, `10-${e.net}.conflist`), text);
  return text;
}

function run(argv: string[], env: Record<string, string>, cwd?: string): Run {
  const r = spawnSync(argv[0] as string, argv.slice(1), { env, encoding: "utf8", timeout: 60_000, cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function baseEnv(e: Env, extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    NETCONFPATH: e.confDir,
    CNI_PATH: e.bin,
    ...extra,
  };
}

function go(e: Env, args: string[], extra: Record<string, string> = {}, cwd?: string): Run {
  return run([golibcni, "-cache-dir", e.cacheDir, ...args], baseEnv(e, extra), cwd);
}

function ck(e: Env, args: string[], extra: Record<string, string> = {}, cwd?: string): Run {
  return run([process.execPath, cli, "--cache-dir", e.cacheDir, ...args], baseEnv(e, extra), cwd);
}

function ok(r: Run, what: string): Run {
  expect(r.code, `${what} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`).toBe(0);
  return r;
}

type Json = Record<string, unknown>;

/** Drops an empty `dns` object (libcni 1.1.2 always prints one; newer Go and cnikit omit it). */
function norm(result: unknown): Json {
  const r = structuredClone(result) as Json;
  if (r.dns && typeof r.dns === "object" && Object.keys(r.dns).length === 0) delete r.dns;
  return r;
}

function cacheFile(e: Env, containerId: string, ifName = "eth0"): string {
  return join(e.cacheDir, "results", `${e.net}-${containerId}-${ifName}`);
}

function leases(e: Env): Record<string, string> {
  const dir = join(e.dataDir, e.net);
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    if (f === "lock" || f.startsWith("last_reserved_ip")) continue;
    out[f] = readFileSync(join(dir, f), "utf8");
  }
  return out;
}

function nsAddresses(ns: Ns, ifName = "eth0"): string[] | undefined {
  const r = spawnSync("ip", ["-n", ns.name, "-j", "addr", "show", "dev", ifName], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  const links = JSON.parse(r.stdout) as { addr_info: { family: string; local: string; prefixlen: number }[] }[];
  return (links[0]?.addr_info ?? []).filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`);
}

function nsMac(ns: Ns, ifName = "eth0"): string | undefined {
  const r = spawnSync("ip", ["-n", ns.name, "-j", "link", "show", "dev", ifName], { encoding: "utf8" });
  return r.status === 0 ? (JSON.parse(r.stdout) as { address: string }[])[0]?.address : undefined;
}

function hostLinkExists(name: string): boolean {
  return spawnSync("ip", ["link", "show", "dev", name]).status === 0;
}

/** The host end of the veth, from a bridge result (the interface without a sandbox that is not the bridge). */
function hostVeth(e: Env, result: Json): string {
  const ifaces = result.interfaces as { name: string; sandbox?: string }[];
  const veth = ifaces.find((i) => !i.sandbox && i.name !== e.bridge);
  expect(veth, JSON.stringify(result)).toBeDefined();
  return (veth as { name: string }).name;
}

function ipOf(result: Json): string {
  return ((result.ips as { address: string }[])[0] as { address: string }).address;
}

/** Asserts a live attachment: address in the netns, host veth, lease, cache file. */
function expectAttached(e: Env, ns: Ns, result: Json): void {
  const cid = cnitoolContainerId(ns.path);
  expect(nsAddresses(ns)).toEqual([ipOf(result)]);
  expect(hostLinkExists(hostVeth(e, result))).toBe(true);
  expect(leases(e)[ipOf(result).split("/")[0] as string]).toBe(`${cid}\r\neth0`);
  expect(existsSync(cacheFile(e, cid))).toBe(true);
}

/** Asserts everything of the attachment is gone. */
function expectDetached(e: Env, ns: Ns, result: Json): void {
  const cid = cnitoolContainerId(ns.path);
  expect(nsAddresses(ns), "eth0 still in the netns").toBeUndefined();
  expect(hostLinkExists(hostVeth(e, result)), "host veth still there").toBe(false);
  expect(leases(e)[ipOf(result).split("/")[0] as string], "lease still there").toBeUndefined();
  expect(existsSync(cacheFile(e, cid)), "cache file still there").toBe(false);
}

function ping(from: Ns, ip: string): void {
  const r = spawnSync("ip", ["netns", "exec", from.name, "ping", "-c", "1", "-W", "3", ip], { encoding: "utf8" });
  expect(r.status, r.stdout + r.stderr).toBe(0);
}

describe("cnikit ⇄ Go libcni 1.1.2 (golibcni), Go reference plugins", () => {
  it("cnikit ADD → golibcni CHECK and DEL", () => {
    const e = setup();
    plugins(e, GO_BRIDGE_HL);
    writeConf(e);
    const ns = newNs(e);
    const result = JSON.parse(ok(ck(e, ["add", "--json", e.net, ns.path]), "cnikit add").stdout) as Json;
    expectAttached(e, ns, result);
    ok(go(e, ["check", e.net, ns.path]), "golibcni check");
    ok(go(e, ["del", e.net, ns.path]), "golibcni del");
    expectDetached(e, ns, result);
    // CHECK now fails on both sides (no cache, no interface) and DEL stays idempotent
    expect(go(e, ["check", e.net, ns.path]).code).toBe(1);
    expect(ck(e, ["check", e.net, ns.path]).code).toBe(1);
    ok(ck(e, ["del", e.net, ns.path]), "cnikit del (again)");
  });

  it("golibcni ADD → cnikit CHECK and DEL; both print the same result", () => {
    const e = setup();
    plugins(e, GO_BRIDGE_HL);
    writeConf(e);
    const ns = newNs(e);
    const printed = ok(go(e, ["add", e.net, ns.path]), "golibcni add").stdout;
    const result = JSON.parse(printed) as Json;
    expectAttached(e, ns, result);
    ok(ck(e, ["check", e.net, ns.path]), "cnikit check");
    // a broken attachment fails cnikit's CHECK with the plugin's error, as golibcni's
    spawnSync("ip", ["-n", ns.name, "addr", "flush", "dev", "eth0"]);
    const goBad = go(e, ["check", e.net, ns.path]);
    const ckBad = ck(e, ["check", e.net, ns.path]);
    expect(goBad.code).toBe(1);
    expect(ckBad.code).toBe(1);
    expect(ckBad.stderr).toContain(goBad.stderr.trim());
    ok(ck(e, ["del", e.net, ns.path]), "cnikit del");
    expectDetached(e, ns, result);

    // same ADD again through cnikit: same shape as golibcni printed (cnitool's indented JSON)
    const again = JSON.parse(ok(ck(e, ["add", e.net, ns.path]), "cnikit add").stdout) as Json;
    expect(Object.keys(norm(again))).toEqual(Object.keys(norm(result)));
    expect((again.interfaces as unknown[]).length).toBe((result.interfaces as unknown[]).length);
    ok(go(e, ["del", e.net, ns.path]), "golibcni del");
    expectDetached(e, ns, again);
  });

  it("reads each other's cache files: results, config bytes, CNI_ARGS and capability args; same container IDs", async () => {
    const e = setup();
    plugins(e, GO_BRIDGE_HL);
    const confText = writeConf(e, [{ type: "tuning", capabilities: { mac: true } }]);
    const [a, b] = [newNs(e), newNs(e)] as [Ns, Ns];
    const capArgs = (mac: string) => ({ mac, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }] });
    const macA = "c2:00:00:00:0a:0a";
    const macB = "c2:00:00:00:0b:0b";
    const cniArgs = "IgnoreUnknown=1;FOO=bar";

    // A: cnikit writes, golibcni reads
    const resA = JSON.parse(
      ok(
        ck(e, ["add", "--json", e.net, a.path], { CNI_ARGS: cniArgs, CAP_ARGS: JSON.stringify(capArgs(macA)) }),
        "cnikit add",
      ).stdout,
    ) as Json;
    expect(nsMac(a)).toBe(macA); // tuning declared `mac`, so it got runtimeConfig.mac
    const goView = JSON.parse(ok(go(e, ["cached", e.net, a.path]), "golibcni cached").stdout) as Json;
    expect(norm(goView.result)).toEqual(norm(resA));
    expect(goView.config).toBe(confText);
    expect(goView.cniArgs).toEqual([
      ["IgnoreUnknown", "1"],
      ["FOO", "bar"],
    ]);
    expect(goView.capabilityArgs).toEqual(capArgs(macA));

    // B: golibcni writes (run from /var/run with a relative netns path and $PWD), cnikit reads
    const resB = JSON.parse(
      ok(
        go(
          e,
          ["add", e.net, `netns/${b.name}`],
          { CNI_ARGS: cniArgs, CAP_ARGS: JSON.stringify(capArgs(macB)), PWD: "/var/run" },
          "/var/run",
        ),
        "golibcni add",
      ).stdout,
    ) as Json;
    expect(nsMac(b)).toBe(macB);
    const cidB = cnitoolContainerId(b.path);
    expect(existsSync(cacheFile(e, cidB)), `golibcni's container ID is not ${cidB}`).toBe(true);
    const key = { containerId: cidB, ifName: "eth0" };
    expect(norm(await readCachedResult(e.cacheDir, e.net, "1.0.0", key))).toEqual(norm(resB));
    const cfg = await readCachedConfig(e.cacheDir, e.net, key);
    expect(cfg?.config).toBe(confText);
    expect(cfg?.cniArgs).toEqual([
      ["IgnoreUnknown", "1"],
      ["FOO", "bar"],
    ]);
    expect(cfg?.capabilityArgs).toEqual(capArgs(macB));

    // both attachments share the bridge
    ping(a, ipOf(resB).split("/")[0] as string);
    ping(b, ipOf(resA).split("/")[0] as string);

    // cnikit derives the same ID for the same relative argument and $PWD: it checks and deletes B
    ok(ck(e, ["check", e.net, `netns/${b.name}`], { PWD: "/var/run" }, "/var/run"), "cnikit check (relative netns)");
    ok(ck(e, ["del", e.net, `netns/${b.name}`], { PWD: "/var/run" }, "/var/run"), "cnikit del (relative netns)");
    expectDetached(e, b, resB);
    ok(go(e, ["del", e.net, a.path]), "golibcni del");
    expectDetached(e, a, resA);
  });

  it("GC from either side removes the attachments cached by the other", async () => {
    const e = setup();
    plugins(e, GO_BRIDGE_HL);
    const confText = writeConf(e);
    const [a, b, c] = [newNs(e), newNs(e), newNs(e)] as [Ns, Ns, Ns];
    const resA = JSON.parse(ok(ck(e, ["add", "--json", e.net, a.path]), "cnikit add A").stdout) as Json;
    const resB = JSON.parse(ok(go(e, ["add", e.net, b.path]), "golibcni add B").stdout) as Json;
    const resC = JSON.parse(ok(ck(e, ["add", "--json", e.net, c.path]), "cnikit add C").stdout) as Json;
    // an attachment of another network must survive both GCs
    const other = {
      network: `${e.net}x`,
      containerId: "other",
      ifName: "eth0",
      config: confText,
      netns: "",
      result: undefined,
    };
    await writeCachedResult(e.cacheDir, other);

    // cnikit gc keeping C: A (cnikit-cached) and B (golibcni-cached) go
    ok(ck(e, ["gc", e.net, "--valid", `${cnitoolContainerId(c.path)}/eth0`]), "cnikit gc");
    expectDetached(e, a, resA);
    // libcni 1.1.2 does not record the netns in its cache, so B's DEL runs without CNI_NETNS:
    // the lease and the cache entry go, the interface stays until its netns is deleted.
    expect(leases(e)[ipOf(resB).split("/")[0] as string]).toBeUndefined();
    expect(existsSync(cacheFile(e, cnitoolContainerId(b.path)))).toBe(false);
    expectAttached(e, c, resC);

    // golibcni gc keeping nothing: C (cnikit-cached, netns recorded) goes entirely
    ok(go(e, ["gc", e.net]), "golibcni gc");
    expectDetached(e, c, resC);
    expect(existsSync(join(e.cacheDir, "results", `${other.network}-other-eth0`))).toBe(true);
  });

  it("legacy .conf at 0.4.0 with CNI_ARGS IP= and CNI_IFNAME: either side adds, the other checks and deletes", () => {
    const e = setup();
    plugins(e, GO_BRIDGE_HL);
    const conf = { cniVersion: "0.4.0", name: e.net, ...bridgePlugin(e) };
    writeFileSync(join(e.confDir, `20-${e.net}.conf`), JSON.stringify(conf));
    const [a, b] = [newNs(e), newNs(e)] as [Ns, Ns];
    const env = (last: number) => ({ CNI_ARGS: `IgnoreUnknown=1;IP=${e.prefix}.${last}`, CNI_IFNAME: "net1" });
    const resA = JSON.parse(ok(ck(e, ["add", "--json", e.net, a.path], env(50)), "cnikit add").stdout) as Json;
    const resB = JSON.parse(ok(go(e, ["add", e.net, b.path], env(60)), "golibcni add").stdout) as Json;
    for (const [ns, res, last] of [
      [a, resA, 50],
      [b, resB, 60],
    ] as const) {
      expect(res.cniVersion).toBe("0.4.0");
      expect(ipOf(res)).toBe(`${e.prefix}.${last}/24`);
      expect(nsAddresses(ns, "net1")).toEqual([ipOf(res)]);
      expect(existsSync(cacheFile(e, cnitoolContainerId(ns.path), "net1"))).toBe(true);
    }
    const goView = JSON.parse(
      ok(go(e, ["cached", "-ifname", "net1", e.net, a.path]), "golibcni cached").stdout,
    ) as Json;
    expect(norm(goView.result)).toEqual(norm(resA));
    // the list both build from a legacy .conf is cached byte for byte alike
    const goViewB = JSON.parse(
      ok(go(e, ["cached", "-ifname", "net1", e.net, b.path]), "golibcni cached").stdout,
    ) as Json;
    expect(goView.config).toBe(goViewB.config);
    ok(go(e, ["check", e.net, a.path], env(50)), "golibcni check");
    ok(ck(e, ["check", "-i", "net1", e.net, b.path], { CNI_ARGS: env(60).CNI_ARGS }), "cnikit check");
    ok(go(e, ["del", e.net, a.path], env(50)), "golibcni del");
    ok(ck(e, ["del", e.net, b.path], env(60)), "cnikit del");
    for (const ns of [a, b]) {
      expect(nsAddresses(ns, "net1")).toBeUndefined();
      expect(existsSync(cacheFile(e, cnitoolContainerId(ns.path), "net1"))).toBe(false);
    }
    expect(leases(e)).toEqual({});
  });

  it("the config's cniVersion changes between ADD and CHECK/DEL: cached results are converted alike", async () => {
    const e = setup();
    plugins(e, GO_BRIDGE_HL);
    writeConf(e, [], "1.0.0");
    const [a, b] = [newNs(e), newNs(e)] as [Ns, Ns];
    const resA = JSON.parse(ok(ck(e, ["add", "--json", e.net, a.path]), "cnikit add").stdout) as Json;
    const resB = JSON.parse(ok(go(e, ["add", e.net, b.path]), "golibcni add").stdout) as Json;
    writeConf(e, [], "0.4.0");
    // libcni and cnikit convert both 1.0.0 caches to 0.4.0 identically
    for (const ns of [a, b]) {
      const goView = JSON.parse(ok(go(e, ["cached", e.net, ns.path]), "golibcni cached").stdout) as Json;
      expect((goView.result as Json).cniVersion).toBe("0.4.0");
      const ours = await readCachedResult(e.cacheDir, e.net, "0.4.0", {
        containerId: cnitoolContainerId(ns.path),
        ifName: "eth0",
      });
      expect(norm(ours)).toEqual(norm(goView.result));
    }
    ok(go(e, ["check", e.net, a.path]), "golibcni check (0.4.0 over a 1.0.0 cache by cnikit)");
    ok(ck(e, ["check", e.net, b.path]), "cnikit check (0.4.0 over a 1.0.0 cache by golibcni)");
    ok(go(e, ["del", e.net, a.path]), "golibcni del");
    ok(ck(e, ["del", e.net, b.path]), "cnikit del");
    expectDetached(e, a, resA);
    expectDetached(e, b, resB);
  });

  it("STATUS: both succeed without running plugins below cniVersion 1.1.0", () => {
    const e = setup();
    plugins(e, GO_BRIDGE_HL);
    writeConf(e);
    ok(go(e, ["status", e.net]), "golibcni status");
    ok(ck(e, ["status", e.net]), "cnikit status");
  });
});

describe("our example plugins under Go libcni (golibcni)", () => {
  it("examples/host-local under the Go bridge: golibcni ADD/CHECK/DEL, cnikit CHECK", () => {
    const e = setup();
    plugins(e, { bridge: join(GO_DIR, "bridge"), "host-local": EX_HOST_LOCAL });
    writeConf(e);
    const ns = newNs(e);
    const result = JSON.parse(ok(go(e, ["add", e.net, ns.path]), "golibcni add").stdout) as Json;
    expectAttached(e, ns, result);
    ok(go(e, ["check", e.net, ns.path]), "golibcni check");
    ok(ck(e, ["check", e.net, ns.path]), "cnikit check");
    ok(go(e, ["del", e.net, ns.path]), "golibcni del");
    expectDetached(e, ns, result);
  });

  it("examples/bridge + examples/host-local: golibcni ADD/CHECK/DEL, and mixed with cnikit", () => {
    const e = setupWithExamples();
    writeConf(e);
    const [a, b] = [newNs(e), newNs(e)] as [Ns, Ns];
    const resA = JSON.parse(ok(go(e, ["add", e.net, a.path]), "golibcni add").stdout) as Json;
    expect(resA.cniVersion).toBe("1.0.0");
    expectAttached(e, a, resA);
    ok(go(e, ["check", e.net, a.path]), "golibcni check");
    ok(ck(e, ["check", e.net, a.path]), "cnikit check");
    const resB = JSON.parse(ok(ck(e, ["add", "--json", e.net, b.path]), "cnikit add").stdout) as Json;
    expectAttached(e, b, resB);
    ok(go(e, ["check", e.net, b.path]), "golibcni check (cnikit's attachment)");
    ping(a, ipOf(resB).split("/")[0] as string);
    ok(go(e, ["del", e.net, b.path]), "golibcni del (cnikit's attachment)");
    expectDetached(e, b, resB);
    ok(ck(e, ["del", e.net, a.path]), "cnikit del (golibcni's attachment)");
    expectDetached(e, a, resA);
  });

  it("cniVersion 1.1.0 with the examples: golibcni sends GC with the valid attachments and STATUS through libcni's invoke", () => {
    const e = setupWithExamples();
    writeConf(e, [], "1.1.0");
    const [a, b] = [newNs(e), newNs(e)] as [Ns, Ns];
    const resA = JSON.parse(ok(ck(e, ["add", "--json", e.net, a.path]), "cnikit add A").stdout) as Json;
    const resB = JSON.parse(ok(ck(e, ["add", "--json", e.net, b.path]), "cnikit add B").stdout) as Json;
    expect(resA.cniVersion).toBe("1.1.0");
    // a lease nobody caches: only the plugins' own GC can find it
    const ghost = `${e.prefix}.200`;
    writeFileSync(join(e.dataDir, e.net, ghost), "ghost\r\neth0");
    ok(go(e, ["status", e.net]), "golibcni status (1.1.0)");
    ok(ck(e, ["status", e.net]), "cnikit status (1.1.0)");
    // libcni 1.1.2 cannot read 1.1.0 results (so it could not DEL a stale 1.1.0 attachment):
    // keep both cached attachments and let the plugins' GC (sent through libcni's invoke) work
    const valid = [a, b].flatMap((ns) => ["-valid", `${cnitoolContainerId(ns.path)}/eth0`]);
    ok(go(e, ["gc", e.net, ...valid]), "golibcni gc");
    expect(leases(e)[ghost], "host-local GC did not release the unknown lease").toBeUndefined();
    expectAttached(e, a, resA);
    expectAttached(e, b, resB);
    ok(ck(e, ["gc", e.net, "--valid", `${cnitoolContainerId(b.path)}/eth0`]), "cnikit gc keeping B");
    expectDetached(e, a, resA);
    expectAttached(e, b, resB);
    ok(ck(e, ["gc", e.net]), "cnikit gc");
    expectDetached(e, b, resB);
    expect(leases(e)).toEqual({});
  });
});
