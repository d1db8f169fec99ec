import { defineConfig } from "tsup";

export default defineConfig({
  // three entries: @cnikit/skel imports only the fast exit and the file calls (no koffi loader,
  // no libc bindings under Node); the state they share lands in chunks they import
  entry: ["src/index.ts", "src/fast-exit.ts", "src/files.ts"],
  format: ["esm"],
  target: "node20",
  dts: true,
  clean: true,
  treeshake: true,
  splitting: true,
  esbuildOptions(options) {
    options.conditions = ["@cnikit/source"];
  },
});
