import { describe, expect, it } from "vitest";
import { commandsFor, detectPackageManager } from "./package-manager.js";

describe("detectPackageManager", () => {
  it.each([
    ["npm/11.6.2 node/v20.20.2 linux x64 workspaces/false", "npm", "11.6.2"],
    ["pnpm/12.4.2 npm/? node/v20.20.2 linux x64", "pnpm", "12.4.2"],
    ["yarn/1.22.22 npm/? node/v20.20.2 linux x64", "yarn", "1.22.22"],
    ["bun/1.1.0 npm/? node/v20.20.2 linux x64", "bun", "1.1.0"],
  ])("%s", (ua, name, version) => {
    expect(detectPackageManager(ua)).toEqual({ name, version });
  });
  it("falls back to npm", () => {
    expect(detectPackageManager(undefined)).toEqual({ name: "npm" });
    expect(detectPackageManager("")).toEqual({ name: "npm" });
    expect(detectPackageManager("deno/2.0")).toEqual({ name: "npm" });
  });
  it("gives commands per manager", () => {
    expect(commandsFor({ name: "pnpm" }).install).toEqual(["pnpm", "install"]);
    expect(commandsFor({ name: "yarn" }).run("build")).toBe("yarn build");
    expect(commandsFor({ name: "npm" }).run("test")).toBe("npm run test");
  });
});
