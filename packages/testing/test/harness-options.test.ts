// Name prefixes (withTempNetns, createTempNetns, Scratch), route scope and "no gateway",
// the command runner and host-local lease listing.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  expectNoRoute,
  expectPluginError,
  expectPluginSuccess,
  PluginRunError,
  expectRoute,
  listHostLocalLeases,
  liveTempNetns,
  runCommand,
  runCommandOrThrow,
  Scratch,
  withTempNetns,
} from "../src/index.js";

describe("name prefixes", () => {
  it("withTempNetns names one or several namespaces with the prefix, and removes them", async () => {
    let one = "";
    await withTempNetns({ prefix: "ckpfx" }, async (ns) => {
      one = ns.path;
      expect(ns.name).toMatch(/^ckpfx[0-9a-f]+$/);
      expect(ns.name.length).toBeLessThanOrEqual(15);
      expect(existsSync(ns.path)).toBe(true);
    });
    expect(existsSync(one)).toBe(false);

    const names = await withTempNetns(2, { prefix: "ckduo", loopbackUp: false }, async (all) => all.map((n) => n.name));
    expect(names).toHaveLength(2);
    for (const n of names) {
      expect(n).toMatch(/^ckduo[0-9a-f]+$/);
      expect(liveTempNetns()).not.toContain(n);
    }
    // the forms without options still work
    expect(await withTempNetns((ns) => ns.name)).toMatch(/^ck[0-9a-f]+$/);
    expect(await withTempNetns(2, (all) => all.length)).toBe(2);
  });

  let s: Scratch | undefined;
  afterEach(() => s?.cleanup());

  it("Scratch puts its prefix before the id in every name", () => {
    s = new Scratch({ prefix: "ckbrt" });
    expect(s.prefix).toBe("ckbrt");
    const a = s.netns("a");
    expect(a).toBe(`/var/run/netns/ckbrt${s.id}a`);
    expect(existsSync(a)).toBe(true);
    expect(s.link("br")).toBe(`ckbrt${s.id}br`);
    expect(s.dir("x")).toContain(`/ckbrt${s.id}x-`);
    // 5 + 6 leaves 4 characters for a tag
    expect(() => s?.link("abcde")).toThrow(RangeError);
    expect(new Scratch().prefix).toBe("ck");
    expect(() => new Scratch({ prefix: "muchtoolong" })).toThrow(RangeError);
    s.cleanup();
    expect(existsSync(a)).toBe(false);
  });
});

describe("RouteExpectation scope and gw: null", () => {
  it("tells an on-link route from one via a gateway, and link scope from global", async () => {
    await withTempNetns({ prefix: "ckroute" }, async (ns) => {
      const ip = (...args: string[]) => runCommandOrThrow(["ip", "-n", ns.name, ...args]);
      await ip("link", "add", "ckd0", "type", "veth", "peer", "name", "ckd1");
      await ip("link", "set", "ckd0", "up");
      await ip("addr", "add", "10.124.0.2/24", "dev", "ckd0");
      await ip("route", "add", "default", "via", "10.124.0.1", "dev", "ckd0");
      await ip("route", "add", "10.125.0.0/16", "dev", "ckd0", "scope", "link");

      // the kernel's subnet route: on-link, scope link
      await expectRoute(ns, { dst: "10.124.0.0/24", dev: "ckd0", gw: null, scope: "link" });
      await expectRoute(ns, { dst: "10.125.0.0/16", gw: null, scope: "link" });
      await expectRoute(ns, { dst: "default", gw: "10.124.0.1", scope: "global" });
      await expectNoRoute(ns, { dst: "default", gw: null });
      await expectNoRoute(ns, { dst: "10.124.0.0/24", scope: "global" });
      await expect(expectRoute(ns, { dst: "default", gw: null })).rejects.toThrow(
        /expected route default \(no gateway\) in netns ckroute[0-9a-f]+, but it has:\n.*0\.0\.0\.0\/0 via 10\.124\.0\.1 dev ckd0/,
      );
      await expect(expectRoute(ns, { dst: "10.124.0.0/24", scope: "host" })).rejects.toThrow(/scope host/);
    });
  });
});

describe("runCommand / runCommandOrThrow", () => {
  it("collects output and exit code; the throwing form names the command", async () => {
    const ok = await runCommand(["sh", "-c", "cat; echo err >&2; exit 3"], { stdin: "in" });
    expect(ok).toEqual({ code: 3, signal: null, stdout: "in", stderr: "err\n" });
    expect(await runCommandOrThrow(["echo", "hi"])).toBe("hi\n");
    await expect(runCommandOrThrow(["sh", "-c", "echo nope >&2; exit 2"])).rejects.toThrow(
      "Command failed with exit code 2: sh -c 'echo nope >&2; exit 2'\n\nnope",
    );
    await expect(runCommandOrThrow(["sleep", "5"], { timeoutMs: 100 })).rejects.toThrow("Command timed out after 100 milliseconds: sleep 5");
    const killed = await runCommand(["sleep", "5"], { timeoutMs: 100 });
    expect(killed).toMatchObject({ code: null, signal: "SIGKILL" });
    expect((await runCommand(["sh", "-c", 'echo "$A:$HOME"'], { env: { A: "1", PATH: "/usr/bin:/bin" } })).stdout).toBe("1:\n");
    await expect(runCommand(["/nonexistent/ck-command"])).rejects.toThrow("Command failed with ENOENT: /nonexistent/ck-command");
  });
});

describe("expectPluginSuccess / expectPluginError on an in-process outcome", () => {
  it("accept invoke()'s output shape (no command, no signal)", () => {
    const ok = { exitCode: 0, stdout: "{}", stderr: "", result: { cniVersion: "1.0.0", ips: [{ address: "10.1.0.2/24" }] } };
    expect(expectPluginSuccess(ok)).toMatchObject({ cniVersion: "1.1.0", ips: [{ address: "10.1.0.2/24" }] });
    const failed = { exitCode: 1, stdout: "", stderr: "boom", error: { cniVersion: "1.1.0", code: 7, msg: "bad mtu" } };
    expect(expectPluginError(failed, 7, /mtu/)).toMatchObject({ code: 7 });
    expect(() => expectPluginSuccess(failed)).toThrow(PluginRunError);
    expect(() => expectPluginSuccess(failed)).toThrow(/the call failed: error 7: bad mtu/);
  });
});

describe("listHostLocalLeases", () => {
  it("lists the leased IPs of a network, sorted, without host-local's own files", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ckleases-"));
    try {
      expect(listHostLocalLeases(dataDir, "net")).toEqual([]);
      mkdirSync(join(dataDir, "net"));
      for (const f of ["lock", "last_reserved_ip.0", "10.1.0.3", "10.1.0.2", "fd00::2"]) writeFileSync(join(dataDir, "net", f), "");
      expect(listHostLocalLeases(dataDir, "net")).toEqual(["10.1.0.2", "10.1.0.3", "fd00::2"]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
