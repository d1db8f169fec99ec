/**
 * V8 code cache for CommonJS builds. A plugin is a new process per call, so a plain bundle is
 * parsed and compiled at every call (~8 ms for the bridge example here). The executable stays
 * one self-contained file with a `#!/usr/bin/env node` shebang: it holds the bundle as a string
 * and compiles it with `vm.Script`, passing the code cache written beside it at build time
 * (`<name>.v8cache`: the bytecode of every function, compiled eagerly). V8 takes the cache only
 * from the node version and flags that made it, and the file carries the bundle's hash, so a
 * missing, stale or foreign cache only means compiling as usual.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { openBlock, type VersionGuard } from "./bundle.js";
import { BuildError } from "./errors.js";

/** Length of the bundle hash (hex) that starts a `.v8cache` file. */
const ID_LENGTH = 32;

/**
 * The code-cache file of a CommonJS build: `<name>.v8cache` beside `<name>`.
 *
 * @example
 * ```ts
 * codeCacheName("dist/my-plugin"); // "my-plugin.v8cache"
 * ```
 */
export function codeCacheName(outfile: string): string {
  return `${basename(outfile)}.v8cache`;
}

/** How a CommonJS module's wrapper is compiled: the bundle runs as this function's body. */
function wrap(body: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${body}\n})`;
}

/** The executable: a loader that compiles the embedded bundle with the cache beside it, if it matches. */
function loader(shebang: string, id: string, cacheName: string, source: string, guard?: VersionGuard): string {
  return [
    shebang,
    '"use strict";',
    `// cnikit: the CommonJS bundle is the string below; it is compiled with V8's code cache from`,
    `// ${cacheName} beside this file when that was made for this bundle and this node, else as usual.`,
    // an extensionless file in a "type": "module" scope is loaded as an ES module: load it again
    // as CommonJS; and the VERSION prologue answers before the cache is read and the bundle compiled
    ...openBlock("filename", guard),
    '  const { readFileSync: __cnikitRead } = require("node:fs");',
    '  const __cnikitVm = require("node:vm");',
    "  let __cnikitCache;",
    "  try {",
    // the main module's __filename is its real path: the cache is found through symlinks
    `    const c = __cnikitRead(require("node:path").join(__dirname, ${JSON.stringify(cacheName)}));`,
    `    if (c.toString("latin1", 0, ${ID_LENGTH}) === ${JSON.stringify(id)}) __cnikitCache = c.subarray(${ID_LENGTH});`,
    "  } catch {}",
    "  new __cnikitVm.Script(__cnikitSource(), {",
    "    filename: __filename,",
    "    cachedData: __cnikitCache,",
    // import() of a module left out of the bundle (node 20.12+; an ExperimentalWarning when used)
    "    importModuleDynamically: __cnikitVm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER,",
    "  })",
    "    .runInThisContext()",
    "    .call(module.exports, module.exports, require, module, __filename, __dirname);",
    "}",
    "function __cnikitSource() {",
    `  return ${JSON.stringify(source)};`,
    "}",
    ...(guard?.declarations ? [guard.declarations] : []),
    "",
  ].join("\n");
}

/** Compiles `source` eagerly in a clean `node` and returns V8's code cache for it. */
function makeCache(source: string, nodeBinary: string, work: string): Buffer {
  const src = `${work}/code-cache-source.js`;
  const out = `${work}/code-cache.bin`;
  writeFileSync(src, source);
  const script = [
    'const v8 = require("node:v8");',
    'const vm = require("node:vm");',
    'const fs = require("node:fs");',
    `const source = fs.readFileSync(${JSON.stringify(src)}, "utf8");`,
    // every function's bytecode goes into the cache, not only the top level's
    'v8.setFlagsFromString("--no-lazy");',
    "let script;",
    "try {",
    "  script = new vm.Script(source, { importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER });",
    "} finally {",
    '  v8.setFlagsFromString("--lazy");',
    "}",
    `fs.writeFileSync(${JSON.stringify(out)}, script.createCachedData());`,
  ].join("\n");
  // a clean environment: NODE_OPTIONS with V8 flags would make a cache the plugin's node rejects
  const r = spawnSync(nodeBinary, ["-e", script], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    encoding: "utf8",
  });
  try {
    if (r.status !== 0) throw new BuildError(`could not make the V8 code cache (exit ${r.status}): ${r.stderr}`);
    return readFileSync(out);
  } finally {
    rmSync(src, { force: true });
    rmSync(out, { force: true });
  }
}

/**
 * Turns the CommonJS executable `outfile` (shebang + bundle) into a loader that embeds the
 * bundle, and writes `<name>.v8cache` beside it. Returns the cache's path. Internal: buildPlugin
 * calls it for CommonJS builds unless `codeCache: false`.
 */
export function addCodeCache(
  outfile: string,
  {
    work,
    nodeBinary = process.execPath,
    versionGuard,
  }: { work: string; nodeBinary?: string; versionGuard?: VersionGuard | undefined },
): string {
  const text = readFileSync(outfile, "utf8");
  const nl = text.indexOf("\n");
  if (!text.startsWith("#!") || nl < 0) throw new BuildError(`${outfile} does not start with a shebang line`);
  const shebang = text.slice(0, nl);
  const source = wrap(text.slice(nl + 1));
  const id = createHash("sha256").update(source).digest("hex").slice(0, ID_LENGTH);
  const cache = makeCache(source, nodeBinary, work);
  const cacheName = codeCacheName(outfile);
  const cachePath = join(dirname(outfile), cacheName);
  writeFileSync(cachePath, Buffer.concat([Buffer.from(id, "latin1"), cache]));
  writeFileSync(outfile, loader(shebang, id, cacheName, source, versionGuard));
  return cachePath;
}
