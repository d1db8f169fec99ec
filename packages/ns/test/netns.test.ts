import { readFileSync, readlinkSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CniError } from "@cnikit/spec";
import { Netns, NetnsClosedError, NetnsNotFoundError, NotANetnsError } from "../src/index.js";
import { sh, uniq, withNetns } from "./helpers.js";

const threadNs = () => readlinkSync("/proc/thread-self/ns/net");

describe("Netns", () => {
  it("creates a named netns like `ip netns add`, opens it, and removes it", async () => {
    const name = uniq("ckns", 5);
    const ns = await Netns.create(name);
    try {
      expect(ns.path).toBe(`/var/run/netns/${name}`);
      expect(sh("ip", ["netns", "list"])).toContain(name);
      expect(ns.inode).not.toBe(Netns.host().inode);
      const again = await Netns.open(ns.path);
      expect(again.inode).toBe(ns.inode);
      again.close();
      expect((await ns.listLinks()).map((l) => l.name)).toEqual(["lo"]);
      await expect(Netns.create(name)).rejects.toThrow(/already exists/);
    } finally {
      ns.close();
      await Netns.remove(name);
    }
    expect(sh("ip", ["netns", "list"])).not.toContain(name);
    await expect(Netns.remove(name)).rejects.toBeInstanceOf(NetnsNotFoundError);
  });

  it("opens /proc/<pid>/ns/net and the current netns", async () => {
    const ns = await Netns.open(`/proc/${process.pid}/ns/net`);
    try {
      expect(ns.inode).toBe(statSync("/proc/thread-self/ns/net").ino);
      const cur = Netns.current();
      expect(cur.inode).toBe(ns.inode);
      cur.close();
    } finally {
      ns.close();
    }
  });

  it("gives typed errors for a missing path and for a path that is not a netns", async () => {
    const missing = `/var/run/netns/${uniq("cknone", 5)}`;
    const e1 = await Netns.open(missing).catch((e: unknown) => e);
    expect(e1 instanceof NetnsNotFoundError).toBe(true);
    expect(e1 instanceof CniError).toBe(true);
    expect((e1 as CniError).code).toBe(8);
    expect(await Netns.openIfExists(missing)).toBeUndefined();
    expect(await Netns.openIfExists("")).toBeUndefined();
    const e2 = await Netns.open("/etc/hostname").catch((e: unknown) => e);
    expect(e2 instanceof NotANetnsError).toBe(true);
    expect(e2 instanceof NetnsNotFoundError).toBe(false);
    const e3 = await Netns.open(`/proc/${process.pid}/ns/uts`).catch((e: unknown) => e);
    expect(e3 instanceof NotANetnsError).toBe(true);
    await expect(Netns.openIfExists("/etc/hostname")).rejects.toBeInstanceOf(NotANetnsError);
    await expect(Netns.create("bad/name")).rejects.toThrow();
    await expect(Netns.create("..")).rejects.toThrow(/invalid netns name/);
  });

  it("run() executes synchronously inside the netns and always switches back", async () => {
    await withNetns(1, async (ns) => {
      const host = threadNs();
      const inside = ns.run(() => threadNs());
      expect(inside).not.toBe(host);
      expect(inside).toBe(`net:[${ns.inode}]`);
      expect(threadNs()).toBe(host);
      // /proc/thread-self/net/dev read inside shows the netns' links only
      const dev = ns.run(() => readFileSync("/proc/thread-self/net/dev", "utf8"));
      expect(dev).toContain("lo:");
      expect(dev).not.toContain("eth0:");
      // a throwing fn still returns the thread
      expect(() =>
        ns.run(() => {
          throw new Error("boom");
        }),
      ).toThrow("boom");
      expect(threadNs()).toBe(host);
      // nested windows restore the outer one
      await withNetns(1, async (other) => {
        const seen = ns.run(() => [threadNs(), other.run(() => threadNs()), threadNs()]);
        expect(seen).toEqual([`net:[${ns.inode}]`, `net:[${other.inode}]`, `net:[${ns.inode}]`]);
      });
      expect(threadNs()).toBe(host);
      // async functions are refused (their continuation would not be in the netns)
      expect(() => ns.run(async () => 1)).toThrow(/synchronous/);
      expect(threadNs()).toBe(host);
    });
  });

  it("a closed handle throws NetnsClosedError", async () => {
    await withNetns(1, async (ns) => {
      const h = await Netns.open(ns.path);
      h.close();
      h.close();
      expect(h.closed).toBe(true);
      expect(() => h.run(() => 1)).toThrow(NetnsClosedError);
      await expect(h.listLinks()).rejects.toThrow(/has already been closed/);
    });
  });

  it("the host handle is shared and survives close()", () => {
    const h = Netns.host();
    h.close();
    expect(h.closed).toBe(false);
    expect(Netns.host()).toBe(h);
  });
});
