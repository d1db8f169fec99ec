import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
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

  it("instanceof sees CniErrors and their subclasses, and nothing else", () => {
    class QuotaError extends CniError {
      static override readonly errorKind: string = "test.QuotaError";
    }
    class Unbranded extends CniError {}
    const q = new QuotaError(120, "over quota");
    expect(q instanceof QuotaError).toBe(true);
    expect(q instanceof CniError).toBe(true);
    expect(q instanceof Error).toBe(true);
    expect(new CniError(1, "x") instanceof QuotaError).toBe(false);
    // a subclass without its own errorKind falls back to the prototype check
    expect(new CniError(1, "x") instanceof Unbranded).toBe(false);
    expect(new Unbranded(1, "x") instanceof Unbranded).toBe(true);
    expect(new Unbranded(1, "x") instanceof CniError).toBe(true);
    expect(new Error("x") instanceof CniError).toBe(false);
    expect(({ code: 1, msg: "x" }) instanceof CniError).toBe(false);
    expect((null as unknown) instanceof CniError).toBe(false);
    expect(("x" as unknown) instanceof CniError).toBe(false);
    // the kinds are not part of the error's own enumerable properties
    expect(Object.keys(q)).toEqual(Object.keys(new CniError(120, "over quota")));
  });

  it("instanceof works across two separately bundled copies (esbuild)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cnikit-errors-"));
    try {
      const entry = join(dir, "entry.ts");
      const src = fileURLToPath(new URL("./errors.ts", import.meta.url));
      await writeFile(
        entry,
        `import { CniError } from ${JSON.stringify(src)};\n` +
          "export { CniError };\n" +
          'export class QuotaError extends CniError { static override readonly errorKind: string = "test.QuotaError"; }\n' +
          'export class DiskError extends CniError { static override readonly errorKind: string = "test.DiskError"; }\n' +
          'export class DiskFullError extends DiskError { static override readonly errorKind: string = "test.DiskFullError"; }\n',
      );
      const copies = [];
      for (const name of ["a", "b"]) {
        const outfile = join(dir, `${name}.mjs`);
        await build({ entryPoints: [entry], bundle: true, format: "esm", platform: "node", outfile, logLevel: "silent" });
        copies.push(await import(pathToFileURL(outfile).href));
      }
      const [a, b] = copies;
      expect(a.CniError).not.toBe(b.CniError);
      const full = new b.DiskFullError(5, "disk full");
      expect(full instanceof a.DiskFullError).toBe(true);
      expect(full instanceof a.DiskError).toBe(true);
      expect(full instanceof a.CniError).toBe(true);
      expect(full instanceof CniError).toBe(true);
      expect(full instanceof a.QuotaError).toBe(false);
      expect(new b.DiskError(5, "x") instanceof a.DiskFullError).toBe(false);
      expect(new b.CniError(5, "x") instanceof a.DiskError).toBe(false);
      expect(new CniError(5, "x") instanceof a.CniError).toBe(true);
      expect(CniError.from(full)).toBe(full);
      expect(CniError.wrap("step", full).code).toBe(5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
