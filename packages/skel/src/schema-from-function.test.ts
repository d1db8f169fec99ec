import { CniError, ErrorCode } from "@cnikit/spec";
import { describe, expect, it } from "vitest";
import { definePlugin } from "./define-plugin.js";
import { schemaFromFunction } from "./schema-from-function.js";
import { invoke } from "./testing.js";

interface Conf {
  mtu: number;
}

function loadConf(raw: unknown): Conf {
  const mtu = (raw as { mtu?: unknown }).mtu ?? 1500;
  if (mtu === "boom") throw new Error("not a CniError");
  if (typeof mtu !== "number") throw new CniError(ErrorCode.InvalidNetworkConfig, `failed to load netconf: "mtu" must be a number`);
  return { mtu };
}

describe("schemaFromFunction", () => {
  const seen: unknown[] = [];
  const plugin = definePlugin({
    name: "fn-schema",
    version: "1.0.0",
    cniVersions: ["1.0.0", "1.1.0"],
    config: schemaFromFunction(loadConf),
    add: ({ config, stdin }) => {
      seen.push(config, stdin);
      return { ips: [], dns: { nameservers: [String(config.mtu)] } };
    },
    del: () => {},
  });
  const base = { cniVersion: "1.1.0", name: "net", type: "fn-schema" };

  it("hands the validated value (defaults applied) to the handler, keeping the other keys and stdin as received", async () => {
    seen.length = 0;
    const out = await invoke(plugin, { command: "ADD", config: base });
    expect(out.exitCode).toBe(0);
    expect(seen[0]).toMatchObject({ ...base, mtu: 1500 });
    expect(seen[1]).toBe(JSON.stringify(base));
    expect(out.result).toMatchObject({ dns: { nameservers: ["1500"] } });
  });

  it("lets a CniError through with its own code and message", async () => {
    const out = await invoke(plugin, { command: "ADD", config: { ...base, mtu: "x" } });
    expect(out.error).toEqual({ cniVersion: "1.1.0", code: 7, msg: `failed to load netconf: "mtu" must be a number` });
  });

  it("turns any other error into an issue: code 7, the message in details", async () => {
    const out = await invoke(plugin, { command: "ADD", config: { ...base, mtu: "boom" } });
    expect(out.error).toMatchObject({ code: 7, msg: "network config is invalid", details: "(root): not a CniError" });
  });

  it("is a synchronous Standard Schema", () => {
    const schema = schemaFromFunction(loadConf);
    expect(schema["~standard"]).toMatchObject({ version: 1, vendor: "cnikit" });
    expect(schema["~standard"].validate({ mtu: 9000 })).toEqual({ value: { mtu: 9000 } });
  });
});
