// The native layer under Bun (cnikit-build --target bun / bun-shared, with the pinned
// @oven/bun-linux-x64 bun): libc through bun:ffi, and the setns window rule holds for Bun's own
// threads as it does for libuv's (the pool test of bundle.test.ts, run by Bun).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";
import { uniq, withNetns } from "./helpers.js";

const root = resolve(import.meta.dirname, "../../..");

describe.each(["bun", "bun-shared"] as const)("under Bun (--target %s)", (target) => {
  it("a fresh process whose first async call is made inside a window keeps its threads in the host netns", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ckbunpool-"));
    try {
      const outfile = await buildFixture({
        entry: join(root, "packages/ns/test/fixtures/pool-first-use.ts"),
        outfile: join(dir, "pool"),
        target,
      });
      await withNetns(1, async (ns) => {
        await ns.createVeth({ name: uniq("ckq"), peer: { name: uniq("ckq") } });
        for (const mode of ["ns", "raw"] as const) {
          const r = JSON.parse(
            execFileSync(outfile, [ns.path, mode], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } }),
          ) as { host: string; container: string; seen: string[] };
          expect(r.container).not.toEqual(r.host);
          // Netns primes the threads in the host first: no read is served from the container
          if (mode === "ns") expect(r.seen, JSON.stringify(r)).not.toContain(r.container);
          // the control: a raw setns without that priming leaves Bun's threads in the container
          // netns, as it does libuv's (so this test can tell the difference)
          else expect(r.seen, JSON.stringify(r)).toContain(r.container);
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
