import { CniError, toCurrentResult } from "@cnikit/spec";
import { describe, expect, it } from "vitest";
import { configVersion, decodeResult, execPluginWithoutResult, execPluginWithResult, getVersionInfo } from "./exec.js";
import type { RawExec, RawExecRequest } from "./raw-exec.js";

function fakeExec(reply: string | Error): { exec: RawExec; calls: RawExecRequest[] } {
  const calls: RawExecRequest[] = [];
  return {
    calls,
    exec: async (req) => {
      calls.push(req);
      if (reply instanceof Error) throw reply;
      return Buffer.from(reply);
    },
  };
}

const conf = '{ "some": "stdin", "cniVersion": "0.3.1" }';
const base = { pluginPath: "/some/plugin/path", command: "ADD", stdin: conf, containerId: "c", netns: "/n", ifName: "eth7", path: "/p" };

describe("execPluginWithResult (fake exec)", () => {
  it("decodes the plugin's result and converts to current", async () => {
    const { exec, calls } = fakeExec('{"cniVersion":"0.3.1","ips":[{"version":"4","address":"1.2.3.4/24"}]}');
    const result = await execPluginWithResult({ ...base, exec, env: { FOO: "bar" } });
    expect(result.cniVersion).toBe("0.3.1");
    expect(toCurrentResult(result).ips?.[0]?.address).toBe("1.2.3.4/24");
    expect(calls).toHaveLength(1);
    expect(calls[0]?.pluginPath).toBe("/some/plugin/path");
    expect(calls[0]?.stdin).toBe(conf);
    expect(calls[0]?.env).toEqual({
      FOO: "bar",
      CNI_COMMAND: "ADD",
      CNI_CONTAINERID: "c",
      CNI_NETNS: "/n",
      CNI_IFNAME: "eth7",
      CNI_PATH: "/p",
    });
  });

  it("passes the executor's error through", async () => {
    const banana = new CniError(999, "banana");
    await expect(execPluginWithResult({ ...base, exec: fakeExec(banana).exec })).rejects.toBe(banana);
    await expect(execPluginWithoutResult({ ...base, exec: fakeExec(banana).exec })).rejects.toBe(banana);
  });

  it("a result without or with an empty cniVersion takes the config's", async () => {
    for (const out of ['{"ips":[{"version":"4","address":"1.2.3.4/24"}]}', '{"cniVersion":"","ips":[{"version":"4","address":"1.2.3.4/24"}]}']) {
      const r = await execPluginWithResult({ ...base, exec: fakeExec(out).exec });
      expect(r.cniVersion).toBe("0.3.1");
    }
  });

  it("config and result both without a version give 0.1.0", async () => {
    const r = await execPluginWithResult({ ...base, stdin: '{"some":"stdin"}', exec: fakeExec('{"ip4":{"ip":"1.2.3.4/24"}}').exec });
    expect(r.cniVersion).toBe("0.1.0");
  });

  it("an object config is sent as JSON", async () => {
    const { exec, calls } = fakeExec('{"cniVersion":"1.0.0"}');
    await execPluginWithResult({ ...base, stdin: { cniVersion: "1.0.0", name: "n", type: "t" }, exec });
    expect(calls[0]?.stdin).toBe('{"cniVersion":"1.0.0","name":"n","type":"t"}');
  });

  it("malformed success output is an error naming the bytes", async () => {
    await expect(execPluginWithResult({ ...base, exec: fakeExec("not json at all").exec })).rejects.toMatchObject({
      code: 6,
      message: expect.stringContaining('failed to unmarshal raw result "not json at all"'),
    });
    await expect(execPluginWithResult({ ...base, exec: fakeExec("").exec })).rejects.toThrow(/failed to unmarshal raw result ""/);
    await expect(execPluginWithResult({ ...base, exec: fakeExec("[1]").exec })).rejects.toThrow(/not a JSON object/);
  });

  it("plugin output `null` is an empty result of the config's version", async () => {
    await expect(execPluginWithResult({ ...base, exec: fakeExec("null").exec })).resolves.toMatchObject({ cniVersion: "0.3.1" });
  });
});

describe("configVersion / decodeResult", () => {
  it("reads the config version", () => {
    expect(configVersion('{"cniVersion":"1.0.0"}')).toBe("1.0.0");
    expect(configVersion('{"cniVersion":""}')).toBe("0.1.0");
    expect(configVersion({})).toBe("0.1.0");
    expect(() => configVersion("{")).toThrow(/decoding version from network config/);
  });
  it("rejects invalid results", () => {
    expect(() => decodeResult('{"cniVersion":"1.0.0","ips":[{"address":"nope"}]}', "1.0.0")).toThrow(CniError);
  });
});

describe("getVersionInfo (fake exec)", () => {
  it("sends VERSION with the current version on stdin", async () => {
    const { exec, calls } = fakeExec('{"cniVersion":"1.1.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}');
    const info = await getVersionInfo("/p/plugin", { exec });
    expect(info.supportedVersions).toEqual(["0.4.0", "1.0.0", "1.1.0"]);
    expect(calls[0]?.env.CNI_COMMAND).toBe("VERSION");
    expect(calls[0]?.stdin).toBe('{"cniVersion":"1.1.0"}');
  });

  it("falls back to 0.1.0 for plugins predating VERSION, with dummy env values", async () => {
    const { exec, calls } = fakeExec(new CniError(4, "unknown CNI_COMMAND: VERSION"));
    const info = await getVersionInfo("/p/plugin", { exec });
    expect(info.supportedVersions).toEqual(["0.1.0"]);
    expect(calls[0]?.env).toMatchObject({ CNI_NETNS: "dummy", CNI_IFNAME: "dummy", CNI_PATH: "dummy" });
  });

  it("passes other errors through", async () => {
    const err = new CniError(999, "some other error");
    await expect(getVersionInfo("/p/plugin", { exec: fakeExec(err).exec })).rejects.toBe(err);
  });

  it("reports a malformed reply", async () => {
    await expect(getVersionInfo("/p/plugin", { exec: fakeExec('{"supportedVersions":["1.0.0"]}').exec })).rejects.toThrow(
      /decoding version info/,
    );
  });
});
