import { describe, expect, it } from "vitest";
import {
  AGENT_PROTOCOL,
  checkRequestHeader,
  decodeRequest,
  decodeRequestEnv,
  decodeResponse,
  encodeAgentRequest,
  encodeResponse,
  HEADER_BYTES,
} from "./protocol.js";

describe("agent wire protocol", () => {
  it("round-trips a call: header, CNI_* env and stdin", () => {
    const frame = encodeAgentRequest({
      type: AGENT_PROTOCOL.call,
      env: { CNI_COMMAND: "ADD", CNI_NETNS: "/var/run/netns/a..b", CNI_ARGS: "K=V;X=" },
      stdin: Buffer.from('{"cniVersion":"1.1.0"}'),
    });
    const head = checkRequestHeader(frame.subarray(0, HEADER_BYTES));
    expect(head).toMatchObject({ kind: "ok", type: 1, total: frame.length });
    if (head.kind !== "ok") throw new Error("unreachable");
    const r = decodeRequest(frame, head);
    expect(r.env).toEqual({ CNI_COMMAND: "ADD", CNI_NETNS: "/var/run/netns/a..b", CNI_ARGS: "K=V;X=" });
    expect(r.stdin.toString()).toBe('{"cniVersion":"1.1.0"}');
  });

  it("says skew for another version and bad for a wrong magic, type or size", () => {
    const v2 = encodeAgentRequest({ type: 1, env: {}, stdin: Buffer.alloc(0) }, 2);
    expect(checkRequestHeader(v2)).toEqual({ kind: "skew", version: 2 });
    expect(checkRequestHeader(Buffer.from("HTTP/1.1 200 OK\r\n"))).toMatchObject({ kind: "bad" });
    expect(checkRequestHeader(encodeAgentRequest({ type: 7, env: {}, stdin: Buffer.alloc(0) }))).toMatchObject({
      kind: "bad",
      reason: "unknown request type 7",
    });
    const big = encodeAgentRequest({ type: 1, env: {}, stdin: Buffer.alloc(0) });
    big.writeUInt32LE(AGENT_PROTOCOL.maxEnvBytes + 1, 8);
    expect(checkRequestHeader(big)).toMatchObject({ kind: "bad" });
  });

  it("accepts only CNI_* keys and an absolute CNI_NETNS without ..", () => {
    const env = (s: string) => decodeRequestEnv(Buffer.from(s));
    expect(() => env("PATH=/tmp\0")).toThrow(/only CNI_\* variables/);
    expect(() => env("LD_PRELOAD=/x.so\0")).toThrow(/only CNI_\* variables/);
    expect(() => env("CNI_NETNS=netns\0")).toThrow(/absolute path/);
    expect(() => env("CNI_NETNS=/var/run/netns/../../etc\0")).toThrow(/absolute path/);
    expect(() => env("CNI_COMMAND=ADD")).toThrow(/does not end with NUL/);
    expect(env("CNI_NETNS=\0CNI_IFNAME\0")).toEqual({ CNI_NETNS: "", CNI_IFNAME: "" });
  });

  it("round-trips a response", () => {
    const r = decodeResponse(encodeResponse(AGENT_PROTOCOL.result, 1, '{"code":11}\n', "log\n"));
    expect(r).toEqual({ type: 1, exitCode: 1, stdout: '{"code":11}\n', stderr: "log\n" });
    expect(decodeResponse(encodeResponse(1, 0, "abc", "").subarray(0, 18))).toBeUndefined();
  });
});
