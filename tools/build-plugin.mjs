#!/usr/bin/env node
// Compatibility shim: the plugin bundler is the package @cnikit/build (packages/build), whose
// bin is `cnikit-build src/main.ts dist/<name> [--format esm|cjs] [--snapshot] [--sea] [--minify]`.
// This file keeps the repository's older entry points working:
//
//   import { buildPlugin } from "<repo>/tools/build-plugin.mjs"      (same API as @cnikit/build)
//   node tools/build-plugin.mjs --entry src/main.ts --out dist/<name> [--format cjs|esm] [--snapshot [--snapshot-rehash]] [--minify]
//
// It loads packages/build/dist when that build is current, else bundles packages/build/src on
// the fly with esbuild (so tests need no `pnpm build` first).
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), "../packages/build");

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

async function loadBuild() {
  const dist = join(pkgDir, "dist/index.js");
  const srcNewest = newestMtime(join(pkgDir, "src"));
  if (existsSync(dist) && statSync(dist).mtimeMs >= srcNewest) return import(pathToFileURL(dist).href);
  // inside packages/build so that its dependencies (esbuild, typescript) resolve
  const outfile = join(pkgDir, "node_modules/.cache/cnikit-build-shim/index.mjs");
  if (!existsSync(outfile) || statSync(outfile).mtimeMs < srcNewest) {
    mkdirSync(dirname(outfile), { recursive: true });
    const { build } = await import("esbuild");
    await build({
      entryPoints: [join(pkgDir, "src/index.ts")],
      outfile,
      bundle: true,
      packages: "external",
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "warning",
    });
  }
  return import(`${pathToFileURL(outfile).href}?v=${statSync(outfile).mtimeMs}`);
}

const lib = await loadBuild();

export const {
  BuildError,
  DEFAULT_FORMAT,
  SNAPSHOT_NODE_FLAGS,
  buildBun,
  buildPlugin,
  buildSea,
  copyNsNativeAddons,
  findBun,
  snapshotBlobName,
  snapshotFallbackName,
  snapshotLauncher,
} = lib;

/** Former names: `buildPlugin` with `format: "cjs"` / `snapshot: true`. */
export const buildCjsPlugin = (options) => lib.buildPlugin({ ...options, format: "cjs" });
export const buildSnapshotPlugin = (options) => lib.buildPlugin({ ...options, snapshot: true });

const isCli = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isCli) {
  const { values } = parseArgs({
    options: {
      entry: { type: "string" },
      out: { type: "string" },
      minify: { type: "boolean", default: false },
      snapshot: { type: "boolean", default: false },
      "snapshot-rehash": { type: "boolean", default: false },
      format: { type: "string" },
    },
  });
  if (!values.entry || !values.out) {
    process.stderr.write(
      "usage: node tools/build-plugin.mjs --entry src/main.ts --out dist/<name> [--minify] [--snapshot [--snapshot-rehash] | --format cjs|esm]\n" +
        "(or the @cnikit/build bin: cnikit-build src/main.ts dist/<name> ...; see cnikit-build --help)\n",
    );
    process.exit(2);
  }
  try {
    const { outfile } = await lib.buildPlugin({
      entry: values.entry,
      outfile: values.out,
      minify: values.minify,
      snapshot: values.snapshot,
      snapshotRehash: values["snapshot-rehash"],
      ...(values.format ? { format: values.format } : {}),
    });
    process.stderr.write(`built ${outfile}\n`);
  } catch (err) {
    process.stderr.write(`build-plugin: ${err?.message ?? err}\n`);
    process.exit(1);
  }
}
