#!/usr/bin/env node
// Bundles src/main.ts into ONE executable file, dist/<name> (name from package.json "bin"):
// a `#!/usr/bin/env node` script that needs only `node` on the host, no node_modules.
//
// Native addons cannot be inlined into JavaScript: when the plugin uses @cnikit/ns, koffi's
// and netlink's `.node` files are copied beside the bundle as dist/koffi.node and
// dist/netlink.node, where @cnikit/ns looks for them (through the entry's real path, so a
// symlink from /opt/cni/bin works too). Installing the plugin = copying dist/.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const name = Object.keys(pkg.bin ?? {})[0] ?? pkg.name;
const outdir = join(root, "dist");
const outfile = join(outdir, name);

// Lets bundled CommonJS dependencies call require() inside the ESM bundle.
const BANNER = [
  "#!/usr/bin/env node",
  'import { createRequire as __cnikitCreateRequire } from "node:module";',
  "const require = __cnikitCreateRequire(import.meta.url);",
].join("\n");

/** Bundles the plugin; returns esbuild's metafile. */
export async function bundle({ format = "esm", file = outfile, banner = BANNER, define = {} } = {}) {
  mkdirSync(dirname(file), { recursive: true });
  const result = await build({
    entryPoints: [join(root, "src/main.ts")],
    outfile: file,
    bundle: true,
    platform: "node",
    format,
    target: "node20",
    treeShaking: true,
    minifySyntax: true,
    banner: { js: banner },
    // tells @cnikit/ns to load its native addons from beside the bundle
    define: { __CNIKIT_BUNDLED__: "true", ...define },
    metafile: true,
    logLevel: "warning",
    legalComments: "none",
  });
  chmodSync(file, 0o755);
  return result.metafile;
}

/** The directory of an installed package (works when its "exports" hide package.json). */
function packageDir(req, name) {
  try {
    return dirname(req.resolve(`${name}/package.json`));
  } catch {
    let dir = dirname(req.resolve(name));
    while (dir !== dirname(dir)) {
      const file = join(dir, "package.json");
      if (existsSync(file) && JSON.parse(readFileSync(file, "utf8")).name === name) return dir;
      dir = dirname(dir);
    }
    throw new Error(`cannot find the directory of ${name}`);
  }
}

/** Paths of the native addons the bundle needs, keyed by the name they get in dist/. */
export function nativeAddons(metafile) {
  const inputs = Object.keys(metafile.inputs).join("\n");
  if (!/@cnikit[/\\]ns[/\\]/.test(inputs)) return {};
  const req = createRequire(join(root, "package.json"));
  const nsReq = createRequire(req.resolve("@cnikit/ns"));
  const arch = process.arch;
  const libc = process.report?.getReport?.().header?.glibcVersionRuntime ? "linux" : "musl";
  const out = {};

  const koffiDir = packageDir(nsReq, "koffi");
  const koffiCandidates = [];
  try {
    const platformDir = packageDir(createRequire(join(koffiDir, "package.json")), `@koromix/koffi-linux-${arch}`);
    koffiCandidates.push(join(platformDir, `${libc}_${arch}`, "koffi.node"), join(platformDir, `linux_${arch}`, "koffi.node"));
  } catch {
    // no platform package: koffi was built from source
  }
  koffiCandidates.push(join(koffiDir, "build", "koffi", `${libc}_${arch}`, "koffi.node"), join(koffiDir, "build", "koffi", `linux_${arch}`, "koffi.node"));
  out["koffi.node"] = koffiCandidates.find((p) => existsSync(p));

  // netlink: node-gyp-build (its own loader) knows where the prebuild or local build is
  const netlinkDir = packageDir(nsReq, "netlink");
  const gypBuild = createRequire(join(netlinkDir, "package.json"))("node-gyp-build");
  out["netlink.node"] = gypBuild.path(netlinkDir);
  for (const [file, from] of Object.entries(out)) {
    if (!from || !existsSync(from)) throw new Error(`cannot find the native addon for ${file} (is @cnikit/ns installed for ${process.platform}-${arch}?)`);
  }
  return out;
}

/** Copies the native addons beside `file`. */
export function copyAddons(metafile, dir) {
  const addons = nativeAddons(metafile);
  for (const [file, from] of Object.entries(addons)) copyFileSync(realpathSync(from), join(dir, file));
  return Object.keys(addons);
}

const isCli = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isCli) {
  try {
    rmSync(outdir, { recursive: true, force: true });
    const metafile = await bundle();
    const addons = copyAddons(metafile, outdir);
    process.stderr.write(`built ${outfile}${addons.length ? ` (+ ${addons.map((a) => `dist/${a}`).join(", ")})` : ""}\n`);
  } catch (err) {
    process.stderr.write(`build: ${err?.message ?? err}\n`);
    process.exit(1);
  }
}
