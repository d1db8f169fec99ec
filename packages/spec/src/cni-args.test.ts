import { describe, expect, it } from "vitest";
import * as z from "zod";
import * as zm from "zod/mini";
import { cniArgsIgnoreUnknown, loadCniArgs, parseBoolArg, parseCniArgs } from "./cni-args.js";
import { CniError, ErrorCode } from "./errors.js";

function err(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    expect(e instanceof CniError).toBe(true);
    return e as CniError;
  }
  throw new Error("expected an error");
}

describe("parseBoolArg (Go UnmarshallableBool)", () => {
  it.each(["True", "true", "1", "TRUE"])("%s → true", (v) => expect(parseBoolArg(v)).toBe(true));
  it.each(["False", "false", "0", "fAlSe"])("%s → false", (v) => expect(parseBoolArg(v)).toBe(false));
  it("rejects anything else with Go's message (input lower-cased)", () => {
    const e = err(() => parseBoolArg("Invalid"));
    expect(e.msg).toBe("boolean unmarshal error: invalid input invalid");
    expect(e.code).toBe(ErrorCode.InvalidEnvironmentVariables);
    expect(() => parseBoolArg("")).toThrow("boolean unmarshal error: invalid input ");
  });
});

describe("parseCniArgs (Go LoadArgs splitting)", () => {
  it("an empty string is no args", () => {
    expect(parseCniArgs("")).toEqual({});
  });

  it("splits on ; then =", () => {
    expect(parseCniArgs("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0")).toEqual({
      IgnoreUnknown: "1",
      K8S_POD_NAMESPACE: "default",
      K8S_POD_NAME: "web-0",
    });
    expect(parseCniArgs("IP=10.0.0.0")).toEqual({ IP: "10.0.0.0" });
    expect(parseCniArgs("a=")).toEqual({ a: "" });
    expect(parseCniArgs("a=1;a=2")).toEqual({ a: "2" });
  });

  it("keeps odd keys as plain data", () => {
    const args = parseCniArgs("__proto__=x;constructor=y");
    expect(Object.keys(args)).toEqual(["__proto__", "constructor"]);
    expect(Object.getOwnPropertyDescriptor(args, "__proto__")?.value).toBe("x");
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    ["IgnoreUnknown=0, Unk=nown", 'ARGS: invalid pair "IgnoreUnknown=0, Unk=nown"'],
    ["some;extra;args", 'ARGS: invalid pair "some"'],
    ["a=b=c", 'ARGS: invalid pair "a=b=c"'],
    ["a=b;", 'ARGS: invalid pair ""'],
  ])("%s → %s (code 4)", (input, msg) => {
    const e = err(() => parseCniArgs(input));
    expect(e.msg).toBe(msg);
    expect(e.code).toBe(ErrorCode.InvalidEnvironmentVariables);
  });
});

describe("loadCniArgs", () => {
  it("is lenient without a schema: unknown keys are returned", () => {
    expect(loadCniArgs("Unk=nown")).toEqual({ Unk: "nown" });
    expect(loadCniArgs("")).toEqual({});
    expect(loadCniArgs("IgnoreUnknown=True;Unk=nown")).toEqual({
      IgnoreUnknown: "True",
      Unk: "nown",
    });
    expect(loadCniArgs("IgnoreUnknown=1")).toEqual({ IgnoreUnknown: "1" });
  });

  it("checks IgnoreUnknown like Go's CommonArgs", () => {
    const e = err(() => loadCniArgs("IgnoreUnknown=maybe"));
    expect(e.msg).toBe('ARGS: error parsing value of pair "IgnoreUnknown=maybe": boolean unmarshal error: invalid input maybe');
    expect(e.code).toBe(ErrorCode.InvalidEnvironmentVariables);
    expect(() => loadCniArgs("IgnoreUnknown=0, Unk=nown")).toThrow('ARGS: invalid pair "IgnoreUnknown=0, Unk=nown"');
  });

  it("reports IgnoreUnknown through cniArgsIgnoreUnknown", () => {
    expect(cniArgsIgnoreUnknown(parseCniArgs("IgnoreUnknown=True;Unk=nown"))).toBe(true);
    expect(cniArgsIgnoreUnknown(parseCniArgs("IgnoreUnknown=0"))).toBe(false);
    expect(cniArgsIgnoreUnknown(parseCniArgs("K=V"))).toBe(false);
  });

  it("validates through a Standard Schema (zod 4) and types the result", () => {
    const Args = z.object({
      IP: z.ipv4().optional(),
      K8S_POD_NAME: z.string().optional(),
    });
    const args = loadCniArgs("IgnoreUnknown=1;IP=10.0.0.0;K8S_POD_NAME=web-0;Other=x", Args);
    expect(args).toEqual({ IP: "10.0.0.0", K8S_POD_NAME: "web-0" });
    const ip: string | undefined = args.IP;
    expect(ip).toBe("10.0.0.0");
  });

  it("does not hand IgnoreUnknown to the schema (strict schemas need not declare it)", () => {
    const Strict = z.strictObject({ K: z.string() });
    expect(loadCniArgs("IgnoreUnknown=1;K=v", Strict)).toEqual({ K: "v" });
    const e = err(() => loadCniArgs("K=v;Unk=nown", Strict));
    expect(e.msg).toBe("CNI_ARGS is invalid");
  });

  it("IgnoreUnknown=1 lets a strict schema accept keys meant for other plugins (Go LoadArgs)", () => {
    const Strict = z.strictObject({ K: z.string() });
    expect(loadCniArgs("IgnoreUnknown=1;K=v;Unk=nown", Strict)).toEqual({ K: "v" });
    expect(loadCniArgs("IgnoreUnknown=True;Unk=nown;K=v", Strict)).toEqual({ K: "v" });
    // IgnoreUnknown=0 or absent: unknown keys stay an error for a strict schema (Go: `ARGS: unknown args`)
    expect(err(() => loadCniArgs("IgnoreUnknown=0;K=v;Unk=nown", Strict)).msg).toBe("CNI_ARGS is invalid");
    // zod/mini objects expose their keys the same way
    const MiniStrict = zm.strictObject({ K: zm.string() });
    expect(loadCniArgs("IgnoreUnknown=1;K=v;Unk=nown", MiniStrict)).toEqual({ K: "v" });
    // a declared key is still validated
    expect(err(() => loadCniArgs("IgnoreUnknown=1;Unk=nown", Strict)).details).toMatch(/^K: /);
  });

  it("reports schema issues as code 4 with `path: message` details", () => {
    const Args = z.object({ IP: z.ipv4() });
    const e = err(() => loadCniArgs("IP=10.0.0.0/24", Args));
    expect(e.code).toBe(ErrorCode.InvalidEnvironmentVariables);
    expect(e.msg).toBe("CNI_ARGS is invalid");
    expect(e.details).toMatch(/^IP: /);
  });
});
