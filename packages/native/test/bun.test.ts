// @cnikit/native under Bun (the bun:ffi backend) against Node (koffi): the same calls through the
// public API (fixtures/scenario.ts) give the same results, errno included, and Bun never maps
// koffi. Run by the pinned Bun of @cnikit/build (findBun()).
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findBun } from "../../build/src/index.js";
import { scenario } from "./fixtures/scenario.js";

const here = import.meta.dirname;
const dir = mkdtempSync(join(tmpdir(), "ck-native-bun-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the pinned Bun in this package's directory, resolving @cnikit/* to their sources. */
function underBun(args: readonly string[]) {
  const r = spawnSync(findBun(), ["--conditions=@cnikit/source", ...args], {
    cwd: resolve(here, ".."),
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin", HOME: dir, BUN_DEBUG_QUIET_LOGS: "1" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the bun:ffi backend (under Bun) against koffi (under Node)", () => {
  it("the same calls give the same results: flock, setns, ioctl, mount, netlink send/recv, posixSpawn, errno", async () => {
    const nodeDir = mkdtempSync(join(dir, "node-"));
    const bunDir = mkdtempSync(join(dir, "bun-"));
    const onNode = await scenario(nodeDir);
    const r = underBun([join(here, "fixtures/scenario.ts"), bunDir]);
    expect(r.status, r.stderr).toBe(0);
    const onBun = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(onNode.backend).toBe("koffi");
    expect(onBun.backend).toBe("bun:ffi");
    // koffi is loaded under Node, never under Bun
    expect(onNode.koffiMapped).toBe(true);
    expect(onBun.koffiMapped).toBe(false);
    const same = (x: Record<string, unknown>, tmp: string) => {
      const { backend, koffiMapped, ...rest } = x;
      return JSON.parse(JSON.stringify(rest).replaceAll(tmp, "<tmp>"));
    };
    expect(same(onBun, bunDir)).toEqual(same(onNode, nodeDir));
    // and what they are: errno read right after each call
    expect(onBun).toMatchObject({
      flock: {
        ex: true,
        other: false,
        raw: { rc: -1, errno: 11 },
        badFd: { code: 5, msg: "flock(987654, ex) failed: EBADF" },
      },
      setns: {
        badFd: { rc: -1, code: "EBADF" },
        notNs: { rc: -1, code: "EINVAL" },
        own: { rc: "ok" },
        checked: { name: "SyscallError", message: "setns (fd 987654): EBADF", code: "EBADF", errno: 9 },
        isSyscallError: true,
      },
      ioctl: { nstype: true, onFile: { rc: -1, code: "ENOTTY" } },
      mount: { rc: -1, code: "ENOENT" },
      umount2: { rc: -1, code: "ENOENT" },
      netlink: { sync: true, firstType: 16, async: true, asyncSeq: 2 },
      spawn: { code: 3, signal: null, stdout: "zero|é x|in", stderr: "err\n" },
      spawnMissing: { code: "ENOENT", errno: -2 },
      spawnTimeout: { code: null, signal: "SIGKILL", timedOut: true },
      spawnBig: { code: 0, same: true },
      spawnAbort: { signal: "SIGKILL", aborted: true },
    });
  }, 60_000);

  it("errno is the failed call's, not a later one's: a success in between leaves it, another failure replaces it", () => {
    const r = underBun([
      "-e",
      `import { getLibc, lastErrno } from "./src/index.ts";
       import { openSync } from "node:fs";
       const c = getLibc();
       const own = openSync("/proc/thread-self/ns/net", "r");
       const out = [];
       out.push(c.flock(987654, 2), lastErrno().code);
       out.push(c.setns(own, 0x40000000), lastErrno().code);
       out.push(c.setns(own, 0x20000000), lastErrno().code);
       console.log(JSON.stringify(out));`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    // setns of a netns fd with another type is EINVAL; the success in between leaves EBADF
    expect(JSON.parse(r.stdout)).toEqual([-1, "EBADF", 0, "EBADF", -1, "EINVAL"]);
  });

  it("posixSpawn under Bun starts the child at once, and never inside a setns window of the JS thread", () => {
    const name = `cknat${randomBytes(4).toString("hex")}`;
    const ip = (...args: string[]) =>
      spawnSync("ip", args, { encoding: "utf8", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
    expect(ip("netns", "add", name).status).toBe(0);
    try {
      const r = underBun([
        "-e",
        `import { getLibc, posixSpawn } from "./src/index.ts";
         import { openSync, readFileSync, readlinkSync } from "node:fs";
         const NET = 0x40000000;
         const c = getLibc();
         const home = openSync("/proc/thread-self/ns/net", "r");
         const other = openSync("/var/run/netns/${name}", "r");
         const req = { pluginPath: "/bin/readlink", args: ["/proc/self/ns/net"], stdin: "", env: {} };
         const children = () => readFileSync(\`/proc/self/task/\${process.pid}/children\`, "utf8").trim();
         const before = children();
         const first = posixSpawn(req); // nothing has called setns yet
         const startedAtOnce = children() !== before;
         if (c.setns(other, NET) !== 0) throw new Error("setns in");
         const inWindow = readlinkSync("/proc/thread-self/ns/net");
         let inside;
         try {
           inside = posixSpawn(req);
         } finally {
           if (c.setns(home, NET) !== 0) throw new Error("setns back");
         }
         const after = posixSpawn(req); // setns was used, the thread is home again: at once
         const out = await Promise.all([first, inside, after]);
         console.log(JSON.stringify({
           startedAtOnce,
           host: readlinkSync("/proc/thread-self/ns/net"),
           inWindow,
           children: out.map((o) => o.stdout.toString().trim()),
         }));`,
      ]);
      expect(r.status, r.stderr).toBe(0);
      const o = JSON.parse(r.stdout) as { startedAtOnce: boolean; host: string; inWindow: string; children: string[] };
      expect(o.startedAtOnce).toBe(true);
      expect(o.inWindow).not.toBe(o.host);
      // the one asked for inside the window started after it, in the JS thread's own netns
      expect(o.children).toEqual([o.host, o.host, o.host]);
    } finally {
      ip("netns", "del", name);
    }
  });

  it("fastExit under Bun: the 'exit' listeners run, then _exit with the final exit code", () => {
    const r = underBun([
      "-e",
      `import { getLibc } from "./src/index.ts";
       import { fastExit } from "./src/fast-exit.ts";
       import { writeSync } from "node:fs";
       getLibc();
       process.on("exit", () => { writeSync(1, "listener\\n"); process.exitCode = 7; });
       fastExit(3);`,
    ]);
    expect(r.stdout).toBe("listener\n");
    expect(r.status).toBe(7);
  });
});
