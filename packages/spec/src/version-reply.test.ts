import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "./errors.js";
import { decodeVersionReply } from "./version-reply.js";

function err(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    return e as CniError;
  }
  throw new Error("expected an error");
}

describe("decodeVersionReply (Go PluginDecoder)", () => {
  it("returns the supported versions in order", () => {
    const r = decodeVersionReply('{"cniVersion":"some-library-version","supportedVersions":["some-version","some-other-version"]}');
    expect(r).toEqual({
      cniVersion: "some-library-version",
      supportedVersions: ["some-version", "some-other-version"],
    });
  });

  it("accepts an already-parsed object", () => {
    expect(
      decodeVersionReply({
        cniVersion: "1.1.0",
        supportedVersions: ["1.0.0", "1.1.0"],
      }).supportedVersions,
    ).toEqual(["1.0.0", "1.1.0"]);
  });

  it("reports malformed JSON as `decoding version info: …` (code 6)", () => {
    const e = err(() => decodeVersionReply("{{{"));
    expect(e instanceof CniError).toBe(true);
    expect(e.code).toBe(ErrorCode.DecodingFailure);
    expect(e.msg).toMatch(/^decoding version info: /);
  });

  it("requires cniVersion", () => {
    expect(err(() => decodeVersionReply('{ "supportedVersions": [ "foo" ] }')).msg).toBe("decoding version info: missing field cniVersion");
    expect(err(() => decodeVersionReply('{ "cniVersion": "", "supportedVersions": [ "foo" ] }')).msg).toBe(
      "decoding version info: missing field cniVersion",
    );
  });

  it('a 0.2.0 reply without supportedVersions means ["0.1.0", "0.2.0"]', () => {
    expect(decodeVersionReply('{ "cniVersion": "0.2.0" }').supportedVersions).toEqual(["0.1.0", "0.2.0"]);
    expect(decodeVersionReply('{ "cniVersion": "0.2.0", "supportedVersions": [] }').supportedVersions).toEqual(["0.1.0", "0.2.0"]);
  });

  it("requires supportedVersions from any other version", () => {
    const e = err(() => decodeVersionReply('{ "cniVersion": "1.0.0" }'));
    expect(e.msg).toBe("decoding version info: missing field supportedVersions");
    expect(e.code).toBe(ErrorCode.DecodingFailure);
  });

  it("rejects wrong field types and non-objects", () => {
    for (const bad of [
      '{"cniVersion":1,"supportedVersions":["1.0.0"]}',
      '{"cniVersion":"1.0.0","supportedVersions":"1.0.0"}',
      '{"cniVersion":"1.0.0","supportedVersions":[1]}',
      "[]",
      '"x"',
      "5",
    ]) {
      const e = err(() => decodeVersionReply(bad));
      expect(e.code).toBe(ErrorCode.DecodingFailure);
      expect(e.msg).toMatch(/^decoding version info: /);
    }
    expect(err(() => decodeVersionReply("null")).msg).toBe("decoding version info: missing field cniVersion");
  });
});
