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
    // AGENT_NODE_FLAGS (run-cli.ts): a small young generation keeps the daemon's RSS flat
    banner: { js: "#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size" },
    esbuildOptions(options) {
      options.conditions = ["@cnikit/source"];
    },
  },
]);
