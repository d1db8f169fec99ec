// "Cleanup that never leaks": a process that creates a namespace and exits without removing
// it (a crashed test file) still leaves nothing behind.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "ck-exit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it.each([
  ["exits normally", "process.exitCode = 0;"],
  ["calls process.exit(3)", "process.exit(3);"],
  ["throws an uncaught error", 'setTimeout(() => { throw new Error("crash"); });'],
  ["is killed by SIGTERM", 'setInterval(() => {}, 1000); setTimeout(() => process.kill(process.pid, "SIGTERM"), 50);'],
])("a forgotten namespace is removed when the process %s", async (_, ending) => {
  const script = join(dir, `script-${Math.random().toString(16).slice(2)}.mjs`);
  await build({
    stdin: {
      contents: `import { createTempNetns } from "./src/index.ts";
const ns = await createTempNetns();
process.stdout.write(ns.name + "\\n");
${ending}`,
      resolveDir: join(dirname(fileURLToPath(import.meta.url)), ".."),
      loader: "ts",
    },
    outfile: script,
    bundle: true,
    platform: "node",
    format: "esm",
    conditions: ["@cnikit/source"],
    banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
    logLevel: "silent",
  });
  const r = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 20_000 });
  if (ending.includes("SIGTERM")) expect(r.signal).toBe("SIGTERM");
  const name = r.stdout.trim();
  expect(name, r.stderr).toMatch(/^ck[0-9a-f]{10}$/);
  expect(existsSync(`/var/run/netns/${name}`)).toBe(false);
  if (existsSync(`/var/run/netns/${name}`)) spawnSync("ip", ["netns", "delete", name]);
});
