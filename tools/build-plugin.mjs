#!/usr/bin/env node
// Bundles a CNI plugin entry into ONE executable file: `dist/<name>` with a node shebang.
//
//   node tools/build-plugin.mjs --entry src/main.ts --out dist/<name>
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
 *           afterBundle?: Array<(ctx: { outfile: string, outdir: string, metafile: object }) => unknown> }} options
 * @returns {Promise<{ outfile: string, metafile: object }>}
 */
export async function buildPlugin({ entry, outfile, minify = false, external = [], afterBundle = [] }) {
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
  const ctx = { outfile: out, outdir: dirname(out), metafile: result.metafile };
  for (const hook of [...nativeAddonHooks, ...afterBundle]) await hook(ctx);
  return { outfile: out, metafile: result.metafile };
}

const isCli = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isCli) {
  const { values } = parseArgs({
    options: {
      entry: { type: "string" },
      out: { type: "string" },
      minify: { type: "boolean", default: false },
    },
  });
  if (!values.entry || !values.out) {
    process.stderr.write("usage: node tools/build-plugin.mjs --entry src/main.ts --out dist/<name> [--minify]\n");
    process.exit(2);
  }
  try {
    const { outfile } = await buildPlugin({
      entry: values.entry,
      outfile: values.out,
      minify: values.minify,
    });
    process.stderr.write(`built ${outfile}\n`);
  } catch (err) {
    process.stderr.write(`build-plugin: ${err?.message ?? err}\n`);
    process.exit(1);
  }
}
