#!/usr/bin/env node
// Lists the public exports whose TSDoc lacks a summary, an @example or a spec link, per package.
// The rule is STYLE.md's: every export has a one-line summary, an @example, @throws where it
// throws, and a link to the SPEC.md section it implements.
//
//   node docs-tests/tsdoc-gaps.mjs [package...]      (default: every documented package)
//
// Values (functions, classes, constants) need all three; types and interfaces need a summary
// (an example or spec link is reported separately as "types without @example"). Class members
// (public methods and accessors) need a summary and an @example. A spec link is any @see or
// inline link to SPEC.md, CONVENTIONS.md or cni.dev, on the export or in its file's header.
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGES = {
  spec: ["src/index.ts", "src/schemas.ts"],
  skel: ["src/index.ts", "src/testing.ts"],
  ns: ["src/index.ts"],
  invoke: ["src/index.ts"],
  "ipam-client": ["src/index.ts"],
  runtime: ["src/index.ts"],
  testing: ["src/index.ts"],
};
const SPEC_LINK = /SPEC\.md|CONVENTIONS\.md|cni\.dev/;

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(PACKAGES);
const base = ts.readConfigFile(join(repo, "tsconfig.base.json"), ts.sys.readFile).config;
const { options } = ts.parseJsonConfigFileContent(base, ts.sys, repo);

function docOf(node) {
  const tags = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const text = tags.map((d) => d.getFullText()).join("\n");
  const summary = tags.some((d) => {
    const c = typeof d.comment === "string" ? d.comment : (d.comment ?? []).map((p) => p.text ?? "").join("");
    return c.trim().length > 0;
  });
  return { summary, example: /@example/.test(text), spec: SPEC_LINK.test(text) };
}

function fileHeaderHasSpec(sf) {
  const first = sf.statements[0];
  const ranges = ts.getLeadingCommentRanges(sf.text, first ? first.getFullStart() : 0) ?? [];
  return ranges.some((r) => SPEC_LINK.test(sf.text.slice(r.pos, r.end)));
}

let total = 0;
for (const pkg of wanted) {
  const dir = join(repo, "packages", pkg);
  const entries = (PACKAGES[pkg] ?? ["src/index.ts"]).map((e) => join(dir, e));
  const program = ts.createProgram(entries, { ...options, noEmit: true });
  const checker = program.getTypeChecker();
  const gaps = { summary: [], example: [], spec: [], typeExample: [], member: [] };
  const seen = new Set();
  for (const entry of entries) {
    const sf = program.getSourceFile(entry);
    const mod = sf && checker.getSymbolAtLocation(sf);
    if (!mod) continue;
    for (const exp of checker.getExportsOfModule(mod)) {
      const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
      const decl = sym.declarations?.[0];
      if (!decl) continue;
      const declFile = decl.getSourceFile();
      // re-exports from another package (skel re-exports spec) are that package's business
      if (!declFile.fileName.startsWith(join(dir, "src"))) continue;
      const key = `${exp.name}@${declFile.fileName}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const where = `${exp.name} (${relative(dir, declFile.fileName)})`;
      const node = ts.isVariableDeclaration(decl) ? decl.parent.parent : decl;
      const doc = docOf(node);
      const isType = ts.isInterfaceDeclaration(decl) || ts.isTypeAliasDeclaration(decl);
      if (!doc.summary) gaps.summary.push(where);
      if (isType) {
        if (!doc.example) gaps.typeExample.push(where);
      } else {
        if (!doc.example) gaps.example.push(where);
        if (!doc.spec && !fileHeaderHasSpec(declFile)) gaps.spec.push(where);
      }
      if (ts.isClassDeclaration(decl)) {
        for (const m of decl.members) {
          if (!(ts.isMethodDeclaration(m) || ts.isGetAccessor(m) || ts.isPropertyDeclaration(m))) continue;
          const mods = ts.getCombinedModifierFlags(m);
          if (mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
          if (m.name && ts.isPrivateIdentifier(m.name)) continue;
          if (/@internal/.test(m.getFullText())) continue;
          const md = docOf(m);
          const name = `${exp.name}.${m.name?.getText() ?? "?"}`;
          if (!md.summary) gaps.member.push(`${name}: no summary`);
          else if (!md.example && !ts.isPropertyDeclaration(m)) gaps.member.push(`${name}: no @example`);
        }
      }
    }
  }
  const count = Object.values(gaps).reduce((n, l) => n + l.length, 0);
  total += count;
  console.log(`\n## ${pkg} (${seen.size} exports, ${count} gaps)`);
  const show = (title, list) => list.length && console.log(`- ${title} (${list.length}): ${list.join(", ")}`);
  show("no summary", gaps.summary);
  show("values without @example", gaps.example);
  show("values without a spec link (export or file header)", gaps.spec);
  show("types without @example", gaps.typeExample);
  show("class members", gaps.member);
}
console.log(`\ntotal: ${total}`);
void readFileSync;
