/**
 * Start-up snapshot builds (`cnikit-build ... --snapshot`).
 *
 * A plugin is a process per call, so start-up is most of its cost. The bundle is run once at
 * build time under `node --build-snapshot`: every module of the plugin is evaluated then, and the
 * resulting heap (with the bytecode of every function) is saved as `<name>.blob`. `dist/<name>`
 * becomes a small `#!/bin/sh` launcher that execs `node --snapshot-blob <dir>/<name>.blob`, with
 * `<dir>` found from the launcher's real path (so a symlink from /opt/cni/bin works).
 * Only the entry file's own top-level code is deferred to run time (see defer-entry.ts).
 *
 * The blob only loads in the node binary (same version and V8 flags) that built it; any other
 * node exits with code 14 before running anything. The launcher then runs `<name>.cjs`, the same
 * plugin as a plain CommonJS bundle, written beside the blob: slower to start, but a `dist/`
 * copied to a host with another node version keeps working.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol — a plugin is an executable the runtime execs
 */
import { spawnSync } from "node:child_process";
import { chmodSync, realpathSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { type BundleOptions, bundleDeferredCjs, NODE_SHEBANG } from "./bundle.js";
import { BuildError } from "./errors.js";

/**
 * V8 flags of snapshot builds, used both to build the blob and in the launcher (they must match).
 * `--no-rehash-snapshot` keeps the string-hash seed the blob was built with instead of
 * rehashing every string of the heap at each start (measured: VERSION 36.2 → 32.6 ms, `node -e 0`
 * 29.6 ms). Trade-off: every run of one build shares a (random, per-build) hash seed, which
 * matters only against hash-flooding input. `snapshotRehash: true` drops the flag.
 *
 * @example
 * ```ts
 * SNAPSHOT_NODE_FLAGS; // ["--no-rehash-snapshot"]
 * ```
 */
export const SNAPSHOT_NODE_FLAGS: readonly string[] = ["--no-rehash-snapshot"];

/**
 * Exit code of node when it cannot load a startup snapshot (another node version, other V8
 * flags, a damaged blob). The launcher falls back to the plain bundle on it; a snapshot build's
 * plugin that exits with 14 itself exits with 1 instead, so the two cannot be confused.
 *
 * @example
 * ```ts
 * if (result.status === SNAPSHOT_LOAD_FAILURE_EXIT_CODE) console.error("blob not loadable");
 * ```
 */
export const SNAPSHOT_LOAD_FAILURE_EXIT_CODE = 14;

/**
 * File name of the snapshot blob written beside the launcher `dist/<name>`.
 *
 * @example
 * ```ts
 * snapshotBlobName("dist/my-plugin"); // "my-plugin.blob"
 * ```
 */
export function snapshotBlobName(outfile: string): string {
  return `${basename(outfile)}.blob`;
}

/**
 * File name of the plain CommonJS bundle a snapshot build writes beside the blob, run by the
 * launcher when the node on PATH cannot load the blob.
 *
 * @example
 * ```ts
 * snapshotFallbackName("dist/my-plugin"); // "my-plugin.cjs"
 * ```
 */
export function snapshotFallbackName(outfile: string): string {
  return `${basename(outfile)}.cjs`;
}

/**
 * What the launcher needs to know; see {@link snapshotLauncher}.
 *
 * @example
 * ```ts
 * const o: SnapshotLauncherOptions = { blobName: "my-plugin.blob", fallbackName: "my-plugin.cjs" };
 * ```
 */
export interface SnapshotLauncherOptions {
  /** File name of the blob, beside the launcher. */
  readonly blobName: string;
  /** File name of the plain bundle run when the blob cannot be loaded, beside the launcher. */
  readonly fallbackName: string;
  /** Version of the node that built the blob (for the comment and the fallback warning). */
  readonly nodeVersion?: string;
  /** Real path of the node binary that built the blob: when `node` on PATH is that file, the launcher execs it directly. */
  readonly nodePath?: string;
  /** V8 flags the blob was built with; default {@link SNAPSHOT_NODE_FLAGS}. */
  readonly nodeFlags?: readonly string[];
}

/** Single-quotes a string for sh. */
function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The `#!/bin/sh` launcher written to `dist/<name>` by a snapshot build.
 *
 * It resolves its own symlinks (one `readlink` per link, none when called directly), unsets
 * `NODE_OPTIONS` (V8 flags in it would make the blob unloadable) and finds `node` on PATH
 * without forking. When that node is the very file that built the blob (same inode, not modified
 * since the blob was written) it `exec`s `node --snapshot-blob <dir>/<blob> <launcher> "$@"`
 * (a blob damaged after the build is then not caught: rebuild). Otherwise it runs the same command
 * without `exec`: on exit code 14 (the blob does not load in this node; nothing has read stdin
 * yet) it warns on stderr and `exec`s `node <dir>/<fallback>` instead.
 *
 * @example
 * ```ts
 * writeFileSync("dist/my-plugin", snapshotLauncher({ blobName: "my-plugin.blob", fallbackName: "my-plugin.cjs" }));
 * ```
 */
export function snapshotLauncher({
  blobName,
  fallbackName,
  nodeVersion = process.version,
  nodePath = realpathSync(process.execPath),
  nodeFlags = SNAPSHOT_NODE_FLAGS,
}: SnapshotLauncherOptions): string {
  const flags = nodeFlags.map((f) => `${shQuote(f)} `).join("");
  const warning = `%s: this node cannot load ${blobName} (built with node ${nodeVersion}): running ${fallbackName}, which starts slower; rebuild with this node for the fast start\\n`;
  return `#!/bin/sh
# cnikit start-up snapshot launcher (@cnikit/build, --snapshot), built with node ${nodeVersion}.
# Runs node on ${blobName}, found beside this file's real path. The blob loads only in the node
# that built it (${nodeVersion}); any other node exits 14 at once, and ${fallbackName} (the same
# plugin, a plain bundle) runs instead.
f=$0
while [ -h "$f" ]; do
  l=$(readlink "$f")
  case $l in /*) f=$l ;; *) f=\${f%/*}/$l ;; esac
done
case $f in */*) d=\${f%/*} ;; *) d=. ;; esac
# V8 flags from NODE_OPTIONS would make the blob unloadable (node exits 14).
unset NODE_OPTIONS
set -f
n=node
o=$IFS
IFS=:
for p in $PATH; do
  if [ -x "\${p:-.}/node" ] && [ ! -d "\${p:-.}/node" ]; then n=\${p:-.}/node; break; fi
done
IFS=$o
# the node that built the blob, not modified since: exec it (a fast start, signals reach node)
if [ "$n" -ef ${shQuote(nodePath)} ] && [ ! "$n" -nt "$d/${blobName}" ]; then
  exec "$n" ${flags}--snapshot-blob "$d/${blobName}" "$f" "$@"
fi
# another node: try the blob; exit 14 means it does not load here (nothing has read stdin yet)
"$n" ${flags}--snapshot-blob "$d/${blobName}" "$f" "$@"
s=$?
[ "$s" -eq ${SNAPSHOT_LOAD_FAILURE_EXIT_CODE} ] || exit "$s"
printf ${shQuote(warning)} "\${f##*/}" >&2
exec "$n" "$d/${fallbackName}" "$@"
`;
}

/** The snapshot's main function: the deferred entry, with exit code 14 kept for the launcher. */
const SNAPSHOT_MAIN = [
  'const { startupSnapshot: __cnikitSnapshot } = require("node:v8");',
  'if (!__cnikitSnapshot.isBuildingSnapshot()) throw new Error("this bundle only runs under node --build-snapshot");',
  "__cnikitSnapshot.setDeserializeMainFunction(() => {",
  `  process.on("exit", () => { if (process.exitCode === ${SNAPSHOT_LOAD_FAILURE_EXIT_CODE}) process.exitCode = 1; });`,
  "  __cnikitRun();",
  "});",
].join("\n");

/** The script run under `node --build-snapshot`: compiles the bundle eagerly, then evaluates it. */
function snapshotLoader(bundle: string, eagerCompile: boolean): string {
  return [
    '"use strict";',
    'const v8 = require("node:v8");',
    'const vm = require("node:vm");',
    `const file = ${JSON.stringify(bundle)};`,
    'const source = require("node:fs").readFileSync(file, "utf8");',
    eagerCompile ? 'v8.setFlagsFromString("--no-lazy");' : "",
    "let fn;",
    "try {",
    '  const wrapped = "(function (exports, require, module, __filename, __dirname) {" + source + "\\n})";',
    "  fn = new vm.Script(wrapped, { filename: file }).runInThisContext();",
    "} finally {",
    eagerCompile ? '  v8.setFlagsFromString("--lazy");' : "",
    "}",
    "const m = { exports: {} };",
    // a native addon cannot live in a snapshot: say which one instead of failing obscurely
    "const dlopen = process.dlopen;",
    "process.dlopen = (_module, filename) => {",
    '  throw new Error("native addon " + filename + " loaded at snapshot build time: load it lazily, on first use");',
    "};",
    "try {",
    '  fn.call(m.exports, m.exports, require, m, file, require("node:path").dirname(file));',
    "} finally {",
    "  process.dlopen = dlopen;",
    "}",
    "",
  ].join("\n");
}

/**
 * Bundles the plugin for a start-up snapshot and writes the script that `node --build-snapshot`
 * (or a SEA build with `useSnapshot`) runs: it evaluates every module of the plugin and leaves
 * its main function to the deserialized process. Internal: shared by the snapshot and SEA builds.
 */
export async function writeSnapshotLoader(
  o: BundleOptions,
  { work, eagerCompile, self }: { work: string; eagerCompile: boolean; self: "argv1" | "execPath" },
): Promise<{ metafile: import("esbuild").Metafile; loader: string }> {
  const bundle = join(work, "snapshot.cjs");
  const metafile = await bundleDeferredCjs(o, {
    outfile: bundle,
    work,
    mainCall: SNAPSHOT_MAIN,
    shebang: undefined,
    self,
  });
  // Compiling the whole bundle eagerly (V8 --no-lazy) while building puts the bytecode of every
  // function in the blob: at run time nothing of ours is parsed or compiled (measured: the
  // host-local ADD handler 12-22 ms → 6-15 ms on a loaded 2-core machine).
  const loader = join(work, "snapshot-loader.cjs");
  writeFileSync(loader, snapshotLoader(bundle, eagerCompile));
  return { metafile, loader };
}

/**
 * Writes `<outdir>/<name>.blob` (the snapshot), `<outdir>/<name>.cjs` (the fallback bundle) and
 * the launcher `out` (internal: {@link buildPlugin} with `snapshot: true` calls it).
 */
export async function writeSnapshotBuild(
  o: BundleOptions,
  {
    out,
    outdir,
    work,
    rehash,
    eagerCompile,
  }: { out: string; outdir: string; work: string; rehash: boolean; eagerCompile: boolean },
): Promise<{ metafile: import("esbuild").Metafile; blob: string; fallback: string }> {
  const nodeFlags = rehash ? [] : SNAPSHOT_NODE_FLAGS;
  const { metafile, loader } = await writeSnapshotLoader(o, { work, eagerCompile, self: "argv1" });
  const fallback = join(outdir, snapshotFallbackName(out));
  await bundleDeferredCjs(o, {
    outfile: fallback,
    work,
    mainCall: "__cnikitRun();",
    shebang: NODE_SHEBANG,
    self: "filename",
  });
  chmodSync(fallback, 0o755);
  const blobName = snapshotBlobName(out);
  const blob = join(outdir, blobName);
  const built = spawnSync(process.execPath, [...nodeFlags, "--snapshot-blob", blob, "--build-snapshot", loader], {
    cwd: work,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    encoding: "utf8",
  });
  if (built.status !== 0) {
    throw new BuildError(`node --build-snapshot failed (exit ${built.status}):\n${built.stderr}${built.stdout}`);
  }
  writeFileSync(out, snapshotLauncher({ blobName, fallbackName: snapshotFallbackName(out), nodeFlags }));
  chmodSync(out, 0o755);
  return { metafile, blob, fallback };
}
