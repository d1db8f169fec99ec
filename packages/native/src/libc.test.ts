import { closeSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CniError } from "@cnikit/spec";
import { flock, loadKoffi } from "./index.js";

describe("flock", () => {
  it("locks, conflicts across open file descriptions, unlocks", () => {
    const path = join(tmpdir(), `ck${process.pid}-${Math.random().toString(16).slice(2, 8)}.lock`);
    const a = openSync(path, "a+");
    const b = openSync(path, "a+");
    try {
      expect(flock(a, "ex")).toBe(true);
      expect(flock(b, "ex", { nonBlocking: true })).toBe(false);
      expect(flock(b, "sh", { nonBlocking: true })).toBe(false);
      expect(flock(a, "un")).toBe(true);
      expect(flock(b, "sh", { nonBlocking: true })).toBe(true);
      expect(flock(a, "sh", { nonBlocking: true })).toBe(true);
      expect(flock(a, "ex", { nonBlocking: true })).toBe(false);
    } finally {
      closeSync(a);
      closeSync(b);
      rmSync(path, { force: true });
    }
  });

  it("throws a CniError (IoFailure) on a bad fd", () => {
    try {
      flock(987654, "ex");
      expect.unreachable();
    } catch (err) {
      expect(err instanceof CniError).toBe(true);
      expect((err as CniError).code).toBe(5);
      expect((err as CniError).msg).toMatch(/EBADF/);
    }
  });

  it("loadKoffi returns the same module every time", () => {
    expect(loadKoffi()).toBe(loadKoffi());
    expect(typeof loadKoffi().load).toBe("function");
  });
});
