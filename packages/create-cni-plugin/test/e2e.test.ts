// End to end, as a user would, against a real registry: build the workspace packages, start a
// private npm registry (verdaccio on loopback, temporary storage, scripts/local-registry.mjs),
// publish every package to it with `pnpm publish`, then follow docs/getting-started.md for every
// template: `npm create cni-plugin@latest <name> -- --template <t>` (which runs `npm install`),
// `npm run build`, `npm test`, with the registry set through npm's own config (a user config
// file) and no tarball paths or overrides; then run the built plugin against real network
// namespaces. The registry serves @cnikit/* and create-cni-plugin only from what was published
// to it, and every other package from registry.npmjs.org.
// Slow (minutes): one file, one registry, templates one after the other.
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { stripVTControlCharacters } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createCleanup,
  createTempNetns,
  expectAddress,
  expectLink,
  expectNoLink,
  expectPluginSuccess,
  findPlugin,
  removeHostLink,
  runCommand,
  runPlugin,
  uniqueName,
} from "@cnikit/testing";
import { type LocalRegistry, publishWorkspace, startRegistry, workspacePackages } from "../../../scripts/local-registry.mjs";
import { PKG_DIR, cleanEnv } from "./cli-harness.js";

const REPO = join(PKG_DIR, "../..");
const MIN = 60_000;

/** One step of the user's workflow in `cwd` (CI=true, a clean env, npm pointed at the registry), timed; throws with the tail of its output when it fails. */
async function must(cmd: string, args: string[], cwd: string): Promise<{ out: string; ms: number }> {
  const start = performance.now();
  const env = cleanEnv({ CI: "true", NPM_CONFIG_USERCONFIG: registry?.npmrc });
  const r = await runCommand([cmd, ...args], { cwd, env, timeoutMs: 10 * MIN });
  const out = `${r.stdout}${r.stderr}`;
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.code ?? r.signal}:\n${out.slice(-6000)}`);
  return { out, ms: Math.round(performance.now() - start) };
}

let work: string;
let registry: LocalRegistry | undefined;
const packages = workspacePackages(REPO);
const timings: Record<string, Record<string, number>> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ck-e2e-"));
  const built = await must("pnpm", ["-r", "--workspace-concurrency=1", "--filter", "./packages/*", "run", "build"], REPO);
  let start = performance.now();
  registry = await startRegistry({ dir: join(work, "registry") });
  const startMs = Math.round(performance.now() - start);
  start = performance.now();
  const published = await publishWorkspace(registry, REPO);
  timings.setup = { buildPackagesMs: built.ms, registryStartMs: startMs, publishMs: Math.round(performance.now() - start) };
  expect(published.sort()).toEqual(packages.map((p) => `${p.name}@${p.version}`).sort());
  // what a user gets: exports without the workspace-only source condition, real versions for workspace:*
  for (const p of packages) {
    const doc = (await (await fetch(`${registry.url}${p.name.replace("/", "%2f")}`)).json()) as { versions: Record<string, unknown> };
    const manifest = JSON.stringify(doc.versions[p.version]);
    expect(manifest, p.name).not.toContain("@cnikit/source");
    expect(manifest, p.name).not.toContain("workspace:");
  }
}, 10 * MIN);

afterAll(async () => {
  console.log(`e2e timings (ms): ${JSON.stringify(timings, null, 1)}`);
  await registry?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** getting-started.md's steps: npm create (installs), build, the project's own tests. */
async function createProject(template: string): Promise<{ dir: string; name: string; bin: string }> {
  const name = `e2e-${template}`;
  const t: Record<string, number> = {};
  timings[template] = t;

  const created = await must("npm", ["create", "cni-plugin@latest", name, "--", "--template", template], work);
  t.createAndInstallMs = created.ms;
  expect(created.out).toContain(`Created ${template} plugin "${name}"`);
  const dir = join(work, name);

  // a plain project: ^ ranges on the registry's versions, no overrides, and every @cnikit/*
  // (direct or transitive) installed from the private registry
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  expect(pkg.overrides).toBeUndefined();
  for (const field of ["dependencies", "devDependencies"]) {
    for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
      if (dep.startsWith("@cnikit/")) expect(range).toBe(`^${packages.find((p) => p.name === dep)?.version}`);
    }
  }
  const lock = JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")) as { packages: Record<string, { resolved?: string }> };
  const ours = Object.entries(lock.packages).filter(([path]) => /(^|\/)node_modules\/@cnikit\//.test(path));
  expect(ours.map(([path]) => path)).toContain("node_modules/@cnikit/native"); // transitive
  for (const [path, entry] of ours) expect(entry.resolved?.startsWith(`${registry?.url}@cnikit/`), `${path}: ${entry.resolved}`).toBe(true);

  t.buildMs = (await must("npm", ["run", "build"], dir)).ms;
  t.typecheckMs = (await must("npm", ["run", "typecheck"], dir)).ms;
  const tested = await must("npm", ["test"], dir);
  t.ownTestsMs = tested.ms;
  const testOutput = stripVTControlCharacters(tested.out);
  expect(testOutput).toMatch(/Tests\s+\d+ passed/);
  expect(testOutput).not.toMatch(/\d+ failed|skipped/);

  // one executable + its V8 code cache + the native addon (+ a package.json without "type":
  // the project is "type": "module" and the bundle CommonJS); install it the way the README
  // says (copy dist/)
  const dist = readdirSync(join(dir, "dist")).sort();
  expect(dist).toEqual([name, `${name}.v8cache`, "koffi.node", "package.json"].sort());
  expect(JSON.parse(readFileSync(join(dir, "dist/package.json"), "utf8")).type).toBeUndefined();
  const entry = readFileSync(join(dir, "dist", name), "utf8");
  expect(entry.startsWith('#!/usr/bin/env node\n"use strict";\n')).toBe(true); // CommonJS, the default
  expect(statSync(join(dir, "dist", name)).mode & 0o111).toBe(0o111);
  t.bundleBytes = statSync(join(dir, "dist", name)).size;
  const binDir = join(work, `opt-cni-bin-${template}`);
  mkdirSync(binDir);
  for (const f of dist) copyFileSync(join(dir, "dist", f), join(binDir, f));
  chmodSync(join(binDir, name), 0o755);
  return { dir, name, bin: join(binDir, name) };
}

/** VERSION through a symlink from another directory (the addons are found via the real path). */
async function checkVersion(bin: string, name: string): Promise<void> {
  const linkDir = mkdtempSync(join(work, "link-"));
  symlinkSync(bin, join(linkDir, name));
  const run = await runPlugin(join(linkDir, name), { command: "VERSION" });
  expect(run.exitCode, run.stderr).toBe(0);
  expect(run.version?.supportedVersions).toEqual(["0.4.0", "1.0.0", "1.1.0"]);
}

const goBridge = findPlugin("bridge", ["/usr/lib/cni", "/opt/cni/bin"]);
const goHostLocal = findPlugin("host-local", ["/usr/lib/cni", "/opt/cni/bin"]);

describe.skipIf(!goBridge || !goHostLocal)("npm create cni-plugin, end to end", () => {
  it("template main: install, build, own tests; ADD into a real netns, DEL cleans up", async () => {
    const { bin, name, dir } = await createProject("main");
    await checkVersion(bin, name);
    await using cleanup = createCleanup();
    const bridge = uniqueName("ckbr");
    const dataDir = mkdtempSync(join(work, "ipam-"));
    cleanup.defer(() => removeHostLink(bridge));
    await using ns = await createTempNetns();
    const config = { cniVersion: "1.0.0", name: "e2enet", type: name, bridge, ipam: { type: "host-local", subnet: "10.131.0.0/24", dataDir } };
    const path = [join(bin, ".."), join(goHostLocal ?? "", "..")];
    const start = performance.now();
    const result = expectPluginSuccess(await runPlugin(bin, { command: "ADD", config, netns: ns, containerId: "e2e", path }));
    (timings.main as Record<string, number>).addMs = Math.round(performance.now() - start);
    const ip = result?.ips?.[0]?.address ?? "";
    expect(ip).toBe("10.131.0.2/24");
    await expectLink(ns, "eth0", { up: true, kind: "veth" });
    await expectAddress(ns, "eth0", ip);
    expect(existsSync(join(dataDir, "e2enet", "10.131.0.2"))).toBe(true);
    expectPluginSuccess(await runPlugin(bin, { command: "DEL", config, netns: ns, containerId: "e2e", path }));
    await expectNoLink(ns, "eth0");
    expect(existsSync(join(dataDir, "e2enet", "10.131.0.2"))).toBe(false);

    // build:snapshot: a launcher, the blob and the fallback bundle, + the native addon
    await must("npm", ["run", "build:snapshot"], dir);
    expect(readdirSync(join(dir, "dist-snapshot")).sort()).toEqual(
      [name, `${name}.blob`, `${name}.cjs`, "koffi.node"].sort(),
    );
    const snap = join(dir, "dist-snapshot", name);
    expect(readFileSync(snap, "utf8").startsWith("#!/bin/sh\n")).toBe(true);
    const snapResult = expectPluginSuccess(await runPlugin(snap, { command: "ADD", config, netns: ns, containerId: "e2e-snap", path }));
    await expectAddress(ns, "eth0", snapResult?.ips?.[0]?.address ?? "");
    expectPluginSuccess(await runPlugin(snap, { command: "DEL", config, netns: ns, containerId: "e2e-snap", path }));
    await expectNoLink(ns, "eth0");

    // build:sea: a self-contained binary (node embedded) + the native addons beside it
    const seaBuild = await must("npm", ["run", "build:sea"], dir);
    (timings.main as Record<string, number>).buildSeaMs = seaBuild.ms;
    const sea = join(dir, "dist-sea", name);
    expect(readdirSync(join(dir, "dist-sea")).sort()).toEqual([name, "koffi.node"].sort());
    expect(readFileSync(sea).subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    const seaPath = [join(goHostLocal ?? "", "..")];
    const seaVersion = await runPlugin(sea, { command: "VERSION", env: { PATH: "/nonexistent" } });
    expect(seaVersion.version?.supportedVersions, seaVersion.stderr).toContain("1.1.0");
    const seaResult = expectPluginSuccess(await runPlugin(sea, { command: "ADD", config, netns: ns, containerId: "e2e-sea", path: seaPath }));
    await expectAddress(ns, "eth0", seaResult?.ips?.[0]?.address ?? "");
    expectPluginSuccess(await runPlugin(sea, { command: "DEL", config, netns: ns, containerId: "e2e-sea", path: seaPath }));
    await expectNoLink(ns, "eth0");

    // build:bun: one Bun executable (bytecode inside), libc through bun:ffi: no koffi.node
    const bunBuild = await must("npm", ["run", "build:bun"], dir);
    (timings.main as Record<string, number>).buildBunMs = bunBuild.ms;
    const bun = join(dir, "dist-bun", name);
    expect(readdirSync(join(dir, "dist-bun"))).toEqual([name]);
    const bunVersion = await runPlugin(bun, { command: "VERSION", env: { PATH: "/nonexistent" } });
    expect(bunVersion.version?.supportedVersions, bunVersion.stderr).toContain("1.1.0");
    const bunResult = expectPluginSuccess(await runPlugin(bun, { command: "ADD", config, netns: ns, containerId: "e2e-bun", path: seaPath }));
    await expectAddress(ns, "eth0", bunResult?.ips?.[0]?.address ?? "");
    expectPluginSuccess(await runPlugin(bun, { command: "DEL", config, netns: ns, containerId: "e2e-bun", path: seaPath }));
    await expectNoLink(ns, "eth0");

    // build:agent: dist/agent/<name> (the shim), its sidecar and the served module; without a
    // daemon the shim runs its fallback, ../<name>
    const agentBuild = await must("npm", ["run", "build:agent"], dir);
    (timings.main as Record<string, number>).buildAgentMs = agentBuild.ms;
    const shim = join(dir, "dist", "agent", name);
    expect(readdirSync(join(dir, "dist", "agent")).sort()).toEqual([name, `${name}.agent.json`, `${name}.plugin.cjs`, "koffi.node"].sort());
    expect(JSON.parse(readFileSync(`${shim}.agent.json`, "utf8"))).toMatchObject({ socket: `/run/cnikit/${name}.sock`, fallback: `../${name}` });
    const shimVersion = await runPlugin(shim, { command: "VERSION", env: { PATH: "/nonexistent" } });
    expect(shimVersion.version?.supportedVersions).toContain("1.1.0");
    const shimResult = expectPluginSuccess(await runPlugin(shim, { command: "ADD", config, netns: ns, containerId: "e2e-agent", path }));
    await expectAddress(ns, "eth0", shimResult?.ips?.[0]?.address ?? "");
    expectPluginSuccess(await runPlugin(shim, { command: "DEL", config, netns: ns, containerId: "e2e-agent", path }));
    await expectNoLink(ns, "eth0");
  }, 10 * MIN);

  it("template ipam: install, build, own tests; ADD allocates, DEL releases", async () => {
    const { bin, name } = await createProject("ipam");
    await checkVersion(bin, name);
    await using ns = await createTempNetns();
    const dataDir = mkdtempSync(join(work, "ipam-"));
    const config = { cniVersion: "1.1.0", name: "e2enet", type: "bridge", ipam: { type: name, subnet: "10.132.0.0/24", dataDir } };
    const result = expectPluginSuccess(await runPlugin(bin, { command: "ADD", config, netns: ns, containerId: "e2e" }));
    expect(result?.ips).toEqual([{ address: "10.132.0.2/24", gateway: "10.132.0.1" }]);
    expect(readFileSync(join(dataDir, "e2enet", "10.132.0.2"), "utf8")).toBe("e2e\r\neth0");
    expectPluginSuccess(await runPlugin(bin, { command: "DEL", config, netns: ns, containerId: "e2e" }));
    expect(existsSync(join(dataDir, "e2enet", "10.132.0.2"))).toBe(false);
  }, 10 * MIN);

  it("template meta: install, build, own tests; ADD tunes the interface from prevResult", async () => {
    const { bin, name } = await createProject("meta");
    await checkVersion(bin, name);
    await using ns = await createTempNetns();
    const veth = await ns.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"]);
    expect(veth.code, veth.stderr).toBe(0);
    const config = {
      cniVersion: "1.1.0",
      name: "e2enet",
      type: name,
      mtu: 1300,
      prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "eth0", sandbox: ns.path }], ips: [] },
    };
    const result = expectPluginSuccess(await runPlugin(bin, { command: "ADD", config, netns: ns, containerId: "e2e" }));
    expect(result?.interfaces?.[0]).toEqual({ name: "eth0", sandbox: ns.path, mtu: 1300 });
    await expectLink(ns, "eth0", { mtu: 1300 });
    expectPluginSuccess(await runPlugin(bin, { command: "DEL", config, netns: ns, containerId: "e2e" }));
  }, 10 * MIN);
});

describe("pnpm run local-registry", () => {
  it("publishes the checkout, prints the npm config line, and Ctrl-C (SIGINT) stops verdaccio and removes its storage", async () => {
    const child = spawn(process.execPath, [join(REPO, "scripts/local-registry.mjs"), "--no-build"], { cwd: REPO, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    let verdaccio: { pid: number; storage: string } | undefined;
    try {
      const deadline = Date.now() + 2 * MIN;
      while (!out.includes("Ctrl-C") && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const url = /registry: (http:\/\/127\.0\.0\.1:\d+\/) \(verdaccio pid (\d+), storage (\S+)\)/.exec(out);
      const line = /export NPM_CONFIG_USERCONFIG=(\S+)/.exec(out);
      expect(url, out).not.toBeNull();
      expect(line, out).not.toBeNull();
      const [, registryUrl, pid, storage] = url as RegExpExecArray;
      verdaccio = { pid: Number(pid), storage: storage as string };
      const npmrc = (line as RegExpExecArray)[1] as string;
      expect(readFileSync(npmrc, "utf8")).toContain(`registry=${registryUrl}\n`);
      // what the printed line gives npm: the checkout's packages from the registry
      const view = await runCommand(["npm", "view", "create-cni-plugin", "version", "dist.tarball"], { cwd: work, env: cleanEnv({ NPM_CONFIG_USERCONFIG: npmrc }) });
      expect(view.code, view.stderr).toBe(0);
      const version = packages.find((p) => p.name === "create-cni-plugin")?.version;
      expect(view.stdout).toContain(`version = '${version}'`);
      expect(view.stdout).toContain(`${registryUrl}create-cni-plugin/-/create-cni-plugin-${version}.tgz`);
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(existsSync(storage as string)).toBe(false);
      expect(() => process.kill(Number(pid), 0)).toThrow(); // verdaccio is gone
      verdaccio = undefined; // nothing left to clean up (and its pid is no longer ours to signal)
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      if (verdaccio) {
        try {
          process.kill(verdaccio.pid, "SIGKILL");
        } catch {
          // gone, as it should be
        }
        rmSync(verdaccio.storage, { recursive: true, force: true });
      }
    }
  }, 3 * MIN);
});
