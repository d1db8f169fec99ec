import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getVersionInfo } from "../src/index.js";
import { buildFixture } from "../../../tools/build-fixture.js";
import { GO_PLUGINS, writeScript } from "./helpers.js";

describe("getVersionInfo against real plugins", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "cnikit-version-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the Go reference plugins' versions (Debian 1.1.1: up to 1.0.0)", async () => {
    for (const p of ["bridge", "host-local", "tuning"]) {
      const info = await getVersionInfo(join(GO_PLUGINS, p));
      expect(info.supportedVersions).toEqual(expect.arrayContaining(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]));
    }
  });

  it("reads a cnikit plugin's versions", async () => {
    const info = await getVersionInfo(await buildFixture("examples/noop"));
    expect(info.supportedVersions).toContain("1.1.0");
  });

  it("assumes 0.1.0 for a plugin that predates VERSION, and sends it dummy values", async () => {
    const p = writeScript(
      join(dir, "ancient"),
      `[ "$CNI_NETNS" = dummy ] && [ "$CNI_IFNAME" = dummy ] && [ "$CNI_PATH" = dummy ] || exit 3
echo '{"code":4,"msg":"unknown CNI_COMMAND: VERSION"}'; exit 1`,
    );
    await expect(getVersionInfo(p)).resolves.toMatchObject({ supportedVersions: ["0.1.0"] });
  });

  it("a 0.2.0 reply without supportedVersions means [0.1.0, 0.2.0]", async () => {
    const p = writeScript(join(dir, "v020"), `cat >/dev/null; echo '{"cniVersion":"0.2.0"}'`);
    await expect(getVersionInfo(p)).resolves.toMatchObject({ supportedVersions: ["0.1.0", "0.2.0"] });
  });

  it("returns a declared list exactly, and sends the current version on stdin", async () => {
    const p = writeScript(
      join(dir, "declared"),
      `in=$(cat); [ "$in" = '{"cniVersion":"1.1.0"}' ] || exit 3
echo '{"cniVersion":"0.4.0","supportedVersions":["0.2.0","0.4.0","0.999.0"]}'`,
    );
    await expect(getVersionInfo(p)).resolves.toMatchObject({ supportedVersions: ["0.2.0", "0.4.0", "0.999.0"] });
  });

  it("passes other errors through", async () => {
    const p = writeScript(join(dir, "broken"), `echo '{"code":999,"msg":"kaboom"}'; exit 1`);
    await expect(getVersionInfo(p)).rejects.toThrow("kaboom");
  });
});
