import { describe, expect, it } from "vitest";
import { compareKeys, prefixEnd } from "./key-order.js";

describe("key order", () => {
  it("orders by UTF-8 bytes, not UTF-16 units", () => {
    // U+FF5E (3 bytes, EF BD 9E) sorts before U+1F600 (4 bytes, F0 ...) in UTF-8; UTF-16 says the opposite
    expect(compareKeys("\uff5e", "\u{1f600}")).toBeLessThan(0);
    expect("\uff5e" < "\u{1f600}").toBe(false);
    expect(compareKeys("a", "a")).toBe(0);
    expect(compareKeys("a/b", "a0")).toBeLessThan(0);
  });
  it("computes etcd's range_end", () => {
    expect([...prefixEnd(Buffer.from("a/"))]).toEqual([...Buffer.from("a0")]);
    expect([...prefixEnd(Uint8Array.of(0x61, 0xff))]).toEqual([0x62]);
    expect([...prefixEnd(Uint8Array.of(0xff, 0xff))]).toEqual([0]);
    expect([...prefixEnd(new Uint8Array())]).toEqual([0]);
  });
});
