// buildFixture: builds with cnikit-build, reuses a current output, rebuilds when a bundled file
// (here: an imported module, not the entry) is newer or the options differ.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildFixture, REPO_ROOT } from "./build-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "ckfixture-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("buildFixture", () => {
  it("builds, skips a current output, rebuilds when any bundled file is newer", async () => {
    const entry = join(dir, "main.mjs");
    const dep = join(dir, "answer.mjs");
    writeFileSync(dep, "export const answer = 1;\n");
    writeFileSync(entry, 'import { answer } from "./answer.mjs";\nprocess.stdout.write(String(answer));\n');
    const outfile = join(dir, "out", "fixture");
    expect(await buildFixture({ entry, outfile })).toBe(outfile);
    expect(execFileSync(outfile, { encoding: "utf8" })).toBe("1");
    const first = statSync(outfile).mtimeMs;

    await buildFixture({ entry, outfile });
    expect(statSync(outfile).mtimeMs).toBe(first); // current: not rebuilt

    writeFileSync(dep, "export const answer = 2;\n");
    const later = new Date(first + 5_000);
    utimesSync(dep, later, later);
    await buildFixture({ entry, outfile });
    expect(execFileSync(outfile, { encoding: "utf8" })).toBe("2");

    const rebuilt = statSync(outfile).mtimeMs;
    await buildFixture({ entry, outfile, minify: true }); // other options: built again
    expect(statSync(outfile).mtimeMs).not.toBe(rebuilt);
  }, 120_000);

  it("builds a workspace package as its build script says, into its dist/", async () => {
    const bin = await buildFixture("examples/noop");
    expect(bin).toBe(join(REPO_ROOT, "examples/noop/dist/noop"));
    await expect(buildFixture("examples/interop")).rejects.toThrow(/needs a "build" script "cnikit-build <entry> <outfile>/);
  }, 120_000);
});
