/**
 * `buildPlugin`: a CNI plugin's entry → ONE executable file `dist/<name>` (node shebang,
 * chmod 755) plus the native addons it needs beside it. Installing the plugin = copying dist/.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol — a plugin is an executable the runtime execs
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Metafile } from "esbuild";
import { type BundleOptions, bundleDeferredCjs, bundleEsm, NODE_SHEBANG, type VersionGuard } from "./bundle.js";
import { addCodeCache, codeCacheName } from "./code-cache.js";
import { BuildError } from "./errors.js";
import { copyNativeAddons } from "./native-addons.js";
import { snapshotBlobName, snapshotFallbackName, writeSnapshotBuild } from "./snapshot.js";
import { nodeVersionGuard, probeVersionReply } from "./version-prologue.js";

/**
 * The module formats of a plain (non-snapshot) bundle.
 *
 * @example
 * ```ts
 * BUILD_FORMATS.includes("cjs"); // true
 * ```
 */
export const BUILD_FORMATS = ["cjs", "esm"] as const;

/**
 * `"cjs"` (one CommonJS script, the default) or `"esm"` (one ES module).
 *
 * @example
 * ```ts
 * const format: BuildFormat = "esm";
 * ```
 */
export type BuildFormat = (typeof BUILD_FORMATS)[number];

/**
 * The default format: CommonJS. It starts ~6 ms (CPU) faster than the ES module per call (no
 * ES-module loader), and an extensionless CommonJS file runs on every Node ≥ 20, where an
 * extensionless ES module copied without a package.json needs Node's module-syntax detection
 * (on by default only since Node 20.19 / 22). The entry's top-level code, top-level `await`
 * included, runs inside an async main function.
 *
 * @example
 * ```ts
 * DEFAULT_FORMAT; // "cjs"
 * ```
 */
export const DEFAULT_FORMAT: BuildFormat = "cjs";

/**
 * What an `afterBundle` hook is told about the written bundle.
 *
 * @example
 * ```ts
 * const hook: AfterBundleHook = ({ outdir }) => copyFileSync("LICENSE", join(outdir, "LICENSE"));
 * ```
 */
export interface AfterBundleContext {
  /** Absolute path of the executable (the launcher for a snapshot build). */
  readonly outfile: string;
  /** Its directory. */
  readonly outdir: string;
  /** esbuild's metafile: every bundled input and output. */
  readonly metafile: Metafile;
}

/**
 * Runs once the bundle is written, e.g. to copy more files beside it.
 *
 * @example
 * ```ts
 * await buildPlugin({ entry, outfile, afterBundle: [({ metafile }) => console.log(Object.keys(metafile.inputs).length)] });
 * ```
 */
export type AfterBundleHook = (ctx: AfterBundleContext) => unknown;

/**
 * Options of {@link buildPlugin}.
 *
 * @example
 * ```ts
 * const options: BuildPluginOptions = { entry: "src/main.ts", outfile: "dist/my-plugin", snapshot: true };
 * ```
 */
export interface BuildPluginOptions {
  /** The plugin's entry (e.g. `src/main.ts`), relative to `cwd`. */
  readonly entry: string;
  /** The executable to write (e.g. `dist/my-plugin`), relative to `cwd`. */
  readonly outfile: string;
  /** Module format of the bundle; default {@link DEFAULT_FORMAT}. Ignored with `snapshot`. */
  readonly format?: BuildFormat;
  /**
   * First line of the bundle; default `#!/usr/bin/env node`. E.g. `#!/opt/cni/bin/node` to ship a
   * node binary beside the plugins. Ignored with `snapshot` (the launcher is a sh script).
   */
  readonly shebang?: string;
  /** Minify whitespace and syntax; default false. */
  readonly minify?: boolean;
  /** Build a start-up snapshot: `outfile` becomes a `#!/bin/sh` launcher beside `<name>.blob` and `<name>.cjs`. */
  readonly snapshot?: boolean;
  /**
   * CommonJS builds: embed the bundle in a small loader and write V8's code cache for it beside
   * it (`<name>.v8cache`), so no call parses or compiles the plugin (~8 ms per call on the
   * bridge example). Default true. The cache is only used by the node version that built it.
   */
  readonly codeCache?: boolean;
  /**
   * Answer `CNI_COMMAND=VERSION` before the bundle is evaluated, with the reply captured from the
   * plugin at build time (CommonJS: before the code cache is read and the bundle compiled; ~8 ms
   * of a ~38 ms call on the bridge example). Default true. It applies when the entry's modules
   * define exactly one plugin (`definePlugin` in a module the entry imports, not in the entry
   * itself) whose `cniVersions` is a list, its VERSION reply at build time is exactly that list's,
   * and the call has no `CNI_LOG_LEVEL` or `CNI_LOG_FILE`; otherwise the plugin answers as usual.
   * The reply and exit status are the same either way; what the skipped modules would have done
   * at load (e.g. writing to stderr) does not happen. Ignored with `snapshot`.
   *
   * @example
   * ```ts
   * await buildPlugin({ entry: "src/main.ts", outfile: "dist/my-plugin", versionPrologue: false });
   * ```
   */
  readonly versionPrologue?: boolean | undefined;
  /** Snapshot builds only: let V8 rehash the heap at every start (drops `--no-rehash-snapshot`). */
  readonly snapshotRehash?: boolean;
  /** Snapshot builds only: compile every function into the blob (V8 `--no-lazy`); default true. */
  readonly eagerCompile?: boolean;
  /** Modules left out of the bundle (resolved at run time from node_modules). */
  readonly external?: readonly string[];
  /** Extra package export conditions for esbuild. */
  readonly conditions?: readonly string[];
  /** Extra esbuild `define` entries. */
  readonly define?: Readonly<Record<string, string>>;
  /** Copy `@cnikit/native`'s addon (koffi.node) beside the bundle when it loads koffi; default true. */
  readonly nativeAddons?: boolean;
  /** Hooks run after the bundle is written (and the native addons copied). */
  readonly afterBundle?: readonly AfterBundleHook[];
  /** Directory `entry` and `outfile` are relative to; default `process.cwd()`. */
  readonly cwd?: string;
}

/**
 * What {@link buildPlugin} wrote.
 *
 * @example
 * ```ts
 * const { outfile, kind, nativeAddons } = await buildPlugin({ entry: "src/main.ts", outfile: "dist/my-plugin" });
 * ```
 */
export interface BuildPluginResult {
  /** Absolute path of the executable. */
  readonly outfile: string;
  /** What it is: a CommonJS or ES-module script, or a snapshot launcher. */
  readonly kind: BuildFormat | "snapshot";
  /** Whether VERSION is answered before the bundle is evaluated (see {@link BuildPluginOptions.versionPrologue}). */
  readonly versionPrologue: boolean;
  /** esbuild's metafile of the bundle. */
  readonly metafile: Metafile;
  /** CommonJS builds with `codeCache`: absolute path of `<name>.v8cache`. */
  readonly codeCache?: string;
  /** Absolute paths of the native addons copied beside it (empty when the plugin never loads koffi, e.g. one on `@cnikit/skel` alone). */
  readonly nativeAddons: readonly string[];
  /**
   * CommonJS builds inside a `"type": "module"` package (e.g. a project's own dist/): the
   * package.json (without "type") written beside the bundle so that node runs it in place as
   * CommonJS. Harmless but not needed once installed elsewhere.
   */
  readonly scopeFile?: string;
  /** Snapshot builds: the blob. */
  readonly blob?: string;
  /** Snapshot builds: the plain CommonJS bundle the launcher falls back to. */
  readonly fallback?: string;
}

const SCOPE_MARK = "Written by @cnikit/build";

/**
 * The package.json a CommonJS bundle gets beside it inside a `"type": "module"` package. It has
 * no "type": node then loads the extensionless bundle as CommonJS (its default; Node ≥ 20.19
 * detects module syntax only in files that fail as CommonJS). Copied into a shared directory such
 * as /opt/cni/bin it changes nothing for the other executables there.
 */
function scopePackageJson(name: string): string {
  const description = `${SCOPE_MARK}: ends the "type": "module" scope of the package above, so node runs ${name} (CommonJS) in place without a detour`;
  return `${JSON.stringify({ private: true, description }, null, 2)}\n`;
}

/** True when `file` is a package.json written by this package. */
function isOurPackageJson(file: string): boolean {
  try {
    const d = (JSON.parse(readFileSync(file, "utf8")) as { description?: unknown }).description;
    return typeof d === "string" && d.startsWith(SCOPE_MARK);
  } catch {
    return false;
  }
}

/** The "type" of the nearest package.json at or above `dir`. */
function packageTypeAt(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const file = join(d, "package.json");
    if (existsSync(file)) {
      try {
        const type = (JSON.parse(readFileSync(file, "utf8")) as { type?: unknown }).type;
        return typeof type === "string" ? type : undefined;
      } catch {
        return undefined;
      }
    }
    if (d === dirname(d)) return undefined;
  }
}

/**
 * Node loads an extensionless file as an ES module when the nearest package.json above it says
 * `"type": "module"` (a project's own dist/): a CommonJS bundle there gets a package.json without
 * "type" beside it (the bundle works without it too, but starts ~10 ms slower: see bundle.ts).
 * Other formats remove the one an earlier build wrote. Returns the file written, if any.
 */
function syncScopePackageJson(outdir: string, name: string, kind: BuildFormat | "snapshot"): string | undefined {
  const file = join(outdir, "package.json");
  const ours = existsSync(file) && isOurPackageJson(file);
  if (existsSync(file) && !ours) return undefined; // the user's own
  if (kind === "cjs" && packageTypeAt(dirname(outdir)) === "module") {
    writeFileSync(file, scopePackageJson(name));
    return file;
  }
  if (ours) rmSync(file, { force: true });
  return undefined;
}

/** Resolves and checks the entry (internal). */
export function resolveEntry(entry: string, cwd: string): string {
  const abs = resolve(cwd, entry);
  if (!existsSync(abs)) throw new BuildError(`entry ${entry} not found (looked for ${abs})`);
  if (!statSync(abs).isFile()) throw new BuildError(`entry ${entry} is not a file (${abs})`);
  return abs;
}

/** The shared esbuild options from the user's (internal). */
export function bundleOptions(
  entryAbs: string,
  o: Pick<BuildPluginOptions, "minify" | "external" | "conditions" | "define">,
): BundleOptions {
  return {
    entryAbs,
    minify: o.minify ?? false,
    external: o.external ?? [],
    conditions: o.conditions ?? [],
    define: o.define ?? {},
  };
}

/**
 * Bundles a plugin's entry into ONE executable file with a `#!/usr/bin/env node` shebang
 * (chmod 755), CommonJS by default, and copies `@cnikit/native`'s addon (`koffi.node`)
 * beside it when the plugin uses it. `@cnikit/*` imports resolve to their
 * TypeScript sources when those exist (inside the cnikit repository), else to the installed dist.
 *
 * With `snapshot: true` the plugin is evaluated at build time into a start-up snapshot:
 * `outfile` is a `#!/bin/sh` launcher running `node --snapshot-blob <name>.blob`, and falls back
 * to `<name>.cjs` (written too) when the node on PATH cannot load the blob.
 *
 * @example
 * ```ts
 * import { buildPlugin } from "@cnikit/build";
 *
 * const { outfile, nativeAddons } = await buildPlugin({ entry: "src/main.ts", outfile: "dist/my-plugin" });
 * // outfile: /abs/dist/my-plugin; nativeAddons: [/abs/dist/koffi.node] when it uses @cnikit/ns
 * await buildPlugin({ entry: "src/main.ts", outfile: "dist/my-plugin", snapshot: true }); // fastest start
 * ```
 * @throws {BuildError} when the entry is missing, esbuild reports errors, the snapshot cannot be
 *   built or a native addon is missing.
 */
export async function buildPlugin(options: BuildPluginOptions): Promise<BuildPluginResult> {
  const cwd = options.cwd ?? process.cwd();
  const format = options.format ?? DEFAULT_FORMAT;
  if (!options.snapshot && !(BUILD_FORMATS as readonly string[]).includes(format)) {
    throw new BuildError(`unknown format ${JSON.stringify(format)} (${BUILD_FORMATS.join(" or ")})`);
  }
  const shebang = options.shebang ?? NODE_SHEBANG;
  if (!shebang.startsWith("#!") || shebang.includes("\n")) {
    throw new BuildError(`shebang must be one line starting with #!, not ${JSON.stringify(shebang)}`);
  }
  const entryAbs = resolveEntry(options.entry, cwd);
  const out = resolve(cwd, options.outfile);
  const outdir = dirname(out);
  mkdirSync(outdir, { recursive: true });
  const o = bundleOptions(entryAbs, options);
  const work = mkdtempSync(join(tmpdir(), "cnikit-build-"));
  try {
    let result: {
      outfile: string;
      kind: BuildFormat | "snapshot";
      metafile: Metafile;
      blob?: string;
      fallback?: string;
      codeCache?: string;
      versionPrologue: boolean;
    };
    if (options.snapshot) {
      rmSync(join(outdir, codeCacheName(out)), { force: true });
      const s = await writeSnapshotBuild(o, {
        out,
        outdir,
        work,
        rehash: options.snapshotRehash ?? false,
        eagerCompile: options.eagerCompile ?? true,
      });
      result = { outfile: out, kind: "snapshot", ...s, versionPrologue: false };
    } else {
      const captured =
        options.versionPrologue === false
          ? undefined
          : await probeVersionReply(o, { work, self: "filename", runtime: process.execPath });
      const guard: VersionGuard | undefined = captured ? nodeVersionGuard(captured) : undefined;
      const withCache = format === "cjs" && options.codeCache !== false;
      const metafile =
        format === "esm"
          ? await bundleEsm(o, out, shebang, guard)
          : await bundleDeferredCjs(o, {
              outfile: out,
              work,
              mainCall: "__cnikitRun();",
              shebang,
              self: "filename",
              // with the code cache, the loader answers (before it reads the cache)
              versionGuard: withCache ? undefined : guard,
            });
      // files left by an earlier build of the same name in another mode
      const blob = join(outdir, snapshotBlobName(out));
      if (existsSync(blob)) {
        rmSync(blob, { force: true });
        rmSync(join(outdir, snapshotFallbackName(out)), { force: true });
      }
      rmSync(join(outdir, codeCacheName(out)), { force: true });
      const codeCache = withCache ? addCodeCache(out, { work, versionGuard: guard }) : undefined;
      chmodSync(out, 0o755);
      result = { outfile: out, kind: format, metafile, ...(codeCache ? { codeCache } : {}), versionPrologue: !!guard };
    }
    const scopeFile = syncScopePackageJson(outdir, basename(out), result.kind);
    const nativeAddons =
      options.nativeAddons === false
        ? []
        : copyNativeAddons({ outdir, metafile: result.metafile, workingDir: process.cwd() });
    const ctx: AfterBundleContext = { outfile: out, outdir, metafile: result.metafile };
    for (const hook of options.afterBundle ?? []) await hook(ctx);
    return { ...result, nativeAddons, ...(scopeFile ? { scopeFile } : {}) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
