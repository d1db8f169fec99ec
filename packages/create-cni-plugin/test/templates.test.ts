// The templates/ folder itself: one folder per entry of TEMPLATES, each a complete project,
// and the files every template shares kept identical (they are copies, not links). The build
// itself is the published @cnikit/build (`cnikit-build`), not a script copied into each template.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NAME_PLACEHOLDER } from "../src/scaffold.js";
import { TEMPLATES } from "../src/templates.js";
import { PKG_DIR } from "./cli-harness.js";

const ROOT = join(PKG_DIR, "../../templates");
const SHARED = ["tsconfig.json", "vitest.config.ts", "_gitignore", "src/main.ts"];
const REQUIRED = [...SHARED, "package.json", "README.md", "src/plugin.ts", "test/plugin.test.ts", `net.d/10-${NAME_PLACEHOLDER}.conflist`];

describe("templates/", () => {
  it("holds exactly one folder per template in the data array", () => {
    const folders = readdirSync(ROOT).filter((f) => statSync(join(ROOT, f)).isDirectory());
    expect(folders.sort()).toEqual(TEMPLATES.map((t) => t.folder).sort());
  });

  it.each(TEMPLATES.map((t) => t.folder))("%s is a complete project", (folder) => {
    for (const f of REQUIRED) expect(existsSync(join(ROOT, folder, f)), `${folder}/${f}`).toBe(true);
    const pkg = JSON.parse(readFileSync(join(ROOT, folder, "package.json"), "utf8"));
    expect(pkg.name).toBe(NAME_PLACEHOLDER);
    expect(pkg.bin).toEqual({ [NAME_PLACEHOLDER]: `dist/${NAME_PLACEHOLDER}` });
    expect(pkg.scripts).toMatchObject({
      build: `cnikit-build src/main.ts dist/${NAME_PLACEHOLDER}`,
      "build:snapshot": `cnikit-build src/main.ts dist-snapshot/${NAME_PLACEHOLDER} --snapshot`,
      "build:sea": `cnikit-build src/main.ts dist-sea/${NAME_PLACEHOLDER} --sea`,
      "build:bun": `cnikit-build src/main.ts dist-bun/${NAME_PLACEHOLDER} --target bun`,
      "build:agent": `cnikit-build src/main.ts dist/${NAME_PLACEHOLDER} --agent`,
      test: "npm run build && vitest run",
    });
    expect(existsSync(join(ROOT, folder, "scripts")), `${folder}/scripts`).toBe(false);
    expect(pkg.dependencies["@cnikit/skel"]).toBeDefined();
    expect(pkg.devDependencies["@cnikit/testing"]).toBeDefined();
    expect(pkg.devDependencies["@cnikit/build"]).toBeDefined();
    expect(pkg.devDependencies.postject).toBeDefined(); // build:sea
    expect(pkg.devDependencies.typescript).toBeDefined(); // @cnikit/build's peer
    // published packages only: no workspace: protocol, no file: links
    for (const v of Object.values<string>({ ...pkg.dependencies, ...pkg.devDependencies })) expect(v).toMatch(/^[\^~]?\d/);
    const readme = readFileSync(join(ROOT, folder, "README.md"), "utf8");
    expect(readme).toContain("sudo npx cnikit install dist --bin-dir /opt/cni/bin");
    expect(readme).toContain("npx cnikit add");
    expect(readme).toContain("sudo npm test");
    expect(readme).toContain("npm run build:bun");
    expect(readme).toContain("npm run build:agent");
    const plugin = readFileSync(join(ROOT, folder, "src/plugin.ts"), "utf8");
    expect(plugin).toContain(`name: "${NAME_PLACEHOLDER}"`);
    expect(readFileSync(join(ROOT, folder, "test/plugin.test.ts"), "utf8")).toContain('from "@cnikit/testing"');
  });

  it.each(SHARED)("%s is the same in every template", (file) => {
    const [first, ...rest] = TEMPLATES.map((t) => readFileSync(join(ROOT, t.folder, file), "utf8"));
    for (const other of rest) expect(other).toBe(first);
  });
});
