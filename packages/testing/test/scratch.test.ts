import { spawnSync } from "node:child_process";
import { existsSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { expectLink, liveTempNetns, Scratch } from "../src/index.js";

const hostLinkExists = (name: string) =>
  spawnSync("ip", ["link", "show", "dev", name], { stdio: "ignore" }).status === 0;

let s: Scratch | undefined;
afterEach(() => {
  try {
    s?.cleanup();
  } catch {
    // the test under way reports what matters
  }
});

describe("Scratch", () => {
  it("makes namespaces, link names, dirs and a plugin dir named after its id; cleanup removes them all", async () => {
    s = new Scratch();
    expect(s.id).toMatch(/^[0-9a-f]{6}$/);
    const a = s.netns("a");
    expect(a).toBe(`/var/run/netns/ck${s.id}a`);
    expect(liveTempNetns()).toContain(`ck${s.id}a`);
    await expectLink(a, "lo", { up: true });
    const bridge = s.link("br");
    expect(bridge).toBe(`ck${s.id}br`);
    spawnSync("ip", ["link", "add", bridge, "type", "bridge"]);
    expect(hostLinkExists(bridge)).toBe(true);
    s.link("never"); // never created: cleanup does not mind
    const d = s.dir("x");
    const bin = s.pluginDir({ true: "/bin/true" });
    expect(readlinkSync(join(bin, "true"))).toBe("/bin/true");
    expect(s.subnet()).toMatch(/^10\.(1[5-9]\d|2[0-4]\d)\.\d{1,3}\.0\/24$/);
    const order: string[] = [];
    s.onCleanup(() => order.push(existsSync(a) || existsSync(d) || hostLinkExists(bridge) ? "too early" : "after"));

    s.cleanup();
    expect(order).toEqual(["after"]);
    const left = [a, d, bin].filter((p) => existsSync(p));
    expect(left).toEqual([]);
    expect(hostLinkExists(bridge)).toBe(false);
    expect(liveTempNetns()).not.toContain(`ck${s.id}a`);
    s.cleanup(); // twice is fine
  });

  it("runs every step even when one throws, then reports it", () => {
    s = new Scratch();
    const a = s.netns("a");
    let ran = false;
    s.onCleanup(() => {
      throw new Error("step failed");
    });
    s.onCleanup(() => {
      ran = true;
    });
    expect(() => s?.cleanup()).toThrow("step failed");
    expect(ran).toBe(true);
    expect(existsSync(a)).toBe(false);
  });

  it("refuses names longer than a link name and plugin binaries that do not exist", () => {
    s = new Scratch();
    expect(() => s?.link("toolong1")).toThrow(RangeError);
    expect(() => s?.pluginDir({ nope: "/nonexistent/ck-plugin" })).toThrow(
      "plugin binary /nonexistent/ck-plugin missing",
    );
  });
});
