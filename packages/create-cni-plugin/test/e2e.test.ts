// End to end, as a user would: pack the workspace packages (pnpm rewrites workspace:* to
// versions), scaffold every template with the packed scaffolder, install the project with npm
// (the @cnikit/* packages from the tarballs, everything else from the npm registry), build it,
// run its own tests, and run the built plugin against real network namespaces.
// Slow (minutes): one file, templates one after the other.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
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
import { PKG_DIR, cleanEnv } from "./cli-harness.js";

const REPO = join(PKG_DIR, "../..");
const PACKAGES = ["spec", "native", "skel", "ns", "invoke", "ipam-client", "host-local", "runtime", "testing", "agent", "build", "create-cni-plugin"];
const MIN = 60_000;

/** One step of the user's workflow in `cwd` (CI=true, a clean env), timed; throws with the tail of its output when it fails. */
async function must(cmd: string, args: string[], cwd: string): Promise<{ out: string; ms: number }> {
  const start = performance.now();
  const r = await runCommand([cmd, ...args], { cwd, env: cleanEnv({ CI: "true" }), timeoutMs: 10 * MIN });
  const out = `${r.stdout}${r.stderr}`;
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.code ?? r.signal}:\n${out.slice(-6000)}`);
  return { out, ms: Math.round(performance.now() - start) };
}

let work: string;
let packs: string;
let scaffolder: string;
const tarballs: Record<string, string> = {};
const timings: Record<string, Record<string, number>> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ck-e2e-"));
  packs = join(work, "packs");
  mkdirSync(packs);
  const filters = PACKAGES.flatMap((p) => ["--filter", `./packages/${p}`]);
  const built = await must("pnpm", ["-r", "--workspace-concurrency=1", ...filters, "run", "build"], REPO);
  for (const p of PACKAGES) await must("pnpm", ["pack", "--pack-destination", packs], join(REPO, "packages", p));
  for (const f of readdirSync(packs)) {
    const m = /^cnikit-(.+)-\d+\.\d+\.\d+\.tgz$/.exec(f);
    if (m) tarballs[`@cnikit/${m[1]}`] = `file:${join(packs, f)}`;
  }
  expect(Object.keys(tarballs).sort()).toEqual(PACKAGES.filter((p) => p !== "create-cni-plugin").map((p) => `@cnikit/${p}`).sort());
  // the scaffolder as published: its tarball, unpacked
  const scaffolderTgz = readdirSync(packs).find((f) => f.startsWith("create-cni-plugin-"));
  await must("tar", ["xzf", join(packs, scaffolderTgz ?? "missing")], work);
  scaffolder = join(work, "package/dist/index.js");
  timings.setup = { buildPackagesMs: built.ms };
}, 10 * MIN);

afterAll(() => {
  console.log(`e2e timings (ms): ${JSON.stringify(timings, null, 1)}`);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Scaffolds, installs from the tarballs, builds, runs the project's own checks. */
async function createProject(template: string): Promise<{ dir: string; name: string; bin: string }> {
  const name = `e2e-${template}`;
  const t: Record<string, number> = {};
  timings[template] = t;

  const created = await must(process.execPath, [scaffolder, name, "--template", template, "--no-install"], work);
  t.scaffoldMs = created.ms;
  expect(created.out).toContain(`Created ${template} plugin "${name}"`);
  const dir = join(work, name);

  // @cnikit/* from the packed tarballs, also as transitive dependencies (overrides)
  const pkgPath = join(dir, "package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
  for (const field of ["dependencies", "devDependencies"]) {
    for (const dep of Object.keys(pkg[field] ?? {})) {
      if (!dep.startsWith("@cnikit/")) continue;
      expect(pkg[field][dep]).toBe("^0.1.0");
      pkg[field][dep] = tarballs[dep];
    }
  }
  pkg.overrides = { ...tarballs };
  writeFileSync(pkgPath, JSON.stringify(pkg, null, 2));

  t.installMs = (await must("npm", ["install", "--no-audit", "--no-fund"], dir)).ms;
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
