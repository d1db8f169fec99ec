// The internal record of defined plugins that @cnikit/build reads at build time (the VERSION
// prologue): a count and the last plugin, with whether its versions are a list and its reply.
import { describe, expect, it } from "vitest";
import { definePlugin } from "./define-plugin.js";

interface Registry {
  count: number;
  last?: { name: string; staticVersions: boolean; versionReply: () => Promise<string> };
}
const registry = () => (globalThis as Record<symbol, Registry | undefined>)[Symbol.for("@cnikit/skel.plugins")];

describe("definePlugin's registry (internal)", () => {
  it("counts every plugin and keeps the last one, with its VERSION reply exactly as a call writes it", async () => {
    const before = registry()?.count ?? 0;
    const listed = definePlugin({
      name: "listed",
      version: "1.0.0",
      cniVersions: ["0.4.0", "1.0.0"],
      add: () => ({}),
      del: () => {},
    });
    expect(registry()?.count).toBe(before + 1);
    expect(registry()?.last?.name).toBe("listed");
    expect(registry()?.last?.staticVersions).toBe(true);
    const reply = await registry()?.last?.versionReply();
    expect(reply).toBe((await listed.run({ env: { CNI_COMMAND: "VERSION" } })).stdout);
    expect(reply).toBe('{"cniVersion":"1.1.0","supportedVersions":["0.4.0","1.0.0"]}\n');

    definePlugin({ name: "computed", version: "1.0.0", cniVersions: () => ["1.1.0"], add: () => ({}), del: () => {} });
    expect(registry()?.count).toBe(before + 2);
    expect(registry()?.last?.name).toBe("computed");
    expect(registry()?.last?.staticVersions).toBe(false);
  });
});
