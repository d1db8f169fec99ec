// `cnikit-build --agent` / buildAgent: the shim, its sidecar and the served module.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildCliIo, buildAgent, runBuildCli } from "@cnikit/build";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "cnikit-build-agent-test-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("buildAgent", () => {
  it("writes dist/agent/<name>: the shim, its sidecar and a module whose default export is the plugin", async () => {
    const outdir = join(work, "dist", "agent");
    const r = await buildAgent({ plugin: join(here, "fixtures/agent-plugin.ts"), name: "hello", outdir });
    expect(r.shim).toBe(join(outdir, "hello"));
    expect(statSync(r.shim).mode & 0o111).toBe(0o111);
    expect(readFileSync(r.shim).subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    expect(JSON.parse(readFileSync(r.sidecar, "utf8"))).toEqual({
      socket: "/run/cnikit/hello.sock",
      fallback: "../hello",
      timeoutMs: 30000,
      cniVersions: ["1.0.0", "1.1.0"],
    });
    expect(r.nativeAddons).toEqual([join(outdir, "koffi.node")]);

    // the module loads, and its plugin serves a call through skel (koffi from beside the module)
    const mod = createRequire(import.meta.url)(r.module) as {
      default: { run: (io: object) => Promise<{ exitCode: number; stdout: string }> };
    };
    const ns = `ckbagent${process.pid}`;
    expect(spawnSync("ip", ["netns", "add", ns]).status).toBe(0);
    let out: { exitCode: number; stdout: string };
    try {
      out = await mod.default.run({
        env: {
          CNI_COMMAND: "ADD",
          CNI_CONTAINERID: "x",
          CNI_NETNS: `/var/run/netns/${ns}`,
          CNI_IFNAME: "eth0",
          CNI_PATH: "/nowhere",
        },
        readStdin: async () => JSON.stringify({ cniVersion: "1.1.0", name: "n", type: "hello" }),
      });
    } finally {
      spawnSync("ip", ["netns", "del", ns]);
    }
    expect(out.exitCode, out.stdout).toBe(0);
    expect(JSON.parse(out.stdout).interfaces).toEqual([{ name: "lo" }]);

    // the shim answers VERSION from the sidecar, with no daemon and no fallback needed
    const v = spawnSync(r.shim, [], { env: { CNI_COMMAND: "VERSION" } });
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout.toString())).toEqual({ cniVersion: "1.1.0", supportedVersions: ["1.0.0", "1.1.0"] });
  });
});

describe("cnikit-build --agent", () => {
  let log = "";
  const write = (s: string) => {
    log += s;
  };
  const io: BuildCliIo = { out: write, err: write, cwd: "" };
  const cli = (argv: string[], cwd = here) => runBuildCli(argv, { ...io, cwd });

  it("finds plugin.ts beside the entry by convention, or takes --plugin, --socket and --timeout-ms", async () => {
    const out = join(work, "cli");
    mkdirSync(out, { recursive: true });
    log = "";
    // fixtures/ has no plugin.ts beside the entry: --plugin is required
    expect(await cli(["fixtures/skel-plugin.ts", join(out, "dist/hello"), "--agent"])).toBe(2);
    expect(log).toMatch(/--agent needs --plugin <module> \(no fixtures\/plugin\.ts beside the entry\)/);
    log = "";
    const argv = [
      "fixtures/skel-plugin.ts",
      join(out, "dist/hello"),
      "--agent",
      "--plugin",
      "fixtures/agent-plugin.ts",
    ];
    expect(await cli([...argv, "--socket", "/run/x/hello.sock", "--timeout-ms", "500"])).toBe(0);
    expect(log).toMatch(/built .*dist\/agent\/hello \(\+ .*hello\.agent\.json, .*hello\.plugin\.cjs, .*koffi\.node\)/);
    expect(JSON.parse(readFileSync(join(out, "dist/agent/hello.agent.json"), "utf8"))).toMatchObject({
      socket: "/run/x/hello.sock",
      timeoutMs: 500,
    });
  });

  it("refuses bad combinations and a module that does not default-export a plugin", async () => {
    const out = join(work, "bad", "dist", "x");
    for (const [argv, msg] of [
      [
        ["fixtures/skel-plugin.ts", out, "--plugin", "fixtures/agent-plugin.ts"],
        /--plugin, --socket and --timeout-ms need --agent/,
      ],
      [
        ["fixtures/skel-plugin.ts", out, "--agent", "--plugin", "fixtures/agent-plugin.ts", "--timeout-ms", "0"],
        /--timeout-ms must be a positive integer/,
      ],
      [
        ["fixtures/skel-plugin.ts", out, "--agent", "--plugin", "fixtures/agent-plugin.ts", "--snapshot"],
        /--agent cannot be combined/,
      ],
    ] as const) {
      log = "";
      expect(await cli([...argv])).toBe(2);
      expect(log).toMatch(msg);
    }
    log = "";
    expect(await cli(["fixtures/skel-plugin.ts", out, "--agent", "--plugin", "fixtures/not-a-plugin.ts"])).toBe(1);
    expect(log).toMatch(/its default export is not a cnikit plugin/);
    expect(existsSync(join(dirname(out), "agent", "x"))).toBe(false);
  });
});
