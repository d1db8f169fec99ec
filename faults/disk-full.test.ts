/**
 * Disk full: host-local's data dir and the runtime's cache dir on a small tmpfs, filled up.
 * ⇒ ADD fails with a CNI error saying "no space left on device"; no partial file is ever read
 * back as valid (no empty lease file, no truncated cache entry); after space is freed ADD works,
 * and no address was lost or handed out twice.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HostLocalStore } from "@cnikit/host-local";
import { CniRuntime, confListFromBytes } from "@cnikit/runtime";
import type { Scratch } from "@cnikit/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { bridgePorts, leftovers, nsLinks, plugins, runRaw, scratch } from "./lib.js";

/** The tmpfs size: 64 pages of 4 KiB. */
const TMPFS_BYTES = 256 * 1024;

let bins: { bridge: string; hostLocal: string };
beforeAll(async () => {
  bins = await plugins();
}, 180_000);

let s: Scratch | undefined;
const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0)) spawnSync("umount", [m]);
  s?.cleanup();
});
afterAll(() => {
  expect(leftovers()).toEqual([]);
});

/** A fresh tmpfs of TMPFS_BYTES in a scratch dir (unmounted after the test). */
function tmpfs(tag: string): string {
  const dir = (s as Scratch).dir(tag);
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_BYTES},mode=0755`, "tmpfs", dir], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`mount tmpfs: ${r.stderr}`);
  mounts.push(dir);
  return dir;
}

/** Fills the filesystem of `dir` but `leavePages` pages; returns the filler file (delete it to free the space). */
function fill(dir: string, leavePages = 0): string {
  const st = statfsSync(dir);
  const filler = join(dir, ".filler");
  writeFileSync(filler, Buffer.alloc(Math.max(0, st.bavail - leavePages) * st.bsize));
  expect(statfsSync(dir).bavail).toBe(leavePages);
  return filler;
}

/** Every file of a host-local network dir (leases, last_reserved_ip, temporaries), with its content. */
function dirContents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    if (f === "lock") continue;
    out[f] = spawnSync("cat", [join(dir, f)], { encoding: "utf8" }).stdout;
  }
  return out;
}

describe("host-local's store on a full disk", () => {
  it("no space at all: reserve fails with ENOSPC and leaves no (empty) lease file", async () => {
    s = scratch();
    const root = tmpfs("fs");
    const store = await HostLocalStore.open("net", { dataDir: root });
    try {
      fill(root);
      let err: unknown;
      await store
        .withLock(() => store.reserve("c1", "eth0", "10.9.0.2", "0"))
        .catch((e: unknown) => {
          err = e;
        });
      expect(err).toMatchObject({ code: 999 });
      expect((err as Error).message).toMatch(/^write .*10\.9\.0\.2: ENOSPC: no space left on device/);
      expect(dirContents(store.dir)).toEqual({});
      expect(store.listLeases()).toEqual([]);
    } finally {
      store.close();
    }
  });

  it("space for the lease but not for last_reserved_ip: the lease is undone, not leaked", async () => {
    s = scratch();
    const root = tmpfs("fs");
    const store = await HostLocalStore.open("net", { dataDir: root });
    try {
      fill(root, 1);
      await expect(store.withLock(() => store.reserve("c1", "eth0", "10.9.0.2", "0"))).rejects.toThrow(
        /last_reserved_ip\.0: ENOSPC: no space left on device/,
      );
      expect(dirContents(store.dir)).toEqual({});
    } finally {
      store.close();
    }
  });

  it("an earlier last_reserved_ip is overwritten in place: it needs no space, and is never left truncated", async () => {
    s = scratch();
    const root = tmpfs("fs");
    const store = await HostLocalStore.open("net", { dataDir: root });
    try {
      expect(await store.withLock(() => store.reserve("c1", "eth0", "10.9.0.2", "0"))).toBe(true);
      fill(root, 1); // the page of the next lease
      expect(await store.withLock(() => store.reserve("c2", "eth0", "10.9.0.13", "0"))).toBe(true);
      await expect(store.withLock(() => store.reserve("c3", "eth0", "10.9.0.4", "0"))).rejects.toThrow(/ENOSPC/);
      expect(dirContents(store.dir)).toEqual({
        "10.9.0.2": "c1\r\neth0",
        "10.9.0.13": "c2\r\neth0",
        "last_reserved_ip.0": "10.9.0.13",
      });
    } finally {
      store.close();
    }
  });
});

describe("host-local's store after a writer died mid-reserve", () => {
  it("its temporary file is no lease (not listed, not found, does not block the IP) and GC removes it", async () => {
    s = scratch();
    const store = await HostLocalStore.open("net", { dataDir: s.dir("ipam") });
    try {
      // what a SIGKILL between writing the lease and linking it to its IP name leaves
      writeFileSync(join(store.dir, ".tmp-10.9.0.2"), "c1\r\neth0");
      expect(store.listLeases()).toEqual([]);
      expect(store.findById("c1", "eth0")).toBe(false);
      expect(await store.withLock(() => store.reserve("c2", "eth0", "10.9.0.2", "0"))).toBe(true);
      writeFileSync(join(store.dir, ".tmp-10.9.0.3"), "c3\r\neth0");
      await store.withLock(() => store.releaseStale([{ containerID: "c2", ifname: "eth0" }]));
      expect(dirContents(store.dir)).toEqual({ "10.9.0.2": "c2\r\neth0", "last_reserved_ip.0": "10.9.0.2" });
    } finally {
      store.close();
    }
  });
});

describe("ADD with the data dir and the cache on a full disk", () => {
  it("bridge + cnikit host-local: a readable 'no space left on device' error, rolled back; after freeing, no address lost or doubled", async () => {
    s = scratch();
    const root = tmpfs("fs");
    const dataDir = join(root, "ipam");
    const netns = s.netns("a");
    const bridge = s.link("br");
    const conf = {
      cniVersion: "1.1.0",
      name: `fl${s.id}net`,
      type: "bridge",
      bridge,
      ipam: { type: "host-local", subnet: "10.251.7.0/29", dataDir },
    };
    const path = [s.pluginDir({ bridge: bins.bridge, "host-local": bins.hostLocal })];
    const hl = (command: string, containerId: string) =>
      runRaw(bins.hostLocal, { command, conf, netns, containerId, path });
    // two leases while there is room
    const given: string[] = [];
    for (const id of ["c0", "c1"]) {
      const r = await hl("ADD", id);
      expect(r.code, r.stdout).toBe(0);
      given.push(r.json.ips[0].address);
    }
    const filler = fill(root);
    const add = await runRaw(bins.bridge, { command: "ADD", conf, netns, containerId: "c2", path });
    expect(add.code).toBe(1);
    expect(add.stdout.trim().split("\n")).toHaveLength(1);
    expect(add.json.code).toBe(999);
    expect(add.json.msg).toMatch(
      /^IPAM plugin host-local: failed to allocate for range 0: write .*: ENOSPC: no space left on device/,
    );
    expect(nsLinks(netns)).toEqual([]);
    expect(bridgePorts(bridge)).toEqual([]);
    const leasesAfterFailure = dirContents(join(dataDir, conf.name));
    expect(Object.keys(leasesAfterFailure).filter((f) => !f.startsWith("last_"))).toHaveLength(2);

    rmSync(filler);
    // after freeing: the pool of 10.251.7.0/29 (.2-.6 usable, .1 the gateway) is handed out exactly once
    for (const id of ["c2", "c3", "c4"]) {
      const r = await hl("ADD", id);
      expect(r.code, r.stdout).toBe(0);
      given.push(r.json.ips[0].address);
    }
    expect(new Set(given).size).toBe(5);
    expect([...given].sort()).toEqual([
      "10.251.7.2/29",
      "10.251.7.3/29",
      "10.251.7.4/29",
      "10.251.7.5/29",
      "10.251.7.6/29",
    ]);
    const full = await hl("ADD", "c5");
    expect(full.json.msg).toMatch(/no IP addresses available in range set/);
    for (const id of ["c0", "c1", "c2", "c3", "c4"]) expect((await hl("DEL", id)).code).toBe(0);
    expect(Object.keys(dirContents(join(dataDir, conf.name))).filter((f) => !f.startsWith("last_"))).toEqual([]);
  });

  it("runtime cache on a full disk: ADD fails saying so, no partial cache entry, the others still read back; DEL cleans up", async () => {
    s = scratch();
    const cacheDir = tmpfs("cache");
    const dataDir = s.dir("ipam");
    const netns = s.netns("a");
    const bridge = s.link("br");
    const list = confListFromBytes(
      JSON.stringify({
        cniVersion: "1.1.0",
        name: `fl${s.id}net`,
        plugins: [{ type: "bridge", bridge, ipam: { type: "host-local", subnet: s.subnet(), dataDir } }],
      }),
    );
    const cni = new CniRuntime({
      path: [s.pluginDir({ bridge: bins.bridge, "host-local": bins.hostLocal })],
      cacheDir,
      stderr: null,
    });
    const rt1 = { containerId: "c1", netns, ifName: "eth1" };
    const first = await cni.addNetworkList(list, rt1);
    const filler = fill(cacheDir);
    const rt2 = { containerId: "c2", netns, ifName: "eth2" };
    const err = await cni.addNetworkList(list, rt2).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 5 });
    expect((err as Error).message).toMatch(
      /^failed to set network "fl\w+net" cached result: ENOSPC: no space left on device/,
    );
    // only the earlier, complete entry; no temporary file
    expect(readdirSync(cacheDir).filter((f) => f !== ".filler")).toEqual(["results"]);
    expect(readdirSync(join(cacheDir, "results"))).toEqual([`${list.name}-c1-eth1`]);
    expect(await cni.getNetworkListCachedResult(list, rt1)).toEqual(first);
    // the runtime DELs the attachment whose ADD failed: its lease and veth go
    await cni.delNetworkList(list, rt2);
    expect(nsLinks(netns)).toEqual(["eth1"]);
    rmSync(filler);
    expect(await cni.addNetworkList(list, rt2)).toBeDefined();
    expect(readdirSync(join(cacheDir, "results")).sort()).toEqual([`${list.name}-c1-eth1`, `${list.name}-c2-eth2`]);
    await cni.delNetworkList(list, rt1);
    await cni.delNetworkList(list, rt2);
    expect(readdirSync(join(cacheDir, "results"))).toEqual([]);
    expect(readdirSync(join(dataDir, list.name)).filter((f) => /^\d/.test(f))).toEqual([]);
  });
});
