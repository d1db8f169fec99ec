import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/testing.ts"],
  format: ["esm"],
  target: "node20",
  dts: true,
  clean: true,
  treeshake: true,
  esbuildOptions(options) {
    options.conditions = ["@cnikit/source"];
  },
});
