/**
 * Runs every code sample of docs/*.md (see extract.ts for the fence conventions):
 * ts samples are written to docs-tests/.samples/<guide>/, type-checked together with tsc,
 * then imported one by one (a sample whose default export is a plugin is also asked for
 * VERSION through @cnikit/skel/testing); `vitest` samples run in a child vitest; sh samples
 * run with bash with a freshly bundled `cnikit` first on PATH; json samples must parse.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { invoke } from "@cnikit/skel/testing";
import type { Plugin } from "@cnikit/skel";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleCli } from "../../tools/bundle-cli.js";
import { KNOWN_LANGS, allSamples, guideFiles, label, sampleDirName, sampleFileName, type Sample } from "./extract.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const docsDir = join(repo, "docs");
const samplesRoot = join(repo, "docs-tests/.samples");
const binDir = join(samplesRoot, "bin");

const samples = allSamples(docsDir);
const tsSamples = samples.filter((s) => s.lang === "ts");
const runnableTs = tsSamples.filter((s) => !s.flags.has("no-run") && !s.flags.has("vitest"));
const vitestSamples = tsSamples.filter((s) => s.flags.has("vitest") && !s.flags.has("no-run"));
const shSamples = samples.filter((s) => s.lang === "sh" && !s.flags.has("no-run"));
const jsonSamples = samples.filter((s) => s.lang === "json");

const pathOf = (s: Sample) => join(samplesRoot, sampleDirName(s), sampleFileName(s));

function isPlugin(value: unknown): value is Plugin {
  const p = value as Partial<Plugin> | null;
  return typeof p === "object" && p !== null && typeof p.run === "function" && p.cniVersions !== undefined;
}

beforeAll(async () => {
  rmSync(samplesRoot, { recursive: true, force: true });
  for (const s of tsSamples) {
    const file = pathOf(s);
    if (existsSync(file)) throw new Error(`${label(s)}: two samples write ${relative(repo, file)}`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `// extracted from ${label(s)}\n${s.code}`);
  }
  writeFileSync(
    join(samplesRoot, "tsconfig.json"),
    JSON.stringify({
      extends: "../../tsconfig.base.json",
      compilerOptions: { noEmit: true },
      include: ["./**/*.ts"],
    }),
  );
  writeFileSync(
    join(samplesRoot, "vitest.config.mjs"),
    `export default {
  resolve: { conditions: ["@cnikit/source"] },
  ssr: { resolve: { conditions: ["@cnikit/source"] } },
  test: { include: ["**/*.test.ts"], testTimeout: 60000, hookTimeout: 60000 },
};\n`,
  );
  // `cnikit` for the sh samples, bundled from the current sources (no `pnpm build` needed).
  mkdirSync(binDir, { recursive: true });
  await bundleCli(binDir);
}, 120_000);

describe("docs conventions", () => {
  it("finds the guides and their samples", () => {
    expect(guideFiles(docsDir)).toContain("README.md");
    expect(tsSamples.length).toBeGreaterThan(10);
  });

  it("uses only fence languages the tests know", () => {
    const bad = samples.filter((s) => !(KNOWN_LANGS as readonly string[]).includes(s.lang)).map(label);
    expect(bad, "use ts, sh, json, yaml or text").toEqual([]);
  });

  it("says why a sample is not run", () => {
    const silent = samples.filter((s) => s.flags.has("no-run") && !/not run/i.test(s.before)).map(label);
    expect(silent, "write the reason ('... is not run by the docs tests: ...') just before the fence").toEqual([]);
  });

  it("has JSON samples that parse", () => {
    for (const s of jsonSamples) {
      expect(() => JSON.parse(s.code), label(s)).not.toThrow();
    }
  });

  it("has relative links that resolve", () => {
    const broken: string[] = [];
    for (const doc of guideFiles(docsDir)) {
      const text = readFileSync(join(docsDir, doc), "utf8");
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = (m[1] as string).split("#")[0] as string;
        if (target === "" || /^[a-z]+:/i.test(target)) continue;
        // docs/performance.md is written by the benchmark helper; docs/api/ by `pnpm run docs`.
        if (target === "performance.md" || target.startsWith("api/")) continue;
        if (!existsSync(resolve(docsDir, target))) broken.push(`docs/${doc}: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe("ts samples type-check", () => {
  it("tsc --noEmit over every extracted ts sample", () => {
    const tsc = join(repo, "node_modules/typescript/bin/tsc");
    const res = spawnSync(process.execPath, [tsc, "-p", join(samplesRoot, "tsconfig.json"), "--pretty", "false"], {
      cwd: repo,
      encoding: "utf8",
      timeout: 240_000,
    });
    const out = `${res.stdout}${res.stderr}`;
    // Only errors in the samples count (in-progress packages are checked by their own owners).
    const ours = out.split("\n").filter((l) => l.startsWith("docs-tests/.samples/") || l.includes("/docs-tests/.samples/"));
    expect(ours.join("\n")).toBe("");
  }, 300_000);
});

describe("ts samples run", () => {
  for (const s of runnableTs) {
    it(label(s), async () => {
      const mod = (await import(pathToFileURL(pathOf(s)).href)) as { default?: unknown };
      if (isPlugin(mod.default)) {
        const out = await invoke(mod.default, { command: "VERSION" });
        expect(out.exitCode, out.stdout).toBe(0);
        const declared = mod.default.cniVersions;
        if (typeof declared !== "function") expect(out.version?.supportedVersions).toEqual([...declared]);
      }
    }, 120_000);
  }

  for (const s of vitestSamples) {
    it(`${label(s)} (vitest)`, () => {
      const vitest = join(repo, "node_modules/vitest/vitest.mjs");
      const res = spawnSync(
        process.execPath,
        [vitest, "run", "--config", join(samplesRoot, "vitest.config.mjs"), "--root", samplesRoot, pathOf(s)],
        { cwd: samplesRoot, encoding: "utf8", timeout: 240_000, env: { ...process.env, CI: "1" } },
      );
      expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
    }, 300_000);
  }
});

describe("sh samples run", () => {
  for (const s of shSamples) {
    it(label(s), () => {
      const cwd = join(samplesRoot, "sh", `${sampleDirName(s)}-L${s.line}`);
      mkdirSync(cwd, { recursive: true });
      const res = spawnSync("bash", ["-eo", "pipefail", "-c", s.code], {
        cwd,
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, PATH: `${binDir}:${process.env.PATH ?? ""}` },
      });
      expect(res.status, `${res.stdout}\n${res.stderr}`).toBe(0);
    }, 90_000);
  }
});
