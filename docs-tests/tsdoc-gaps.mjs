#!/usr/bin/env node
// Lists the public exports whose TSDoc breaks the TSDoc rule of CONTRIBUTING.md, per package: every export has a
// one-line summary, an @example, @throws where it throws, and a link to the spec section it
// implements. docs-tests/test/tsdoc.test.ts asserts the list is empty, so an undocumented export
// fails CI.
//
//   node docs-tests/tsdoc-gaps.mjs [--json] [package...]   (default: every documented package)
//
// Exit status 1 when there is any gap. `--json` prints `{ total, packages: { <pkg>: { exports,
// gaps: { <category>: string[] } } } }` instead of the text report.
//
// What is checked, per export of each package entry point (re-exports of another package are
// that package's business):
// - summary:  every export, and every public method, accessor and property of an exported class.
// - @example: every export (functions, classes, constants, types and interfaces: a type's example
//   shows a value of it or its use), and every public method and accessor of an exported class.
// - @throws:  every exported function and public method whose own body has a `throw` statement
//   (one not caught by a surrounding try/catch of that body, and not inside a nested function).
//   Throws that only happen in callees are not detected: add @throws for those by hand.
// - spec link: every export needs, on its own TSDoc or in its file's header comment, either
//     * a link to the CNI spec: SPEC.md, CONVENTIONS.md or cni.dev (normally a `@see` to
//       https://github.com/containernetworking/cni/blob/main/SPEC.md#<section>), or
//     * for exports the spec has no section for (netlink constants, sysctls, test fixtures, ...)
//       an explicit `@see` to the docs/ guide that covers it, written as
//       `@see https://github.com/cnikit/cnikit/blob/main/docs/<guide>.md` (the guide must exist).
// - anchors: every `SPEC.md#x` / `CONVENTIONS.md#x` link must name a heading that exists in
//   the spec (SPEC_ANCHORS / CONVENTIONS_ANCHORS below, taken from SPEC.md 1.1.0).
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The documented packages and their entry points (the same as their typedoc.json). */
export const PACKAGES = {
  spec: ["src/index.ts", "src/schemas.ts"],
  skel: ["src/index.ts", "src/testing.ts"],
  native: ["src/index.ts", "src/fast-exit.ts"],
  ns: ["src/index.ts"],
  invoke: ["src/index.ts"],
  "ipam-client": ["src/index.ts"],
  "host-local": ["src/index.ts"],
  runtime: ["src/index.ts"],
  testing: ["src/index.ts"],
  build: ["src/index.ts"],
  store: ["src/index.ts", "src/testing.ts"],
  agent: ["src/index.ts"],
};

const SPEC_LINK = /SPEC\.md|CONVENTIONS\.md|cni\.dev/;
const GUIDE_SEE = /@see\s+\{?@?(?:link\s+)?https:\/\/github\.com\/cnikit\/cnikit\/blob\/main\/(docs\/[a-z0-9-]+\.md)/g;
const ANCHOR = /\b(SPEC|CONVENTIONS)\.md#([A-Za-z0-9_-]+)/g;

// GitHub anchors of the headings of SPEC.md and CONVENTIONS.md (containernetworking/cni main).
const SPEC_ANCHORS = new Set([
  "version",
  "released-versions",
  "overview",
  "summary",
  "section-1-network-configuration-format",
  "configuration-format",
  "plugin-configuration-objects",
  "example-configuration",
  "version-considerations",
  "section-2-execution-protocol",
  "overview-1",
  "parameters",
  "errors",
  "cni-operations",
  "add-add-container-to-network-or-apply-modifications",
  "del-remove-container-from-network-or-un-apply-modifications",
  "check-check-containers-networking-is-as-expected",
  "status-check-plugin-status",
  "version-probe-plugin-version-support",
  "gc-clean-up-any-stale-resources",
  "section-3-execution-of-network-configurations",
  "lifecycle--ordering",
  "attachment-parameters",
  "adding-an-attachment",
  "deleting-an-attachment",
  "checking-an-attachment",
  "garbage-collecting-a-network",
  "deriving-request-configuration-from-plugin-configuration",
  "deriving-runtimeconfig",
  "section-4-plugin-delegation",
  "delegated-plugin-protocol",
  "delegated-plugin-execution-procedure",
  "section-5-result-types",
  "add-success",
  "delegated-plugins-ipam",
  "version-success",
  "error",
  "version-1",
  "appendix-examples",
  "add-example",
  "check-example",
  "delete-example",
]);
const CONVENTIONS_ANCHORS = new Set([
  "extension-conventions",
  "plugins",
  "runtimes",
  "current-conventions",
  "dynamic-plugin-specific-fields-capabilities--runtime-configuration",
  "well-known-capabilities",
  "args-in-network-config",
  "cni_args",
  "chained-plugins",
]);

/** Gap categories, in report order, with their titles. */
export const CATEGORIES = {
  summary: "no summary",
  example: "values without @example",
  typeExample: "types without @example",
  throws: "throws without @throws",
  spec: "no spec link nor docs/ guide @see (export or file header)",
  anchor: "links to a spec section that does not exist",
  member: "class members",
};

function docOf(node) {
  const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
  const text = docs.map((d) => d.getFullText()).join("\n");
  const summary = docs.some((d) => {
    const c = typeof d.comment === "string" ? d.comment : (d.comment ?? []).map((p) => p.text ?? "").join("");
    return c.trim().length > 0;
  });
  return { text, summary, example: /@example/.test(text), throws: /@throws/.test(text) };
}

function fileHeader(sf) {
  const first = sf.statements[0];
  const ranges = ts.getLeadingCommentRanges(sf.text, first ? first.getFullStart() : 0) ?? [];
  // The header is the first comment of the file, unless it is the only comment before a
  // declaration, i.e. that declaration's own TSDoc.
  const head = ranges[0];
  if (!head) return "";
  const ownDoc = ranges.length === 1 && first && !ts.isImportDeclaration(first) && !ts.isExportDeclaration(first);
  return ownDoc ? "" : sf.text.slice(head.pos, head.end);
}

/** Whether `text` links the spec or (`@see`) an existing docs/ guide. */
function hasSpecOrGuide(text) {
  if (SPEC_LINK.test(text)) return true;
  for (const m of text.matchAll(GUIDE_SEE)) if (existsSync(join(repo, m[1]))) return true;
  return false;
}

function badAnchors(text) {
  const bad = [];
  for (const [, file, anchor] of text.matchAll(ANCHOR)) {
    const known = file === "SPEC" ? SPEC_ANCHORS : CONVENTIONS_ANCHORS;
    if (!known.has(anchor)) bad.push(`${file}.md#${anchor}`);
  }
  return bad;
}

/** Whether a function body throws by itself (a `throw` not caught in that body, not in a nested function). */
function bodyThrows(body) {
  if (!body) return false;
  let found = false;
  const visit = (n) => {
    if (found) return;
    if (ts.isThrowStatement(n)) {
      found = true;
      return;
    }
    if (ts.isFunctionLike(n) || ts.isClassLike(n)) return;
    if (ts.isTryStatement(n) && n.catchClause) {
      visit(n.catchClause);
      if (n.finallyBlock) visit(n.finallyBlock);
      return;
    }
    ts.forEachChild(n, visit);
  };
  ts.forEachChild(body, visit);
  return found;
}

function functionBodyOf(decl) {
  if (ts.isFunctionDeclaration(decl) || ts.isMethodDeclaration(decl)) return decl.body;
  if (ts.isVariableDeclaration(decl) && decl.initializer) {
    const init = decl.initializer;
    if (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) return init.body;
  }
  return undefined;
}

let compilerOptions;
function options() {
  if (!compilerOptions) {
    const base = ts.readConfigFile(join(repo, "tsconfig.base.json"), ts.sys.readFile).config;
    compilerOptions = ts.parseJsonConfigFileContent(base, ts.sys, repo).options;
  }
  return compilerOptions;
}

/**
 * Collects the gaps of one package: `packages/<pkg>` with its PACKAGES entry points, or any
 * directory with a `src/` (`where.dir`, `where.entries` relative to it; used by the tool's tests).
 */
export function packageGaps(pkg, where = {}) {
  const dir = where.dir ?? join(repo, "packages", pkg);
  const entries = (where.entries ?? PACKAGES[pkg] ?? ["src/index.ts"]).map((e) => join(dir, e));
  const program = ts.createProgram(entries, { ...options(), noEmit: true });
  const checker = program.getTypeChecker();
  const gaps = Object.fromEntries(Object.keys(CATEGORIES).map((k) => [k, []]));
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
      const header = fileHeader(declFile);
      const isType = ts.isInterfaceDeclaration(decl) || ts.isTypeAliasDeclaration(decl);
      if (!doc.summary) gaps.summary.push(where);
      if (!doc.example) (isType ? gaps.typeExample : gaps.example).push(where);
      if (!doc.throws && bodyThrows(functionBodyOf(decl))) gaps.throws.push(where);
      if (!hasSpecOrGuide(doc.text) && !hasSpecOrGuide(header)) gaps.spec.push(where);
      for (const a of badAnchors(doc.text)) gaps.anchor.push(`${where}: ${a}`);
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
          if (!md.throws && ts.isMethodDeclaration(m) && bodyThrows(m.body)) gaps.member.push(`${name}: no @throws`);
          for (const a of badAnchors(md.text)) gaps.anchor.push(`${name}: ${a}`);
        }
      }
    }
  }
  for (const sfName of new Set([...seen].map((k) => k.slice(k.indexOf("@") + 1)))) {
    const sf = program.getSourceFile(sfName);
    for (const a of sf ? badAnchors(fileHeader(sf)) : []) gaps.anchor.push(`header of ${relative(dir, sfName)}: ${a}`);
  }
  return { exports: seen.size, gaps };
}

/** Collects the gaps of the given packages (default: all). */
export function tsdocGaps(packages = Object.keys(PACKAGES)) {
  const result = { total: 0, packages: {} };
  for (const pkg of packages) {
    const r = packageGaps(pkg);
    result.packages[pkg] = r;
    result.total += Object.values(r.gaps).reduce((n, l) => n + l.length, 0);
  }
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const wanted = args.filter((a) => a !== "--json");
  const result = tsdocGaps(wanted.length ? wanted : undefined);
  if (json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    for (const [pkg, { exports, gaps }] of Object.entries(result.packages)) {
      const count = Object.values(gaps).reduce((n, l) => n + l.length, 0);
      console.log(`\n## ${pkg} (${exports} exports, ${count} gaps)`);
      for (const [k, title] of Object.entries(CATEGORIES)) {
        if (gaps[k].length) console.log(`- ${title} (${gaps[k].length}): ${gaps[k].join(", ")}`);
      }
    }
    console.log(`\ntotal: ${result.total}`);
  }
  process.exitCode = result.total > 0 ? 1 : 0;
}
