import { describe, expect, it } from "vitest";
import { CniError, ErrorCode } from "./errors.js";

describe("CniError", () => {
  it("has Go's string form: `msg; details` or `msg`", () => {
    expect(new CniError(1234, "some message", "some details").message).toBe("some message; some details");
    expect(new CniError(1234, "some message").message).toBe("some message");
    expect(new CniError(1234, "some message", "").message).toBe("some message");
  });

  it("keeps code, msg, details and cause", () => {
    const cause = new Error("boom");
    const e = new CniError(ErrorCode.IoFailure, "reading stdin", "EIO", {
      cause,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("CniError");
    expect(e.code).toBe(5);
    expect(e.msg).toBe("reading stdin");
    expect(e.details).toBe("EIO");
    expect(e.cause).toBe(cause);
    expect(new CniError(1, "x").cause).toBeUndefined();
    expect(new CniError(1, "x", "").details).toBeUndefined();
  });

  it("toJSON gives the spec's error object, with cniVersion only when given", () => {
    const e = new CniError(7, "Invalid Configuration", "Network 192.168.0.0/31 too small to allocate from.");
    expect(e.toJSON("1.1.0")).toEqual({
      cniVersion: "1.1.0",
      code: 7,
      msg: "Invalid Configuration",
      details: "Network 192.168.0.0/31 too small to allocate from.",
    });
    expect(Object.keys(e.toJSON("1.1.0"))).toEqual(["cniVersion", "code", "msg", "details"]);
    expect(e.toJSON()).toEqual({
      code: 7,
      msg: "Invalid Configuration",
      details: "Network 192.168.0.0/31 too small to allocate from.",
    });
    expect(new CniError(3, "missing containerID").toJSON()).toEqual({
      code: 3,
      msg: "missing containerID",
    });
    // JSON.stringify passes property keys to toJSON: they must not become cniVersion
    expect(JSON.parse(JSON.stringify(new CniError(3, "m")))).toEqual({
      code: 3,
      msg: "m",
    });
    expect(JSON.parse(JSON.stringify([new CniError(3, "m")]))).toEqual([{ code: 3, msg: "m" }]);
    expect(JSON.parse(JSON.stringify({ error: new CniError(3, "m") }))).toEqual({ error: { code: 3, msg: "m" } });
  });

  it("isInstance recognises errors from another copy of the library (Symbol.for marker)", () => {
    // what a second bundled copy of CniError looks like: another class, same global marker
    const foreign = Object.assign(new Error("later"), {
      code: 11,
      msg: "later",
      details: undefined,
      [Symbol.for("cnikit.CniError")]: true,
    });
    expect(foreign instanceof CniError).toBe(false);
    expect(CniError.isInstance(foreign)).toBe(true);
    expect(CniError.from(foreign)).toBe(foreign);
    expect(CniError.isInstance(new CniError(1, "x"))).toBe(true);
    expect(CniError.isInstance(new Error("x"))).toBe(false);
    expect(CniError.isInstance({ code: 1, msg: "x" })).toBe(false);
    expect(CniError.isInstance(null)).toBe(false);
    expect(CniError.isInstance("x")).toBe(false);
  });

  it("from() passes CniErrors through and wraps the rest as 999 (or a given code)", () => {
    const c = new CniError(7, "bad");
    expect(CniError.from(c)).toBe(c);
    const err = new TypeError("nope");
    const w = CniError.from(err);
    expect(w.code).toBe(ErrorCode.Internal);
    expect(w.msg).toBe("nope");
    expect(w.cause).toBe(err);
    expect(CniError.from("text").msg).toBe("text");
    expect(CniError.from(42, ErrorCode.IoFailure).code).toBe(5);
    expect(CniError.from(undefined).msg).toBe("undefined");
  });

  it("exposes the well-known codes", () => {
    expect(ErrorCode).toEqual({
      IncompatibleCniVersion: 1,
      UnsupportedField: 2,
      UnknownContainer: 3,
      InvalidEnvironmentVariables: 4,
      IoFailure: 5,
      DecodingFailure: 6,
      InvalidNetworkConfig: 7,
      InvalidNetns: 8,
      TryAgainLater: 11,
      PluginNotAvailable: 50,
      LimitedConnectivity: 51,
      Internal: 999,
    });
  });
});

describe("CniError.wrap", () => {
  it("prefixes the message and keeps code, details and cause", () => {
    const inner = new CniError(11, "try again later", "etcd down");
    const wrapped = CniError.wrap("IPAM plugin host-local", inner);
    expect(wrapped.code).toBe(11);
    expect(wrapped.msg).toBe("IPAM plugin host-local: try again later");
    expect(wrapped.details).toBe("etcd down");
    expect(wrapped.cause).toBe(inner);
  });
  it("turns a plain Error into code 999", () => {
    const wrapped = CniError.wrap("step", new Error("boom"));
    expect(wrapped.code).toBe(999);
    expect(wrapped.msg).toBe("step: boom");
  });
});
