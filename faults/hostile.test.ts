/**
 * Hostile input (these plugins run as root): data dirs and network names that escape, symlinks
 * planted in the data dir, plugin types that are paths, CNI_* values Go's skel refuses, unsafe
 * CNI_PATH entries. Nothing is written or executed outside what the config names.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { CniRuntime, confListFromBytes } from "@cnikit/runtime";
import { definePlugin } from "@cnikit/skel";
import { invoke } from "@cnikit/skel/testing";
import type { Scratch } from "@cnikit/testing";
import { describe, expect, it } from "vitest";
import { faultFile, GO_HOST_LOCAL, runRaw, scratch } from "./lib.js";

const bins = faultFile();
let s: Scratch | undefined;

/** Every path under `dir` with its type and content (what must not change). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    out[p] = e.isFile() ? readFileSync(p, "utf8") : e.isDirectory() ? "<dir>" : "<other>";
  }
  return out;
}

/** host-local never enters the netns: any path will do, as long as it is set. */
const NO_NETNS = "/var/run/netns/fl-none";

function hostLocalConf(name: string, dataDir: string) {
  return {
    cniVersion: "1.1.0",
    name,
    type: "host-local",
    ipam: { type: "host-local", subnet: "10.250.3.0/28", dataDir },
  };
}

describe("host-local: nothing written outside <dataDir>/<network>", () => {
  it.each([
    ["a dataDir with ..", (root: string) => `${root}/data/../outside`, /must be an absolute path without "\.\."/],
    ["a relative dataDir", () => "relative/data", /must be an absolute path without "\.\."/],
  ])("%s is refused (code 7) and nothing is created", async (_what, dataDirOf, message) => {
    s = scratch();
    const root = s.dir("root");
    mkdirSync(join(root, "data"));
    const before = snapshot(root);
    const r = await runRaw(bins.hostLocal, {
      netns: NO_NETNS,
      command: "ADD",
      conf: hostLocalConf(`fl${s.id}net`, dataDirOf(root)),
      containerId: "c1",
      path: [],
    });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 7 });
    expect(r.json.msg).toMatch(message);
    expect(snapshot(root)).toEqual(before);
    expect(existsSync("relative")).toBe(false);
  });

  it.each(["../escape", "/etc", "a/b", ".."])(
    "network name %j is refused by skel before any file is touched",
    async (name) => {
      s = scratch();
      const dataDir = s.dir("data");
      const r = await runRaw(bins.hostLocal, {
        netns: NO_NETNS,
        command: "ADD",
        conf: hostLocalConf(name, dataDir),
        containerId: "c1",
        path: [],
      });
      expect(r.json).toMatchObject({ code: 7, msg: "invalid characters found in network name", details: name });
      expect(readdirSync(dataDir)).toEqual([]);
    },
  );

  it("a symlink planted as the network dir is refused; symlinks planted in it are replaced, never followed", async () => {
    s = scratch();
    const dataDir = s.dir("data");
    const outside = s.dir("outside");
    writeFileSync(join(outside, "victim"), "precious");
    const before = snapshot(outside);
    const name = `fl${s.id}net`;

    symlinkSync(outside, join(dataDir, name));
    const r1 = await runRaw(bins.hostLocal, {
      netns: NO_NETNS,
      command: "ADD",
      conf: hostLocalConf(name, dataDir),
      containerId: "c1",
      path: [],
    });
    expect(r1.json).toMatchObject({ code: 7 });
    expect(r1.json.msg).toMatch(/is not a directory \(a symlink\?\): refused/);
    expect(snapshot(outside)).toEqual(before);

    spawnSync("rm", [join(dataDir, name)]);
    const net = join(dataDir, name);
    mkdirSync(net);
    symlinkSync(join(outside, "victim"), join(net, "last_reserved_ip.0"));
    symlinkSync(join(outside, "victim"), join(net, ".tmp-10.250.3.2"));
    symlinkSync(join(outside, "victim"), join(net, "10.250.3.2")); // an IP taken by a symlink: skipped
    symlinkSync(join(outside, "new-file"), join(net, ".tmp-last_reserved_ip.0"));
    const add = await runRaw(bins.hostLocal, {
      netns: NO_NETNS,
      command: "ADD",
      conf: hostLocalConf(name, dataDir),
      containerId: "c1",
      path: [],
    });
    expect(add.code, add.stdout).toBe(0);
    expect(add.json.ips[0].address).toBe("10.250.3.3/28");
    expect(lstatSync(join(net, "last_reserved_ip.0")).isFile()).toBe(true);
    const del = await runRaw(bins.hostLocal, {
      netns: NO_NETNS,
      command: "DEL",
      conf: hostLocalConf(name, dataDir),
      containerId: "c1",
      path: [],
    });
    expect(del.code).toBe(0);
    const gc = await runRaw(bins.hostLocal, {
      netns: NO_NETNS,
      command: "GC",
      conf: { ...hostLocalConf(name, dataDir), "cni.dev/valid-attachments": [] },
      path: ["/usr/lib/cni"],
    });
    expect(gc.code, gc.stdout).toBe(0);
    expect(snapshot(outside)).toEqual(before);

    // the lock file planted as a symlink: refused (O_NOFOLLOW), its target never created
    spawnSync("rm", ["-f", join(net, "lock")]);
    symlinkSync(join(outside, "lock-target"), join(net, "lock"));
    const r2 = await runRaw(bins.hostLocal, {
      netns: NO_NETNS,
      command: "ADD",
      conf: hostLocalConf(name, dataDir),
      containerId: "c2",
      path: [],
    });
    expect(r2.json).toMatchObject({ code: 999 });
    expect(r2.json.msg).toMatch(/^open .*\/lock: ELOOP/);
    expect(snapshot(outside)).toEqual(before);
  });
});

describe("a plugin type that is a path is refused before any exec", () => {
  function evilSetup() {
    s = scratch();
    const root = s.dir("root");
    const bin = join(root, "bin");
    mkdirSync(bin);
    const marker = join(root, "executed");
    const evil = join(root, "evil");
    writeFileSync(evil, `#!/bin/sh\ntouch ${marker}\necho '{"cniVersion":"1.1.0"}'\n`);
    chmodSync(evil, 0o755);
    symlinkSync(bins.bridge, join(bin, "bridge"));
    return { root, bin, marker, evil };
  }

  it.each(["../evil", "..", "sub/../../evil"])("by the runtime: type %j", async (type) => {
    const e = evilSetup();
    const cni = new CniRuntime({ path: [e.bin], cacheDir: s?.dir("cache") as string, stderr: null });
    const list = confListFromBytes(JSON.stringify({ cniVersion: "1.1.0", name: "hostile", plugins: [{ type }] }));
    const err = await cni
      .addNetworkList(list, { containerId: "c1", netns: "/var/run/netns/none", ifName: "eth0" })
      .catch((x: unknown) => x);
    expect(err).toMatchObject({ code: 7 });
    expect((err as Error).message).toContain(`invalid plugin name: ${type}`);
    expect(existsSync(e.marker)).toBe(false);
  });

  it("by the runtime: an absolute type", async () => {
    const e = evilSetup();
    const cni = new CniRuntime({ path: [e.bin], cacheDir: s?.dir("cache") as string, stderr: null });
    const list = confListFromBytes(
      JSON.stringify({ cniVersion: "1.1.0", name: "hostile", plugins: [{ type: e.evil }] }),
    );
    await expect(
      cni.addNetworkList(list, { containerId: "c1", netns: "/var/run/netns/none", ifName: "eth0" }),
    ).rejects.toMatchObject({ code: 7 });
    expect(existsSync(e.marker)).toBe(false);
  });

  it.each(["../evil", ".."])("by invoke, for the bridge's IPAM delegate: ipam.type %j", async (type) => {
    const e = evilSetup();
    const netns = (s as Scratch).netns("a");
    const bridge = (s as Scratch).link("br");
    const r = await runRaw(bins.bridge, {
      command: "ADD",
      conf: { cniVersion: "1.1.0", name: "hostile", type: "bridge", bridge, ipam: { type } },
      netns,
      containerId: "c1",
      path: [e.bin],
    });
    expect(r.json).toMatchObject({ code: 7, msg: `IPAM plugin ${type}: invalid plugin name: ${type}` });
    expect(existsSync(e.marker)).toBe(false);
    expect(spawnSync("ip", ["link", "show", bridge]).status).not.toBe(0);
  });
});

describe("CNI_* values, as Go's skel checks them (codes and messages)", () => {
  const plugin = definePlugin({
    name: "probe",
    version: "0.0.0",
    cniVersions: ["1.1.0"],
    add: () => ({ cniVersion: "1.1.0" }),
    del: () => {},
  });
  const conf = { cniVersion: "1.1.0", name: "net", type: "probe" };
  it.each([
    [{ CNI_CONTAINERID: "" }, 4, "required env variables [CNI_CONTAINERID] missing"],
    [{ CNI_CONTAINERID: "../etc" }, 4, "invalid characters in containerID"],
    [{ CNI_CONTAINERID: "-leading-dash" }, 4, "invalid characters in containerID"],
    [{ CNI_CONTAINERID: "a b" }, 4, "invalid characters in containerID"],
    [{ CNI_IFNAME: "" }, 4, "required env variables [CNI_IFNAME] missing"],
    [{ CNI_IFNAME: "abcdefghijklmnop" }, 4, "interface name is too long"],
    [{ CNI_IFNAME: ".." }, 4, "interface name is . or .."],
    [{ CNI_IFNAME: "eth/0" }, 4, "interface name contains / or : or whitespace characters"],
    [{ CNI_IFNAME: "eth:0" }, 4, "interface name contains / or : or whitespace characters"],
    [{ CNI_IFNAME: "eth 0" }, 4, "interface name contains / or : or whitespace characters"],
    [{ CNI_NETNS: "" }, 4, "required env variables [CNI_NETNS] missing"],
  ])("ADD with %j ⇒ code %i %j", async (env, code, msg) => {
    const out = await invoke(plugin, { command: "ADD", config: conf, env });
    expect(out.exitCode).toBe(1);
    expect(out.error).toMatchObject({ code, msg });
    expect(out.stdout.trim().split("\n")).toHaveLength(1);
  });

  it.each([["novalue"], ["K=V;"], ["K=V=W"]])(
    "CNI_ARGS %j: host-local answers what Go's host-local answers",
    async (args) => {
      s = scratch();
      const dataDir = s.dir("data");
      const call = (bin: string, cniVersion: string) =>
        runRaw(bin, {
          netns: NO_NETNS,
          command: "ADD",
          conf: { ...hostLocalConf("net", dataDir), cniVersion },
          containerId: "c1",
          args,
          path: ["/usr/lib/cni"],
        });
      const ours = await call(bins.hostLocal, "1.0.0");
      const go = await call(GO_HOST_LOCAL, "1.0.0");
      expect(ours.code).toBe(1);
      expect(ours.json).toEqual({ cniVersion: "1.0.0", ...go.json });
      expect(ours.json.msg).toMatch(/^ARGS: invalid pair "/);
      expect(readdirSync(dataDir)).toEqual([]);
    },
  );

  it("relative and world-writable CNI_PATH entries are warned about on stderr, and the call still works", async () => {
    s = scratch();
    const open = s.dir("open");
    chmodSync(open, 0o777);
    const dataDir = s.dir("data");
    const r = await runRaw(bins.hostLocal, {
      netns: NO_NETNS,
      command: "DEL",
      conf: hostLocalConf("net", dataDir),
      containerId: "c1",
      path: ["relative/bin", open, "/usr/lib/cni"],
    });
    expect(r.code, r.stdout).toBe(0);
    const warnings = r.stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(warnings).toEqual([
      expect.objectContaining({ level: "warn", msg: expect.stringMatching(/relative/), entry: "relative/bin" }),
      expect.objectContaining({ level: "warn", msg: expect.stringMatching(/world-writable/), entry: open }),
    ]);
  });
});
