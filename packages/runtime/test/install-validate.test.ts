import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";
import { bundleCli } from "../../../tools/bundle-cli.js";
import { GO_PLUGINS, ROOT } from "./helpers.js";

const NOOP_DIST = join(ROOT, "examples/noop/dist");
const BRIDGE_DIST = join(ROOT, "examples/bridge/dist");
const BRIDGE_AGENT_DIST = join(ROOT, "examples/bridge/dist/agent");
const HOST_LOCAL_DIST = join(ROOT, "examples/host-local/dist");

let cli: string;
let cliDir: string;
beforeAll(async () => {
  await buildFixture("examples/noop");
  await buildFixture("examples/bridge");
  await buildFixture("examples/bridge", "build:agent");
  await buildFixture("examples/host-local");
  cliDir = mkdtempSync(join(tmpdir(), "cnikit-cli-bundle-"));
  cli = await bundleCli(cliDir);
}, 300_000);
afterAll(() => {
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cnikit-install-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function cnikit(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function version(plugin: string): { cniVersion: string; supportedVersions: string[] } {
  const r = spawnSync(plugin, [], {
    input: '{"cniVersion":"1.1.0"}',
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CNI_COMMAND: "VERSION" },
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function manifest(d: string): Record<string, { sha256: string }> {
  return JSON.parse(readFileSync(join(d, ".cnikit-installed"), "utf8")).files;
}

function leftoverTemps(d: string): string[] {
  return readdirSync(d, { recursive: true })
    .map(String)
    .filter((n) => n.includes("cnikit-tmp"));
}

describe("cnikit install", () => {
  it("copies the executable with its addon and code cache, records them, and the installed plugin runs", () => {
    const bin = join(dir, "bin");
    const r = cnikit(["install", BRIDGE_DIST, "--bin-dir", bin]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const installed = readdirSync(bin).sort();
    expect(installed).toEqual([".cnikit-installed", "bridge", "bridge.v8cache", "koffi.node"]);
    expect(statSync(join(bin, "bridge")).mode & 0o777).toBe(0o755);
    expect(Object.keys(manifest(bin)).sort()).toEqual(["bridge", "bridge.v8cache", "koffi.node"]);
    // the executable comes last: a runtime never finds it without its companions
    const lines = r.stdout.trim().split("\n");
    expect(lines.at(-1)).toMatch(/^installed .*\/bin\/bridge \(from /);
    expect(version(join(bin, "bridge")).supportedVersions).toContain("1.1.0");
    expect(leftoverTemps(bin)).toEqual([]);

    const again = cnikit(["install", BRIDGE_DIST, "--bin-dir", bin]);
    expect(again.code).toBe(0);
    expect(
      again.stdout
        .trim()
        .split("\n")
        .every((l) => l.startsWith("unchanged ")),
    ).toBe(true);
  });

  it("replaces by rename: a plugin that is running keeps its old file", () => {
    const bin = join(dir, "bin");
    const src = join(dir, "dist");
    mkdirSync(src);
    writeFileSync(join(src, "toy"), "#!/bin/sh\necho old\n", { mode: 0o755 });
    expect(cnikit(["install", src, "--bin-dir", bin]).code).toBe(0);
    const before = statSync(join(bin, "toy")).ino;
    const running = openSync(join(bin, "toy"), "r"); // what an exec'd plugin holds
    try {
      writeFileSync(join(src, "toy"), "#!/bin/sh\necho new\n", { mode: 0o755 });
      const r = cnikit(["install", src, "--bin-dir", bin]);
      expect(r.code, r.stderr).toBe(0);
      expect(statSync(join(bin, "toy")).ino).not.toBe(before);
      expect(readFileSync(join(bin, "toy"), "utf8")).toContain("echo new");
      const buf = Buffer.alloc(64);
      const n = readSync(running, buf, 0, 64, 0);
      expect(buf.subarray(0, n).toString()).toContain("echo old");
    } finally {
      closeSync(running);
    }
  });

  it("refuses to replace a file it did not install, writing nothing, unless --force", () => {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "bridge"), "#!/bin/sh\necho someone else's\n", { mode: 0o755 });
    const r = cnikit(["install", BRIDGE_DIST, "--bin-dir", bin]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refusing to replace files cnikit did not install");
    expect(r.stderr).toContain(`${bin}/bridge (not installed by cnikit)`);
    expect(readdirSync(bin)).toEqual(["bridge"]); // not even the addon was written
    expect(readFileSync(join(bin, "bridge"), "utf8")).toContain("someone else's");

    const forced = cnikit(["install", BRIDGE_DIST, "--bin-dir", bin, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(version(join(bin, "bridge")).supportedVersions).toContain("1.1.0");
    expect(manifest(bin).bridge).toBeDefined();
  });

  it("refuses to replace a file that changed since it installed it", () => {
    const bin = join(dir, "bin");
    expect(cnikit(["install", BRIDGE_DIST, "--bin-dir", bin]).code).toBe(0);
    writeFileSync(join(bin, "koffi.node"), "patched by hand");
    const r = cnikit(["install", BRIDGE_DIST, "--bin-dir", bin]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bin}/koffi.node (changed since cnikit installed it)`);
    expect(readFileSync(join(bin, "koffi.node"), "utf8")).toBe("patched by hand");
  });

  it("installs the conflist after the plugins; a broken conflist names file:line:column and nothing is written", () => {
    const bin = join(dir, "bin");
    const confDir = join(dir, "net.d");
    const good = join(dir, "10-test.conflist");
    writeFileSync(good, JSON.stringify({ cniVersion: "1.1.0", name: "insttest", plugins: [{ type: "noop" }] }));
    const r = cnikit(["install", NOOP_DIST, "--bin-dir", bin, "--conf-dir", confDir, "--conflist", good]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^installed .*\/net\.d\/10-test\.conflist/);
    expect(readdirSync(confDir).sort()).toEqual([".cnikit-installed", "10-test.conflist"]);
    expect(JSON.parse(readFileSync(join(confDir, "10-test.conflist"), "utf8")).name).toBe("insttest");

    const bad = join(dir, "20-bad.conflist");
    writeFileSync(bad, '{\n  "cniVersion": "1.1.0",\n  "name": "bad"\n  "plugins": []\n}\n');
    const bin2 = join(dir, "bin2");
    const b = cnikit(["install", NOOP_DIST, "--bin-dir", bin2, "--conf-dir", confDir, "--conflist", bad]);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(`${bad}:4:3: unexpected "\\"", expected ',' or '}'`);
    expect(existsSync(bin2)).toBe(false);
    expect(existsSync(join(confDir, "20-bad.conflist"))).toBe(false);
  });

  it("installs an agent build: shim, sidecar pointing at the installed fallback, and the daemon module", () => {
    const bin = join(dir, "bin");
    const r = cnikit(["install", BRIDGE_AGENT_DIST, "--bin-dir", bin]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(bin).sort()).toEqual([".cnikit-installed", "bridge", "bridge.agent.json", "bridge.cnikit"]);
    expect(readdirSync(join(bin, "bridge.cnikit")).sort()).toEqual([
      "bridge",
      "bridge.plugin.cjs",
      "bridge.v8cache",
      "koffi.node",
    ]);
    const sidecar = JSON.parse(readFileSync(join(bin, "bridge.agent.json"), "utf8"));
    expect(sidecar.fallback).toBe("bridge.cnikit/bridge");
    // point the shim at a socket nobody serves: it execs the installed fallback
    sidecar.socket = join(dir, "nobody.sock");
    writeFileSync(join(bin, "bridge.agent.json"), JSON.stringify(sidecar));
    expect(version(join(bin, "bridge")).supportedVersions).toContain("1.1.0");
  });

  it("rejects a directory that is not a build output, and usage errors exit 2", () => {
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const r = cnikit(["install", empty, "--bin-dir", join(dir, "bin")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no files to install/);
    const u = cnikit(["install", "--bin-dir"]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain("flag needs an argument: --bin-dir");
  });
});

describe("cnikit install, two at once", () => {
  function cnikitAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolvePromise) => {
      const child = spawn(process.execPath, [cli, ...args], {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolvePromise({ code, stdout, stderr }));
    });
  }

  it("run one after the other: both plugins end up in the record, no lock or temp file is left", async () => {
    const bin = join(dir, "bin");
    for (let i = 0; i < 3; i++) {
      const [a, b] = await Promise.all([
        cnikitAsync(["install", NOOP_DIST, "--bin-dir", bin]),
        cnikitAsync(["install", HOST_LOCAL_DIST, "--bin-dir", bin]),
      ]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
    }
    const files = Object.keys(manifest(bin));
    expect(files).toContain("noop");
    expect(files).toContain("host-local");
    expect(existsSync(join(bin, ".cnikit-installed.lock"))).toBe(false);
    expect(leftoverTemps(bin)).toEqual([]);
  });

  it("waits while a running install holds the directory, and takes over a lock whose process is gone", async () => {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const lock = join(bin, ".cnikit-installed.lock");
    // a lock held by a process that runs: the install waits for it
    const holder = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      writeFileSync(lock, `${holder.pid}\n`);
      const waiting = cnikitAsync(["install", NOOP_DIST, "--bin-dir", bin]);
      await new Promise((r) => setTimeout(r, 1500));
      expect(existsSync(join(bin, "noop"))).toBe(false);
      rmSync(lock); // the holder is done
      const r = await waiting;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`waiting for another install into ${bin} (pid ${holder.pid})`);
      expect(existsSync(join(bin, "noop"))).toBe(true);
    } finally {
      holder.kill("SIGKILL");
    }
    // a lock left by a process that is gone: taken over at once
    const gone = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim();
    writeFileSync(lock, `${gone}\n`);
    const r = cnikit(["install", HOST_LOCAL_DIST, "--bin-dir", bin]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("waiting");
    expect(existsSync(lock)).toBe(false);
  });
});

describe("cnikit validate", () => {
  function writeList(name: string, list: unknown): string {
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify(list, null, 2));
    return f;
  }

  it("passes a 1.0.0 list of Go plugins and cnikit's, asking each plugin with VERSION", () => {
    const bin = join(dir, "bin");
    expect(cnikit(["install", NOOP_DIST, "--bin-dir", bin]).code).toBe(0);
    const f = writeList("ok.conflist", {
      cniVersion: "1.0.0",
      name: "valnet",
      plugins: [
        { type: "bridge", ipam: { type: "host-local", subnet: "10.1.0.0/24" } },
        { type: "tuning" },
        { type: "noop" },
      ],
    });
    const r = cnikit(["validate", f, "--bin-dir", `${bin}:${GO_PLUGINS}`]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`ok   plugins[0] bridge (${GO_PLUGINS}/bridge): supports 1.0.0`);
    expect(r.stdout).toContain(`ok   plugins[0].ipam host-local (${GO_PLUGINS}/host-local)`);
    expect(r.stdout).toContain(`ok   plugins[2] noop (${bin}/noop)`);
  });

  it("names the plugin that supports at most 1.0.0 in a 1.1.0 list (Go host-local behind cnikit's bridge)", () => {
    const bin = join(dir, "bin");
    expect(cnikit(["install", BRIDGE_DIST, "--bin-dir", bin]).code).toBe(0);
    const f = writeList("new.conflist", {
      cniVersion: "1.1.0",
      name: "valnet",
      plugins: [{ type: "bridge", bridge: "cni-none", ipam: { type: "host-local", subnet: "10.1.0.0/24" } }],
    });
    // $CNI_PATH when no --bin-dir: our bridge first, Go's host-local from /usr/lib/cni
    const r = cnikit(["validate", f], { CNI_PATH: `${bin}:${GO_PLUGINS}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`ok   plugins[0] bridge (${bin}/bridge): supports 1.1.0`);
    expect(r.stdout).toContain(
      `FAIL plugins[0].ipam host-local (${GO_PLUGINS}/host-local) does not support cniVersion 1.1.0; it supports 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0`,
    );
    expect(r.stderr).toBe(`cnikit validate: ${f}: not usable with cniVersion 1.1.0: host-local\n`);

    // with cnikit's host-local installed too, the same list is usable
    expect(cnikit(["install", HOST_LOCAL_DIST, "--bin-dir", bin]).code).toBe(0);
    const ok = cnikit(["validate", f, "--bin-dir", bin, "--bin-dir", GO_PLUGINS]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`ok   plugins[0].ipam host-local (${bin}/host-local): supports 1.1.0`);
  });

  it("names a plugin that is not in the bin dirs", () => {
    const f = writeList("missing.conflist", {
      cniVersion: "1.0.0",
      name: "valnet",
      plugins: [{ type: "bridge" }, { type: "no-such-plugin" }],
    });
    const r = cnikit(["validate", f, "--bin-dir", GO_PLUGINS]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `FAIL plugins[1] no-such-plugin: failed to find plugin "no-such-plugin" in path [${GO_PLUGINS}]`,
    );
    expect(r.stderr).toContain("not usable with cniVersion 1.0.0: no-such-plugin");
  });

  it("a syntax error names file:line:column; a schema error names the field", () => {
    const f = join(dir, "broken.conflist");
    writeFileSync(f, '{\n  "cniVersion": "1.0.0",\n  "name": "x",\n  "plugins": [ { "type": "bridge", } ]\n}\n');
    const r = cnikit(["validate", f, "--bin-dir", GO_PLUGINS]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`cnikit validate: ${f}:4:36: unexpected "}", expected a double-quoted property name\n`);
    expect(r.stdout).toBe("");

    const s = writeList("schema.conflist", {
      cniVersion: "1.0.0",
      name: "x",
      plugins: [{ type: "bridge" }, { name: "no type" }],
    });
    const rs = cnikit(["validate", s, "--bin-dir", GO_PLUGINS]);
    expect(rs.code).toBe(1);
    expect(rs.stderr).toContain(`${s}: not a valid network configuration list:`);
    expect(rs.stderr).toContain("plugins[1].type:");

    const t = join(dir, "trunc.conflist");
    writeFileSync(t, '{"cniVersion": "1.0.0",\n "name": "x"');
    expect(cnikit(["validate", t]).stderr).toBe(
      `cnikit validate: ${t}:2:13: unexpected end of input, expected ',' or '}'\n`,
    );
  });

  it("needs a file; a missing one is a readable error", () => {
    expect(cnikit(["validate"]).code).toBe(2);
    const r = cnikit(["validate", join(dir, "nope.conflist")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*nope\.conflist: ENOENT/);
  });
});
