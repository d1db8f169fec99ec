/**
 * cnikit's one native addon (koffi's `.node` file, loaded by `@cnikit/native`) cannot be inlined
 * into JavaScript: when a bundle includes `@cnikit/native`'s koffi loader (any plugin using
 * `@cnikit/ns`, `flock`, `posixSpawn` or `@cnikit/invoke`'s delegation), it is copied beside it as
 * `koffi.node`, where `@cnikit/native` loads it from (through the entry's real path, so a symlink
 * from `/opt/cni/bin` works). The fast exit `@cnikit/skel` imports (`@cnikit/native/fast-exit`)
 * needs no addon: a plugin on skel alone gets none.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol — a plugin is an executable the runtime execs
 */
import { copyFileSync, existsSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { BuildError } from "./errors.js";

/**
 * esbuild's metafile, as far as this package reads it.
 *
 * @example
 * ```ts
 * const metafile: BundleMetafile = { inputs: { "src/main.ts": {} } };
 * ```
 */
export interface BundleMetafile {
  /** Every bundled input, keyed by its path relative to `workingDir` (or absolute). */
  readonly inputs: Readonly<Record<string, unknown>>;
}

/**
 * What {@link copyNativeAddons} needs to know about a written bundle.
 *
 * @example
 * ```ts
 * const ctx: NativeAddonContext = { outdir: "dist", metafile: result.metafile };
 * ```
 */
export interface NativeAddonContext {
  /** Directory the addons are copied into (the bundle's directory). */
  readonly outdir: string;
  /** esbuild's metafile of the bundle: tells whether `@cnikit/native`'s koffi loader is in it. */
  readonly metafile: BundleMetafile;
  /** Directory the metafile's relative input paths start from; default `process.cwd()`. */
  readonly workingDir?: string;
}

/** Reads a package.json's "name", or undefined. */
function packageName(file: string): string | undefined {
  try {
    const name = (JSON.parse(readFileSync(file, "utf8")) as { name?: unknown }).name;
    return typeof name === "string" ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The label of `@cnikit/native`'s koffi branches: a Bun build drops them (esbuild `dropLabels`),
 * so nothing in it loads koffi unless the plugin calls `loadKoffi()` itself.
 */
export const NODE_ONLY_LABEL = "CNIKIT_NODE_ONLY";

/**
 * Whether a bundle's code still holds `@cnikit/native`'s koffi loader (which looks for
 * `koffi.node` by that name): false for a Bun build of a plugin that never calls `loadKoffi()`.
 */
export function bundleLoadsKoffi(code: string): boolean {
  return code.includes('"koffi.node"');
}

/**
 * The files of `@cnikit/native` that load koffi: its source (through the `@cnikit/source`
 * condition) and its built main entry. Its fast-exit entry and the chunk they share do not.
 */
const KOFFI_LOADERS = new Set(["src/koffi.ts", "dist/index.js"]);

/**
 * The directory of the `@cnikit/native` package whose koffi loader is among the bundle's inputs,
 * or undefined when the bundle never loads koffi (a plugin on `@cnikit/skel` alone).
 *
 * @example
 * ```ts
 * findNativePackageDir(result.metafile); // "/repo/node_modules/@cnikit/native" or undefined
 * ```
 */
export function findNativePackageDir(metafile: BundleMetafile, workingDir = process.cwd()): string | undefined {
  const seen = new Map<string, string | undefined>();
  for (const input of Object.keys(metafile.inputs)) {
    if (input.startsWith("<") || input.includes(":")) continue; // esbuild's virtual inputs
    const file = resolve(workingDir, input);
    let dir = dirname(file);
    const visited: string[] = [];
    let found: string | undefined;
    while (dir !== dirname(dir)) {
      if (seen.has(dir)) {
        found = seen.get(dir);
        break;
      }
      visited.push(dir);
      const pkg = join(dir, "package.json");
      if (existsSync(pkg)) {
        found = packageName(pkg) === "@cnikit/native" ? dir : undefined;
        break;
      }
      dir = dirname(dir);
    }
    for (const v of visited) seen.set(v, found);
    if (found && KOFFI_LOADERS.has(relative(found, file).split(sep).join("/"))) return realpathSync(found);
  }
  return undefined;
}

/** The directory of an installed package (also when its "exports" hide package.json). */
function packageDir(req: NodeJS.Require, name: string): string {
  try {
    return dirname(req.resolve(`${name}/package.json`));
  } catch {
    let dir = dirname(req.resolve(name));
    while (dir !== dirname(dir)) {
      const file = join(dir, "package.json");
      if (existsSync(file) && packageName(file) === name) return dir;
      dir = dirname(dir);
    }
    throw new BuildError(`cannot find the directory of the package ${name}`);
  }
}

/**
 * Paths of the native addons `@cnikit/native` (installed at `nativeDir`) needs on this platform,
 * keyed by the file name they get beside the bundle.
 *
 * @example
 * ```ts
 * nativeAddonPaths("/repo/node_modules/@cnikit/native");
 * // { "koffi.node": ".../linux_x64/koffi.node" }
 * ```
 * @throws {BuildError} when koffi, or its binary for this platform, is missing.
 */
export function nativeAddonPaths(nativeDir: string): Record<"koffi.node", string> {
  const nativeReq = createRequire(join(nativeDir, "package.json"));
  const { arch, platform } = process;
  const report = process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const libc = platform === "linux" && !report?.header?.glibcVersionRuntime ? "musl" : platform;

  // koffi: the prebuilt binary is in the platform package @koromix/koffi-<platform>-<arch>,
  // or under koffi's own build/ when it was built from source
  let koffiDir: string;
  try {
    koffiDir = packageDir(nativeReq, "koffi");
  } catch (err) {
    throw new BuildError(`cannot resolve koffi from ${nativeDir} (is @cnikit/native installed with its dependencies?)`, {
      cause: err,
    });
  }
  const koffiCandidates: string[] = [];
  try {
    const platformDir = packageDir(createRequire(join(koffiDir, "package.json")), `@koromix/koffi-${platform}-${arch}`);
    koffiCandidates.push(
      join(platformDir, `${libc}_${arch}`, "koffi.node"),
      join(platformDir, `${platform}_${arch}`, "koffi.node"),
    );
  } catch {
    // no platform package: koffi was built from source
  }
  koffiCandidates.push(
    join(koffiDir, "build", "koffi", `${libc}_${arch}`, "koffi.node"),
    join(koffiDir, "build", "koffi", `${platform}_${arch}`, "koffi.node"),
  );
  const koffi = koffiCandidates.find((p) => existsSync(p));
  if (!koffi) {
    throw new BuildError(
      `koffi's native addon for ${platform}-${arch} not found (looked in ${koffiCandidates.join(", ")})`,
    );
  }

  return { "koffi.node": koffi };
}

/**
 * Copies `@cnikit/native`'s addon beside a bundle as `koffi.node` when the bundle includes its
 * koffi loader; does nothing otherwise. Returns the paths written.
 * `buildPlugin` calls it after every build.
 *
 * @example
 * ```ts
 * const copied = copyNativeAddons({ outdir: "dist", metafile: result.metafile });
 * // ["dist/koffi.node"] for a plugin that uses @cnikit/ns
 * ```
 * @throws {BuildError} when the bundle loads koffi but its addon cannot be found.
 */
export function copyNativeAddons({ outdir, metafile, workingDir }: NativeAddonContext): string[] {
  const nativeDir = findNativePackageDir(metafile, workingDir);
  if (!nativeDir) return [];
  const copied: string[] = [];
  for (const [name, from] of Object.entries(nativeAddonPaths(nativeDir))) {
    const to = join(outdir, name);
    copyFileSync(realpathSync(from), to);
    copied.push(to);
  }
  return copied;
}
