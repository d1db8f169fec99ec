// @cnikit/build end to end: fixtures bundled into temp dirs and run as a runtime would run them.
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script, constants as vmConstants } from "node:vm";
import { BuildError, buildPlugin, buildSea, DEFAULT_FORMAT, runBuildCli, snapshotBlobName } from "@cnikit/build";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const SKEL_FIXTURE = join(here, "fixtures/skel-plugin.ts");
const NS_FIXTURE = join(here, "fixtures/ns-plugin.ts");
const CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin";

// a plugin without any dependency, written in a temp dir: echoes VERSION, reports how much of
// stdin it read (so a launcher fallback that lost stdin shows), uses top-level await and exports
const STANDALONE = `import { readFileSync } from "node:fs";
export const versions: string[] = ["1.0.0", "1.1.0"];
const stdin = await Promise.resolve(readFileSync(0, "utf8"));
if (process.env.EXIT_WITH) process.exit(Number(process.env.EXIT_WITH));
export default function report(): void {
  process.stdout.write(JSON.stringify({ cniVersion: "1.1.0", supportedVersions: versions, stdin: stdin.length }) + "\\n");
}
report();
`;

let work: string;
let standalone: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "ck-build-test-"));
  standalone = join(work, "src", "main.ts");
  mkdirSync(dirname(standalone));
  writeFileSync(standalone, STANDALONE);
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function run(file: string, opts: { input?: string; env?: Record<string, string>; cwd?: string } = {}) {
  const r = spawnSync(file, [], {
    input: opts.input ?? '{"cniVersion":"1.0.0"}',
    cwd: opts.cwd ?? "/",
    env: { PATH: CLEAN_PATH, CNI_COMMAND: "VERSION", ...opts.env },
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("buildPlugin", () => {
  it("default: one CommonJS executable with a node shebang (entry in a temp dir, TLA and exports)", async () => {
    expect(DEFAULT_FORMAT).toBe("cjs");
    const r = await buildPlugin({ entry: "src/main.ts", outfile: "dist/standalone", cwd: work });
    expect(r.kind).toBe("cjs");
    expect(r.outfile).toBe(join(work, "dist/standalone"));
    expect(r.nativeAddons).toEqual([]);
    expect(r.codeCache).toBe(join(work, "dist/standalone.v8cache"));
    expect(readdirSync(join(work, "dist")).sort()).toEqual(["standalone", "standalone.v8cache"]);
    const text = readFileSync(r.outfile, "utf8");
    expect(text.startsWith('#!/usr/bin/env node\n"use strict";\n')).toBe(true);
    expect(statSync(r.outfile).mode & 0o777).toBe(0o755);
    const out = run(r.outfile);
    expect(out.stderr).toBe("");
    expect(JSON.parse(out.stdout)).toEqual({ cniVersion: "1.1.0", supportedVersions: ["1.0.0", "1.1.0"], stdin: 22 });
  });

  it("default: V8's code cache beside the executable is accepted by this node; without it, or with a foreign one, the plugin runs the same", async () => {
    const dir = join(work, "code-cache");
    const r = await buildPlugin({ entry: standalone, outfile: join(dir, "a") });
    const other = await buildPlugin({ entry: SKEL_FIXTURE, outfile: join(dir, "b") });
    const cache = readFileSync(r.codeCache as string);
    // the executable embeds the bundle (a string) and the 32-char hash the cache starts with
    const text = readFileSync(r.outfile, "utf8");
    const source = JSON.parse(/\n {2}return (".*");\n}\n$/s.exec(text)?.[1] ?? '""') as string;
    expect(source.startsWith("(function (exports, require, module, __filename, __dirname) {")).toBe(true);
    expect(text).toContain(JSON.stringify(cache.toString("latin1", 0, 32)));
    const script = new Script(source, {
      cachedData: cache.subarray(32),
      importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    expect(script.cachedDataRejected).toBe(false);
    const expected = { cniVersion: "1.1.0", supportedVersions: ["1.0.0", "1.1.0"], stdin: 22 };
    expect(JSON.parse(run(r.outfile).stdout)).toEqual(expected);
    // another build's cache under this name: its hash differs, so it is not used
    copyFileSync(other.codeCache as string, r.codeCache as string);
    const foreign = run(r.outfile);
    expect(foreign.stderr).toBe("");
    expect(JSON.parse(foreign.stdout)).toEqual(expected);
    rmSync(r.codeCache as string);
    expect(JSON.parse(run(r.outfile).stdout)).toEqual(expected);
  });

  it("codeCache: false writes the plain bundle and no cache", async () => {
    const dir = join(work, "no-code-cache");
    const r = await buildPlugin({ entry: standalone, outfile: join(dir, "a"), codeCache: false });
    expect(r.codeCache).toBeUndefined();
    expect(readdirSync(dir)).toEqual(["a"]);
    expect(readFileSync(r.outfile, "utf8")).not.toContain("__cnikitSource");
    expect(JSON.parse(run(r.outfile).stdout).stdin).toBe(22);
  });

  it('cjs also runs in place under a "type": "module" package.json (where node loads it as ESM)', async () => {
    const dir = join(work, "typed-module");
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    const r = await buildPlugin({ entry: standalone, outfile: join(dir, "dist/standalone") });
    // a package.json without "type" beside it ends the module scope (else node would load the
    // bundle as ESM first, then as CJS: slower)
    expect(r.scopeFile).toBe(join(dir, "dist/package.json"));
    expect(JSON.parse(readFileSync(join(dir, "dist/package.json"), "utf8"))).toEqual({
      private: true,
      description: expect.any(String),
    });
    for (const withScope of [true, false]) {
      if (!withScope) rmSync(join(dir, "dist/package.json"));
      const out = run(r.outfile);
      expect(out.stderr).toBe("");
      expect(JSON.parse(out.stdout)).toMatchObject({ supportedVersions: ["1.0.0", "1.1.0"], stdin: 22 });
    }
    // an ESM build removes it again; a user's own package.json is never touched
    await buildPlugin({ entry: standalone, outfile: join(dir, "dist/standalone") });
    await buildPlugin({ entry: standalone, outfile: join(dir, "dist/standalone"), format: "esm" });
    expect(readdirSync(join(dir, "dist"))).toEqual(["standalone"]);
    writeFileSync(join(dir, "dist/package.json"), "{}\n");
    expect((await buildPlugin({ entry: standalone, outfile: join(dir, "dist/standalone") })).scopeFile).toBeUndefined();
    expect(readFileSync(join(dir, "dist/package.json"), "utf8")).toBe("{}\n");
  });

  it("format esm: an ES module with a node shebang", async () => {
    const r = await buildPlugin({ entry: standalone, outfile: join(work, "esm/standalone"), format: "esm" });
    expect(r.kind).toBe("esm");
    const text = readFileSync(r.outfile, "utf8");
    expect(text.startsWith("#!/usr/bin/env node\nimport ")).toBe(true);
    expect(JSON.parse(run(r.outfile).stdout).supportedVersions).toEqual(["1.0.0", "1.1.0"]);
  });

  it("shebang: a custom first line (e.g. a node shipped beside the plugins)", async () => {
    const r = await buildPlugin({
      entry: standalone,
      outfile: join(work, "shebang/standalone"),
      shebang: `#!${process.execPath}`,
    });
    expect(readFileSync(r.outfile, "utf8").split("\n")[0]).toBe(`#!${process.execPath}`);
    expect(JSON.parse(run(r.outfile, { env: { PATH: "/nonexistent" } }).stdout).stdin).toBe(22);
    const err = await buildPlugin({ entry: standalone, outfile: join(work, "shebang/x"), shebang: "node" }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe('shebang must be one line starting with #!, not "node"');
  });

  it("a @cnikit/skel plugin answers VERSION, and gets no koffi.node (skel's fast exit needs none)", async () => {
    const out = join(work, "skel", "build-fixture");
    const built = await buildPlugin({ entry: SKEL_FIXTURE, outfile: out, minify: true });
    expect(built.nativeAddons).toEqual([]);
    expect(readdirSync(dirname(out))).not.toContain("koffi.node");
    const r = run(out);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: "1.1.0", supportedVersions: ["1.0.0", "1.1.0"] });
  });

  it.each(["cjs", "esm"] as const)(
    "%s: @cnikit/native's addon is copied beside it and found through a symlink",
    async (format) => {
      const dist = join(work, `ns-${format}`, "dist");
      const r = await buildPlugin({ entry: NS_FIXTURE, outfile: join(dist, "nsfix"), format });
      expect(r.nativeAddons.map((p) => p.slice(dist.length + 1)).sort()).toEqual(["koffi.node"]);
      expect(readdirSync(dist).sort()).toEqual(
        format === "cjs" ? ["koffi.node", "nsfix", "nsfix.v8cache"] : ["koffi.node", "nsfix"],
      );
      const bin = join(work, `ns-${format}`, "bin");
      mkdirSync(bin);
      symlinkSync(r.outfile, join(bin, "nsfix"));
      const out = run(join(bin, "nsfix"));
      expect(out.status, out.stderr).toBe(0);
      expect(JSON.parse(out.stdout)).toEqual({ lo: true, locked: true, backend: "koffi" });
    },
  );

  it("a missing entry is a clear BuildError", async () => {
    const err = await buildPlugin({ entry: "src/nope.ts", outfile: "dist/x", cwd: work }).catch((e: unknown) => e);
    expect(err instanceof BuildError).toBe(true);
    expect((err as Error).message).toBe(`entry src/nope.ts not found (looked for ${join(work, "src/nope.ts")})`);
    expect(existsSync(join(work, "dist/x"))).toBe(false);
  });

  it("a syntax error or unresolvable import is a BuildError with file:line", async () => {
    const bad = join(work, "src", "bad.ts");
    writeFileSync(bad, 'import { nothing } from "./missing.js";\nconst x = ;\n');
    const err = await buildPlugin({ entry: bad, outfile: join(work, "bad/x") }).catch((e: unknown) => e);
    expect(err instanceof BuildError).toBe(true);
    expect((err as Error).message).toMatch(/^bundling failed:\n {2}.*bad\.ts:\d+:\d+: /);
  });

  it("an unknown format is a BuildError", async () => {
    const err = await buildPlugin({ entry: standalone, outfile: join(work, "f/x"), format: "umd" as "cjs" }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toBe('unknown format "umd" (cjs or esm)');
  });
});

describe("snapshot builds", () => {
  let dist: string;
  let launcher: string;

  beforeAll(async () => {
    dist = join(work, "snap", "dist");
    const r = await buildPlugin({ entry: standalone, outfile: join(dist, "snapfix"), snapshot: true });
    launcher = r.outfile;
    expect(r.kind).toBe("snapshot");
    expect(r.blob).toBe(join(dist, "snapfix.blob"));
    expect(r.fallback).toBe(join(dist, "snapfix.cjs"));
  }, 120_000);

  it("writes a sh launcher, the blob and the plain fallback bundle; runs through a symlink", () => {
    expect(readdirSync(dist).sort()).toEqual(["snapfix", "snapfix.blob", "snapfix.cjs"]);
    expect(readFileSync(launcher, "utf8")).toMatch(/^#!\/bin\/sh\n# cnikit start-up snapshot launcher/);
    expect(readFileSync(join(dist, "snapfix.cjs"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    const bin = join(work, "snap", "bin");
    mkdirSync(bin);
    symlinkSync(launcher, join(bin, "snapfix"));
    const out = run(join(bin, "snapfix"));
    expect(out.stderr).toBe("");
    expect(JSON.parse(out.stdout)).toMatchObject({ supportedVersions: ["1.0.0", "1.1.0"], stdin: 22 });
  });

  describe("under another node (a copy of node, so not the file that built the blob)", () => {
    let nodeDir: string;
    let copy: string;
    beforeAll(() => {
      nodeDir = join(work, "other-node");
      mkdirSync(nodeDir);
      copyFileSync(process.execPath, join(nodeDir, "node"));
      spawnSync("chmod", ["755", join(nodeDir, "node")]);
      copy = join(work, "snap-copy");
      mkdirSync(copy);
      for (const f of readdirSync(dist)) copyFileSync(join(dist, f), join(copy, f));
      spawnSync("chmod", ["755", join(copy, "snapfix"), join(copy, "snapfix.cjs")]);
    });
    const env = () => ({ PATH: `${nodeDir}:${CLEAN_PATH}` });

    it("the same version loads the blob", () => {
      const out = run(join(copy, "snapfix"), { env: env() });
      expect(out.stderr).toBe("");
      expect(JSON.parse(out.stdout)).toMatchObject({ stdin: 22 });
    });

    it("a plugin exiting 14 itself exits 1 (no second run)", () => {
      const out = run(join(copy, "snapfix"), { env: { ...env(), EXIT_WITH: "14" } });
      expect(out.status).toBe(1);
      expect(out.stderr).toBe("");
    });

    it("a blob this node cannot load (node exits 14) falls back to the plain bundle, stdin intact", () => {
      // the blob records the node version that built it: make it another one, for real
      const blob = join(copy, snapshotBlobName("snapfix"));
      const bytes = readFileSync(blob);
      const version = Buffer.from(process.version.slice(1));
      const at = bytes.subarray(0, 64).indexOf(version);
      expect(at).toBeGreaterThan(0);
      bytes[at + version.length - 1] = bytes[at + version.length - 1] === 0x39 ? 0x38 : 0x39;
      writeFileSync(blob, bytes);
      const direct = spawnSync(
        join(nodeDir, "node"),
        ["--no-rehash-snapshot", "--snapshot-blob", blob, join(copy, "snapfix")],
        { encoding: "utf8", input: "" },
      );
      expect(direct.status).toBe(14);
      expect(direct.stderr).toContain("Failed to load the startup snapshot");
      const out = run(join(copy, "snapfix"), { env: env(), input: '{"cniVersion":"1.0.0","x":1}' });
      expect(out.status).toBe(0);
      expect(JSON.parse(out.stdout)).toMatchObject({ supportedVersions: ["1.0.0", "1.1.0"], stdin: 28 });
      expect(out.stderr).toContain("snapfix: this node cannot load snapfix.blob");
      expect(out.stderr).toContain("running snapfix.cjs");
    });
  });

  it("a later plain build removes the blob and the fallback", async () => {
    await buildPlugin({ entry: standalone, outfile: launcher });
    expect(readdirSync(dist).sort()).toEqual(["snapfix", "snapfix.v8cache"]);
  });
});

describe("cnikit-build (runBuildCli)", () => {
  const io = () => {
    const o = { out: "", err: "" };
    const out = (s: string) => {
      o.out += s;
    };
    const err = (s: string) => {
      o.err += s;
    };
    return { o, io: { out, err, cwd: work } };
  };

  it("--help prints the usage", async () => {
    const { o, io: cli } = io();
    expect(await runBuildCli(["--help"], cli)).toBe(0);
    expect(o.out).toContain("usage: cnikit-build <entry> <outfile>");
  });

  it("builds, and says what it wrote", async () => {
    const { o, io: cli } = io();
    expect(await runBuildCli(["src/main.ts", "cli/standalone", "--format", "esm", "--minify"], cli)).toBe(0);
    expect(o.err).toBe("built cli/standalone\n");
    expect(JSON.parse(run(join(work, "cli/standalone")).stdout).stdin).toBe(22);
  });

  it.each([
    [[], "an entry and an outfile are required"],
    [["a.ts"], "an entry and an outfile are required"],
    [["a.ts", "b", "c"], 'unexpected argument "c"'],
    [["a.ts", "b", "--format", "iife"], '--format must be cjs or esm, not "iife"'],
    [["a.ts", "b", "--sea", "--format", "esm"], "--sea cannot be combined with --format"],
    [["a.ts", "b", "--sea", "--snapshot", "--snapshot-rehash"], "--snapshot-rehash does not apply to --sea"],
    [["a.ts", "b", "--bogus"], "Unknown option '--bogus'"],
  ])("usage error %j → exit 2", async (argv, msg) => {
    const { o, io: cli } = io();
    expect(await runBuildCli(argv, cli)).toBe(2);
    expect(o.err).toContain(msg);
    expect(o.err).toContain("usage: cnikit-build");
  });

  it("a bad entry → exit 1 with the reason", async () => {
    const { o, io: cli } = io();
    expect(await runBuildCli(["src/missing.ts", "dist/x"], cli)).toBe(1);
    expect(o.err).toBe(`cnikit-build: entry src/missing.ts not found (looked for ${join(work, "src/missing.ts")})\n`);
  });
});

describe("buildSea", () => {
  it("a single executable (node embedded) with the addons beside it; runs without node on PATH", async () => {
    const dir = join(work, "sea");
    const r = await buildSea({ entry: NS_FIXTURE, outfile: join(dir, "nsfix") });
    expect(readdirSync(dir).sort()).toEqual(["koffi.node", "nsfix"]);
    expect(readFileSync(r.outfile).subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    const out = run(r.outfile, { env: { PATH: "/nonexistent" } });
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ lo: true, locked: true, backend: "koffi" });
  }, 120_000);

  it("--sea --snapshot: the evaluated plugin is inside the executable; a symlink to it works", async () => {
    const dir = join(work, "sea-snap");
    let said = "";
    const cli = {
      out: () => {},
      err: (s: string) => {
        said += s;
      },
      cwd: work,
    };
    expect(await runBuildCli([NS_FIXTURE, join(dir, "nsfix"), "--sea", "--snapshot"], cli)).toBe(0);
    expect(said).toContain("built ");
    expect(readdirSync(dir).sort()).toEqual(["koffi.node", "nsfix"]);
    const exe = join(dir, "nsfix");
    expect(readFileSync(exe).subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    const link = join(work, "sea-snap-link");
    symlinkSync(exe, link);
    const out = run(link, { env: { PATH: "/nonexistent" } });
    expect(out.status, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ lo: true, locked: true, backend: "koffi" });
  }, 120_000);
});
