/**
 * The Standard Schema interface (https://standardschema.dev), restated in our own words so
 * `@cnikit/*` can accept any validator (zod 4, valibot, arktype, ...) without importing one,
 * plus a synchronous helper that turns validation issues into a `CniError`.
 *
 * @see https://github.com/standard-schema/standard-schema
 * @see https://github.com/cnikit/cnikit/blob/main/docs/interface-plugin.md (a plugin's `config` schema)
 */
import { CniError, ErrorCode } from "./errors.js";

/**
 * One step of an issue path, in its object form.
 *
 * @example
 * const seg: StandardSchemaV1PathSegment = { key: "ipam" };
 */
export interface StandardSchemaV1PathSegment {
  readonly key: PropertyKey;
}

/**
 * One validation problem reported by a schema.
 *
 * @example
 * const issue: StandardSchemaV1Issue = { message: "Expected number", path: ["ipam", "ranges", 0, { key: "subnet" }] };
 */
export interface StandardSchemaV1Issue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | StandardSchemaV1PathSegment> | undefined;
}

/**
 * A successful validation: the (possibly transformed) value.
 *
 * @example
 * const ok: StandardSchemaV1SuccessResult<{ mtu: number }> = { value: { mtu: 1500 } };
 */
export interface StandardSchemaV1SuccessResult<Output> {
  readonly value: Output;
  readonly issues?: undefined;
}

/**
 * A failed validation: the list of issues.
 *
 * @example
 * const failed: StandardSchemaV1FailureResult = { issues: [{ message: "Required", path: ["bridge"] }] };
 */
export interface StandardSchemaV1FailureResult {
  readonly issues: ReadonlyArray<StandardSchemaV1Issue>;
}

/**
 * What `validate` returns.
 *
 * @example
 * const r = schema["~standard"].validate(value) as StandardSchemaV1Result<NetConf>;
 * if (r.issues) console.error(r.issues.map((i) => i.message));
 * else use(r.value);
 */
export type StandardSchemaV1Result<Output> = StandardSchemaV1SuccessResult<Output> | StandardSchemaV1FailureResult;

/**
 * The `~standard` property bag of a schema.
 *
 * @example
 * const props: StandardSchemaV1Props<unknown, string> = {
 *   version: 1,
 *   vendor: "hand-written",
 *   validate: (v) => (typeof v === "string" ? { value: v } : { issues: [{ message: "not a string" }] }),
 * };
 */
export interface StandardSchemaV1Props<Input = unknown, Output = Input> {
  readonly version: 1;
  readonly vendor: string;
  readonly validate: (
    value: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: the spec's options bag is vendor-defined
    options?: any,
  ) => StandardSchemaV1Result<Output> | Promise<StandardSchemaV1Result<Output>>;
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

/**
 * Any validator implementing Standard Schema v1 (zod 4 schemas do: `schema["~standard"]`).
 *
 * @example
 * import * as z from "zod";
 * const Args: StandardSchemaV1<unknown, { K8S_POD_NAME?: string }> = z.object({ K8S_POD_NAME: z.string().optional() });
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": StandardSchemaV1Props<Input, Output>;
}

/**
 * The output type of a Standard Schema.
 *
 * @example
 * type Conf = StandardSchemaV1InferOutput<typeof MyConfigSchema>; // for zod 4, the same as z.output<...>
 */
export type StandardSchemaV1InferOutput<S extends StandardSchemaV1> = NonNullable<S["~standard"]["types"]>["output"];

/**
 * The input type of a Standard Schema.
 *
 * @example
 * type ConfInput = StandardSchemaV1InferInput<typeof MyConfigSchema>; // for zod 4, the same as z.input<...>
 */
export type StandardSchemaV1InferInput<S extends StandardSchemaV1> = NonNullable<S["~standard"]["types"]>["input"];

/**
 * Options for {@link validateWithSchema}.
 *
 * @example
 * const opts: ValidateWithSchemaOptions = { code: ErrorCode.InvalidNetworkConfig, what: "network config" };
 */
export interface ValidateWithSchemaOptions {
  /** The CNI error code thrown when the value is invalid (e.g. 7 for a network config). */
  code: number;
  /** What is being validated, for the message: `${what} is invalid`. */
  what: string;
}

/**
 * Formats an issue path the way a user would write it: `ipam.ranges[0][1].subnet`,
 * `["cni.dev/valid-attachments"][0]`; an empty path is `(root)`.
 *
 * @example formatIssuePath(["ipam", "ranges", 0]) // "ipam.ranges[0]"
 */
export function formatIssuePath(path: StandardSchemaV1Issue["path"]): string {
  if (!path || path.length === 0) return "(root)";
  let out = "";
  for (const seg of path) {
    const key = typeof seg === "object" && seg !== null ? (seg as StandardSchemaV1PathSegment).key : seg;
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "symbol") out += `[${key.toString()}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/**
 * Validates `value` with a Standard Schema, synchronously, and returns the schema's output.
 *
 * @example
 * const conf = validateWithSchema(MyConfig, JSON.parse(stdin), { code: ErrorCode.InvalidNetworkConfig, what: "network config" });
 * @throws CniError `options.code`, msg `${what} is invalid`, details `path: message; path: message`.
 * @throws CniError 999 if the schema validates asynchronously (CNI plugins validate synchronously).
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#error
 */
export function validateWithSchema<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, options: ValidateWithSchemaOptions): T {
  const std = schema?.["~standard"];
  if (!std || typeof std.validate !== "function") {
    throw new CniError(ErrorCode.Internal, `${options.what} schema is not a Standard Schema (no ["~standard"].validate)`);
  }
  const result = std.validate(value);
  if (isPromiseLike(result)) {
    // Keep an eventual rejection from surfacing as an unhandled rejection.
    Promise.resolve(result).catch(() => {});
    throw new CniError(
      ErrorCode.Internal,
      `${options.what} schema validates asynchronously`,
      "use a synchronous schema (no async refinements or transforms)",
    );
  }
  if (result.issues) {
    const details = result.issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`).join("; ");
    throw new CniError(options.code, `${options.what} is invalid`, details);
  }
  return result.value;
}

function isPromiseLike(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null && typeof (x as { then?: unknown }).then === "function";
}
