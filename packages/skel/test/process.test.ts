// plugin.main() in a real process: a large reply reaches a slow pipe reader whole, and a
// reader that goes away (EPIPE) gives exit 1 and one line on stderr, not a crash.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "..", "..", "..");
let dir: string;
let binary: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cnikit-skel-proc-"));
  binary = join(dir, "big-result");
  execFileSync(
    process.execPath,
    [
      join(repoRoot, "tools", "build-plugin.mjs"),
      "--entry",
      join(here, "fixtures", "big-result-plugin.ts"),
      "--out",
      binary,
    ],
    { cwd: repoRoot, stdio: "pipe" },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string, mode: "slow-reader" | "close-early" | "normal"): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(binary, [], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: "ctr",
        CNI_NETNS: "/var/run/netns/cnikit-does-not-exist",
        CNI_IFNAME: "eth0",
        CNI_ARGS: args,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    p.on("error", reject);
    p.stdin.end(JSON.stringify({ cniVersion: "1.1.0", name: "big", type: "big-result" }));
    const out: Buffer[] = [];
    let stderr = "";
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    if (mode === "slow-reader") {
      p.stdout.pause();
      setTimeout(() => {
        p.stdout.on("data", (d: Buffer) => out.push(d));
        p.stdout.resume();
      }, 700);
    } else if (mode === "close-early") {
      p.stdout.once("data", () => p.stdout.destroy());
    } else {
      p.stdout.on("data", (d: Buffer) => out.push(d));
    }
    p.on("close", (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr }));
  });
}

describe("plugin.main() with stdout on a pipe", () => {
  it("a ~1 MB result arrives whole to a slow reader, then the process exits 0", async () => {
    const r = await run("SIZE=22000", "slow-reader");
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1_000_000);
    expect(r.stdout.endsWith("}\n")).toBe(true);
    const json = JSON.parse(r.stdout) as { ips: unknown[] };
    expect(json.ips).toHaveLength(22000);
    expect(r.stderr).toBe("");
  });

  it("console.log in the handler goes to stderr; stdout stays one document", async () => {
    const r = await run("SIZE=2;NOISE=1", "normal");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ cniVersion: "1.1.0" });
    expect(r.stderr).toContain("noise from the handler");
  });

  it("a reader that closes stdout early (EPIPE): exit 1 and one readable line, no stack trace", async () => {
    const r = await run("SIZE=22000", "close-early");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^big-result: could not write the reply to stdout: .*EPIPE/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
