import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the tests create network namespaces, links and bridges: run them as root
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
