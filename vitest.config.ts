import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@cnikit/source"] },
  ssr: { resolve: { conditions: ["@cnikit/source"] } },
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "examples/*/test/**/*.test.ts",
      "docs-tests/test/**/*.test.ts",
      "tools/**/*.test.ts",
      "faults/**/*.test.ts",
    ],
    globalSetup: ["./vitest.global-setup.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
