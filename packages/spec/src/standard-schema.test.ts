import { describe, expect, it } from "vitest";
import * as z from "zod";
import { CniError, ErrorCode } from "./errors.js";
import { formatIssuePath, type StandardSchemaV1, validateWithSchema } from "./standard-schema.js";

const opts = { code: ErrorCode.InvalidNetworkConfig, what: "network config" };

describe("validateWithSchema", () => {
  it("returns the schema's output (defaults, transforms)", () => {
    const S = z.object({
      bridge: z.string().default("cni0"),
      mtu: z.number().optional(),
    });
    const out = validateWithSchema(S, { mtu: 1400 }, opts);
    expect(out).toEqual({ bridge: "cni0", mtu: 1400 });
  });

  it("accepts any Standard Schema, not only zod", () => {
    const Even: StandardSchemaV1<unknown, number> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: (v) => (typeof v === "number" && v % 2 === 0 ? { value: v } : { issues: [{ message: "not even" }] }),
      },
    };
    expect(validateWithSchema(Even, 4, opts)).toBe(4);
    expect(() => validateWithSchema(Even, 3, opts)).toThrow("network config is invalid; (root): not even");
  });

  it("throws CniError(code, `<what> is invalid`) listing every issue as `path: message`", () => {
    const S = z.object({
      name: z.string(),
      ipam: z.object({ ranges: z.array(z.object({ subnet: z.string() })) }),
    });
    let e: CniError | undefined;
    try {
      validateWithSchema(S, { name: 5, ipam: { ranges: [{ subnet: 1 }] } }, opts);
    } catch (x) {
      e = x as CniError;
    }
    expect(e instanceof CniError).toBe(true);
    expect(e?.code).toBe(7);
    expect(e?.msg).toBe("network config is invalid");
    const parts = e?.details?.split("; ") ?? [];
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatch(/^name: /);
    expect(parts[1]).toMatch(/^ipam\.ranges\[0\]\.subnet: /);
  });

  it("refuses asynchronous schemas (code 999)", () => {
    const S = z.string().refine(async () => true);
    let e: CniError | undefined;
    try {
      validateWithSchema(S, "x", opts);
    } catch (x) {
      e = x as CniError;
    }
    expect(e?.code).toBe(ErrorCode.Internal);
    expect(e?.msg).toBe("network config schema validates asynchronously");
  });

  it("refuses a value that is not a schema", () => {
    expect(() => validateWithSchema({} as StandardSchemaV1<unknown, unknown>, 1, opts)).toThrow(/not a Standard Schema/);
  });
});

describe("formatIssuePath", () => {
  it("formats keys, indexes, odd keys and path segments", () => {
    expect(formatIssuePath(undefined)).toBe("(root)");
    expect(formatIssuePath([])).toBe("(root)");
    expect(formatIssuePath(["ipam", "ranges", 0, 1, "subnet"])).toBe("ipam.ranges[0][1].subnet");
    expect(formatIssuePath(["cni.dev/valid-attachments", 0, { key: "ifname" }])).toBe('["cni.dev/valid-attachments"][0].ifname');
    expect(formatIssuePath([{ key: 2 }])).toBe("[2]");
  });
});
