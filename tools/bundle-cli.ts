/**
 * The `cnikit` CLI bundled from the current sources into a directory of the caller's (one ESM file,
 * the lazily loaded commands inlined), for tests that run it as a process. Tests never build
 * packages/runtime/dist: its build empties dist/ first, and test files run in parallel.
 */
import { chmodSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");

/** Bundles packages/runtime/src/cli.ts to `<dir>/cnikit` (one ESM file) and returns its path. */
export async function bundleCli(dir: string): Promise<string> {
  const outfile = join(dir, "cnikit");
  await build({
    entryPoints: [join(ROOT, "packages/runtime/src/cli.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["@cnikit/source"],
    banner: { js: "#!/usr/bin/env node" },
    logLevel: "warning",
  });
  chmodSync(outfile, 0o755);
  return outfile;
}
