import { describe, expect, it } from "vitest";
import { ensureBridge } from "../src/index.js";
import { withNetns } from "./helpers.js";

describe("ensureBridge under concurrent ADDs", () => {
  it("several calls adding the same gateway address at once all succeed (EEXIST from a racing add is success)", async () => {
    await withNetns(1, async (ns) => {
      await ensureBridge({ name: "br0", netns: ns });
      const calls = Array.from({ length: 8 }, () =>
        ensureBridge({ name: "br0", netns: ns, addresses: ["10.79.0.1/24"] }),
      );
      const settled = await Promise.allSettled(calls);
      expect(settled.filter((r) => r.status === "rejected")).toEqual([]);
      const addrs = (await ns.listAddresses((await ns.getLink("br0")).index, { family: 4 })).map((a) => a.cidr);
      expect(addrs).toEqual(["10.79.0.1/24"]);
    });
  });
});
