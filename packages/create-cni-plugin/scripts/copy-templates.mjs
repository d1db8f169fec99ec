// Copies the top-level templates/ into dist/templates and writes
// dist/templates/versions.json with the current @cnikit/* versions of the
// workspace, which the scaffolder writes into generated package.json files as ^x.y.z.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(pkgDir, "../..");
const from = join(repo, "templates");
const to = join(pkgDir, "dist", "templates");
const SKIP = new Set(["node_modules", "dist", "dist-sea", "dist-snapshot", "package-lock.json", "pnpm-lock.yaml"]);

export function copyTemplates() {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith("template-")) continue;
    cpSync(join(from, entry.name), join(to, entry.name), {
      recursive: true,
      filter: (src) => !SKIP.has(basename(src)),
    });
  }
  const versions = {};
  for (const dir of readdirSync(join(repo, "packages"))) {
    const file = join(repo, "packages", dir, "package.json");
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8"));
    if (typeof pkg.name === "string" && pkg.name.startsWith("@cnikit/")) versions[pkg.name] = pkg.version;
  }
  writeFileSync(join(to, "versions.json"), `${JSON.stringify(versions, null, 2)}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) copyTemplates();
