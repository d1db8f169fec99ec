import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CniError } from "@cnikit/spec";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { LinkExistsError, NetlinkError, NetnsNotFoundError } from "./errors.js";

describe("ns errors", () => {
  it("instanceof works across two separately bundled copies of ns and spec", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cnikit-ns-errors-"));
    try {
      const entry = fileURLToPath(new URL("./errors.ts", import.meta.url));
      const copies = [];
      for (const name of ["a", "b"]) {
        const outfile = join(dir, `${name}.mjs`);
        await build({
          entryPoints: [entry],
          bundle: true,
          format: "esm",
          platform: "node",
          conditions: ["@cnikit/source"],
          outfile,
          logLevel: "silent",
        });
        copies.push(await import(pathToFileURL(outfile).href));
      }
      const [a, b] = copies;
      expect(a.NetnsNotFoundError).not.toBe(b.NetnsNotFoundError);
      const e = new b.NetnsNotFoundError("/var/run/netns/x");
      expect(e instanceof a.NetnsNotFoundError).toBe(true);
      expect(e instanceof NetnsNotFoundError).toBe(true);
      expect(e instanceof CniError).toBe(true);
      expect(e instanceof a.LinkExistsError).toBe(false);
      expect(e instanceof LinkExistsError).toBe(false);
      expect(e instanceof NetlinkError).toBe(false);
      expect(new NetlinkError("add route", 17, "EEXIST") instanceof b.NetlinkError).toBe(true);
      expect(new CniError(7, "x") instanceof b.NetnsNotFoundError).toBe(false);
      expect(CniError.from(e)).toBe(e);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
