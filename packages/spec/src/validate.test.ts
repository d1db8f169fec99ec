import { describe, expect, it } from "vitest";
import { CniError } from "./errors.js";
import { validateContainerId, validateInterfaceName, validateNetworkName } from "./validate.js";

function reply(fn: () => void): { code: number; msg: string; details?: string } | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    expect(e instanceof CniError).toBe(true);
    return (e as CniError).toJSON();
  }
}

describe("validate (Go pkg/utils)", () => {
  it("container IDs", () => {
    expect(reply(() => validateContainerId(""))).toEqual({
      code: 3,
      msg: "missing containerID",
    });
    expect(reply(() => validateContainerId("1234%%%"))).toEqual({
      code: 4,
      msg: "invalid characters in containerID",
      details: "1234%%%",
    });
    expect(reply(() => validateContainerId("a51debf7e1eb"))).toBeUndefined();
    expect(reply(() => validateContainerId("-leading-dash"))?.code).toBe(4);
    expect(reply(() => validateContainerId("a_b.c-d"))).toBeUndefined();
  });

  it("network names", () => {
    expect(reply(() => validateNetworkName(""))).toEqual({
      code: 7,
      msg: "missing network name:",
    });
    expect(reply(() => validateNetworkName("1234%%%"))).toEqual({
      code: 7,
      msg: "invalid characters found in network name",
      details: "1234%%%",
    });
    expect(reply(() => validateNetworkName("eth0"))).toBeUndefined();
  });

  it("interface names", () => {
    expect(reply(() => validateInterfaceName(""))).toEqual({
      code: 4,
      msg: "interface name is empty",
    });
    expect(reply(() => validateInterfaceName("testnamemorethan16"))).toEqual({
      code: 4,
      msg: "interface name is too long",
      details: "interface name should be less than 16 characters",
    });
    expect(reply(() => validateInterfaceName("."))).toEqual({
      code: 4,
      msg: "interface name is . or ..",
    });
    expect(reply(() => validateInterfaceName(".."))).toEqual({
      code: 4,
      msg: "interface name is . or ..",
    });
    for (const bad of ["/testname", "test name", "a:b", "tab\there"]) {
      expect(reply(() => validateInterfaceName(bad))).toEqual({
        code: 4,
        msg: "interface name contains / or : or whitespace characters",
      });
    }
    expect(reply(() => validateInterfaceName("testname"))).toBeUndefined();
    expect(reply(() => validateInterfaceName("exactly15chars_"))).toBeUndefined();
  });
});
