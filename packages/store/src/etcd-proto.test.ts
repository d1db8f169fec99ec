import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage, GRPC_METHODS, ProtobufError } from "./etcd-proto.js";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const m = (path: string) => GRPC_METHODS[path]!;

describe("etcd's messages in protobuf", () => {
  it("encodes a request from the gateway's JSON shape, field by field", () => {
    const range = encodeMessage(m("/v3/kv/range").request, {
      key: b64("a"),
      range_end: b64("b"),
      limit: "5",
      count_only: true,
    });
    expect(hex(range)).toBe("0a016112016218054801");
    // a oneof member at its default (create_revision 0) is still written: it says which one is set
    const txn = encodeMessage(m("/v3/kv/txn").request, {
      compare: [{ key: b64("k"), target: "CREATE", result: "EQUAL", create_revision: "0" }],
      success: [{ request_put: { key: b64("k"), value: b64("v") } }],
    });
    expect(hex(txn)).toBe(`0a09${"1a016b" + "1001" + "0800" + "2800"}1208${"1206" + "0a016b120176"}`);
  });

  it("nested messages and values longer than 127 bytes (multi-byte lengths) round-trip", () => {
    const txn = m("/v3/kv/txn").request;
    const long = "v".repeat(300);
    const req = {
      compare: [{ key: b64("k"), target: "VALUE", result: "EQUAL", value: b64(long) }],
      success: [
        { request_put: { key: b64(`key-${"x".repeat(200)}`), value: b64(long), lease: "7587869000000000001" } },
        { request_range: { key: b64("a"), range_end: b64("b") } },
      ],
      failure: [{ request_delete_range: { key: b64("é") } }],
    };
    const bytes = encodeMessage(txn, req);
    expect(decodeMessage(txn, bytes)).toEqual(req);
    // the first compare: tag, a two-byte length (310 = 0xb6 0x02), then its fields
    expect(hex(bytes.subarray(0, 3))).toBe("0ab602");
  });

  it("64-bit integers: lease ids beyond 2^53 and negative numbers survive a round trip", () => {
    const lease = m("/v3/lease/revoke").request;
    for (const id of ["7587869000000000001", "9223372036854775807", "-1", "0", "300"]) {
      const bytes = encodeMessage(lease, { ID: id });
      expect(decodeMessage(lease, bytes)).toEqual({ ID: id });
    }
    expect(hex(encodeMessage(lease, { ID: "-1" }))).toBe("08ffffffffffffffffff01");
    expect(() => encodeMessage(lease, { ID: "1.5" })).toThrow(TypeError);
    expect(() => encodeMessage(lease, { nope: "1" })).toThrow(/no field "nope"/);
  });

  it("decodes an answer into the gateway's shape: repeated messages, enums, unknown fields skipped", () => {
    const kv = (key: string, value: string, rev: number) =>
      `12${(6 + key.length + value.length + 2).toString(16).padStart(2, "0")}0a${key.length.toString(16).padStart(2, "0")}${Buffer.from(key).toString("hex")}10${rev.toString(16).padStart(2, "0")}18${rev.toString(16).padStart(2, "0")}2a${value.length.toString(16).padStart(2, "0")}${Buffer.from(value).toString("hex")}`;
    // header {revision: 9} + two kvs + more=true + an unknown fixed64 (field 15) and fixed32 (field 14)
    const bytes = Buffer.from(`0a021809${kv("a", "1", 3)}${kv("b", "22", 4)}1801790102030405060708750a0b0c0d`, "hex");
    expect(decodeMessage(m("/v3/kv/range").response, bytes)).toEqual({
      header: { revision: "9" },
      kvs: [
        { key: b64("a"), create_revision: "3", mod_revision: "3", value: b64("1") },
        { key: b64("b"), create_revision: "4", mod_revision: "4", value: b64("22") },
      ],
      more: true,
    });
    const compare = encodeMessage(m("/v3/kv/txn").request, {
      compare: [{ result: "NOT_EQUAL", target: "VALUE", value: b64("x") }],
    });
    expect(decodeMessage(m("/v3/kv/txn").request, compare)).toEqual({
      compare: [{ result: "NOT_EQUAL", target: "VALUE", value: b64("x") }],
    });
  });

  it("a truncated or malformed answer is a ProtobufError", () => {
    const range = m("/v3/kv/range").response;
    expect(() => decodeMessage(range, Buffer.from("0a05180", "hex"))).toThrow(ProtobufError);
    expect(() => decodeMessage(range, Buffer.from("0a0a1809", "hex"))).toThrow(ProtobufError);
    expect(() => decodeMessage(range, Buffer.from("0b", "hex"))).toThrow(ProtobufError);
    expect(() => decodeMessage(range, Buffer.from("08ffffffffffffffffffff01", "hex"))).toThrow(ProtobufError);
  });
});
