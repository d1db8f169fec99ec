// plugin.main() in a real process: a large reply reaches a slow pipe reader whole, and a
// reader that goes away (EPIPE) gives exit 1 and one line on stderr, not a crash.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture, fixtureOutfile } from "../../../tools/build-fixture.js";

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;
let binary: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cnikit-skel-proc-"));
  binary = await buildFixture({ entry: join(here, "fixtures", "big-result-plugin.ts"), outfile: fixtureOutfile("big-result") });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const PERL = ["/usr/bin/perl", "/bin/perl"].find((p) => existsSync(p));

/** Sets O_NONBLOCK on the plugin's stdin or stdout (shared with the test's end), then execs it. */
function nonBlocking(which: "STDIN" | "STDOUT"): string[] {
  return [
    PERL as string,
    "-MFcntl",
    "-e",
    `fcntl(${which}, F_SETFL, fcntl(${which}, F_GETFL, 0) | O_NONBLOCK) or die "fcntl: $!"; exec @ARGV or die "exec: $!"`,
    binary,
  ];
}

interface RunOptions {
  /** CNI_ARGS. */
  args?: string;
  /** What the reader does with stdout. */
  mode?: "slow-reader" | "close-early" | "normal";
  /** Stdin bytes (default: a valid config), or a file descriptor to hand over as fd 0. */
  stdin?: string | Buffer | { fd: number };
  /** Write stdin only after this many ms. */
  stdinDelayMs?: number;
  /** Command to run instead of the plugin itself (a wrapper that execs it). */
  command?: string[];
  /** More environment variables. */
  env?: Record<string, string>;
}

const CONFIG = JSON.stringify({ cniVersion: "1.1.0", name: "big", type: "big-result" });

function run(args: string, mode: "slow-reader" | "close-early" | "normal"): Promise<Run> {
  return runWith({ args, mode });
}

function runWith(o: RunOptions): Promise<Run> {
  const mode = o.mode ?? "normal";
  const [file, ...argv] = o.command ?? [binary];
  const stdin = o.stdin ?? CONFIG;
  return new Promise((resolve, reject) => {
    const p = spawn(file as string, argv, {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        CNI_COMMAND: "ADD",
        CNI_CONTAINERID: "ctr",
        CNI_NETNS: "/var/run/netns/cnikit-does-not-exist",
        CNI_IFNAME: "eth0",
        CNI_ARGS: o.args ?? "",
        ...o.env,
      },
      stdio: [typeof stdin === "object" && "fd" in stdin ? stdin.fd : "pipe", "pipe", "pipe"],
    });
    p.on("error", reject);
    if (p.stdin) {
      const input = stdin as string | Buffer;
      if (o.stdinDelayMs) setTimeout(() => p.stdin?.end(input), o.stdinDelayMs);
      else p.stdin.end(input);
    }
    const out: Buffer[] = [];
    let stderr = "";
    p.stderr?.on("data", (d) => {
      stderr += d;
    });
    if (mode === "slow-reader") {
      p.stdout?.pause();
      setTimeout(() => {
        p.stdout?.on("data", (d: Buffer) => out.push(d));
        p.stdout?.resume();
      }, 700);
    } else if (mode === "close-early") {
      p.stdout?.once("data", () => p.stdout?.destroy());
    } else {
      p.stdout?.on("data", (d: Buffer) => out.push(d));
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

  it("process.stdout.write and console.info in the handler go to stderr too", async () => {
    const r = await runWith({ args: "SIZE=1;NOISE=stdout" });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ cniVersion: "1.1.0" });
    expect(r.stderr).toContain("raw noise on process.stdout");
    expect(r.stderr).toContain("info noise");
  });

  it.skipIf(PERL === undefined)("a ~1 MB result on a NON-BLOCKING pipe with a slow reader arrives whole", async () => {
    const r = await runWith({ args: "SIZE=22000", mode: "slow-reader", command: nonBlocking("STDOUT") });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { ips: unknown[] }).ips).toHaveLength(22000);
  });
});

describe("plugin.main() reading stdin", () => {
  // a config larger than one read, so the synchronous read loops
  const padded = JSON.stringify({ cniVersion: "1.1.0", name: "big", type: "big-result", pad: "x".repeat(300_000) });

  it("from a pipe, in several reads", async () => {
    const r = await runWith({ args: "ECHO=1", stdin: padded });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dns: { domain: `stdin-${padded.length}` } });
  });

  it("from a regular file", async () => {
    const file = join(dir, "conf.json");
    writeFileSync(file, padded);
    const fd = openSync(file, "r");
    try {
      const r = await runWith({ args: "ECHO=1", stdin: { fd } });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ dns: { domain: `stdin-${padded.length}` } });
    } finally {
      closeSync(fd);
    }
  });

  it.skipIf(PERL === undefined)(
    "from a NON-BLOCKING pipe whose writer is late (EAGAIN: read as a stream)",
    async () => {
      const r = await runWith({ args: "ECHO=1", stdin: padded, stdinDelayMs: 300, command: nonBlocking("STDIN") });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ dns: { domain: `stdin-${padded.length}` } });
    },
  );

  it("empty stdin → 6", async () => {
    const r = await runWith({ stdin: "" });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      code: 6,
      msg: expect.stringMatching(/^error unmarshall network config: /),
    });
  });

  it("invalid UTF-8 → 6", async () => {
    const r = await runWith({ stdin: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      code: 6,
      msg: "error unmarshall network config: stdin is not valid UTF-8",
    });
  });

  it("stdin is not read for VERSION (a writer that never closes does not block it)", async () => {
    const r = await runWith({
      stdin: CONFIG,
      stdinDelayMs: 60_000,
      args: "",
      command: ["/usr/bin/env", "CNI_COMMAND=VERSION", binary],
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ supportedVersions: ["1.1.0"] });
  });
});

describe("plugin.main() and signals", () => {
  function runUntilWaiting(args: string): Promise<Run> {
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
      p.stdin.end(CONFIG);
      let stdout = "";
      let stderr = "";
      p.stdout.on("data", (d) => {
        stdout += d;
      });
      let killed = false;
      p.stderr.on("data", (d) => {
        stderr += d;
        // once: a second SIGTERM kills the plugin (the listener is a `once`)
        if (!killed && stderr.includes("waiting")) killed = p.kill("SIGTERM");
      });
      p.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  it("SIGTERM aborts the handler's ctx.signal", async () => {
    const r = await runUntilWaiting("SIGNAL=now");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 999, msg: "aborted: received SIGTERM" });
  });

  it("SIGTERM before the handler first reads ctx.signal: the signal it gets is already aborted", async () => {
    const r = await runUntilWaiting("SIGNAL=late");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ code: 999, msg: "aborted: received SIGTERM" });
  });
});

describe("plugin.main() once koffi is loaded (the fast exit of @cnikit/native)", () => {
  it("ends through _exit(2) after the reply is written and the 'exit' listeners ran, with the exit status", async () => {
    const ok = await runWith({ args: "SIZE=3;FAST=1" });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ cniVersion: "1.1.0" });
    expect(ok.stderr).toBe("exit listener\n"); // no "teardown 0": Node's teardown was skipped
    const failed = await runWith({ args: "FAST=1;FAIL=1" });
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ code: 999, msg: "asked to fail" });
    expect(failed.stderr).toContain("exit listener\n");
    expect(failed.stderr).not.toContain("teardown");
  });

  it("is not used while koffi is not loaded (a plugin that never needed native code)", async () => {
    const r = await runWith({ args: "SIZE=3;WATCH=1" });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("exit listener\nteardown 0\n");
  });

  it("a ~1 MB reply to a slow reader still arrives whole", async () => {
    const r = await runWith({ args: "SIZE=22000;FAST=1", mode: "slow-reader" });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { ips: unknown[] }).ips).toHaveLength(22000);
  });

  it("is not used when Node's teardown writes something asked for (V8 coverage, profiles)", async () => {
    const cov = mkdtempSync(join(tmpdir(), "cnikit-skel-cov-"));
    try {
      const r = await runWith({ args: "FAST=1", env: { NODE_V8_COVERAGE: cov } });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("exit listener\nteardown 0\n");
    } finally {
      rmSync(cov, { recursive: true, force: true });
    }
  });
});
