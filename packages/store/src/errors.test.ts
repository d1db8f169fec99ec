import { describe, expect, it } from "vitest";
import {
  CompareFailedError,
  expectSucceeded,
  LeaseNotFoundError,
  StoreAuthError,
  StoreError,
  StoreTimeoutError,
  StoreUnavailableError,
} from "./errors.js";

describe("store errors", () => {
  it("have a code, a name, keep the cause", () => {
    const cause = new Error("ECONNREFUSED");
    const e = new StoreUnavailableError("no endpoint", { cause });
    expect(e).toMatchObject({ code: "unavailable", name: "StoreUnavailableError", outcomeUnknown: false, cause });
    expect(new StoreTimeoutError("t", { outcomeUnknown: true })).toMatchObject({
      code: "timeout",
      outcomeUnknown: true,
    });
    expect(new StoreAuthError("a").name).toBe("StoreAuthError");
    expect(e).toBeInstanceOf(StoreError);
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(StoreTimeoutError);
  });

  it("instanceof recognises errors of another copy of the package (brand)", () => {
    // what a second bundled copy's StoreTimeoutError looks like to this copy
    const foreign = Object.assign(new Error("t"), { code: "timeout", [Symbol.for("cnikit.StoreError")]: "timeout" });
    expect(foreign).toBeInstanceOf(StoreTimeoutError);
    expect(foreign).toBeInstanceOf(StoreError);
    expect(foreign).not.toBeInstanceOf(StoreAuthError);
    expect(new Error("plain")).not.toBeInstanceOf(StoreError);
    expect(null).not.toBeInstanceOf(StoreError);
  });

  it("expectSucceeded throws CompareFailedError", () => {
    expect(expectSucceeded({ succeeded: true })).toEqual({ succeeded: true });
    expect(() => expectSucceeded({ succeeded: false }, "taken")).toThrow(CompareFailedError);
    expect(new LeaseNotFoundError("x").code).toBe("lease-not-found");
  });
});
