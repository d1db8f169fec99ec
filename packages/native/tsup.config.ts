import { defineConfig } from "tsup";

export default defineConfig({
  // two entries: @cnikit/skel imports only the fast exit (no koffi loader, no libc bindings);
  // the state they share (whether koffi is loaded) lands in one chunk both import
  entry: ["src/index.ts", "src/fast-exit.ts"],
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
