#!/usr/bin/env node
// Builds a self-contained binary (Node single executable application) for hosts without
// node: dist-sea/<name>, plus the native addons beside it when the plugin uses @cnikit/ns.
// About 100 MB (it embeds node); starts a little faster than `node dist/<name>`.
// See https://nodejs.org/api/single-executable-applications.html
import { execFileSync } from "node:child_process";
import { copyFileSync, chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "postject";
import { bundle, copyAddons } from "./build.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const name = Object.keys(pkg.bin ?? {})[0] ?? pkg.name;
const outdir = join(root, "dist-sea");
const main = join(outdir, "main.cjs");
const blob = join(outdir, "sea-prep.blob");
const seaConfig = join(outdir, "sea-config.json");
const exe = join(outdir, name);

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
// SEA runs one CommonJS script; import.meta.url becomes the executable's own URL.
const metafile = await bundle({
  format: "cjs",
  file: main,
  banner: 'const __cnikitImportMetaUrl = require("node:url").pathToFileURL(__filename).href;',
  define: { "import.meta.url": "__cnikitImportMetaUrl" },
});
writeFileSync(seaConfig, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
execFileSync(process.execPath, ["--experimental-sea-config", seaConfig], { stdio: "inherit" });
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
await inject(exe, "NODE_SEA_BLOB", readFileSync(blob), {
  sentinelFuse: "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
});
const addons = copyAddons(metafile, outdir);
for (const f of [main, blob, seaConfig]) rmSync(f, { force: true });
process.stderr.write(`built ${exe}${addons.length ? ` (+ ${addons.map((a) => `dist-sea/${a}`).join(", ")})` : ""}\n`);
