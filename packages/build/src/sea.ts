/**
 * Node single executable applications (`cnikit-build ... --sea`): the plugin and node itself in
 * one binary, for hosts without node. About 100 MB; see
 * https://nodejs.org/api/single-executable-applications.html
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol — a plugin is an executable the runtime execs
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Metafile } from "esbuild";
import { type BuildPluginOptions, bundleOptions, resolveEntry } from "./build-plugin.js";
import { bundleDeferredCjs } from "./bundle.js";
import { BuildError } from "./errors.js";
import { copyNativeAddons } from "./native-addons.js";
import { writeSnapshotLoader } from "./snapshot.js";

/** The fuse postject flips in the node binary (Node's documented sentinel). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/**
 * Options of {@link buildSea}.
 *
 * @example
 * ```ts
 * const options: BuildSeaOptions = { entry: "src/main.ts", outfile: "dist-sea/my-plugin", useCodeCache: true };
 * ```
 */
export interface BuildSeaOptions
  extends Pick<
    BuildPluginOptions,
    "entry" | "outfile" | "minify" | "external" | "conditions" | "define" | "nativeAddons" | "cwd"
  > {
  /** Embed V8's code cache for the bundle (faster start, bigger binary); default true. Ignored with `snapshot`. */
  readonly useCodeCache?: boolean;
  /**
   * Embed a start-up snapshot of the evaluated plugin instead of the bundle (`useSnapshot`): the
   * fastest start Node offers (no script to read, parse or run; nothing of the plugin compiled at
   * run time). The plugin's modules are evaluated at build time, as with `buildPlugin`'s
   * `snapshot`. Default false.
   */
  readonly snapshot?: boolean;
  /** With `snapshot`: compile every function into the snapshot (V8 `--no-lazy`); default true. */
  readonly eagerCompile?: boolean;
  /** The node binary to embed; default the one running the build (`process.execPath`). */
  readonly nodeBinary?: string;
}

/**
 * What {@link buildSea} wrote.
 *
 * @example
 * ```ts
 * const { outfile, nativeAddons } = await buildSea({ entry: "src/main.ts", outfile: "dist-sea/my-plugin" });
 * ```
 */
export interface BuildSeaResult {
  /** Absolute path of the executable. */
  readonly outfile: string;
  /** esbuild's metafile of the embedded bundle. */
  readonly metafile: Metafile;
  /** Absolute paths of the native addons copied beside it. */
  readonly nativeAddons: readonly string[];
}

type Inject = (file: string, name: string, data: Buffer, options: { sentinelFuse: string }) => Promise<void>;

/** Loads postject's `inject`: the project's own (resolved from the entry), else the one beside this package. */
async function loadPostject(entryAbs: string): Promise<Inject> {
  for (const from of [entryAbs, import.meta.url]) {
    try {
      const path = createRequire(from).resolve("postject");
      const mod = (await import(pathToFileURL(path).href)) as { inject?: Inject; default?: { inject?: Inject } };
      const inject = mod.inject ?? mod.default?.inject;
      if (inject) return inject;
    } catch {
      // try the next place
    }
  }
  throw new BuildError(
    "--sea needs postject to write the bundle into the node binary: npm install -D postject@1.0.0-alpha.6",
  );
}

/**
 * Builds a Node single executable application: `outfile` is a copy of node with the plugin
 * bundle (CommonJS, with V8's code cache) injected, and `@cnikit/native`'s addon (koffi.node) is copied
 * beside it. The host needs no node; install the whole directory like a `dist/`.
 * Needs the `postject` package (an optional peer dependency) and a node built with SEA support
 * (the official Linux builds are).
 *
 * @example
 * ```ts
 * import { buildSea } from "@cnikit/build";
 *
 * await buildSea({ entry: "src/main.ts", outfile: "dist-sea/my-plugin" });
 * // dist-sea/my-plugin (ELF, ~100 MB) + dist-sea/koffi.node
 * ```
 * @throws {BuildError} when the entry is missing, esbuild fails, postject is not installed or
 *   node cannot prepare the blob.
 */
export async function buildSea(options: BuildSeaOptions): Promise<BuildSeaResult> {
  const cwd = options.cwd ?? process.cwd();
  const entryAbs = resolveEntry(options.entry, cwd);
  const out = resolve(cwd, options.outfile);
  const outdir = dirname(out);
  const inject = await loadPostject(entryAbs);
  mkdirSync(outdir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "cnikit-sea-"));
  try {
    const blob = join(work, "sea-prep.blob");
    const config = join(work, "sea-config.json");
    let metafile: Metafile;
    if (options.snapshot) {
      const built = await writeSnapshotLoader(bundleOptions(entryAbs, options), {
        work,
        eagerCompile: options.eagerCompile ?? true,
        self: "execPath",
      });
      metafile = built.metafile;
      writeFileSync(
        config,
        JSON.stringify({ main: built.loader, output: blob, disableExperimentalSEAWarning: true, useSnapshot: true }),
      );
    } else {
      const main = join(work, "main.cjs");
      metafile = await bundleDeferredCjs(bundleOptions(entryAbs, options), {
        outfile: main,
        work,
        mainCall: "__cnikitRun();",
        shebang: undefined,
        self: "execPath",
      });
      writeFileSync(
        config,
        JSON.stringify({
          main,
          output: blob,
          disableExperimentalSEAWarning: true,
          useCodeCache: options.useCodeCache ?? true,
        }),
      );
    }
    const nodeBinary = options.nodeBinary ?? process.execPath;
    const prep = spawnSync(nodeBinary, ["--experimental-sea-config", config], { cwd: work, encoding: "utf8" });
    if (prep.status !== 0) {
      throw new BuildError(
        `node --experimental-sea-config failed (exit ${prep.status}):\n${prep.stderr}${prep.stdout}`,
      );
    }
    rmSync(out, { force: true });
    copyFileSync(nodeBinary, out);
    chmodSync(out, 0o755);
    try {
      await inject(out, "NODE_SEA_BLOB", readFileSync(blob), { sentinelFuse: SEA_FUSE });
    } catch (err) {
      rmSync(out, { force: true });
      throw new BuildError(`postject could not inject the bundle into ${out}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const nativeAddons =
      options.nativeAddons === false ? [] : copyNativeAddons({ outdir, metafile, workingDir: process.cwd() });
    return { outfile: out, metafile, nativeAddons };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
