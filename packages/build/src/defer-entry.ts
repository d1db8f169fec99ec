/**
 * The entry transform behind the CommonJS, snapshot and SEA builds: the entry module becomes
 * `export async function __cnikitEntryMain() { ...its top-level statements... }` with its import
 * declarations left at the top. Importing it then runs nothing of its own (what a start-up
 * snapshot needs), and top-level `await` keeps working in a CommonJS bundle (it runs inside an
 * async function). Uses the TypeScript parser (a peer dependency: every TypeScript project has it).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";
import type TS from "typescript";
import { BuildError } from "./errors.js";

/** Name of the function the transformed entry exports. */
export const ENTRY_MAIN = "__cnikitEntryMain";

type Ts = typeof TS;

/** Loads `typescript`: the project's own (resolved from the entry), else the one beside this package. */
async function loadTypescript(entryAbs: string): Promise<Ts> {
  const errors: unknown[] = [];
  for (const from of [entryAbs, import.meta.url]) {
    try {
      const path = createRequire(from).resolve("typescript");
      const mod = (await import(pathToFileURL(path).href)) as { default?: Ts } & Ts;
      return mod.default ?? mod;
    } catch (err) {
      errors.push(err);
    }
  }
  throw new BuildError(
    "the cjs, snapshot and sea builds parse the entry with TypeScript: install `typescript` (npm install -D typescript)",
    { cause: errors[0] },
  );
}

/**
 * Rewrites the entry source: imports first, everything else inside `async function __cnikitEntryMain()`.
 * `export` is dropped (an executable's exports have no importer): `export const x` → `const x`,
 * `export default expr` → `void (expr)`, `export ... from "m"` → `import "m"`.
 */
export function deferEntrySource(ts: Ts, fileName: string, source: string): string {
  const kind = /\.[cm]?tsx?$/.test(fileName)
    ? fileName.endsWith("x")
      ? ts.ScriptKind.TSX
      : ts.ScriptKind.TS
    : ts.ScriptKind.JS;
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, kind);
  const head: string[] = [];
  const body: string[] = [];
  for (const st of sf.statements) {
    const text = st.getFullText(sf);
    if (ts.isImportDeclaration(st) || ts.isImportEqualsDeclaration(st)) {
      head.push(text);
    } else if (ts.isExportDeclaration(st)) {
      // `export { a }` exports local names (nothing to run); `export ... from "m"` only loads m
      if (st.moduleSpecifier && !st.isTypeOnly) head.push(`\nimport ${st.moduleSpecifier.getText(sf)};`);
    } else if (ts.isExportAssignment(st)) {
      body.push(`\nvoid (${st.expression.getText(sf)});`);
    } else {
      const mods = ts.canHaveModifiers(st) ? (ts.getModifiers(st) ?? []) : [];
      const exported = mods.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      if (!exported) {
        body.push(text);
        continue;
      }
      const isDefault = mods.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
      const named = (ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name !== undefined;
      // blank out `export` / `default` (same length: positions and line numbers stay)
      const start = st.getFullStart();
      let out = text;
      for (const m of mods) {
        if (m.kind !== ts.SyntaxKind.ExportKeyword && m.kind !== ts.SyntaxKind.DefaultKeyword) continue;
        const a = m.getStart(sf) - start;
        const b = m.getEnd() - start;
        out = out.slice(0, a) + " ".repeat(b - a) + out.slice(b);
      }
      // `export default function () {}` / `class {}`: an anonymous declaration is an expression
      body.push(isDefault && !named ? `\nvoid (${out.trim().replace(/;$/, "")});` : out);
    }
  }
  return `${head.join("")}\nexport async function ${ENTRY_MAIN}() {${body.join("")}\n}\n`;
}

/**
 * esbuild plugin applying {@link deferEntrySource} to the entry file only.
 *
 * @example
 * ```ts
 * await build({ entryPoints: [wrapper], plugins: [deferEntryPlugin("/abs/src/main.ts")] });
 * ```
 */
export function deferEntryPlugin(entryAbs: string): Plugin {
  return {
    name: "cnikit-defer-entry",
    setup(b) {
      b.onLoad({ filter: /.*/ }, async (args) => {
        if (resolve(args.path) !== entryAbs) return undefined;
        const ts = await loadTypescript(entryAbs);
        const contents = deferEntrySource(ts, entryAbs, readFileSync(entryAbs, "utf8"));
        const loader = /\.[cm]?tsx$/.test(entryAbs)
          ? "tsx"
          : /\.[cm]?ts$/.test(entryAbs)
            ? "ts"
            : /\.jsx$/.test(entryAbs)
              ? "jsx"
              : "js";
        return { contents, loader, resolveDir: dirname(entryAbs) };
      });
    },
  };
}
