import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { builtin } from "./builtin.js";

describe("builtin", () => {
  it("loads a built-in module", () => {
    expect(typeof builtin<typeof import("node:crypto")>("node:crypto").createHash).toBe("function");
  });

  // Node < 20.16 has no process.getBuiltinModule: the require fallback must work in both kinds of
  // bundle (a CommonJS bundle has an empty import.meta, an ES module bundle no global require).
  const dir = mkdtempSync(join(tmpdir(), "ckbuiltin-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it.each(["cjs", "esm"] as const)("falls back to require in a %s bundle without getBuiltinModule", async (format) => {
    const outfile = join(dir, `probe.${format === "cjs" ? "cjs" : "mjs"}`);
    await build({
      stdin: {
        contents: `import { builtin } from "./builtin.ts";
delete process.getBuiltinModule;
process.stdout.write(typeof builtin("node:crypto").randomBytes);`,
        resolveDir: dirname(fileURLToPath(import.meta.url)),
        loader: "ts",
      },
      outfile,
      bundle: true,
      platform: "node",
      format,
      logLevel: "silent",
    });
    expect(execFileSync(process.execPath, [outfile], { cwd: "/", encoding: "utf8" })).toBe("function");
  });
});
