// fileOps under Bun (libc through bun:ffi) against Node (node:fs): the same calls give the same
// results and the same Node-style errors (code, errno, syscall, path, message); stdin bigger
// than a pipe is read whole. Run by the pinned Bun of @cnikit/build (findBun()).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findBun } from "../../build/src/index.js";
import { filesScenario, namesScenario } from "./fixtures/files-scenario.js";
import { joinPath } from "../src/index.js";

const here = import.meta.dirname;
const dir = mkdtempSync(join(tmpdir(), "ck-native-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("fileOps: libc under Bun, node:fs under Node", () => {
  it("the same results and errors under both; under Bun no node:fs Stats; a 3 MB stdin read whole", () => {
    const nodeDir = mkdtempSync(join(dir, "node-"));
    const bunDir = mkdtempSync(join(dir, "bun-"));
    const onNode = { ...filesScenario(nodeDir), ...namesScenario() };
    const input = Buffer.alloc(3 * 1024 * 1024 + 17, 0x61);
    const r = spawnSync(findBun(), ["--conditions=@cnikit/source", join(here, "fixtures/files-scenario.ts"), bunDir], {
      cwd: resolve(here, ".."),
      input,
      encoding: "utf8",
      maxBuffer: 16 * 1024 * 1024,
      env: { PATH: "/usr/bin:/bin", HOME: dir, BUN_DEBUG_QUIET_LOGS: "1" },
    });
    expect(r.status, r.stderr).toBe(0);
    const { stdinBytes, ...onBun } = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(stdinBytes).toBe(input.length);
    expect(onNode.nodeStats).toBe(true);
    expect(onBun.nodeStats).toBe(false);
    const same = (x: Record<string, unknown>, tmp: string) => {
      const { nodeStats, ...rest } = x;
      return JSON.parse(JSON.stringify(rest).replaceAll(tmp, "<tmp>"));
    };
    expect(same(onBun, bunDir)).toEqual(same(onNode, nodeDir));
    // and what they are
    expect(onBun).toMatchObject({
      read: "hello\n",
      buf: "llo!o\n", // pwrite leaves the offset at 0
      readFileAfter: "llo",
      statMissing: { code: "ENOENT", errno: -2, syscall: "stat", message: `ENOENT: no such file or directory, stat '${bunDir}/missing'` },
      writeAgain: { code: "EEXIST", syscall: "open", message: `EEXIST: file already exists, open '${bunDir}/a.txt'` },
      linkExists: { code: "EEXIST", syscall: "link", dest: `${bunDir}/b.txt` },
      closeBad: { code: "EBADF", syscall: "close", message: "EBADF: bad file descriptor, close" },
      accessX: { code: "EACCES" },
      mkdirpUnderFile: { code: "ENOTDIR" },
      readdir: ["10.1.0.10", "10.1.0.9", "a.txt", "big", "d1", "last_reserved_ip.0", "lock", "z"],
      lockMode: "600",
      urandom: 8,
    });
  }, 60_000);

  it("joinPath is path.posix.join", () => {
    const cases = [
      ["/var/lib/cni/networks", "mynet"],
      ["/a/", "b/"],
      ["/a", "..", "b"],
      ["/", ".."],
      ["a", "", "b"],
      ["", ""],
      ["a/..", ""],
      ["../a", "../../b"],
      ["/opt/cni/bin/", "./host-local"],
      ["a/b/", "../"],
      [".", "./"],
      ["//x//", "y"],
    ];
    for (const c of cases) expect(joinPath(...c), JSON.stringify(c)).toBe(posix.join(...c));
  });
});
