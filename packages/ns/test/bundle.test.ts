import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Netns } from "../src/index.js";
import { buildFixture } from "../../../tools/build-fixture.js";
import { uniq, withNetns } from "./helpers.js";

describe("bundled (cnikit-build)", () => {
  it("copies koffi.node (its one native addon) beside the bundle; runs from a symlink elsewhere", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ckbundle-"));
    try {
      const out = await buildFixture({
        entry: join(import.meta.dirname, "fixtures/bundle-veth.ts"),
        outfile: join(dir, "dist", "vethtest"),
      });
      expect(existsSync(join(dir, "dist", "koffi.node"))).toBe(true);
      expect(existsSync(join(dir, "dist", "netlink.node"))).toBe(false);
      expect(statSync(out).mode & 0o111).not.toBe(0);
      const bin = join(dir, "bin");
      execFileSync("mkdir", ["-p", bin]);
      symlinkSync(out, join(bin, "vethtest"));
      const stdout = execFileSync(join(bin, "vethtest"), {
        cwd: "/",
        env: { PATH: "/usr/bin:/bin" },
        encoding: "utf8",
      });
      expect(JSON.parse(stdout)).toMatchObject({ kind: "veth", deleted: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a fresh process whose first async call is made inside a window keeps its pool in the host netns", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ckpool-"));
    try {
      const out = await buildFixture({
        entry: join(import.meta.dirname, "fixtures/pool-first-use.ts"),
        outfile: join(dir, "pool"),
      });
      await withNetns(1, async (ns) => {
        await ns.createVeth({ name: uniq("ckq"), peer: { name: uniq("ckq") } });
        const r = JSON.parse(execFileSync(out, [ns.path, "ns"], { encoding: "utf8" })) as {
          host: string;
          container: string;
          seen: string[];
        };
        expect(r.container).not.toEqual(r.host);
        expect(r.seen, JSON.stringify(r)).not.toContain(r.container);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

void Netns;
