/**
 * One name, one meaning: a name exported by two published packages must be the very same
 * declaration (as `@cnikit/skel` passes on `CniError` and the result types from `@cnikit/spec`, so a
 * plugin author needs one import), never two definitions under one name (an editor's auto-import
 * would pick the behaviour), and nothing is re-exported under another name. The export lists come
 * from the TypeScript checker over each package's entry points (every `exports` subpath with a
 * `@cnikit/source` condition), so types count as well as values.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

interface Entry {
  pkg: string;
  subpath: string;
  file: string;
}

/** Every published package's source entry points, from its `exports` map. */
function entries(): Entry[] {
  const out: Entry[] = [];
  for (const dir of readdirSync(join(ROOT, "packages"))) {
    let manifest: { name: string; private?: boolean; exports?: Record<string, unknown> };
    try {
      manifest = JSON.parse(readFileSync(join(ROOT, "packages", dir, "package.json"), "utf8"));
    } catch {
      continue;
    }
    if (manifest.private || !manifest.exports) continue;
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      const source = typeof target === "object" && target ? (target as Record<string, unknown>)["@cnikit/source"] : undefined;
      if (typeof source !== "string") continue;
      out.push({ pkg: manifest.name, subpath, file: join(ROOT, "packages", dir, source) });
    }
  }
  return out;
}

interface Exported {
  name: string;
  /** Where the declaration behind the name is: file and position (aliases followed). */
  declaration: string;
  /** The declaration's own name (differs from `name` for a renaming re-export). */
  declaredName: string;
}

/** The exported names (values and types) of each entry point, with the declaration behind each. */
function exportedNames(list: readonly Entry[]): Map<Entry, Exported[]> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    customConditions: ["@cnikit/source"],
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
    resolveJsonModule: true,
  };
  const program = ts.createProgram(
    list.map((e) => e.file),
    options,
  );
  const checker = program.getTypeChecker();
  const names = new Map<Entry, Exported[]>();
  for (const entry of list) {
    const sf = program.getSourceFile(entry.file);
    const symbol = sf && checker.getSymbolAtLocation(sf);
    const out: Exported[] = [];
    for (const s of symbol ? checker.getExportsOfModule(symbol) : []) {
      if (s.getName() === "default") continue;
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      const decl = target.declarations?.[0];
      const declaration = decl ? `${decl.getSourceFile().fileName}:${decl.pos}` : `?${s.getName()}`;
      out.push({ name: s.getName(), declaration, declaredName: target.getName() });
    }
    names.set(entry, out);
  }
  return names;
}

describe("exports across packages", () => {
  const list = entries();
  const names = exportedNames(list);

  it("finds the packages and their exports", () => {
    const pkgs = new Set(list.map((e) => e.pkg));
    expect(pkgs.size).toBeGreaterThanOrEqual(8);
    for (const e of list) expect(names.get(e)?.length, `${e.pkg} ${e.subpath}: no exports found`).toBeGreaterThan(0);
  });

  it("one name has one meaning: every package that exports a name exports the same declaration", () => {
    const meanings = new Map<string, Map<string, Set<string>>>();
    for (const [entry, exported] of names) {
      for (const e of exported) {
        const byDecl = meanings.get(e.name) ?? new Map<string, Set<string>>();
        const pkgs = byDecl.get(e.declaration) ?? new Set<string>();
        pkgs.add(entry.pkg);
        byDecl.set(e.declaration, pkgs);
        meanings.set(e.name, byDecl);
      }
    }
    const clashes = [...meanings]
      .filter(([, byDecl]) => byDecl.size > 1)
      .map(([n, byDecl]) => `${n}: ${[...byDecl.values()].map((p) => [...p].sort().join("+")).join(" vs ")}`);
    expect(clashes.sort()).toEqual([]);
  });

  it("nothing is re-exported under another name", () => {
    const renamed: string[] = [];
    for (const [entry, exported] of names) {
      for (const e of exported) if (e.declaredName !== e.name && e.declaredName !== "default") renamed.push(`${entry.pkg}: ${e.declaredName} as ${e.name}`);
    }
    expect(renamed.sort()).toEqual([]);
  });
});
