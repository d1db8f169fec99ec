/**
 * A real container runtime: a private containerd (its own root, state and sockets in a temp dir)
 * runs a busybox container with `ctr run --rootfs <dir> --cni`, attached by this bridge plugin and
 * cnikit's host-local, both put in place with `cnikit install` and checked with `cnikit validate`.
 * The container gets its address and pings the gateway; afterwards no container, task, snapshot,
 * lease, netns, veth, address lease or result cache entry is left.
 *
 * ctr's CNI (go-cni) reads the first config in lexical order from /etc/cni/net.d and plugins from
 * /opt/cni/bin, both hard-wired: the test adds a conflist that sorts first and two symlinks there,
 * under unique names, and removes them (and those directories, when it created them) afterwards.
 * Needs Debian's containerd, runc and busybox-static (scripts/quickstart.sh installs them).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { HOST_NETNS, listLinks, runCommand, runCommandOrThrow, uniqueName } from "@cnikit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleCli } from "../../../tools/bundle-cli.js";
import { buildFixture } from "../../../tools/build-fixture.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const CONF_DIR = "/etc/cni/net.d";
const BIN_DIR = "/opt/cni/bin";
const NEEDED = ["/usr/bin/containerd", "/usr/bin/ctr", "/usr/sbin/runc", "/bin/busybox"];

let cli: string;
beforeAll(async () => {
  const missing = NEEDED.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(
      `the containerd test needs ${missing.join(", ")}: apt-get install containerd runc busybox-static (scripts/quickstart.sh does)`,
    );
  }
  await buildFixture("examples/bridge");
  await buildFixture("examples/host-local");
  const cliDir = mkdtempSync(join(tmpdir(), "cnikit-cli-bundle-"));
  undo.push(() => rmSync(cliDir, { recursive: true, force: true }));
  cli = await bundleCli(cliDir);
}, 300_000);

/** Created by the test and removed in afterAll, in reverse. */
const undo: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch (err) {
      console.error("containerd test cleanup:", err);
    }
  }
}, 60_000);

/** Creates `dir` (and missing parents); afterwards removes those it created, when empty. */
function ensureDir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
  if (missing.length === 0) return;
  removeLaterIfCreated(...missing);
  mkdirSync(dir, { recursive: true });
}

/** Removes `dir` after the test when it does not exist now and is empty then (parents first in the list). */
function removeLaterIfCreated(...dirs: string[]): void {
  for (const dir of dirs) {
    if (existsSync(dir)) continue;
    undo.push(() => {
      if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
    });
  }
}

async function startContainerd(dir: string): Promise<{ sock: string; child: ChildProcess }> {
  const sock = join(dir, "containerd.sock");
  const config = join(dir, "config.toml");
  writeFileSync(
    config,
    [
      "version = 2",
      `root = "${join(dir, "root")}"`,
      `state = "${join(dir, "state")}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${sock}"`,
      "[ttrpc]",
      `  address = "${sock}.ttrpc"`,
      "[debug]",
      `  address = "${join(dir, "debug.sock")}"`,
      "",
    ].join("\n"),
  );
  const log = openSync(join(dir, "containerd.log"), "a");
  const child = spawn("containerd", ["--config", config], { stdio: ["ignore", log, log] });
  undo.push(
    () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          clearTimeout(kill);
          done();
        });
        child.kill("SIGTERM");
      }),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`containerd exited (${child.exitCode}): ${readFileSync(join(dir, "containerd.log"), "utf8")}`);
    const r = await runCommand(["ctr", "-a", sock, "version"], { timeoutMs: 5_000 });
    if (r.code === 0) return { sock, child };
    if (Date.now() > deadline) throw new Error(`containerd did not answer on ${sock}: ${r.stderr}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

function makeRootfs(dir: string): string {
  const rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  for (const app of ["sh", "ip", "ping", "cat", "readlink"]) symlinkSync("busybox", join(rootfs, "bin", app));
  for (const d of ["proc", "sys", "dev", "etc", "tmp"]) mkdirSync(join(rootfs, d));
  return rootfs;
}

describe("containerd runs a container attached by cnikit's bridge + host-local", () => {
  it("the container gets its address and pings the gateway; nothing is left afterwards", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cnikit-ctrd-"));
    undo.push(() => rmSync(dir, { recursive: true, force: true }));
    const id = uniqueName("ct", 10); // ct + 8 hex
    const bridge = `ckct${id.slice(2)}`;
    const ns = `cnikit-${id}`;
    const net = `cnikit-${id}`;
    const subnet = `10.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 256)}`;
    const gateway = `${subnet}.1`;
    const dataDir = join(dir, "ipam");
    undo.push(async () => {
      await runCommand(["ip", "link", "delete", bridge]);
    });

    // the plugins: installed with cnikit into a private dir, linked into /opt/cni/bin by unique names
    const bin = join(dir, "bin");
    const install = await runCommand([process.execPath, cli, "install", join(ROOT, "examples/bridge/dist"), join(ROOT, "examples/host-local/dist"), "--bin-dir", bin]);
    expect(install.code, install.stderr).toBe(0);
    ensureDir(BIN_DIR);
    ensureDir(CONF_DIR);
    const bridgeType = `${id}-bridge`;
    const ipamType = `${id}-host-local`;
    for (const [name, target] of [
      [bridgeType, join(bin, "bridge")],
      [ipamType, join(bin, "host-local")],
    ] as const) {
      symlinkSync(target, join(BIN_DIR, name));
      undo.push(() => rmSync(join(BIN_DIR, name), { force: true }));
    }
    // go-cni takes the first config file in lexical order: ours must sort first
    const confName = `00-${id}.conflist`;
    const before = readdirSync(CONF_DIR).filter((f) => /\.(conf|conflist|json)$/.test(f));
    const earlier = before.filter((f) => f < confName);
    expect(earlier, `configs in ${CONF_DIR} that ctr would pick before ours`).toEqual([]);
    const confPath = join(CONF_DIR, confName);
    // containerd 1.6's libcni reads results up to 1.0.0 ("unsupported CNI result version "1.1.0"")
    const list = {
      cniVersion: "1.0.0",
      name: net,
      plugins: [{ type: bridgeType, bridge, isGateway: true, ipam: { type: ipamType, dataDir, ranges: [[{ subnet: `${subnet}.0/24` }]] } }],
    };
    writeFileSync(join(dir, confName), JSON.stringify(list, null, 2));
    const validate = await runCommand([process.execPath, cli, "validate", join(dir, confName), "--bin-dir", BIN_DIR]);
    expect(validate.code, validate.stdout + validate.stderr).toBe(0);
    writeFileSync(confPath, JSON.stringify(list, null, 2));
    undo.push(() => rmSync(confPath, { force: true }));

    // what containerd's shim, runc and ctr's libcni create outside the test's directory
    removeLaterIfCreated("/run/containerd", "/run/containerd/s", "/run/containerd/fifo", "/run/containerd/runc", "/var/lib/cni", "/var/lib/cni/results");
    undo.push(() => rmSync(`/run/containerd/runc/${ns}`, { recursive: true, force: true })); // runc's state root of our namespace
    const { sock } = await startContainerd(dir);
    const ctr = (...args: string[]) => ["ctr", "-a", sock, "-n", ns, ...args];
    undo.push(async () => {
      await runCommand(ctr("tasks", "kill", "-s", "SIGKILL", id));
      await runCommand(ctr("containers", "delete", id));
      await runCommand(["ctr", "-a", sock, "namespaces", "remove", ns]);
    });
    const rootfs = makeRootfs(dir);

    const shimSockets = existsSync("/run/containerd/s") ? readdirSync("/run/containerd/s") : [];
    const cacheDir = "/var/lib/cni/results";
    const cached = () => (existsSync(cacheDir) ? readdirSync(cacheDir).filter((f) => f.startsWith(`${net}-`)) : []);

    const run = await runCommand(
      ctr("run", "--rm", "--cni", "--env", "PATH=/bin", "--rootfs", rootfs, id, "/bin/sh", "-c", `readlink /proc/self/ns/net && ip -4 addr show eth0 && ping -c 1 -W 5 ${gateway}`),
      { timeoutMs: 90_000 },
    );
    expect(run.code, `ctr run: ${run.stdout}\n${run.stderr}\n${readFileSync(join(dir, "containerd.log"), "utf8").slice(-3000)}`).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`inet ${subnet.replace(/\./g, "\\.")}\\.(\\d+)/24`));
    expect(run.stdout).toMatch(/1 packets transmitted, 1 packets received/);

    // removed with nothing left
    expect((await runCommandOrThrow(ctr("containers", "list", "-q"))).trim()).toBe("");
    expect((await runCommandOrThrow(ctr("tasks", "list", "-q"))).trim()).toBe("");
    expect((await runCommandOrThrow(ctr("snapshots", "list"))).trim().split("\n").slice(1)).toEqual([]);
    expect((await runCommandOrThrow(ctr("leases", "list", "-q"))).trim()).toBe("");
    // the container's netns (ctr uses the task's /proc/<pid>/ns/net, no bind mount): no process
    // is in it any more and nothing keeps it mounted
    const netns = /net:\[\d+\]/.exec(run.stdout)?.[0];
    expect(netns, run.stdout).toBeDefined();
    const holders = readdirSync("/proc")
      .filter((pid) => /^\d+$/.test(pid))
      .filter((pid) => {
        try {
          return readlinkSync(`/proc/${pid}/ns/net`) === netns;
        } catch {
          return false; // exited meanwhile
        }
      });
    expect(holders).toEqual([]);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(netns);
    const ports = (await listLinks(HOST_NETNS)).filter((l) => l.master === bridge);
    expect(ports.map((l) => l.name)).toEqual([]);
    const leases = existsSync(join(dataDir, net)) ? readdirSync(join(dataDir, net)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
    expect(leases).toEqual([]);
    expect(cached()).toEqual([]);
    const newShimSockets = (existsSync("/run/containerd/s") ? readdirSync("/run/containerd/s") : []).filter((s) => !shimSockets.includes(s));
    expect(newShimSockets).toEqual([]);
  }, 240_000);
});
