// Build variants of our example plugins, measured next to what `pnpm build` put in dist/:
// besides dist/<name>, the same sources are built into a temp dir as a start-up snapshot
// (`--snapshot`), as a single executable with the snapshot inside (`--sea --snapshot`) and as an
// ESM bundle (`--format esm`; dist/ is CommonJS by default), and for Bun: the compiled executable
// (`--target bun`: dist-bun/<name> as `pnpm build` left it) and the shared runtime (`--target
// bun-shared`: one bun beside the bytecode bundles of all plugins), so every run shows what each
// build mode buys on the real plugins.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, ourPlugin } from "./plugins.mjs";

let buildDir;
process.once("exit", () => {
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

/** "snapshot" (launcher), "cjs" or "esm": how `file` was built by cnikit-build. */
export function buildKind(file) {
  let head = "";
  try {
    head = readFileSync(file, "utf8").slice(0, 400);
  } catch {}
  if (head.includes("cnikit start-up snapshot launcher")) return "snapshot";
  if (/^#![^\n]*\n"use strict";/.test(head)) return "cjs";
  return "esm";
}

const LABEL = {
  esm: "ESM bundle",
  cjs: "CJS bundle",
  snapshot: "snapshot",
  sea: "SEA + snapshot",
  bun: "Bun executable",
  "bun-shared": "Bun shared runtime",
};

/** The Bun build kinds (measured against their own targets). */
export const BUN_KINDS = ["bun", "bun-shared"];
const memo = new Map();

/**
 * The variants of example `name` to measure: `[{ id, kind, label, file }]`, first the dist build
 * (id "ts"), then `extra` kinds built from the same sources (ids "ts-snapshot", "ts-cjs", "ts-esm").
 * Empty when dist/<name> is not built.
 */
export function variantsOf(name, extra = ["snapshot", "sea", "esm", ...BUN_KINDS]) {
  const key = `${name}:${extra.join(",")}`;
  if (!memo.has(key)) memo.set(key, buildVariants(name, extra));
  return memo.get(key);
}

const built = new Map();
async function buildOne(name, kind) {
  const key = `${name}:${kind}`;
  if (!built.has(key)) {
    built.set(
      key,
      (async () => {
        // cnikit-build's library form, as `pnpm bench` built it (pnpm build runs first)
        const { buildBun, buildPlugin, buildSea } = await import(join(ROOT, "packages", "build", "dist", "index.js"));
        // the compiled Bun executable as `pnpm build` left it (build:bun)
        const distBun = join(ROOT, "examples", name, "dist-bun", name);
        if (kind === "bun" && existsSync(distBun)) return distBun;
        buildDir ??= mkdtempSync(join(tmpdir(), "ckb-build-"));
        // bun-shared: every plugin in one directory, beside one bun
        const outfile = join(buildDir, kind === "bun-shared" ? kind : `${name}-${kind}`, name);
        const entry = join(ROOT, "examples", name, "src", "main.ts");
        const log = process.stderr.write;
        process.stderr.write = () => true; // esbuild warnings were already shown by pnpm build
        try {
          if (kind === "sea") await buildSea({ entry, outfile, snapshot: true });
          else if (BUN_KINDS.includes(kind)) await buildBun({ entry, outfile, target: kind });
          else
            await buildPlugin({
              entry,
              outfile,
              snapshot: kind === "snapshot",
              format: kind === "cjs" ? "cjs" : "esm",
            });
        } finally {
          process.stderr.write = log;
        }
        return outfile;
      })(),
    );
  }
  return built.get(key);
}

async function buildVariants(name, extra) {
  const dist = ourPlugin(name);
  if (!dist) return [];
  const distKind = buildKind(dist);
  const out = [{ id: "ts", kind: distKind, label: `our ${name} (dist: ${LABEL[distKind]})`, file: dist }];
  if (!existsSync(join(ROOT, "examples", name, "src", "main.ts"))) return out;
  for (const kind of extra) {
    if (kind === distKind) continue;
    try {
      const file = await buildOne(name, kind);
      out.push({ id: `ts-${kind}`, kind, label: `our ${name} (${LABEL[kind]} build)`, file });
    } catch (err) {
      process.stderr.write(
        `bench: could not build the ${kind} variant of ${name}: ${String(err.message).split("\n")[0]}\n`,
      );
    }
  }
  return out;
}
