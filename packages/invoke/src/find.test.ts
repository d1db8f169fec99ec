import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findInPath, splitPath } from "./find.js";

describe("findInPath", () => {
  let root: string;
  let emptyDir: string;
  let pluginDir: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "cnikit-find-"));
    emptyDir = join(root, "empty");
    pluginDir = join(root, "plugins");
    mkdirSync(emptyDir);
    mkdirSync(pluginDir);
    writeFileSync(join(pluginDir, "myplugin"), "#!/bin/sh\n");
    chmodSync(join(pluginDir, "myplugin"), 0o755);
    mkdirSync(join(emptyDir, "adir"));
    mkdirSync(join(pluginDir, "adir"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("returns the full path from the first directory holding it", async () => {
    await expect(findInPath("myplugin", [emptyDir, pluginDir])).resolves.toBe(join(pluginDir, "myplugin"));
  });

  it("ignores directories of that name", async () => {
    await expect(findInPath("adir", [emptyDir, pluginDir])).rejects.toThrow(/failed to find plugin "adir"/);
  });

  it("reports Go's errors", async () => {
    await expect(findInPath("myplugin", [])).rejects.toThrow("no paths provided");
    await expect(findInPath("", [pluginDir])).rejects.toThrow("no plugin name provided");
    await expect(findInPath("../pluginname", [pluginDir])).rejects.toThrow("invalid plugin name: ../pluginname");
    for (const name of ["..", ".", "a\0b"]) {
      await expect(findInPath(name, [pluginDir])).rejects.toMatchObject({ code: 7, msg: `invalid plugin name: ${name}` });
    }
    await expect(findInPath("nope", [emptyDir, pluginDir])).rejects.toMatchObject({
      message: `failed to find plugin "nope" in path [${emptyDir} ${pluginDir}]`,
      code: 5,
    });
  });
});

describe("splitPath", () => {
  it("splits CNI_PATH and drops empty entries", () => {
    expect(splitPath("/a:/b")).toEqual(["/a", "/b"]);
    expect(splitPath("/a::/b:")).toEqual(["/a", "/b"]);
    expect(splitPath("")).toEqual([]);
    expect(splitPath(undefined)).toEqual([]);
  });
});
