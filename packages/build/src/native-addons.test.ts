import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findNativePackageDir } from "./native-addons.js";

describe("findNativePackageDir", () => {
  const root = mkdtempSync(join(tmpdir(), "ck-native-addons-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const native = join(root, "node_modules/@cnikit/native");
  mkdirSync(join(native, "dist"), { recursive: true });
  mkdirSync(join(native, "src"), { recursive: true });
  writeFileSync(join(native, "package.json"), JSON.stringify({ name: "@cnikit/native" }));
  const skel = join(root, "node_modules/@cnikit/skel");
  mkdirSync(join(skel, "dist"), { recursive: true });
  writeFileSync(join(skel, "package.json"), JSON.stringify({ name: "@cnikit/skel" }));
  const find = (...inputs: string[]) =>
    findNativePackageDir({ inputs: Object.fromEntries(inputs.map((i) => [i, {}])) }, root);

  it("finds @cnikit/native when its koffi loader is bundled (built or source)", () => {
    expect(find("node_modules/@cnikit/native/dist/index.js", "node_modules/@cnikit/native/dist/chunk-X.js")).toBe(
      realpathSync(native),
    );
    expect(find(join(native, "src/spawn.ts"), join(native, "src/koffi.ts"))).toBe(realpathSync(native));
  });

  it("ignores the fast exit alone (a plugin on @cnikit/skel only) and other packages", () => {
    expect(
      find(
        "node_modules/@cnikit/skel/dist/index.js",
        "node_modules/@cnikit/native/dist/fast-exit.js",
        "node_modules/@cnikit/native/dist/chunk-X.js",
      ),
    ).toBeUndefined();
    expect(find(join(native, "src/fast-exit.ts"), join(native, "src/loaded.ts"), "<stdin>")).toBeUndefined();
  });
});
