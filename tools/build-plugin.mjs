#!/usr/bin/env node
// Bundles a CNI plugin entry into ONE executable file: `dist/<name>` with a node shebang.
//
//   node tools/build-plugin.mjs --entry src/main.ts --out dist/<name>
//   ... --format cjs   one CommonJS file instead of an ES module (faster start, see buildCjsPlugin)
//   ... --snapshot     start-up snapshot: dist/<name> is a sh launcher + dist/<name>.blob
//                      (fastest start; see buildSnapshotPlugin and docs/performance.md)
//
// Paths are relative to the current directory (an example package's `build` script runs it
// from that package). Workspace packages are bundled from their sources (the
// "@cnikit/source" export condition), so no package needs building first.
//
// Native addons (.node files) cannot be inlined into JavaScript: `afterBundle` hooks run once
// the bundle is written and may copy files beside it (see nativeAddonHooks below).
import { chmodSync, copyFileSync, existsSync, mkdirSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
// used by the start-up snapshot build (--snapshot, below)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename } from "node:path";
import { pathToFileURL } from "node:url";

// Lets bundled CommonJS dependencies call require() inside an ESM bundle.
const BANNER = [
  "#!/usr/bin/env node",
  'import { createRequire as __cnikitCreateRequire } from "node:module";',
  "const require = __cnikitCreateRequire(import.meta.url);",
].join("\n");

/**
 * Hooks run after the bundle is written: `(ctx) => void | Promise<void>` with
 * ctx = { outfile, outdir, metafile } (metafile: esbuild's, listing every bundled input).
 * The @cnikit/ns helper adds the copy of koffi's and netlink's `.node` files here.
 */
export const nativeAddonHooks = [copyNsNativeAddons];

/**
 * @cnikit/ns's native addons. When the bundle contains @cnikit/ns (its `native.ts`/dist), copy
 * koffi's and netlink's `.node` files beside the bundle as `koffi.node` and `netlink.node`.
 * @cnikit/ns loads them lazily from `dirname(realpathSync(process.argv[1]))`: the bundle is
 * built with `__CNIKIT_BUNDLED__` defined (see `define` below) so it never looks in node_modules.
 * Returns the copied paths.
 */
export function copyNsNativeAddons({ outdir, metafile }) {
  const nsDir = findNsPackageDir(metafile);
  if (!nsDir) return [];
  const req = createRequire(join(nsDir, "package.json"));
  // koffi: the prebuilt binary lives in the platform package @koromix/koffi-<platform>-<arch>
  // (koffi's "exports" hides package.json: resolve its entry and walk up to the package root)
  let koffiPkg = dirname(req.resolve("koffi"));
  while (!existsSync(join(koffiPkg, "package.json"))) koffiPkg = dirname(koffiPkg);
  koffiPkg = join(koffiPkg, "package.json");
  const platformPkg = createRequire(koffiPkg).resolve(
    `@koromix/koffi-${process.platform}-${process.arch}/package.json`,
  );
  const musl = process.platform === "linux" && !process.report?.getReport?.().header?.glibcVersionRuntime;
  const koffiNode = join(dirname(platformPkg), `${musl ? "musl" : process.platform}_${process.arch}`, "koffi.node");
  // netlink: node-gyp-build knows where its prebuild (or local build) is
  const netlinkPkg = req.resolve("netlink/package.json");
  const gypBuild = createRequire(netlinkPkg)("node-gyp-build");
  const netlinkNode = gypBuild.path(dirname(netlinkPkg));
  const copied = [];
  for (const [from, name] of [
    [koffiNode, "koffi.node"],
    [netlinkNode, "netlink.node"],
  ]) {
    if (!existsSync(from)) throw new Error(`native addon not found: ${from}`);
    const to = join(outdir, name);
    copyFileSync(realpathSync(from), to);
    copied.push(to);
  }
  return copied;
}

/** The @cnikit/ns package directory if the bundle includes it, else undefined. */
function findNsPackageDir(metafile) {
  for (const input of Object.keys(metafile?.inputs ?? {})) {
    const abs = resolve(input);
    const m = /^(.*[\\/](?:packages[\\/]ns|@cnikit[\\/]ns))[\\/](?:src|dist)[\\/]/.exec(abs);
    if (m && existsSync(join(m[1], "package.json"))) return realpathSync(m[1]);
  }
  return undefined;
}

/**
 * Bundles `entry` into the executable `outfile`.
 * @param {{ entry: string, outfile: string, minify?: boolean, external?: string[],
 *           afterBundle?: Array<(ctx: { outfile: string, outdir: string, metafile: object }) => unknown>,
 *           snapshot?: boolean, snapshotRehash?: boolean, format?: "esm" | "cjs" }} options
 *   snapshot: build a start-up snapshot + launcher (see buildSnapshotPlugin);
 *   format "cjs": one CommonJS script instead of an ES module (see buildCjsPlugin)
 * @returns {Promise<{ outfile: string, metafile: object }>}
 */
export async function buildPlugin({
  entry,
  outfile,
  minify = false,
  external = [],
  afterBundle = [],
  snapshot = false,
  snapshotRehash = false,
  format = "esm",
}) {
  if (snapshot) return buildSnapshotPlugin({ entry, outfile, minify, external, afterBundle, snapshotRehash });
  if (format === "cjs") return buildCjsPlugin({ entry, outfile, minify, external, afterBundle });
  if (format !== "esm") throw new Error(`unknown format ${JSON.stringify(format)} (esm or cjs)`);
  const out = resolve(outfile);
  mkdirSync(dirname(out), { recursive: true });
  const result = await build({
    entryPoints: [resolve(entry)],
    outfile: out,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@cnikit/source"],
    treeShaking: true,
    minifyWhitespace: minify,
    minifySyntax: minify,
    banner: { js: BANNER },
    external,
    metafile: true,
    // tells @cnikit/ns to load its native addons from beside the bundle
    define: { __CNIKIT_BUNDLED__: "true" },
    logLevel: "warning",
    legalComments: "none",
  });
  chmodSync(out, 0o755);
  rmSync(join(dirname(out), snapshotBlobName(out)), { force: true }); // left by an earlier --snapshot build
  const ctx = { outfile: out, outdir: dirname(out), metafile: result.metafile };
  for (const hook of [...nativeAddonHooks, ...afterBundle]) await hook(ctx);
  return { outfile: out, metafile: result.metafile };
}

// ---------------------------------------------------------------------------------------------
// Start-up snapshot build (`--snapshot`).
//
// A plugin is a process per call, so start-up is most of its cost. With `snapshot: true` the
// bundle is run once at build time under `node --build-snapshot`: every module of the plugin is
// evaluated then, and the resulting heap is saved as `<name>.blob`. `dist/<name>` becomes a tiny
// `#!/bin/sh` launcher that execs `node --snapshot-blob <dir>/<name>.blob`, with <dir> found from
// the launcher's real path (so a symlink from /opt/cni/bin works, like the native addons).
// Only the entry file's own top-level code is deferred to run time: its import declarations stay
// at the top and everything else becomes the snapshot's main function. Native addons are loaded
// lazily by @cnikit/ns on first use, i.e. at run time, never inside the snapshot.
// The blob only loads in the node binary (same version and V8 flags) that built it: build on the
// node the plugin will run with. See docs/performance.md.

/**
 * V8 flags of snapshot builds, used both to build the blob and in the launcher (they must match).
 * `--no-rehash-snapshot`: keep the string-hash seed the blob was built with instead of re-seeding
 * and rehashing every string of the heap at each start. Measured here: VERSION 36.2 → 32.6 ms
 * (node -e 0: 29.6 ms). Trade-off: every run of one build shares a hash seed (random per build),
 * which matters only against hash-flooding input — a plugin's input is its runtime's config.
 * `snapshotRehash: true` (`--snapshot-rehash`) turns it off.
 */
export const SNAPSHOT_NODE_FLAGS = ["--no-rehash-snapshot"];

/** File name of the snapshot blob written beside the launcher `dist/<name>`. */
export function snapshotBlobName(outfile) {
  return `${basename(outfile)}.blob`;
}

/**
 * The `#!/bin/sh` launcher written to `dist/<name>` by a snapshot build. It resolves its own
 * symlinks without spawning anything when it is not a symlink (one `readlink` per link otherwise)
 * and execs `node` from PATH (like `#!/usr/bin/env node`), without NODE_OPTIONS.
 */
export function snapshotLauncher(blobName, nodeVersion = process.version, nodeFlags = SNAPSHOT_NODE_FLAGS) {
  return `#!/bin/sh
# cnikit start-up snapshot launcher (tools/build-plugin.mjs --snapshot), built with node ${nodeVersion}.
# Runs node on ${blobName}, found beside this file's real path; that node must be ${nodeVersion}.
f=$0
while [ -h "$f" ]; do
  l=$(readlink "$f")
  case $l in /*) f=$l ;; *) f=\${f%/*}/$l ;; esac
done
case $f in */*) d=\${f%/*} ;; *) d=. ;; esac
# V8 flags from NODE_OPTIONS would make the blob unloadable (node exits 14): a snapshot build ignores it.
unset NODE_OPTIONS
exec node ${nodeFlags.map((f) => `${f} `).join("")}--snapshot-blob "$d/${blobName}" "$f" "$@"
`;
}

/**
 * esbuild plugin: turns the entry module into `export async function __cnikitEntryMain()`
 * holding all of its top-level statements except the imports, so that importing it (at snapshot
 * build time) runs nothing of its own. Uses the TypeScript parser (a dev dependency).
 */
function deferEntryPlugin(entryAbs) {
  return {
    name: "cnikit-snapshot-defer-entry",
    setup(b) {
      b.onLoad({ filter: /.*/ }, async (args) => {
        if (resolve(args.path) !== entryAbs) return undefined;
        let ts;
        try {
          ts = (await import(pathToFileURL(createRequire(entryAbs).resolve("typescript")).href)).default;
        } catch {
          ts = (await import("typescript")).default;
        }
        const source = readFileSync(entryAbs, "utf8");
        const sf = ts.createSourceFile(entryAbs, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
        const head = [];
        const body = [];
        for (const st of sf.statements) {
          const isExport =
            ts.isExportDeclaration(st) ||
            ts.isExportAssignment(st) ||
            (ts.canHaveModifiers(st) && ts.getModifiers(st)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword));
          if (isExport) {
            throw new Error(
              `--snapshot / --format cjs: the entry ${args.path} must not export anything (move exports to another module)`,
            );
          }
          (ts.isImportDeclaration(st) || ts.isImportEqualsDeclaration(st) ? head : body).push(st.getFullText(sf));
        }
        const contents = `${head.join("")}\nexport async function __cnikitEntryMain() {${body.join("")}\n}\n`;
        return { contents, loader: /\.[cm]?tsx?$/.test(entryAbs) ? "ts" : "js", resolveDir: dirname(entryAbs) };
      });
    },
  };
}

/**
 * Bundles `entry` as ONE CommonJS script whose entry module body runs from `mainCall`
 * (see deferEntryPlugin). `import.meta` (url, filename, dirname) describes the running file's real path
 * (the bundle, or a snapshot's launcher).
 */
async function bundleDeferredCjs({ entryAbs, bundle, work, minify, external, mainCall, shebang }) {
  const wrapper = join(work, "entry-wrapper.mjs");
  writeFileSync(
    wrapper,
    [
      `import { __cnikitEntryMain } from ${JSON.stringify(entryAbs)};`,
      "const __cnikitRun = () => {",
      "  __cnikitEntryMain().catch((err) => {",
      '    process.stderr.write(String(err?.stack ?? err) + "\\n");',
      "    process.exitCode = 1;",
      "  });",
      "};",
      mainCall,
      "",
    ].join("\n"),
  );
  const result = await build({
    entryPoints: [wrapper],
    outfile: bundle,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    conditions: ["@cnikit/source"],
    treeShaking: true,
    minifyWhitespace: minify,
    minifySyntax: minify,
    external,
    metafile: true,
    plugins: [deferEntryPlugin(entryAbs)],
    banner: {
      js: [
        ...(shebang ? ["#!/usr/bin/env node"] : []),
        '"use strict";',
        'const { realpathSync: __cnikitRealpath } = require("node:fs");',
        'const { pathToFileURL: __cnikitToUrl } = require("node:url");',
        // the plain script is __filename; a snapshot runs from the launcher (argv[1])
        `const __cnikitImportMeta = { get filename() { return __cnikitRealpath(${shebang ? "__filename" : "process.argv[1]"}); }, get dirname() { return require("node:path").dirname(this.filename); }, get url() { return __cnikitToUrl(this.filename).href; } };`,
      ].join("\n"),
    },
    define: { __CNIKIT_BUNDLED__: "true", "import.meta": "__cnikitImportMeta" },
    logLevel: "warning",
    legalComments: "none",
  });
  return result.metafile;
}

/**
 * Bundles `entry` into ONE CommonJS executable (`--format cjs`): no ES-module loader at start-up
 * (measured: ~6 ms less CPU than the ESM bundle for VERSION) and no reliance on a package.json
 * "type" or Node's module-syntax detection once dist/ is copied elsewhere. The entry's
 * top-level code (top-level await included) runs inside an async main function.
 * @returns {Promise<{ outfile: string, metafile: object }>}
 */
export async function buildCjsPlugin({ entry, outfile, minify = false, external = [], afterBundle = [] }) {
  const out = resolve(outfile);
  const outdir = dirname(out);
  mkdirSync(outdir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "cnikit-cjs-"));
  try {
    const metafile = await bundleDeferredCjs({
      entryAbs: resolve(entry),
      bundle: out,
      work,
      minify,
      external,
      mainCall: "__cnikitRun();",
      shebang: true,
    });
    chmodSync(out, 0o755);
    rmSync(join(outdir, snapshotBlobName(out)), { force: true });
    const ctx = { outfile: out, outdir, metafile };
    for (const hook of [...nativeAddonHooks, ...afterBundle]) await hook(ctx);
    return { outfile: out, metafile };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Bundles `entry` for a start-up snapshot and builds `<outdir>/<name>.blob` plus the launcher
 * `outfile`. Same options as {@link buildPlugin}.
 * @returns {Promise<{ outfile: string, metafile: object, blob: string }>}
 */
export async function buildSnapshotPlugin({
  entry,
  outfile,
  minify = false,
  external = [],
  afterBundle = [],
  snapshotRehash = false,
  eagerCompile = true,
}) {
  const nodeFlags = snapshotRehash ? [] : SNAPSHOT_NODE_FLAGS;
  const out = resolve(outfile);
  const outdir = dirname(out);
  mkdirSync(outdir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "cnikit-snapshot-"));
  try {
    const bundle = join(work, "snapshot.cjs");
    const metafile = await bundleDeferredCjs({
      entryAbs: resolve(entry),
      bundle,
      work,
      minify,
      external,
      mainCall: [
        'const { startupSnapshot: __cnikitSnapshot } = require("node:v8");',
        'if (!__cnikitSnapshot.isBuildingSnapshot()) throw new Error("this bundle only runs under node --build-snapshot");',
        "__cnikitSnapshot.setDeserializeMainFunction(__cnikitRun);",
      ].join("\n"),
      shebang: false,
    });
    // Compile the whole bundle eagerly (V8 --no-lazy) while building, so the blob holds the
    // bytecode of every function: at run time nothing of ours is parsed or compiled (measured:
    // the host-local ADD handler 12-22 ms → 6-15 ms on this loaded 2-core machine).
    const loader = join(work, "snapshot-loader.cjs");
    writeFileSync(
      loader,
      [
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
      ].join("\n"),
    );
    const blobName = snapshotBlobName(out);
    const blob = join(outdir, blobName);
    const built = spawnSync(process.execPath, [...nodeFlags, "--snapshot-blob", blob, "--build-snapshot", loader], {
      cwd: work,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      encoding: "utf8",
    });
    if (built.status !== 0) {
      throw new Error(`node --build-snapshot failed (exit ${built.status}):\n${built.stderr}${built.stdout}`);
    }
    writeFileSync(out, snapshotLauncher(blobName, process.version, nodeFlags));
    chmodSync(out, 0o755);
    const ctx = { outfile: out, outdir, metafile };
    for (const hook of [...nativeAddonHooks, ...afterBundle]) await hook(ctx);
    return { outfile: out, metafile, blob };
  } finally {
    if (process.env.CNIKIT_KEEP_SNAPSHOT_WORK) process.stderr.write(`snapshot work dir kept: ${work}\n`);
    else rmSync(work, { recursive: true, force: true });
  }
}

const isCli = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isCli) {
  const { values } = parseArgs({
    options: {
      entry: { type: "string" },
      out: { type: "string" },
      minify: { type: "boolean", default: false },
      snapshot: { type: "boolean", default: false },
      "snapshot-rehash": { type: "boolean", default: false },
      format: { type: "string", default: "esm" },
    },
  });
  if (!values.entry || !values.out) {
    process.stderr.write(
      "usage: node tools/build-plugin.mjs --entry src/main.ts --out dist/<name> [--minify] [--snapshot [--snapshot-rehash] | --format cjs]\n",
    );
    process.exit(2);
  }
  try {
    const { outfile } = await buildPlugin({
      entry: values.entry,
      outfile: values.out,
      minify: values.minify,
      snapshot: values.snapshot,
      snapshotRehash: values["snapshot-rehash"],
      format: values.format,
    });
    process.stderr.write(`built ${outfile}\n`);
  } catch (err) {
    process.stderr.write(`build-plugin: ${err?.message ?? err}\n`);
    process.exit(1);
  }
}
