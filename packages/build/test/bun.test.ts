// Bun builds (--target bun, --target bun-shared): fixtures compiled into temp dirs and run as a
// runtime runs them, with the Bun of the pinned @oven/bun-linux-x64(-baseline) package.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUN_JIT_POLICY, BUN_VERSION, BuildError, buildBun, findBun, runBuildCli } from "@cnikit/build";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const SKEL_FIXTURE = join(here, "fixtures/skel-plugin.ts");
const NS_FIXTURE = join(here, "fixtures/ns-plugin.ts");
const KOFFI_FIXTURE = join(here, "fixtures/koffi-plugin.ts");
const REPLY_FIXTURE = join(here, "fixtures/reply-plugin.ts");

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "ck-build-bun-"));
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs `file` with a clean environment in which neither node nor bun is on PATH. */
function run(file: string, env: Record<string, string> = {}) {
  const r = spawnSync(file, [], {
    input: '{"cniVersion":"1.0.0"}',
    cwd: "/",
    env: { PATH: "/nonexistent", CNI_COMMAND: "VERSION", ...env },
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("Bun builds", () => {
  it("findBun: the pinned bun of @oven/bun-linux-x64 (or -baseline without AVX2)", () => {
    const bun = findBun();
    expect(bun).toMatch(/@oven\/bun-linux-x64(-baseline)?\/bin\/bun$/);
    const v = spawnSync(bun, ["--version"], { encoding: "utf8" });
    expect(v.stdout.trim()).toBe(BUN_VERSION);
  });

  it("target bun: one executable (no node needed), libc through bun:ffi: no koffi in it, none beside it", async () => {
    const dist = join(work, "bun", "dist");
    const r = await buildBun({ entry: NS_FIXTURE, outfile: join(dist, "nsfix") });
    expect(r.nativeAddons).toEqual([]);
    expect(readdirSync(dist).sort()).toEqual(["nsfix"]);
    const exe = readFileSync(r.outfile);
    expect(exe.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    // the koffi loader was dropped from the bundle (its "koffi.node" lookup and error text)
    expect(exe.includes("koffi.node")).toBe(false);
    const bin = join(work, "bun", "bin");
    mkdirSync(bin);
    symlinkSync(r.outfile, join(bin, "nsfix"));
    const out = run(join(bin, "nsfix"));
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ lo: true, locked: true, backend: "bun:ffi" });
  }, 120_000);

  it("target bun: a plugin calling loadKoffi() itself gets koffi.node beside it, found through a symlink", async () => {
    const dist = join(work, "bun-koffi", "dist");
    const r = await buildBun({ entry: KOFFI_FIXTURE, outfile: join(dist, "koffix") });
    expect(r.nativeAddons.map((p) => p.slice(dist.length + 1))).toEqual(["koffi.node"]);
    const bin = join(work, "bun-koffi", "bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(r.outfile, join(bin, "koffix"));
    const out = run(join(bin, "koffix"));
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ pid: true });
  }, 120_000);

  it("target bun-shared: a bytecode bundle with a #!<dir>/bun shebang, its .jsc and one bun beside it", async () => {
    const dist = join(work, "shared");
    const ns = await buildBun({ entry: NS_FIXTURE, outfile: join(dist, "nsfix"), target: "bun-shared" });
    await buildBun({ entry: SKEL_FIXTURE, outfile: join(dist, "skelfix"), target: "bun-shared" });
    expect(readdirSync(dist).sort()).toEqual(["bun", "nsfix", "nsfix.jsc", "skelfix", "skelfix.jsc"]);
    expect(readFileSync(ns.outfile, "utf8").split("\n")[0]).toBe(`#!${join(dist, "bun")}`);
    expect(readFileSync(ns.outfile, "utf8")).not.toContain("koffi.node");
    // the JIT tiers up later (BUN_JIT_POLICY), set first thing: the compiled form gets --compile-jit-policy
    expect(readFileSync(ns.outfile, "utf8")).toContain(`Bun.unsafe.setJITPolicy(${BUN_JIT_POLICY})`);
    const out = run(ns.outfile);
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ lo: true, locked: true, backend: "bun:ffi" });
    const version = run(join(dist, "skelfix"));
    expect(version.status, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout).supportedVersions).toContain("1.1.0");
  }, 120_000);

  it("target bun: the reply and the logs go out with Bun.write: all of a 4 MB reply to a slow reader; EPIPE is exit 1", async () => {
    const r = await buildBun({ entry: REPLY_FIXTURE, outfile: join(work, "reply", "replyfix") });
    const add = (env: Record<string, string>, readAfterMs: number, closeStdout = false) =>
      new Promise<{ status: number | null; stdout: number; stderr: string }>((resolve, reject) => {
        const child = spawn(r.outfile, [], {
          cwd: "/",
          env: {
            PATH: "/nonexistent",
            CNI_COMMAND: "ADD",
            CNI_CONTAINERID: "c1",
            CNI_NETNS: "/proc/1/ns/net",
            CNI_IFNAME: "eth0",
            CNI_NETNS_OVERRIDE: "1",
            ...env,
          },
        });
        let stdout = 0;
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d));
        if (closeStdout) child.stdout.destroy();
        else {
          child.stdout.pause();
          setTimeout(() => {
            child.stdout.on("data", (d: Buffer) => (stdout += d.length));
            child.stdout.resume();
          }, readAfterMs);
        }
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, stdout, stderr }));
        child.stdin.end('{"cniVersion":"1.0.0","name":"n","type":"replyfix"}');
      });
    const big = await add({ REPLY_BYTES: String(4 << 20) }, 300);
    expect(big.status, big.stderr).toBe(0);
    expect(big.stdout).toBe(4 << 20);
    expect(big.stderr).toContain('"msg":"about to reply","dir":true');
    const small = await add({ REPLY_BYTES: "100" }, 0);
    expect([small.status, small.stdout]).toEqual([0, 100]);
    const closed = await add({ REPLY_BYTES: String(1 << 20) }, 0, true);
    expect(closed.status).toBe(1);
    expect(closed.stderr).toContain("reply-fixture: could not write the reply to stdout: write EPIPE");
  }, 120_000);

  it("cnikit-build --target bun builds; misuse is a usage error", async () => {
    let log = "";
    const io = { out: (s: string) => (log += s), err: (s: string) => (log += s), cwd: work };
    expect(await runBuildCli([SKEL_FIXTURE, "cli/skelfix", "--target", "bun"], io)).toBe(0);
    expect(log).toContain("built cli/skelfix");
    const version = run(join(work, "cli/skelfix"));
    expect(version.status, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout).supportedVersions).toContain("1.1.0");
    for (const bad of [
      ["--target", "deno"],
      ["--target", "bun", "--sea"],
      ["--target", "bun", "--snapshot"],
      ["--target", "bun", "--format", "esm"],
      ["--target", "bun", "--shebang", "#!/x"],
      ["--bun", "/x"],
    ]) {
      log = "";
      expect(await runBuildCli([SKEL_FIXTURE, "cli/x", ...bad], io), bad.join(" ")).toBe(2);
    }
    for (const jitPolicy of [0, -1, Number.NaN]) {
      const bad = await buildBun({ entry: SKEL_FIXTURE, outfile: join(work, "x"), jitPolicy }).catch((e: unknown) => e);
      expect(bad instanceof BuildError && bad.message, String(jitPolicy)).toMatch(
        /jitPolicy must be a positive number/,
      );
    }
    const err = await buildBun({ entry: SKEL_FIXTURE, outfile: join(work, "x"), bunBinary: "/nonexistent/bun" }).catch(
      (e: unknown) => e,
    );
    expect(err instanceof BuildError).toBe(true);
  }, 120_000);
});
