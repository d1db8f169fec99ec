import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyDir, isEmptyDir, rewritePackageJson, scaffold } from "./scaffold.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ck-scaffold-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("scaffold", () => {
  it("copies, renames dotfiles, replaces the name, pins @cnikit versions, keeps modes", async () => {
    const t = join(dir, "template-x");
    mkdirSync(join(t, "src"), { recursive: true });
    mkdirSync(join(t, "node_modules"), { recursive: true });
    writeFileSync(join(t, "_gitignore"), "dist\n");
    writeFileSync(join(t, "src/main.ts"), 'export const name = "__PLUGIN_NAME__";\n');
    writeFileSync(join(t, "run.sh"), "#!/bin/sh\n", { mode: 0o755 });
    writeFileSync(
      join(t, "package.json"),
      JSON.stringify({
        name: "__PLUGIN_NAME__",
        bin: { __PLUGIN_NAME__: "dist/__PLUGIN_NAME__" },
        dependencies: { "@cnikit/skel": "^0.0.1", zod: "4.0.0" },
        devDependencies: { "@cnikit/testing": "*" },
      }),
    );
    const out = join(dir, "out");
    const files = await scaffold({ templateDir: t, targetDir: out, name: "abc", versions: { "@cnikit/skel": "0.3.0" }, fallbackVersion: "0.1.0" });
    expect(files).toEqual([".gitignore", "package.json", "run.sh", "src/main.ts"]);
    expect(readFileSync(join(out, "src/main.ts"), "utf8")).toContain('"abc"');
    const pkg = JSON.parse(readFileSync(join(out, "package.json"), "utf8"));
    expect(pkg).toEqual({
      name: "abc",
      bin: { abc: "dist/abc" },
      dependencies: { "@cnikit/skel": "^0.3.0", zod: "4.0.0" },
      devDependencies: { "@cnikit/testing": "^0.1.0" },
    });
    expect(statSync(join(out, "run.sh")).mode & 0o777).toBe(0o755);
    expect(existsSync(join(out, "node_modules"))).toBe(false);
  });

  it("rewritePackageJson leaves other fields alone", () => {
    expect(rewritePackageJson({ name: "a", scripts: { b: "c" } }, { name: "n", versions: {}, fallbackVersion: "1.0.0" })).toEqual({
      name: "n",
      scripts: { b: "c" },
    });
  });

  it("isEmptyDir / emptyDir keep .git", async () => {
    expect(await isEmptyDir(join(dir, "missing"))).toBe(true);
    mkdirSync(join(dir, "p/.git"), { recursive: true });
    expect(await isEmptyDir(join(dir, "p"))).toBe(true);
    writeFileSync(join(dir, "p/a"), "");
    mkdirSync(join(dir, "p/sub"));
    expect(await isEmptyDir(join(dir, "p"))).toBe(false);
    await emptyDir(join(dir, "p"));
    expect(await isEmptyDir(join(dir, "p"))).toBe(true);
    expect(existsSync(join(dir, "p/.git"))).toBe(true);
  });
});
