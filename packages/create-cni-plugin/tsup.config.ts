import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  target: "node20",
  platform: "node",
  clean: true,
  treeshake: true,
  // runtime dependencies (@clack/prompts) are bundled: the package installs nothing
  noExternal: [/.*/],
  banner: { js: "#!/usr/bin/env node" },
  esbuildOptions(options) {
    options.conditions = ["@cnikit/source"];
  },
  async onSuccess() {
    // @ts-expect-error plain .mjs script without types
    const { copyTemplates } = (await import("./scripts/copy-templates.mjs")) as { copyTemplates: () => void };
    copyTemplates();
  },
});
