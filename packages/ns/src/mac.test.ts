import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hostVethName } from "./mac.js";

describe("hostVethName", () => {
  it("is prefix + the sha256 hex of containerId:ifName, 15 characters", () => {
    const name = hostVethName("ctr1", "eth0");
    const hex = createHash("sha256").update("ctr1:eth0").digest("hex");
    expect(name).toBe(`veth${hex.slice(0, 11)}`);
    expect(name).toHaveLength(15);
    expect(hostVethName("ctr1", "eth0", "ptp")).toBe(`ptp${hex.slice(0, 12)}`);
    expect(hostVethName("ctr1", "eth0", "")).toBe(hex.slice(0, 15));
  });

  it("is deterministic, and differs per container and per interface", () => {
    expect(hostVethName("ctr1", "eth0")).toBe(hostVethName("ctr1", "eth0"));
    expect(hostVethName("ctr1", "eth1")).not.toBe(hostVethName("ctr1", "eth0"));
    expect(hostVethName("ctr2", "eth0")).not.toBe(hostVethName("ctr1", "eth0"));
    // the separator cannot occur in a container ID, so ("a.b", "c") and ("a", "b.c") differ
    expect(hostVethName("a.b", "c")).not.toBe(hostVethName("a", "b.c"));
  });

  it("refuses a prefix that leaves fewer than 4 hex digits or cannot be in an interface name", () => {
    expect(hostVethName("c", "eth0", "abcdefghijk")).toHaveLength(15);
    expect(() => hostVethName("c", "eth0", "abcdefghijkl")).toThrow(
      /^invalid veth name prefix "abcdefghijkl": at most 11 characters/,
    );
    for (const bad of ["a/b", "a:b", "a b"]) {
      expect(() => hostVethName("c", "eth0", bad)).toThrow(expect.objectContaining({ code: 7 }));
    }
  });
});
