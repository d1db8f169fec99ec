import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cnitoolContainerId, runCli } from "../src/index.js";
import { buildFixture } from "../../../tools/build-fixture.js";
import { bundleCli } from "../../../tools/bundle-cli.js";
import { GO_PLUGINS, lastStdin, linkNoop, readDebug, writeDebug } from "./helpers.js";

let cli: string;
let cliDir: string;
beforeAll(async () => {
  await buildFixture("examples/noop");
  cliDir = mkdtempSync(join(tmpdir(), "cnikit-cli-"));
  cli = await bundleCli(cliDir);
}, 120_000);
afterAll(() => rmSync(cliDir, { recursive: true, force: true }));

interface Env {
  dir: string;
  bin: string;
  confDir: string;
  cacheDir: string;
  dataDir: string;
  ns: string;
  nsPath: string;
  net: string;
  bridge: string;
  subnetPrefix: string;
}

function hex(n: number): string {
  return randomBytes(n).toString("hex");
}

function setup(): Env {
  const dir = mkdtempSync(join(tmpdir(), "cnikit-cli-"));
  const bin = join(dir, "bin");
  const confDir = join(dir, "net.d");
  mkdirSync(bin);
  mkdirSync(confDir);
  linkNoop(bin, "noop");
  const id = hex(4);
  const ns = `ck${id}`;
  execFileSync("ip", ["netns", "add", ns]);
  return {
    dir,
    bin,
    confDir,
    cacheDir: join(dir, "cache"),
    dataDir: join(dir, "ipam"),
    ns,
    nsPath: `/var/run/netns/${ns}`,
    net: `cknet${id}`,
    bridge: `ckbr${hex(3)}`,
    subnetPrefix: `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}`,
  };
}

function teardown(e: Env | undefined): void {
  if (!e) return;
  spawnSync("ip", ["netns", "del", e.ns]);
  spawnSync("ip", ["link", "del", e.bridge]);
  rmSync(e.dir, { recursive: true, force: true });
}

function cnikit(e: Env, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      NETCONFPATH: e.confDir,
      CNI_PATH: `${GO_PLUGINS}:${e.bin}`,
      ...env,
    },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function inNs(e: Env, ...cmd: string[]) {
  return spawnSync("ip", ["netns", "exec", e.ns, ...cmd], { encoding: "utf8" });
}

function bridgeList(e: Env, debugFile: string): string {
  const text = JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: e.net,
      plugins: [
        {
          type: "bridge",
          bridge: e.bridge,
          isGateway: true,
          ipMasq: false,
          ipam: {
            type: "host-local",
            dataDir: e.dataDir,
            ranges: [[{ subnet: `${e.subnetPrefix}.0/24` }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "tuning", mtu: 1300, dataDir: join(e.dir, "tuning") },
        { type: "noop", debugFile },
      ],
    },
    null,
    2,
  );
  writeFileSync(join(e.confDir, "10-net.conflist"), text);
  return text;
}

describe("cnitool-compatible container IDs", () => {
  it("is cnitool- + hex of the first 10 bytes of sha512(abs netns path)", () => {
    const sum = execFileSync("sh", ["-c", "printf %s /var/run/netns/blue | sha512sum"], { encoding: "utf8" }).slice(
      0,
      20,
    );
    expect(cnitoolContainerId("/var/run/netns/blue")).toBe(`cnitool-${sum}`);
    expect(cnitoolContainerId("/var/run/netns/../netns/blue")).toBe(`cnitool-${sum}`);
  });
});

describe("cnikit CLI with the Go bridge + host-local + tuning and noop in a real netns", () => {
  let e: Env | undefined;
  beforeEach(() => {
    e = setup();
  });
  afterEach(() => {
    teardown(e);
    e = undefined;
  });

  it("add gives a working interface; check passes; del cleans up; del twice succeeds", () => {
    const env = e as Env;
    const dbg = join(env.dir, "noop.json");
    writeDebug(dbg, { reportResult: "INJECT-DNS" });
    const confText = bridgeList(env, dbg);

    const add = cnikit(env, ["add", env.net, env.nsPath, "--cache-dir", env.cacheDir]);
    expect(add.stderr).toBe("");
    expect(add.code).toBe(0);
    expect(add.stdout.startsWith('{\n    "cniVersion": "1.0.0"')).toBe(true);
    const result = JSON.parse(add.stdout);
    const gw = `${env.subnetPrefix}.1`;
    expect(result.ips[0]).toMatchObject({ gateway: gw });
    const ip = (result.ips[0].address as string).split("/")[0] as string;
    expect(ip.startsWith(`${env.subnetPrefix}.`)).toBe(true);
    expect(result.dns).toEqual({ nameservers: ["1.2.3.4"] }); // the noop at the end saw tuning's prevResult
    const names = (result.interfaces as { name: string; sandbox?: string }[]).map((i) => i.name);
    expect(names[0]).toBe(env.bridge);
    expect(result.interfaces[2]).toMatchObject({ name: "eth0", sandbox: env.nsPath });
    const hostVeth = names[1] as string;

    // prevResult went down the chain: the noop got tuning's result
    expect(lastStdin(dbg).prevResult).toMatchObject({ ips: result.ips });

    // the interface works
    expect(inNs(env, "cat", "/sys/class/net/eth0/mtu").stdout.trim()).toBe("1300");
    const ping = inNs(env, "ping", "-c", "1", "-W", "3", gw);
    expect(ping.status, ping.stdout + ping.stderr).toBe(0);

    // lease + cache in libcni's format
    const cid = cnitoolContainerId(env.nsPath);
    expect(readFileSync(join(env.dataDir, env.net, ip), "utf8")).toBe(`${cid}\r\neth0`);
    const cacheFile = join(env.cacheDir, "results", `${env.net}-${cid}-eth0`);
    expect(statSync(cacheFile).mode & 0o777).toBe(0o600);
    const cached = JSON.parse(readFileSync(cacheFile, "utf8"));
    expect(cached).toMatchObject({
      kind: "cniCacheV1",
      containerId: cid,
      ifName: "eth0",
      networkName: env.net,
      netns: env.nsPath,
    });
    expect(Buffer.from(cached.config, "base64").toString("utf8")).toBe(confText);
    expect(cached.result).toEqual(result);

    const check = cnikit(env, ["check", env.net, env.nsPath, "--cache-dir", env.cacheDir]);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    expect(readDebug(dbg).command).toBe("CHECK");

    const del = cnikit(env, ["del", env.net, env.nsPath, "--cache-dir", env.cacheDir]);
    expect(del.stderr).toBe("");
    expect(del.code).toBe(0);
    expect(inNs(env, "ip", "link", "show", "eth0").status).not.toBe(0);
    expect(spawnSync("ip", ["link", "show", hostVeth]).status).not.toBe(0);
    expect(existsSync(join(env.dataDir, env.net, ip))).toBe(false);
    expect(existsSync(cacheFile)).toBe(false);

    const del2 = cnikit(env, ["del", env.net, env.nsPath, "--cache-dir", env.cacheDir]);
    expect(del2.stderr).toBe("");
    expect(del2.code).toBe(0);
  });

  it("gc deletes stale attachments and keeps the valid ones", () => {
    const env = e as Env;
    const dbg = join(env.dir, "noop.json");
    writeDebug(dbg, {});
    bridgeList(env, dbg);
    const cid = cnitoolContainerId(env.nsPath);
    const ips: string[] = [];
    for (const ifName of ["eth0", "eth1"]) {
      const r = cnikit(env, ["add", env.net, env.nsPath, "--cache-dir", env.cacheDir, "-i", ifName]);
      expect(r.code, r.stderr).toBe(0);
      ips.push((JSON.parse(r.stdout).ips[0].address as string).split("/")[0] as string);
    }
    const gc = cnikit(env, ["gc", env.net, env.nsPath, "--cache-dir", env.cacheDir, "--valid", `${cid}/eth0`]);
    expect(gc.code, gc.stderr).toBe(0);
    expect(inNs(env, "ip", "link", "show", "eth1").status).not.toBe(0);
    expect(inNs(env, "ip", "link", "show", "eth0").status).toBe(0);
    expect(existsSync(join(env.dataDir, env.net, ips[1] as string))).toBe(false);
    expect(existsSync(join(env.dataDir, env.net, ips[0] as string))).toBe(true);
    expect(existsSync(join(env.cacheDir, "results", `${env.net}-${cid}-eth1`))).toBe(false);
    expect(existsSync(join(env.cacheDir, "results", `${env.net}-${cid}-eth0`))).toBe(true);
    const ping = inNs(env, "ping", "-c", "1", "-W", "3", `${env.subnetPrefix}.1`);
    expect(ping.status, ping.stdout + ping.stderr).toBe(0);

    // cnitool's gc (no valid list, netns optional) removes everything of this network
    const gcAll = cnikit(env, ["gc", env.net, "--cache-dir", env.cacheDir]);
    expect(gcAll.code, gcAll.stderr).toBe(0);
    expect(inNs(env, "ip", "link", "show", "eth0").status).not.toBe(0);
    expect(existsSync(join(env.dataDir, env.net, ips[0] as string))).toBe(false);
  });
});

describe("cnikit CLI with noop chains", () => {
  let e: Env | undefined;
  beforeEach(() => {
    e = setup();
  });
  afterEach(() => {
    teardown(e);
    e = undefined;
  });

  function noopList(env: Env, dbg: string, extra: Record<string, unknown> = {}): string {
    const file = join(env.confDir, "20-noop.conflist");
    writeFileSync(
      file,
      JSON.stringify({
        cniVersion: "1.0.0",
        name: env.net,
        plugins: [{ type: "noop", debugFile: dbg, capabilities: { portMappings: true } }],
        ...extra,
      }),
    );
    return file;
  }

  it("passes CNI_ARGS, CAP_ARGS, CNI_IFNAME and --container-id; --conflist works without NETCONFPATH", () => {
    const env = e as Env;
    const dbg = join(env.dir, "noop.json");
    writeDebug(dbg, { reportResult: '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}]}' });
    const file = noopList(env, dbg);
    const r = cnikit(
      env,
      ["add", "--conflist", file, env.nsPath, "--cache-dir", env.cacheDir, "--container-id", "myctr"],
      {
        NETCONFPATH: "/nonexistent",
        CNI_ARGS: "FOO=bar;IgnoreUnknown=1",
        CAP_ARGS: '{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"mac":"x"}',
        CNI_IFNAME: "net7",
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] });
    const rec = readDebug(dbg);
    expect(rec.cmdArgs).toMatchObject({
      containerId: "myctr",
      ifName: "net7",
      args: "FOO=bar;IgnoreUnknown=1",
      netns: env.nsPath,
    });
    expect(lastStdin(dbg).runtimeConfig).toEqual({
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }],
    });
    expect(existsSync(join(env.cacheDir, "results", `${env.net}-myctr-net7`))).toBe(true);
    const del = cnikit(env, [
      "del",
      env.net,
      env.nsPath,
      "--conflist",
      file,
      "--cache-dir",
      env.cacheDir,
      "--container-id",
      "myctr",
      "-i",
      "net7",
    ]);
    expect(del.code, del.stderr).toBe(0);
    expect(existsSync(join(env.cacheDir, "results", `${env.net}-myctr-net7`))).toBe(false);
  });

  it("prints CNI errors with code and exits 1", () => {
    const env = e as Env;
    const dbg = join(env.dir, "noop.json");
    writeDebug(dbg, { reportError: "no more addresses", reportErrorCode: 11 });
    noopList(env, dbg);
    const r = cnikit(env, ["add", env.net, env.nsPath, "--cache-dir", env.cacheDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('cnikit add: plugin type="noop" failed (add): no more addresses');
    expect(r.stderr).toContain("CNI error code 11 (TryAgainLater)");

    const missing = cnikit(env, ["add", "nonet", env.nsPath]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no net configuration with name "nonet" in ${env.confDir}`);

    const badArgs = cnikit(env, ["add", env.net, env.nsPath], { CNI_ARGS: "FOO" });
    expect(badArgs.code).toBe(1);
    expect(badArgs.stderr).toContain('invalid CNI_ARGS pair "FOO"');

    const usage = cnikit(env, ["add", env.net]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("network name and namespace are required");
    expect(cnikit(env, ["frobnicate"]).code).toBe(2);
    const help = cnikit(env, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: cnikit <command>");
  });

  it("status: success without exec before 1.1.0, the plugin's code from 1.1.0", () => {
    const env = e as Env;
    const dbg = join(env.dir, "noop.json");
    writeDebug(dbg, { reportError: "not ready", reportErrorCode: 50 });
    noopList(env, dbg);
    expect(cnikit(env, ["status", env.net]).code).toBe(0);
    noopList(env, dbg, { cniVersion: "1.1.0" });
    const r = cnikit(env, ["status", env.net, env.nsPath]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cnikit status: not ready");
    expect(r.stderr).toContain("CNI error code 50 (PluginNotAvailable)");
  });

  it("checks and deletes an attachment from a cache file written by Go libcni", () => {
    const env = e as Env;
    const dbg = join(env.dir, "noop.json");
    writeDebug(dbg, {});
    const file = noopList(env, dbg);
    const cid = cnitoolContainerId(env.nsPath);
    mkdirSync(join(env.cacheDir, "results"), { recursive: true, mode: 0o700 });
    const goCache =
      `{"kind":"cniCacheV1","containerId":"${cid}","config":"${readFileSync(file).toString("base64")}","ifName":"eth0",` +
      `"networkName":"${env.net}","netns":"${env.nsPath}","result":{"cniVersion":"1.0.0","dns":{},"ips":[{"address":"10.9.9.9/24"}]}}`;
    const cacheFile = join(env.cacheDir, "results", `${env.net}-${cid}-eth0`);
    writeFileSync(cacheFile, goCache, { mode: 0o600 });
    const check = cnikit(env, ["check", env.net, env.nsPath, "--cache-dir", env.cacheDir]);
    expect(check.code, check.stderr).toBe(0);
    expect(lastStdin(dbg).prevResult).toEqual({ cniVersion: "1.0.0", ips: [{ address: "10.9.9.9/24" }] });
    const del = cnikit(env, ["del", env.net, env.nsPath, "--cache-dir", env.cacheDir]);
    expect(del.code, del.stderr).toBe(0);
    expect(readDebug(dbg).command).toBe("DEL");
    expect(lastStdin(dbg).prevResult).toEqual({ cniVersion: "1.0.0", ips: [{ address: "10.9.9.9/24" }] });
    expect(existsSync(cacheFile)).toBe(false);
  });
});

describe("runCli output on a terminal", () => {
  it("prints a readable summary on a TTY, JSON with --json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cnikit-tty-"));
    try {
      mkdirSync(join(dir, "bin"));
      linkNoop(join(dir, "bin"), "noop");
      const dbg = join(dir, "noop.json");
      const result = {
        cniVersion: "1.0.0",
        interfaces: [
          { name: "cni0", mac: "0a:58:0a:00:00:01" },
          { name: "eth0", mac: "0a:58:0a:00:00:02", sandbox: "/var/run/netns/x" },
        ],
        ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 1 }],
        routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }],
        dns: { nameservers: ["10.0.0.53"], search: ["example.org"] },
      };
      writeDebug(dbg, { reportResult: JSON.stringify(result) });
      const conf = join(dir, "n.conflist");
      writeFileSync(
        conf,
        JSON.stringify({ cniVersion: "1.0.0", name: "ttynet", plugins: [{ type: "noop", debugFile: dbg }] }),
      );
      const run = async (extra: string[]) => {
        let out = "";
        let err = "";
        const code = await runCli(
          ["add", "--conflist", conf, "/var/run/netns/x", "--cache-dir", join(dir, "cache"), ...extra],
          {
            env: { CNI_PATH: join(dir, "bin") },
            stdout: { write: (s: string) => (out += s), isTTY: true },
            stderr: { write: (s: string | Uint8Array) => (err += String(s)) },
          },
        );
        return { code, out, err };
      };
      const tty = await run([]);
      expect(tty.code, tty.err).toBe(0);
      expect(tty.out).toContain("eth0");
      expect(tty.out).toMatch(/10\.0\.0\.2\/24\s+gateway 10\.0\.0\.1\s+on eth0/);
      expect(tty.out).toMatch(/0\.0\.0\.0\/0\s+via 10\.0\.0\.1/);
      expect(tty.out).toContain("nameservers 10.0.0.53");
      const json = await run(["--json"]);
      expect(JSON.parse(json.out)).toEqual(result);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("parses every command's flags one way: aliases, --flag=value, empty values and values on booleans refused", async () => {
    const run = async (argv: string[]) => {
      let err = "";
      const code = await runCli(argv, {
        env: {},
        stdout: { write: () => true },
        stderr: {
          write: (s: string | Uint8Array) => {
            err += String(s);
            return true;
          },
        },
      });
      return { code, err };
    };
    for (const [argv, msg] of [
      [["add", "net", "/var/run/netns/x", "--ifname="], "flag needs an argument: --ifname"],
      [["add", "net", "/var/run/netns/x", "-i"], "flag needs an argument: --ifname"],
      [["add", "net", "/var/run/netns/x", "--json=yes"], "flag takes no value: --json"],
      [["add", "net", "/var/run/netns/x", "--bogus"], "unknown flag: --bogus"],
      [["gc", "net", "--valid", "noslash"], '--valid wants CONTAINERID/IFNAME, got "noslash"'],
      [["frobnicate"], 'unknown command "frobnicate"'],
    ] as const) {
      const r = await run([...argv]);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err).toContain(msg);
    }
    // the same messages from the install command's parser, which is the same function
    const install = await run(["install", "--bin-dir="]);
    expect(install.code).toBe(2);
    expect(install.err).toContain("flag needs an argument: --bin-dir");
  });
});
