import { describe, expect, it } from "vitest";
import { buildPluginEnv, formatCniArgs } from "./env.js";

describe("buildPluginEnv", () => {
  const base = {
    PATH: "/usr/bin",
    CNI_COMMAND: "DEL",
    CNI_CONTAINERID: "old-id",
    CNI_NETNS: "/old/netns",
    CNI_ARGS: "OLD=1",
    CNI_IFNAME: "eth0",
    CNI_PATH: "/old/path",
  };

  it("overrides inherited CNI_* variables instead of duplicating them", () => {
    const env = buildPluginEnv(
      {
        command: "ADD",
        containerId: "some-container-id",
        netns: "/some/netns/path",
        args: [
          ["KEY1", "VALUE1"],
          ["KEY2", "VALUE2"],
        ],
        ifName: "eth7",
        path: "/some/cni/path",
      },
      base,
    );
    expect(Object.keys(env)).toHaveLength(Object.keys(base).length);
    expect(env).toEqual({
      PATH: "/usr/bin",
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "some-container-id",
      CNI_NETNS: "/some/netns/path",
      CNI_ARGS: "KEY1=VALUE1;KEY2=VALUE2",
      CNI_IFNAME: "eth7",
      CNI_PATH: "/some/cni/path",
    });
    expect(base.CNI_COMMAND).toBe("DEL");
  });

  it("a delegate's env replaces only CNI_COMMAND", () => {
    const env = buildPluginEnv({ command: "ADD" }, base);
    expect(Object.keys(env)).toHaveLength(Object.keys(base).length);
    expect(env.CNI_COMMAND).toBe("ADD");
    expect(env.CNI_NETNS).toBe("/old/netns");
    const { CNI_COMMAND: _, ...without } = base;
    expect(Object.keys(buildPluginEnv({ command: "ADD" }, without))).toHaveLength(Object.keys(without).length + 1);
  });

  it("sets empty strings when asked (runtime GC/STATUS calls)", () => {
    const env = buildPluginEnv({ command: "GC", containerId: "", netns: "", ifName: "", args: "", path: ["/a", "/b"] }, base);
    expect(env).toMatchObject({ CNI_CONTAINERID: "", CNI_NETNS: "", CNI_IFNAME: "", CNI_ARGS: "", CNI_PATH: "/a:/b" });
  });

  it("drops undefined values of the base env and defaults to process.env", () => {
    expect(buildPluginEnv({ command: "ADD" }, { A: undefined, B: "1" })).toEqual({ B: "1", CNI_COMMAND: "ADD" });
    expect(buildPluginEnv({ command: "ADD" }).PATH).toBe(process.env.PATH);
  });
});

describe("formatCniArgs", () => {
  it("joins pairs, objects and keeps strings", () => {
    expect(formatCniArgs([["A", "1"]])).toBe("A=1");
    expect(formatCniArgs({ A: "1", B: "2" })).toBe("A=1;B=2");
    expect(formatCniArgs("X=y")).toBe("X=y");
    expect(formatCniArgs([])).toBe("");
  });
});
