/**
 * Bun builds (`cnikit-build ... --target bun` and `--target bun-shared`): the plugin's CommonJS
 * bundle compiled by Bun into bytecode, for the fastest one-shot start of a plugin process
 * (`bun -e 0` starts in ~5 ms where `node -e 0` takes ~30 ms).
 *
 * - `bun`: `bun build --compile --bytecode`: ONE executable per plugin (Bun inside, ~110 MB).
 * - `bun-shared`: one copy of `bun` in the output directory, and the plugin as a bytecode bundle
 *   (`<name>` with a `#!<dir>/bun` shebang, plus `<name>.jsc`) run by it: one runtime for all the
 *   plugins of a bin dir, ~0.3 MB per plugin.
 *
 * Under Bun `@cnikit/native` calls libc through `bun:ffi`, and its koffi branches are dropped
 * from the bundle: no `koffi.node` is shipped (unless the plugin calls `loadKoffi()` itself; it
 * is then copied beside the output and found through `process.execPath`).
 *
 * Bun itself comes from the npm packages `@oven/bun-linux-x64` (or `-baseline`, for CPUs without
 * AVX2), optional dependencies of this package, pinned to {@link BUN_VERSION}.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol — a plugin is an executable the runtime execs
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Metafile } from "esbuild";
import { type BuildPluginOptions, bundleOptions, resolveEntry } from "./build-plugin.js";
import { bundleDeferredCjs } from "./bundle.js";
import { BuildError } from "./errors.js";
import { bundleLoadsKoffi, copyNativeAddons, NODE_ONLY_LABEL } from "./native-addons.js";
import { bunVersionGuard, probeVersionReply } from "./version-prologue.js";

/**
 * The Bun release the builds use: the version of the `@oven/bun-linux-*` packages this package
 * depends on.
 *
 * @example
 * ```ts
 * BUN_VERSION; // "1.4.4"
 * ```
 */
export const BUN_VERSION = "1.4.4";

/**
 * The Bun build forms: `"bun"` (one compiled executable per plugin) or `"bun-shared"` (one `bun`
 * beside bytecode bundles).
 *
 * @example
 * ```ts
 * BUN_TARGETS.includes("bun-shared"); // true
 * ```
 */
export const BUN_TARGETS = ["bun", "bun-shared"] as const;

/**
 * `"bun"` or `"bun-shared"`; see {@link BUN_TARGETS}.
 *
 * @example
 * ```ts
 * const target: BunTarget = "bun";
 * ```
 */
export type BunTarget = (typeof BUN_TARGETS)[number];

/**
 * Options of {@link buildBun}.
 *
 * @example
 * ```ts
 * const options: BuildBunOptions = { entry: "src/main.ts", outfile: "dist-bun/my-plugin" };
 * ```
 */
export interface BuildBunOptions
  extends Pick<
    BuildPluginOptions,
    "entry" | "outfile" | "external" | "conditions" | "define" | "nativeAddons" | "cwd" | "versionPrologue"
  > {
  /** `"bun"` (default): one executable; `"bun-shared"`: a bytecode bundle run by a `bun` copied beside it. */
  readonly target?: BunTarget;
  /** Minify the bundle (Bun's `--minify`); default true. */
  readonly minify?: boolean;
  /**
   * `"bun-shared"` only: the bundle's first line; default `#!<outdir>/bun` (the absolute path of
   * the `bun` written beside it), e.g. `#!/opt/cni/bin/bun` when the plugins are installed there.
   */
  readonly shebang?: string;
  /** The bun binary that builds (and, for `"bun-shared"`, is copied); default {@link findBun}'s. */
  readonly bunBinary?: string;
  /**
   * How many times more often than Bun's default a function must run before its JIT tiers it up
   * (Bun's `--compile-jit-policy`; the `"bun-shared"` bundle calls `Bun.unsafe.setJITPolicy` first
   * thing); default {@link BUN_JIT_POLICY}. 1 is Bun's own default.
   */
  readonly jitPolicy?: number | undefined;
}

/**
 * The default {@link BuildBunOptions.jitPolicy}: 10. A one-shot plugin runs most of its code a
 * few times; at Bun's default thresholds its JIT compiles functions that never run again, on the
 * same 2 cores as the plugin and its IPAM child (the bridge's ADD: ~3.5 MB less peak RSS and a
 * faster ADD at 10, see docs/performance.md).
 *
 * @example
 * ```ts
 * BUN_JIT_POLICY; // 10
 * ```
 */
export const BUN_JIT_POLICY = 10;

/**
 * What {@link buildBun} wrote.
 *
 * @example
 * ```ts
 * const { outfile, runtime, nativeAddons } = await buildBun({ entry: "src/main.ts", outfile: "dist-bun/my-plugin" });
 * ```
 */
export interface BuildBunResult {
  /** Absolute path of the executable (the compiled binary, or the bytecode bundle with its shebang). */
  readonly outfile: string;
  /** `"bun-shared"`: the bytecode file `<outfile>.jsc`. */
  readonly bytecode?: string;
  /** `"bun-shared"`: the `bun` copied beside the bundle. */
  readonly runtime?: string;
  /** Whether VERSION is answered before the bundle is evaluated (see {@link BuildPluginOptions.versionPrologue}). */
  readonly versionPrologue: boolean;
  /** esbuild's metafile of the bundle Bun compiled. */
  readonly metafile: Metafile;
  /** Absolute paths of the native addons copied beside it. */
  readonly nativeAddons: readonly string[];
}

/** True when this CPU has AVX2 (the regular Bun build needs it; the baseline build does not). */
function cpuHasAvx2(): boolean {
  try {
    return /^flags\s*:.*\bavx2\b/m.test(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    return true;
  }
}

/**
 * The bun binary of the `@oven/bun-<platform>-<arch>` package (`-baseline` when the CPU lacks
 * AVX2), resolved from this package, else from `from` (e.g. the plugin's entry).
 *
 * @example
 * ```ts
 * findBun(); // "/…/node_modules/@oven/bun-linux-x64/bin/bun"
 * ```
 * @throws {BuildError} when no such package is installed.
 */
export function findBun(from?: string): string {
  const base = `@oven/bun-${process.platform}-${process.arch}`;
  const names = process.arch === "x64" && !cpuHasAvx2() ? [`${base}-baseline`] : [base, `${base}-baseline`];
  for (const origin of [import.meta.url, ...(from ? [from] : [])]) {
    const req = createRequire(origin);
    for (const name of names) {
      try {
        const bin = join(dirname(req.resolve(`${name}/package.json`)), "bin", "bun");
        if (existsSync(bin)) return bin;
      } catch {
        // not installed here
      }
    }
  }
  throw new BuildError(
    `--target bun needs Bun: install ${names[0]}@${BUN_VERSION} (an optional dependency of @cnikit/build), or pass bunBinary`,
  );
}

/** Runs `bun build` with `args`; a failure becomes a BuildError with Bun's output. */
function bunBuild(bun: string, args: readonly string[], cwd: string): void {
  const r = spawnSync(bun, ["build", ...args], {
    cwd,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/", BUN_DEBUG_QUIET_LOGS: "1" },
  });
  if (r.status !== 0) {
    throw new BuildError(`bun build failed (exit ${r.status ?? r.signal}):\n${r.stderr}${r.stdout}${r.error?.message ?? ""}`);
  }
}

/**
 * Builds a plugin for Bun. The plugin is bundled as for `buildPlugin` (CommonJS, its entry's
 * top-level code deferred to a main function), then compiled by `bun build --bytecode --minify
 * --format=cjs`:
 *
 * - `target: "bun"` (default): with `--compile` into one executable holding Bun and the plugin's
 *   bytecode (~110 MB; `.env`/`bunfig.toml` autoloading off: a plugin must not read files from
 *   its caller's working directory; JIT tier-up {@link BUN_JIT_POLICY} times later than Bun's
 *   default).
 * - `target: "bun-shared"`: `outfile` is the bundle with a `#!<dir>/bun` shebang, its bytecode in
 *   `<outfile>.jsc` and the `bun` binary copied beside it (once for all plugins of the directory).
 *
 * The bytecode is specific to the Bun version that built it: ship the `bun` of the same build.
 *
 * @example
 * ```ts
 * import { buildBun } from "@cnikit/build";
 *
 * await buildBun({ entry: "src/main.ts", outfile: "dist-bun/my-plugin" });
 * // dist-bun/my-plugin (ELF, ~110 MB): libc through bun:ffi, no koffi.node
 * await buildBun({ entry: "src/main.ts", outfile: "dist-bun-shared/my-plugin", target: "bun-shared", shebang: "#!/opt/cni/bin/bun" });
 * // dist-bun-shared/{my-plugin, my-plugin.jsc, bun}
 * ```
 * @throws {BuildError} when the entry is missing, esbuild or `bun build` fails, Bun is not
 *   installed, or `jitPolicy` is not a positive number.
 */
export async function buildBun(options: BuildBunOptions): Promise<BuildBunResult> {
  const cwd = options.cwd ?? process.cwd();
  const target = options.target ?? "bun";
  if (!(BUN_TARGETS as readonly string[]).includes(target)) {
    throw new BuildError(`unknown Bun target ${JSON.stringify(target)} (${BUN_TARGETS.join(" or ")})`);
  }
  const entryAbs = resolveEntry(options.entry, cwd);
  const out = resolve(cwd, options.outfile);
  const outdir = dirname(out);
  const shared = target === "bun-shared";
  const shebang = options.shebang ?? `#!${join(outdir, "bun")}`;
  if (shared && (!shebang.startsWith("#!") || shebang.includes("\n"))) {
    throw new BuildError(`shebang must be one line starting with #!, not ${JSON.stringify(shebang)}`);
  }
  if (!shared && options.shebang !== undefined) throw new BuildError("shebang applies to the bun-shared target only");
  const jitPolicy = options.jitPolicy ?? BUN_JIT_POLICY;
  if (!Number.isFinite(jitPolicy) || jitPolicy <= 0) {
    throw new BuildError(`jitPolicy must be a positive number, not ${String(jitPolicy)}`);
  }
  const bun = options.bunBinary ?? findBun(entryAbs);
  mkdirSync(outdir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "cnikit-bun-"));
  try {
    const main = join(work, `${basename(out)}.cjs`);
    const bundle = { ...bundleOptions(entryAbs, { ...options, minify: false }), dropLabels: [NODE_ONLY_LABEL] };
    const self = shared ? "argv1" : "execPath";
    const captured =
      options.versionPrologue === false
        ? undefined
        : await probeVersionReply(bundle, { work, self, runtime: bun, lazyBuiltins: true });
    const metafile = await bundleDeferredCjs(bundle, {
      outfile: main,
      work,
      mainCall: "__cnikitRun();",
      // the compiled executable is its own file; the shared form is run as `bun <bundle>`
      shebang: shared ? shebang : undefined,
      self,
      lazyBuiltins: true,
      // the compiled form gets it from --compile-jit-policy, before any JS runs
      prelude: shared && jitPolicy !== 1 ? `Bun.unsafe.setJITPolicy(${jitPolicy});` : undefined,
      // after the prelude, before the bundle's modules are evaluated
      versionGuard: captured ? bunVersionGuard(captured) : undefined,
    });
    const common = ["--bytecode", "--format=cjs", "--target=bun", ...(options.minify === false ? [] : ["--minify"])];
    rmSync(out, { force: true });
    let result: BuildBunResult;
    if (shared) {
      const built = join(work, "out");
      bunBuild(bun, [main, ...common, `--outdir=${built}`], work);
      const js = join(built, `${basename(out)}.js`);
      copyFileSync(js, out);
      copyFileSync(`${js}.jsc`, `${out}.jsc`);
      chmodSync(out, 0o755);
      const runtime = join(outdir, "bun");
      if (!existsSync(runtime) || statSync(runtime).size !== statSync(bun).size || !sameFile(runtime, bun)) {
        rmSync(runtime, { force: true });
        copyFileSync(bun, runtime);
        chmodSync(runtime, 0o755);
      }
      result = {
        outfile: out,
        bytecode: `${out}.jsc`,
        runtime,
        versionPrologue: !!captured,
        metafile,
        nativeAddons: [],
      };
    } else {
      bunBuild(
        bun,
        [
          main,
          "--compile",
          ...common,
          `--compile-executable-path=${bun}`,
          "--no-compile-autoload-dotenv",
          "--no-compile-autoload-bunfig",
          `--compile-jit-policy=${jitPolicy}`,
          `--outfile=${out}`,
        ],
        work,
      );
      rmSync(`${out}.jsc`, { force: true });
      result = { outfile: out, versionPrologue: !!captured, metafile, nativeAddons: [] };
    }
    const nativeAddons =
      options.nativeAddons === false || !bundleLoadsKoffi(readFileSync(main, "utf8"))
        ? []
        : copyNativeAddons({ outdir, metafile, workingDir: process.cwd() });
    return { ...result, nativeAddons };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Same contents (the bun binary is ~100 MB: compare only when the sizes match). */
function sameFile(a: string, b: string): boolean {
  return readFileSync(a).equals(readFileSync(b));
}
