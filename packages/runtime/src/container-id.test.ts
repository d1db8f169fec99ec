import { createHash } from "node:crypto";
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cnitoolContainerId, goAbsPath } from "./container-id.js";

describe("cnitoolContainerId", () => {
  it("is cnitool- + hex of the first 10 bytes of sha512(path)", () => {
    const want = createHash("sha512").update("/var/run/netns/blue").digest().subarray(0, 10).toString("hex");
    expect(cnitoolContainerId("/var/run/netns/blue")).toBe(`cnitool-${want}`);
    expect(cnitoolContainerId("/var/run/netns/./blue/")).toBe(`cnitool-${want}`);
  });
});

describe("goAbsPath (Go filepath.Abs)", () => {
  const cwd = process.cwd();
  let dir: string | undefined;
  afterEach(() => {
    process.chdir(cwd);
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("cleans absolute paths", () => {
    expect(goAbsPath("/var/run/../run/netns//x/")).toBe("/var/run/netns/x");
    expect(goAbsPath("/")).toBe("/");
  });

  it("joins relative paths to $PWD when it names the working directory (the logical path)", () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), "cnikit-abs-")));
    symlinkSync(dir, `${dir}-link`);
    try {
      process.chdir(`${dir}-link`);
      expect(process.cwd()).toBe(dir); // node only knows the physical path
      expect(goAbsPath("netns/x", { PWD: `${dir}-link` })).toBe(`${dir}-link/netns/x`);
      // a stale or relative $PWD is ignored, as in Go's os.Getwd
      expect(goAbsPath("netns/x", { PWD: "/" })).toBe(`${dir}/netns/x`);
      expect(goAbsPath("netns/x", { PWD: "relative" })).toBe(`${dir}/netns/x`);
      expect(goAbsPath("../y", {})).toBe(join(dir, "../y"));
    } finally {
      rmSync(`${dir}-link`, { force: true });
    }
  });
});
