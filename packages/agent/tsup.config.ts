import { defineConfig } from "tsup";

export default defineConfig([
  {
    entry: ["src/index.ts"],
    format: ["esm"],
    target: "node20",
    platform: "node",
    dts: true,
    clean: false,
    treeshake: true,
    esbuildOptions(options) {
      options.conditions = ["@cnikit/source"];
    },
  },
  {
    // the `cnikit-agent` bin
    entry: { cli: "src/cli.ts" },
    format: ["esm"],
    target: "node20",
    platform: "node",
    dts: false,
    clean: false,
    treeshake: true,
    banner: { js: "#!/usr/bin/env node" },
    esbuildOptions(options) {
      options.conditions = ["@cnikit/source"];
    },
  },
]);
