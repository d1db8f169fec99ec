import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { definePlugin } from "./define-plugin.js";
import { cniPathWarnings } from "./env.js";
import { invoke } from "./testing.js";

const dir = mkdtempSync(join(tmpdir(), "cnikit-cnipath-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("CNI_PATH warnings", () => {
  it("names relative and world-writable entries; absolute private ones and missing ones pass", () => {
    const ww = mkdtempSync(join(dir, "ww-"));
    chmodSync(ww, 0o1777);
    const priv = mkdtempSync(join(dir, "priv-"));
    expect(cniPathWarnings(`bin:${ww}:${priv}:/no/such/dir::./x`)).toEqual([
      { msg: "CNI_PATH entry is relative: delegates would be looked up from the working directory", entry: "bin" },
      { msg: "CNI_PATH entry is world-writable: anyone could plant a plugin there", entry: ww },
      { msg: "CNI_PATH entry is relative: delegates would be looked up from the working directory", entry: "./x" },
    ]);
  });

  it("skel logs them at warn level (stderr) before the handler, which still runs", async () => {
    const ww = mkdtempSync(join(dir, "ww-"));
    chmodSync(ww, 0o777);
    let ran = false;
    const plugin = definePlugin({
      name: "p",
      version: "0.0.0",
      cniVersions: ["1.1.0"],
      add: () => ({}),
      del: () => {
        ran = true;
      },
    });
    const out = await invoke(plugin, {
      command: "DEL",
      config: { cniVersion: "1.1.0", name: "n", type: "p" },
      path: ["rel", ww],
    });
    expect(out.exitCode).toBe(0);
    expect(ran).toBe(true);
    const lines = out.stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      expect.objectContaining({ level: "warn", entry: "rel" }),
      expect.objectContaining({ level: "warn", entry: ww }),
    ]);
  });
});
