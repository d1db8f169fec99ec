/**
 * The esbuild calls behind every build mode (internal).
 */
import { existsSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { type BuildOptions, build, type Metafile, type Plugin } from "esbuild";
import { deferEntryPlugin, ENTRY_MAIN } from "./defer-entry.js";
import { BuildError } from "./errors.js";

/** Options shared by every bundle. */
export interface BundleOptions {
  /** Absolute path of the entry. */
  readonly entryAbs: string;
  /** Minify whitespace and syntax. */
  readonly minify: boolean;
  /** Module names left out of the bundle. */
  readonly external: readonly string[];
  /** Extra export conditions (esbuild `conditions`). */
  readonly conditions: readonly string[];
  /** esbuild `define` entries added to ours. */
  readonly define: Readonly<Record<string, string>>;
  /** Labelled statements esbuild drops (`CNIKIT_NODE_ONLY`: `@cnikit/native`'s koffi branch, for Bun). */
  readonly dropLabels?: readonly string[] | undefined;
}

/**
 * esbuild plugin: a `@cnikit/*` import resolves to the package's TypeScript sources (its
 * "@cnikit/source" export condition) when they exist, i.e. inside the cnikit repository, so
 * the workspace packages need no build first; published packages (dist only) resolve normally.
 */
export function cnikitSourcePlugin(): Plugin {
  return {
    name: "cnikit-source",
    setup(b) {
      b.onResolve({ filter: /^@cnikit\/[^/]+/ }, (args) => {
        const m = /^(@cnikit\/[^/]+)(\/.*)?$/.exec(args.path);
        if (!m?.[1]) return undefined;
        const subpath = m[2] ? `.${m[2]}` : ".";
        let dir = args.resolveDir || process.cwd();
        while (true) {
          const pkgDir = join(dir, "node_modules", m[1]);
          const pkgFile = join(pkgDir, "package.json");
          if (existsSync(pkgFile)) {
            try {
              const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { exports?: Record<string, unknown> };
              const target = pkg.exports?.[subpath] as Record<string, unknown> | undefined;
              const src = target && typeof target === "object" ? target["@cnikit/source"] : undefined;
              if (typeof src === "string" && existsSync(join(pkgDir, src)))
                return { path: realpathSync(resolve(pkgDir, src)) };
            } catch {
              // unreadable package.json: let esbuild resolve (and report) it
            }
            return undefined;
          }
          if (dir === dirname(dir)) return undefined;
          dir = dirname(dir);
        }
      });
    },
  };
}

function baseOptions(o: BundleOptions): BuildOptions {
  return {
    bundle: true,
    platform: "node",
    target: "node20",
    conditions: [...o.conditions],
    treeShaking: true,
    minifyWhitespace: o.minify,
    minifySyntax: o.minify,
    external: [...o.external],
    ...(o.dropLabels?.length ? { dropLabels: [...o.dropLabels] } : {}),
    metafile: true,
    write: true,
    logLevel: "silent",
    legalComments: "none",
    absWorkingDir: process.cwd(),
  };
}

/** Runs esbuild; its errors become one BuildError listing them (file:line: text). */
async function run(options: BuildOptions): Promise<Metafile> {
  try {
    const result = await build(options);
    return result.metafile as Metafile;
  } catch (err) {
    const errors = (
      err as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number } | null }> }
    ).errors;
    if (!errors?.length) throw new BuildError(`esbuild failed: ${(err as Error).message}`, { cause: err });
    const lines = errors.map((e) =>
      e.location ? `${e.location.file}:${e.location.line}:${e.location.column}: ${e.text}` : e.text,
    );
    throw new BuildError(`bundling failed:\n  ${lines.join("\n  ")}`, { cause: err });
  }
}

/** The first line of an executable bundle. */
export const NODE_SHEBANG = "#!/usr/bin/env node";

/** Lets bundled CommonJS dependencies call require() inside an ESM bundle. */
const ESM_REQUIRE = [
  'import { createRequire as __cnikitCreateRequire } from "node:module";',
  "const require = __cnikitCreateRequire(import.meta.url);",
].join("\n");

/**
 * One ES module with a node shebang. Its directory needs no package.json: Node detects the
 * module syntax of an extensionless file (on by default since Node 20.19 / 22).
 */
export function bundleEsm(
  o: BundleOptions,
  outfile: string,
  shebang: string = NODE_SHEBANG,
  versionGuard?: VersionGuard | undefined,
): Promise<Metafile> {
  // the guard's test answers VERSION itself (see version-prologue.ts): then nothing else runs
  const guard = versionGuard ? [versionGuard.declarations ?? "", `if (${versionGuard.test}) process.exit();`] : [];
  return run({
    ...baseOptions(o),
    entryPoints: [o.entryAbs],
    outfile,
    format: "esm",
    banner: { js: [shebang, ESM_REQUIRE, ...guard].join("\n") },
    plugins: [cnikitSourcePlugin()],
    // tells @cnikit/native to load koffi.node from beside the bundle
    define: { __CNIKIT_BUNDLED__: "true", ...o.define },
  });
}

/**
 * Code that answers a call before the bundle runs (the VERSION prologue, see
 * version-prologue.ts): `test` is evaluated first; when it is true, `answer` runs (if any) and
 * nothing of the bundle does. `declarations` go before it, at the top level.
 */
export interface VersionGuard {
  readonly test: string;
  readonly answer?: string | undefined;
  readonly declarations?: string | undefined;
}

/** `if (…) {` (or `if (…) { answer } else {`): opens the block the bundle runs in, closed by a `}` footer. */
function guardOpen(g: VersionGuard): string {
  return g.answer === undefined ? `if (!(${g.test})) {` : `if (${g.test}) {\n${g.answer}\n} else {`;
}

/** Where a deferred CommonJS bundle finds its own file (what `import.meta` describes). */
export type SelfPath = "filename" | "argv1" | "execPath";

const SELF_EXPR: Record<SelfPath, string> = {
  // the plain script itself
  filename: "__filename",
  // a snapshot runs from its launcher, passed as argv[1]
  argv1: "process.argv[1]",
  // a single executable is the node binary itself
  execPath: "process.execPath",
};

/**
 * Opens the plain CommonJS executable (closed by a `}` footer). An extensionless file is loaded
 * as an ES module when the nearest package.json above it says `"type": "module"` (a scaffolded
 * project's own dist/, run in place): the script is then valid module code that runs nothing
 * but this branch, which loads the same file as CommonJS through `require` (which decides by
 * extension only for `.js` files), ~10 ms slower. buildPlugin avoids that detour in a project's
 * dist/ by writing a package.json without "type" beside the bundle; this guard covers copies
 * made without it. Elsewhere (e.g. /opt/cni/bin) it costs one `typeof`.
 */
const ESM_SCOPE_GUARD = [
  'if (typeof module === "undefined") {',
  '  import("node:module").then((m) => m.createRequire(process.argv[1])(process.argv[1]));',
  "} else {",
];

/**
 * The lines that open the block a plain CommonJS executable's code runs in (closed by a `}`), if
 * any: the ES-module scope guard for a script found by its own file name, and the VERSION
 * prologue's test. Also used by the code-cache loader (code-cache.ts).
 */
export function openBlock(self: SelfPath, guard: VersionGuard | undefined): string[] {
  const open = guard ? guardOpen(guard) : undefined;
  if (self === "filename") return [...ESM_SCOPE_GUARD.slice(0, -1), open ? `} else ${open}` : "} else {"];
  return open ? [open] : [];
}

/**
 * The helper {@link lazyBuiltinRequires} calls: a stand-in for a built-in module that loads it on
 * the first property read (a bundle reads `mod.name` at each use: `(0, import_node_fs.statSync)(…)`).
 */
const LAZY_REQUIRE = [
  "const __cnikitLazy = (load) => {",
  "  let m;",
  "  const get = () => (m ??= load());",
  "  return new Proxy({}, {",
  "    get: (_, k) => get()[k],",
  "    has: (_, k) => k in get(),",
  "    ownKeys: () => Reflect.ownKeys(get()),",
  "    getOwnPropertyDescriptor: (_, k) => {",
  "      const d = Reflect.getOwnPropertyDescriptor(get(), k);",
  "      return d && { ...d, configurable: true };",
  "    },",
  "  });",
  "};",
].join("\n");

const BUILTINS = new Set(builtinModules);

/**
 * Rewrites the bundle's `import_x = require("node:x");` statements (esbuild's form of
 * `import { a } from "node:x"`) to load the built-in on first use: under Bun, loading `node:fs`
 * alone costs ~1.5 ms and ~4 MB of a plugin's start, and a VERSION call needs none of them.
 * Other forms (`__toESM(require(…))` of a default or namespace import) stay as they are.
 */
export function lazyBuiltinRequires(code: string): string {
  return code.replace(
    /^(\s*(?:var |let |const )?[\w$]+ = )require\("((?:node:)?[\w/]+)"\);$/gm,
    (line, lhs: string, id: string) =>
      BUILTINS.has(id.replace(/^node:/, "")) ? `${lhs}__cnikitLazy(() => require(${JSON.stringify(id)}));` : line,
  );
}

/**
 * One CommonJS script whose entry module body runs from `mainCall` (see defer-entry.ts).
 * `import.meta` (url, filename, dirname) describes the running file's real path. `lazyBuiltins`
 * (Bun builds): see {@link lazyBuiltinRequires}.
 */
export async function bundleDeferredCjs(
  o: BundleOptions,
  {
    outfile,
    work,
    mainCall,
    shebang,
    self,
    lazyBuiltins = false,
    prelude,
    versionGuard,
  }: {
    outfile: string;
    work: string;
    mainCall: string;
    shebang: string | undefined;
    self: SelfPath;
    lazyBuiltins?: boolean;
    /** A statement run before anything else of the bundle. */
    prelude?: string | undefined;
    /** Answers VERSION before the bundle runs (after `prelude`). */
    versionGuard?: VersionGuard | undefined;
  },
): Promise<Metafile> {
  const wrapper = join(work, "entry-wrapper.mjs");
  writeFileSync(
    wrapper,
    [
      `import { ${ENTRY_MAIN} } from ${JSON.stringify(o.entryAbs)};`,
      "const __cnikitRun = () => {",
      `  ${ENTRY_MAIN}().catch((err) => {`,
      '    process.stderr.write(String(err?.stack ?? err) + "\\n");',
      "    process.exitCode = 1;",
      "  });",
      "};",
      mainCall,
      "",
    ].join("\n"),
  );
  const metafile = await run({
    ...baseOptions(o),
    entryPoints: [wrapper],
    outfile,
    format: "cjs",
    plugins: [cnikitSourcePlugin(), deferEntryPlugin(o.entryAbs)],
    banner: {
      js: [
        ...(shebang ? [shebang] : []),
        '"use strict";',
        ...(prelude ? [prelude] : []),
        ...(versionGuard?.declarations ? [versionGuard.declarations] : []),
        ...openBlock(self, versionGuard),
        // built-ins only when import.meta is read (under Bun, loading node:fs costs ~1.5 ms)
        `const __cnikitImportMeta = { get filename() { return require("node:fs").realpathSync(${SELF_EXPR[self]}); }, get dirname() { return require("node:path").dirname(this.filename); }, get url() { return require("node:url").pathToFileURL(this.filename).href; } };`,
        ...(lazyBuiltins ? [LAZY_REQUIRE] : []),
      ].join("\n"),
    },
    ...(self === "filename" || versionGuard ? { footer: { js: "}" } } : {}),
    define: { __CNIKIT_BUNDLED__: "true", "import.meta": "__cnikitImportMeta", ...o.define },
  });
  if (lazyBuiltins) writeFileSync(outfile, lazyBuiltinRequires(readFileSync(outfile, "utf8")));
  // the wrapper is an input: report the user's entry, not our temp file
  const inputs = Object.fromEntries(Object.entries(metafile.inputs).filter(([k]) => !k.endsWith("entry-wrapper.mjs")));
  return { ...metafile, inputs };
}

/**
 * One CommonJS module whose `default` export is the plugin module's (`cnikit-build --agent`):
 * loaded by `cnikit-agent` with `require`, not executed. `import.meta` describes the module's
 * own real path, so `@cnikit/native` finds `koffi.node` beside it.
 */
export async function bundleAgentModule(o: BundleOptions, outfile: string, work: string): Promise<Metafile> {
  const wrapper = join(work, "agent-wrapper.mjs");
  writeFileSync(wrapper, `export { default } from ${JSON.stringify(o.entryAbs)};\n`);
  const metafile = await run({
    ...baseOptions(o),
    entryPoints: [wrapper],
    outfile,
    format: "cjs",
    plugins: [cnikitSourcePlugin()],
    banner: {
      js: [
        '"use strict";',
        'const { realpathSync: __cnikitRealpath } = require("node:fs");',
        'const { pathToFileURL: __cnikitToUrl } = require("node:url");',
        'const __cnikitImportMeta = { get filename() { return __cnikitRealpath(__filename); }, get dirname() { return require("node:path").dirname(this.filename); }, get url() { return __cnikitToUrl(this.filename).href; } };',
      ].join("\n"),
    },
    define: { __CNIKIT_BUNDLED__: "true", "import.meta": "__cnikitImportMeta", ...o.define },
  });
  const inputs = Object.fromEntries(Object.entries(metafile.inputs).filter(([k]) => !k.endsWith("agent-wrapper.mjs")));
  return { ...metafile, inputs };
}
