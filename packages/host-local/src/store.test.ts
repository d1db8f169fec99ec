import { spawnSync } from "node:child_process";
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostLocalStore } from "./store.js";

let root: string;
let store: HostLocalStore;

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "ck-hl-store-"));
  store = await HostLocalStore.open("net1", { dataDir: root });
});
afterEach(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

const dir = () => join(root, "net1");

describe("HostLocalStore (Go on-disk format)", () => {
  it("creates the dir and lock file", () => {
    expect(statSync(dir()).isDirectory()).toBe(true);
    expect((statSync(dir()).mode & 0o777).toString(8)).toBe("755");
    expect(readdirSync(dir())).toEqual(["lock"]);
  });

  it("reserves exclusively with mode 0600, ID\\r\\nifname, last_reserved_ip", async () => {
    expect(await store.withLock(() => store.reserve(" ctr1 ", "eth0", "10.0.0.2", "0"))).toBe(true);
    expect(readFileSync(join(dir(), "10.0.0.2"), "utf8")).toBe("ctr1\r\neth0");
    expect((statSync(join(dir(), "10.0.0.2")).mode & 0o777).toString(8)).toBe("600");
    expect(readFileSync(join(dir(), "last_reserved_ip.0"), "utf8")).toBe("10.0.0.2");
    expect(store.reserve("ctr2", "eth0", "10.0.0.2", "0")).toBe(false);
    expect(store.lastReservedIp("0")).toBe("10.0.0.2");
    expect(store.lastReservedIp("1")).toBeUndefined();
    // overwritten in place (same inode), cut to the new length
    const inode = statSync(join(dir(), "last_reserved_ip.0")).ino;
    expect(store.reserve("ctr3", "eth0", "10.0.0.200", "0")).toBe(true);
    expect(store.reserve("ctr4", "eth0", "10.0.0.3", "0")).toBe(true);
    expect(readFileSync(join(dir(), "last_reserved_ip.0"), "utf8")).toBe("10.0.0.3");
    expect(statSync(join(dir(), "last_reserved_ip.0")).ino).toBe(inode);
  });

  it("finds, lists and releases by (id, ifname), with the bare-ID fallback", () => {
    store.reserve("ctr1", "eth0", "10.0.0.2", "0");
    store.reserve("ctr1", "eth1", "10.0.0.3", "0");
    writeFileSync(join(dir(), "10.0.0.9"), "old\n");
    expect(store.getById("ctr1", "eth0")).toEqual(["10.0.0.2"]);
    expect(store.findById("ctr1", "eth1")).toBe(true);
    expect(store.findById("old", "eth0")).toBe(true);
    expect(store.findById("nobody", "eth0")).toBe(false);
    expect(store.listLeases().sort((a, b) => a.ip.localeCompare(b.ip))).toEqual([
      { ip: "10.0.0.2", containerId: "ctr1", ifName: "eth0" },
      { ip: "10.0.0.3", containerId: "ctr1", ifName: "eth1" },
      { ip: "10.0.0.9", containerId: "old", ifName: undefined },
    ]);
    expect(store.releaseById("ctr1", "eth0")).toEqual(["10.0.0.2"]);
    expect(store.releaseById("old", "eth0")).toEqual(["10.0.0.9"]);
    expect(store.releaseById("nobody", "eth0")).toEqual([]);
    expect(readdirSync(dir()).sort()).toEqual(["10.0.0.3", "last_reserved_ip.0", "lock"]);
  });

  it("GC keeps valid attachments, old-format leases of valid IDs, lock and last_reserved_ip", () => {
    store.reserve("keep", "eth0", "10.0.0.2", "0");
    store.reserve("keep", "eth1", "10.0.0.3", "0");
    store.reserve("gone", "eth0", "10.0.0.4", "0");
    writeFileSync(join(dir(), "10.0.0.9"), "keep");
    writeFileSync(join(dir(), "10.0.0.10"), "stale-legacy");
    writeFileSync(join(dir(), "not-an-ip"), "gone\r\neth0");
    const released = store.releaseStale([{ containerID: "keep", ifname: "eth0" }]);
    expect(released.sort()).toEqual(["10.0.0.10", "10.0.0.3", "10.0.0.4"]);
    expect(readdirSync(dir()).sort()).toEqual(["10.0.0.2", "10.0.0.9", "last_reserved_ip.0", "lock", "not-an-ip"]);
    expect(store.releaseStale([]).sort()).toEqual(["10.0.0.2", "10.0.0.9"]);
    expect(readdirSync(dir()).sort()).toEqual(["last_reserved_ip.0", "lock", "not-an-ip"]);
  });

  it("serialises withLock inside one process (two stores on one dir)", async () => {
    const other = await HostLocalStore.open("net1", { dataDir: root });
    try {
      const order: string[] = [];
      const slow = store.withLock(async () => {
        order.push("a-start");
        await new Promise((r) => setTimeout(r, 30));
        order.push("a-end");
      });
      const fast = other.withLock(() => {
        order.push("b");
      });
      await Promise.all([slow, fast]);
      expect(order).toEqual(["a-start", "a-end", "b"]);
    } finally {
      other.close();
    }
  });

  it("refuses use after close", async () => {
    store.close();
    await expect(store.withLock(() => 1)).rejects.toThrow("host-local store is closed");
  });
});

describe("HostLocalStore stays inside <dataDir>/<network>", () => {
  it.each(["..", ".", "a/b", "../x", ""])("refuses the network name %j", async (name) => {
    await expect(HostLocalStore.open(name, { dataDir: root })).rejects.toMatchObject({ code: 7 });
  });

  it.each(["relative/dir", "/tmp/a/../b"])("refuses the dataDir %j", async (dataDir) => {
    await expect(HostLocalStore.open("net2", { dataDir })).rejects.toMatchObject({
      code: 7,
      msg: `invalid host-local dataDir ${JSON.stringify(dataDir)}: must be an absolute path without ".."`,
    });
  });

  it("refuses a network dir that is a symlink, and replaces planted symlinks instead of following them", async () => {
    const outside = mkdtempSync(join(tmpdir(), "ck-hl-outside-"));
    try {
      symlinkSync(outside, join(root, "net2"));
      await expect(HostLocalStore.open("net2", { dataDir: root })).rejects.toMatchObject({ code: 7 });
      writeFileSync(join(outside, "victim"), "precious");
      symlinkSync(join(outside, "victim"), join(dir(), "last_reserved_ip.0"));
      symlinkSync(join(outside, "victim"), join(dir(), ".tmp-10.0.0.2"));
      expect(await store.withLock(() => store.reserve("ctr1", "eth0", "10.0.0.2", "0"))).toBe(true);
      expect(readFileSync(join(outside, "victim"), "utf8")).toBe("precious");
      expect(lstatSync(join(dir(), "last_reserved_ip.0")).isFile()).toBe(true);
      expect(readdirSync(dir()).sort()).toEqual(["10.0.0.2", "last_reserved_ip.0", "lock"]);
      // a FIFO is replaced, not opened for writing (which would wait for a reader, lock held)
      expect(spawnSync("mkfifo", [join(dir(), "last_reserved_ip.1")]).status).toBe(0);
      expect(await store.withLock(() => store.reserve("ctr1", "eth1", "10.0.0.3", "1"))).toBe(true);
      expect(lstatSync(join(dir(), "last_reserved_ip.1")).isFile()).toBe(true);
      expect(store.lastReservedIp("1")).toBe("10.0.0.3");
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
