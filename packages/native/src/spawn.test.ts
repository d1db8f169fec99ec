import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { posixSpawn, posixSpawnAvailable } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "ck-spawn-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sh script in the temp dir (posixSpawn runs argv [path], like a CNI runtime). */
function script(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

describe("posixSpawn", () => {
  it("is available on this Linux host", () => {
    expect(posixSpawnAvailable()).toBe(true);
  });

  it("passes stdin, the exact env and argv[0]; returns stdout, stderr and the exit status", async () => {
    const p = script("echo.sh", 'printf "%s|%s|%s|" "$0" "$CNI_COMMAND" "$HOME"; cat; echo oops >&2; exit 3');
    const r = await posixSpawn({ pluginPath: p, stdin: '{"a":1}', env: { CNI_COMMAND: "ADD", PATH: "/usr/bin:/bin" } });
    expect(r).toMatchObject({ code: 3, signal: null, timedOut: false, aborted: false });
    expect(r.stdout.toString()).toBe(`${p}|ADD||{"a":1}`);
    expect(r.stderr.toString()).toBe("oops\n");
  });

  it("passes arguments after argv[0]", async () => {
    const r = await posixSpawn({
      pluginPath: "/bin/sh",
      args: ["-c", 'printf "%s,%s" "$0" "$1"', "zero", "one two"],
      stdin: "",
      env: {},
    });
    expect(r.stdout.toString()).toBe("zero,one two");
  });

  it("moves stdin and stdout bigger than a pipe (1 MB each way)", async () => {
    const p = script("cat.sh", "cat");
    const big = Buffer.alloc(1024 * 1024, "x");
    const r = await posixSpawn({ pluginPath: p, stdin: big, env: { PATH: "/usr/bin:/bin" } });
    expect(r.code).toBe(0);
    expect(r.stdout.equals(big)).toBe(true);
  });

  it("gives the child default signal dispositions (Node ignores SIGPIPE; the child must not)", async () => {
    // a child writing into a closed pipe dies of SIGPIPE only when SIGPIPE is SIG_DFL
    const p = script("sigpipe.sh", "grep -E '^(SigIgn|SigBlk)' /proc/self/status");
    const r = await posixSpawn({ pluginPath: p, stdin: "", env: { PATH: "/usr/bin:/bin" } });
    expect(r.code).toBe(0);
    const lines = Object.fromEntries(
      r.stdout
        .toString()
        .trim()
        .split("\n")
        .map((l) => l.split(/:\s*/)),
    );
    expect(BigInt(`0x${lines.SigIgn}`) & (1n << 12n)).toBe(0n); // SIGPIPE (13) not ignored
    expect(BigInt(`0x${lines.SigBlk}`)).toBe(0n);
  });

  it("passes the child exactly the descriptors child_process.spawn would (ours are close-on-exec)", async () => {
    const fd = openSync(join(dir, "marker"), "w");
    try {
      const p = script("fds.sh", "ls /proc/self/fd");
      const r = await posixSpawn({ pluginPath: p, stdin: "", env: { PATH: "/usr/bin:/bin" } });
      const ours = r.stdout.toString().trim().split("\n").map(Number);
      const node = spawnSync(p, { env: { PATH: "/usr/bin:/bin" } })
        .stdout.toString()
        .trim()
        .split("\n")
        .map(Number);
      expect(ours).toEqual(node);
      expect(ours).not.toContain(fd);
      expect(ours.slice(0, 3)).toEqual([0, 1, 2]);
    } finally {
      closeSync(fd);
    }
  });

  it("reports a signal death by name", async () => {
    const p = script("kill.sh", "kill -TERM $$");
    const r = await posixSpawn({ pluginPath: p, stdin: "", env: {} });
    expect(r).toMatchObject({ code: null, signal: "SIGTERM" });
  });

  it("rejects like child_process.spawn when the program cannot be started", async () => {
    const missing = join(dir, "missing");
    await expect(posixSpawn({ pluginPath: missing, stdin: "", env: {} })).rejects.toMatchObject({
      code: "ENOENT",
      errno: -2,
      syscall: `spawn ${missing}`,
      path: missing,
    });
    const notExec = join(dir, "plain");
    writeFileSync(notExec, "#!/bin/sh\n");
    await expect(posixSpawn({ pluginPath: notExec, stdin: "", env: {} })).rejects.toMatchObject({ code: "EACCES" });
  });

  it("rejects (does not throw) an environment value with a NUL byte, and leaves no descriptor open", async () => {
    const before = readdirSync("/proc/self/fd").length;
    const p = posixSpawn({ pluginPath: "/bin/true", stdin: "", env: { BAD: "a\0b" } });
    await expect(p).rejects.toThrow(/NUL/);
    expect(readdirSync("/proc/self/fd").length).toBe(before);
  });

  it("kills the child on timeout and on abort, and never starts it when already aborted", async () => {
    const p = script("sleep.sh", "exec sleep 30");
    const t0 = Date.now();
    const timed = await posixSpawn({ pluginPath: p, stdin: "", env: { PATH: "/usr/bin:/bin" }, timeoutMs: 100 });
    expect(timed).toMatchObject({ timedOut: true, aborted: false, signal: "SIGKILL", code: null });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const aborted = await posixSpawn({ pluginPath: p, stdin: "", env: { PATH: "/usr/bin:/bin" }, signal: ac.signal });
    expect(aborted).toMatchObject({ aborted: true, signal: "SIGKILL" });
    expect(Date.now() - t0).toBeLessThan(10_000);
    const never = await posixSpawn({
      pluginPath: join(dir, "missing"),
      stdin: "",
      env: {},
      signal: AbortSignal.abort(),
    });
    expect(never).toMatchObject({ aborted: true, code: null });
  });

  it("waits for a child that closed its output but runs on, and reaps it", async () => {
    const p = script("late.sh", "exec >&- 2>&-; sleep 0.2; exit 7");
    const r = await posixSpawn({ pluginPath: p, stdin: "", env: { PATH: "/usr/bin:/bin" } });
    expect(r.code).toBe(7);
  });

  it("runs ten children at once", async () => {
    const p = script("id.sh", 'cat; echo " $CNI_CONTAINERID"');
    const rs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        posixSpawn({ pluginPath: p, stdin: `in${i}`, env: { CNI_CONTAINERID: `c${i}` } }),
      ),
    );
    expect(rs.map((r) => r.stdout.toString().trim())).toEqual(Array.from({ length: 10 }, (_, i) => `in${i} c${i}`));
  });
});
