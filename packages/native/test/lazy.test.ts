// Importing @cnikit/native loads nothing native: koffi is loaded by the first call that needs it
// (skel imports the fast exit on every plugin's start path).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "cnikit-native-lazy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `code` (an ES module importing `NATIVE`, this package's source bundled) and returns its stdout. */
async function run(code: string): Promise<string> {
  const entry = join(dir, `entry-${Math.random().toString(16).slice(2)}.mjs`);
  const outfile = `${entry}.out.mjs`;
  await build({
    stdin: { contents: code, resolveDir: pkg, loader: "ts" },
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    conditions: ["@cnikit/source"],
    external: ["koffi"],
    alias: { NATIVE: join(pkg, "src/index.ts") },
    logLevel: "silent",
  });
  // loadKoffi's require("koffi") finds it through NODE_PATH (the bundle is in a temp dir)
  const r = spawnSync(process.execPath, [outfile], { cwd: pkg, encoding: "utf8", env: { ...process.env, NODE_PATH: join(pkg, "node_modules") } });
  expect(r.stderr).toBe("");
  return r.stdout;
}

describe("@cnikit/native is lazy", () => {
  it("importing it maps no koffi addon; loadKoffi() does", async () => {
    const out = await run(`
      import { readFileSync } from "node:fs";
      import * as native from "NATIVE";
      const mapped = () => readFileSync("/proc/self/maps", "utf8").includes("koffi");
      const before = mapped();
      native.loadKoffi();
      console.log(JSON.stringify({ exports: Object.keys(native).length > 5, before, after: mapped() }));
    `);
    expect(JSON.parse(out)).toEqual({ exports: true, before: false, after: true });
  });
});
