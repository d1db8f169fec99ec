import { describe, expect, it } from "vitest";
import { toValidPluginName, validatePluginName } from "./plugin-name.js";

describe("validatePluginName", () => {
  it.each(["my-bridge", "a", "x1", "vendor_net-2", "a".repeat(64)])("accepts %s", (name) => {
    expect(validatePluginName(name)).toBeUndefined();
  });
  it.each([
    ["", /empty/],
    ["a".repeat(65), /at most 64/],
    ["1abc", /start with a lowercase letter/],
    ["-abc", /start with a lowercase letter/],
    ["MyPlugin", /start with a lowercase letter/],
    ["my.plugin", /only lowercase letters/],
    ["my plugin", /only lowercase letters/],
    ["my/plugin", /only lowercase letters/],
    ["myPlugin", /only lowercase letters/],
    ["bridge", /overwrite it.*my-bridge/],
    ["host-local", /well-known/],
    ["cnikit", /well-known/],
    ["http", /built-in module/],
  ])("rejects %j", (name, why) => {
    expect(validatePluginName(name)).toMatch(why);
  });
});

describe("toValidPluginName", () => {
  it.each([
    ["My Bridge!", "my-bridge"],
    ["123-foo", "foo"],
    ["foo--", "foo"],
    ["cni.plugin", "cni-plugin"],
  ])("%j → %j", (input, out) => {
    expect(toValidPluginName(input)).toBe(out);
  });
  it("gives undefined when nothing valid is left", () => {
    expect(toValidPluginName("123")).toBeUndefined();
    expect(toValidPluginName("bridge")).toBeUndefined();
  });
});
