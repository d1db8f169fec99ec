// Black-box tests: run the BUILT plugin (examples/noop/dist/noop) as a runtime would, with
// env + stdin, and check stdout (exactly one JSON document or nothing), stderr and exit status.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";

let binary: string;
beforeAll(async () => {
  binary = await buildFixture("examples/noop");
}, 120_000);

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "cnikit-noop-"));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const BASE_ENV = {
  CNI_COMMAND: "ADD",
  CNI_CONTAINERID: "some-container-id",
  CNI_NETNS: "/var/run/netns/cnikit-noop-nonexistent",
  CNI_IFNAME: "eth0",
  CNI_PATH: "/opt/cni/bin:/usr/lib/cni",
};

interface Exec {
  status: number | null;
  stdout: string;
  stderr: string;
  json: unknown;
}

function exec(env: Record<string, string | undefined>, stdin: string | Buffer = ""): Exec {
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
  };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) fullEnv[k] = v;
  const r = spawnSync(binary, [], {
    env: fullEnv,
    input: stdin,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  const stdout = r.stdout;
  let json: unknown;
  if (stdout !== "") {
    // Exactly one JSON document on one line (skel adds a newline; a verbatim reportResult may not).
    expect(stdout.trimEnd().includes("\n")).toBe(false);
    json = JSON.parse(stdout);
  }
  return { status: r.status, stdout, stderr: r.stderr, json };
}

function conf(extra: Record<string, unknown> = {}, version = "1.1.0"): string {
  return JSON.stringify({
    cniVersion: version,
    name: "noop-net",
    type: "noop",
    ...extra,
  });
}

function debugFile(content: Record<string, unknown>): string {
  const file = join(tmp, `debug-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe("protocol basics", () => {
  it("is one executable file with a node shebang", () => {
    expect(readFileSync(binary, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(statSync(binary).mode & 0o111).not.toBe(0);
  });

  it("VERSION lists every released version and reads no stdin", () => {
    const r = exec({ CNI_COMMAND: "VERSION" });
    expect(r.status).toBe(0);
    expect(r.stdout.endsWith("}\n")).toBe(true);
    expect(r.json).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    });
  });

  it("no CNI_COMMAND prints the about banner on stderr", () => {
    const r = exec({});
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "CNI noop plugin 0.1.0\nCNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n",
    );
  });

  it("ADD without a debug file echoes prevResult converted to the config version", () => {
    const prev = {
      cniVersion: "0.4.0",
      ips: [{ version: "4", address: "10.1.2.3/24", gateway: "10.1.2.1" }],
    };
    const r = exec(BASE_ENV, conf({ prevResult: prev }, "1.0.0"));
    expect(r.status).toBe(0);
    expect(r.json).toEqual({
      cniVersion: "1.0.0",
      ips: [{ address: "10.1.2.3/24", gateway: "10.1.2.1" }],
    });
  });

  it("ADD without prevResult returns an empty result at the config version", () => {
    expect(exec(BASE_ENV, conf({}, "0.4.0")).json).toEqual({
      cniVersion: "0.4.0",
    });
  });

  it.each(["DEL", "CHECK", "STATUS", "GC"])("%s succeeds silently", (command) => {
    const r = exec({ ...BASE_ENV, CNI_COMMAND: command }, conf());
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
  });
});

describe("bad input", () => {
  function expectError(r: Exec, code: number, msg: RegExp | string) {
    expect(r.status).toBe(1);
    const e = r.json as { code: number; msg: string; cniVersion: string };
    expect(e.code).toBe(code);
    if (typeof msg === "string") expect(e.msg).toBe(msg);
    else expect(e.msg).toMatch(msg);
    expect(typeof e.cniVersion).toBe("string");
    expect(r.stdout).not.toMatch(/\n\s+at /);
  }

  it("truncated JSON → 6", () =>
    expectError(exec(BASE_ENV, conf().slice(0, 20)), 6, /^error unmarshall network config: /));
  it("empty stdin → 6", () => expectError(exec(BASE_ENV, ""), 6, /^error unmarshall network config: /));
  it("JSON that is not an object → 6", () => {
    expectError(exec(BASE_ENV, "[1,2,3]"), 6, /expected a JSON object, got array/);
    expectError(exec(BASE_ENV, "42"), 6, /got number/);
  });
  it("wrong types → 6", () => {
    expectError(exec(BASE_ENV, '{"name": {"a":1}, "cniVersion":"1.1.0"}'), 6, /"name" must be a string/);
    expectError(exec(BASE_ENV, '{"name": "n", "cniVersion": 110}'), 6, /^decoding version from network config: /);
  });
  it("a bad prevResult → 6", () => {
    expectError(
      exec(BASE_ENV, conf({ prevResult: { cniVersion: "1.0.0", ips: [{ address: 7 }] } })),
      6,
      /^could not parse prevResult: /,
    );
  });
  it("missing name → 7, bad name → 7", () => {
    expectError(exec(BASE_ENV, '{"cniVersion":"1.1.0"}'), 7, "missing network name");
    expectError(exec(BASE_ENV, conf({ name: "bad name!" })), 7, "invalid characters found in network name");
  });
  it("binary junk → 6", () => {
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    expectError(exec(BASE_ENV, junk), 6, /^error unmarshall network config: /);
  });
  it("a 10 MB stdin works", () => {
    const big = conf({ padding: "x".repeat(10 * 1024 * 1024) });
    const r = exec(BASE_ENV, big);
    expect(r.status).toBe(0);
    expect(r.json).toEqual({ cniVersion: "1.1.0" });
  });
  it("10 MB of junk → 6", () => {
    const r = exec(BASE_ENV, Buffer.alloc(10 * 1024 * 1024, 0x41));
    expectError(r, 6, /^error unmarshall network config: /);
  });
  it("unknown command → 4", () =>
    expectError(exec({ ...BASE_ENV, CNI_COMMAND: "NOPE" }, conf()), 4, "unknown CNI_COMMAND: NOPE"));
  it("missing env → 4 naming all of them", () => {
    expectError(
      exec({ CNI_COMMAND: "ADD", CNI_PATH: "/x" }, conf()),
      4,
      "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing",
    );
  });
  it("bad container ID / ifname → 4", () => {
    expectError(exec({ ...BASE_ENV, CNI_CONTAINERID: "a%b" }, conf()), 4, "invalid characters in containerID");
    expectError(exec({ ...BASE_ENV, CNI_IFNAME: "way-too-long-ifname" }, conf()), 4, "interface name is too long");
  });
  it("unsupported version → 1", () => {
    const r = exec(BASE_ENV, conf({}, "2.0.0"));
    expectError(r, 1, "incompatible CNI versions");
    expect((r.json as { details: string }).details).toBe(
      'config is "2.0.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]',
    );
  });
  it("CHECK on a 0.3.1 config → 1", () => {
    expectError(
      exec({ ...BASE_ENV, CNI_COMMAND: "CHECK" }, conf({}, "0.3.1")),
      1,
      "config version does not allow CHECK",
    );
  });
  it("netns self-check → 8, unless CNI_NETNS_OVERRIDE", () => {
    expectError(
      exec({ ...BASE_ENV, CNI_NETNS: "/proc/self/ns/net" }, conf()),
      8,
      "plugin's netns and netns from CNI_NETNS should not be the same",
    );
    expect(
      exec(
        {
          ...BASE_ENV,
          CNI_NETNS: "/proc/self/ns/net",
          CNI_NETNS_OVERRIDE: "true",
        },
        conf(),
      ).status,
    ).toBe(0);
  });
});

describe("debug file", () => {
  it("records the command and its arguments (DEBUG= in CNI_ARGS)", () => {
    const file = debugFile({
      reportResult: '{"cniVersion":"1.1.0","ips":[{"address":"10.0.0.7/24"}]}',
    });
    const stdin = conf();
    const r = exec({ ...BASE_ENV, CNI_ARGS: `DEBUG=${file}` }, stdin);
    expect(r.status).toBe(0);
    expect(r.json).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.0.0.7/24" }],
    });
    const recorded = JSON.parse(readFileSync(file, "utf8"));
    expect(recorded.command).toBe("ADD");
    expect(recorded.cmdArgs).toEqual({
      containerId: "some-container-id",
      netns: BASE_ENV.CNI_NETNS,
      ifName: "eth0",
      args: `DEBUG=${file}`,
      path: BASE_ENV.CNI_PATH,
      stdin,
    });
  });

  it("is found through the config's debugFile too, and for DEL", () => {
    const file = debugFile({});
    const r = exec({ ...BASE_ENV, CNI_COMMAND: "DEL", CNI_ARGS: "FOO=BAR" }, conf({ debugFile: file }));
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({
      command: "DEL",
      cmdArgs: { args: "FOO=BAR" },
    });
  });

  it("reportResult is printed verbatim", () => {
    const file = debugFile({ reportResult: '{ "result": "anything at all" }' });
    const r = exec({ ...BASE_ENV, CNI_ARGS: `DEBUG=${file}` }, conf());
    expect(r.stdout).toBe('{ "result": "anything at all" }');
  });

  it("PASSTHROUGH and INJECT-DNS use prevResult at the config version", () => {
    const prev = {
      cniVersion: "0.3.1",
      ips: [{ version: "4", address: "10.1.2.15/24" }],
    };
    const pass = exec(
      {
        ...BASE_ENV,
        CNI_ARGS: `DEBUG=${debugFile({ reportResult: "PASSTHROUGH" })}`,
      },
      conf({ prevResult: prev }, "0.3.1"),
    );
    expect(pass.json).toEqual(prev);
    const inject = exec(
      {
        ...BASE_ENV,
        CNI_ARGS: `DEBUG=${debugFile({ ReportResult: "INJECT-DNS" })}`,
      },
      conf({ prevResult: prev }, "0.3.1"),
    );
    expect(inject.json).toEqual({ ...prev, dns: { nameservers: ["1.2.3.4"] } });
  });

  it("reportError / reportErrorCode / reportStderr", () => {
    const file = debugFile({
      reportError: "banana",
      reportErrorCode: 117,
      reportStderr: "some stderr\n",
    });
    const r = exec({ ...BASE_ENV, CNI_ARGS: `DEBUG=${file}` }, conf());
    expect(r.status).toBe(1);
    expect(r.json).toEqual({ cniVersion: "1.1.0", code: 117, msg: "banana" });
    expect(r.stderr).toContain("some stderr\n");
    const plain = exec(
      {
        ...BASE_ENV,
        CNI_ARGS: `DEBUG=${debugFile({ reportError: "potato" })}`,
      },
      conf(),
    );
    expect(plain.json).toMatchObject({ code: 999, msg: "potato" });
  });

  it("reportVersionSupport changes VERSION and negotiation", () => {
    const file = debugFile({ reportVersionSupport: ["0.4.0", "1.0.0"] });
    const v = exec({ CNI_COMMAND: "VERSION", CNI_ARGS: `DEBUG=${file}` });
    expect(v.json).toEqual({
      cniVersion: "1.1.0",
      supportedVersions: ["0.4.0", "1.0.0"],
    });
    const add = exec({ ...BASE_ENV, CNI_ARGS: `DEBUG=${file}` }, conf({}, "1.1.0"));
    expect(add.json).toMatchObject({
      code: 1,
      details: 'config is "1.1.0", plugin supports ["0.4.0" "1.0.0"]',
    });
  });

  it("exitWithCode exits with that status and prints nothing", () => {
    const file = debugFile({ exitWithCode: 3 });
    const r = exec({ ...BASE_ENV, CNI_ARGS: `DEBUG=${file}` }, conf());
    expect(r.status).toBe(3);
    expect(r.stdout).toBe("");
  });

  it("appends to the command log", () => {
    const log = join(tmp, "commands.log");
    exec(BASE_ENV, conf({ commandLog: log }));
    exec({ ...BASE_ENV, CNI_COMMAND: "DEL" }, conf({ commandLog: log }));
    const lines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.command)).toEqual(["ADD", "DEL"]);
    expect(lines[0]).toMatchObject({
      containerId: "some-container-id",
      ifName: "eth0",
      network: "noop-net",
    });
  });

  it("an unreadable debug file → 999", () => {
    const r = exec({ ...BASE_ENV, CNI_ARGS: `DEBUG=${join(tmp, "missing.json")}` }, conf());
    expect(r.status).toBe(1);
    expect((r.json as { code: number }).code).toBe(999);
  });
});

describe("stdout on a pipe", () => {
  /** Runs the noop with stdout on a pipe read late (`slow`) or closed after the first chunk (`close`). */
  function piped(env: Record<string, string>, stdin: string, mode: "slow" | "close") {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const p = spawn(binary, [], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env } });
      p.on("error", reject);
      p.stdin.end(stdin);
      const out: Buffer[] = [];
      let stderr = "";
      p.stderr.on("data", (d) => {
        stderr += d;
      });
      if (mode === "slow") {
        p.stdout.pause();
        setTimeout(() => {
          p.stdout.on("data", (d: Buffer) => out.push(d));
          p.stdout.resume();
        }, 700);
      } else {
        p.stdout.once("data", () => p.stdout.destroy());
      }
      p.on("close", (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr }));
    });
  }

  const ips = Array.from({ length: 22000 }, (_, i) => ({
    address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/8`,
    gateway: "10.0.0.1",
  }));
  const bigConf = conf({ prevResult: { cniVersion: "1.1.0", ips } });

  it("a ~1 MB result (PASSTHROUGH) reaches a slow reader whole", async () => {
    const r = await piped(BASE_ENV, bigConf, "slow");
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1_000_000);
    expect((JSON.parse(r.stdout) as { ips: unknown[] }).ips).toHaveLength(22000);
  });

  it("a reader that goes away (EPIPE): exit 1, one line on stderr, no stack trace", async () => {
    const r = await piped(BASE_ENV, bigConf, "close");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^noop: could not write the reply to stdout: .*EPIPE/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
