import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: ["src/index.ts"],
    format: ["esm"],
    target: "node20",
    dts: true,
    clean: false,
    treeshake: true,
    esbuildOptions(options) {
      options.conditions = ["@cnikit/source"];
    },
  },
  {
    // the CLI is self-contained: workspace packages are bundled from source, and zod (only
    // `cnikit validate` loads it, from a chunk of its own)
    entry: { cli: "src/cli.ts" },
    format: ["esm"],
    target: "node20",
    dts: false,
    clean: false,
    treeshake: true,
    noExternal: [/^@cnikit\//, /^zod(\/|$)/],
    banner: { js: "#!/usr/bin/env node" },
    esbuildOptions(options) {
      options.conditions = ["@cnikit/source"];
    },
  },
]);
