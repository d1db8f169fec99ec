import { describe, expect, it } from "vitest";
import { parseIptablesMasq } from "./ipmasq.js";

describe("parseIptablesMasq", () => {
  it("finds a network's per-container rules in iptables -S output", () => {
    const listing = [
      "-P POSTROUTING ACCEPT",
      '-A POSTROUTING -s 10.1.0.5/32 -m comment --comment "name: \\"net\\" id: \\"c1\\"" -j CNI-aaaa',
      '-A POSTROUTING -s 10.1.0.6/32 -m comment --comment "name: \\"other\\" id: \\"c2\\"" -j CNI-bbbb',
      '-A POSTROUTING -s fd00::5/128 -m comment --comment "name: \\"net\\" id: \\"c3\\"" -j CNI-cccc',
    ].join("\n");
    expect(parseIptablesMasq(listing, "net")).toEqual([
      { containerId: "c1", source: "10.1.0.5/32" },
      { containerId: "c3", source: "fd00::5/128" },
    ]);
  });
});
