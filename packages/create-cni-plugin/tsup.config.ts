import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  clean: true,
  treeshake: true,
  // runtime dependencies (@clack/prompts, execa) are bundled: the package installs nothing.
  // execa's CommonJS dependencies (cross-spawn) call require("child_process"): give the ESM
  // bundle a real `require`
  noExternal: [/.*/],
  banner: {
    js: '#!/usr/bin/env node\nimport { createRequire as __cnikitCreateRequire } from "node:module";\nconst require = __cnikitCreateRequire(import.meta.url);',
  },
  esbuildOptions(options) {
    options.conditions = ["@cnikit/source"];
  },
  async onSuccess() {
    // @ts-expect-error plain .mjs script without types
    const { copyTemplates } = (await import("./scripts/copy-templates.mjs")) as { copyTemplates: () => void };
    copyTemplates();
  },
});
