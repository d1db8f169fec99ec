/**
 * CNI_ARGS parsing (`K=V;K2=V2`) with the Go library's rules (`types.LoadArgs`), and typed
 * loading through a Standard Schema (zod 4, valibot, ...).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md#cni_args
 */
import { CniError, ErrorCode } from "./errors.js";
import { type StandardSchemaV1, validateWithSchema } from "./standard-schema.js";

/** Go's `%q` for the strings found in CNI_ARGS (JSON quoting is the same for printable text). */
const quote = (s: string) => JSON.stringify(s);

/**
 * Splits CNI_ARGS into key/value pairs: split on `;`, then each pair on `=`, which must give
 * exactly two parts (so values cannot contain `=`, and a trailing `;` is an error), as in Go.
 * An empty string gives `{}`. A repeated key keeps its last value.
 *
 * @example parseCniArgs("IgnoreUnknown=1;K8S_POD_NAME=web-0") // { IgnoreUnknown: "1", K8S_POD_NAME: "web-0" }
 * @throws CniError code 4 (CNI_ARGS is an environment variable) `ARGS: invalid pair "x"`.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
export function parseCniArgs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (s === "") return out;
  for (const pair of s.split(";")) {
    const kv = pair.split("=");
    if (kv.length !== 2) throw new CniError(ErrorCode.InvalidEnvironmentVariables, `ARGS: invalid pair ${quote(pair)}`);
    Object.defineProperty(out, kv[0] as string, {
      value: kv[1] as string,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * Go's `UnmarshallableBool`: `1`/`true` → true, `0`/`false` → false, any letter case.
 *
 * @example parseBoolArg("True") // true
 * @throws CniError code 4 `boolean unmarshal error: invalid input x` (the input lower-cased, as in Go).
 */
export function parseBoolArg(value: string): boolean {
  const s = value.toLowerCase();
  if (s === "1" || s === "true") return true;
  if (s === "0" || s === "false") return false;
  throw new CniError(ErrorCode.InvalidEnvironmentVariables, `boolean unmarshal error: invalid input ${s}`);
}

/**
 * Parses CNI_ARGS and, when given a schema, validates it.
 *
 * Lenient by default: without a schema every pair is returned as a string (unknown keys are
 * not an error, unlike Go's LoadArgs); with a schema, unknown keys are whatever the schema
 * does with them (`z.object` drops them, `z.strictObject` rejects them). `IgnoreUnknown`
 * (Go's `CommonArgs`) is checked with {@link parseBoolArg}; without a schema it stays in the
 * record as given, with a schema it is removed before validation so that strict schemas
 * need not declare it. When it is true and the schema exposes its keys (zod 4 classic or mini
 * objects, valibot objects), undeclared keys are dropped before validation, so
 * `z.strictObject` accepts CNI_ARGS meant for other plugins, as Go's LoadArgs does.
 *
 * @example
 * const args = loadCniArgs(env.CNI_ARGS ?? "", z.object({ K8S_POD_NAME: z.string().optional() }));
 * @throws CniError code 4: `ARGS: invalid pair "x"`,
 *   `ARGS: error parsing value of pair "IgnoreUnknown=x": boolean unmarshal error: invalid input x`,
 *   or `CNI_ARGS is invalid` with the schema's issues in details (`K: message; K2: message`).
 * @see https://github.com/containernetworking/cni/blob/main/CONVENTIONS.md#cni_args
 */
export function loadCniArgs(s: string): Record<string, string>;
export function loadCniArgs<T>(s: string, schema: StandardSchemaV1<unknown, T>): T;
export function loadCniArgs<T>(s: string, schema?: StandardSchemaV1<unknown, T>): T | Record<string, string> {
  const args = parseCniArgs(s);
  const ignore = args.IgnoreUnknown;
  if (ignore !== undefined) {
    try {
      parseBoolArg(ignore);
    } catch (err) {
      throw new CniError(
        ErrorCode.InvalidEnvironmentVariables,
        `ARGS: error parsing value of pair ${quote(`IgnoreUnknown=${ignore}`)}: ${(err as CniError).msg}`,
      );
    }
  }
  if (!schema) return args;
  const { IgnoreUnknown: _ignored, ...rest } = args;
  if (ignore !== undefined && parseBoolArg(ignore)) {
    // IgnoreUnknown=1 (Go's CommonArgs): keys the schema does not declare are dropped before
    // validation, so even a strict object schema accepts CNI_ARGS meant for other plugins.
    const known = declaredKeys(schema);
    if (known) {
      for (const key of Object.keys(rest)) if (!known.has(key)) delete rest[key];
    }
  }
  return validateWithSchema(schema, rest, {
    code: ErrorCode.InvalidEnvironmentVariables,
    what: "CNI_ARGS",
  });
}

/**
 * The keys an object schema declares, when the schema exposes them: zod 4 classic and mini
 * (`shape`, or `_zod.def.shape`), valibot (`entries`). Undefined for any other schema.
 */
function declaredKeys(schema: unknown): Set<string> | undefined {
  const s = schema as {
    shape?: unknown;
    entries?: unknown;
    _zod?: { def?: { shape?: unknown } };
  };
  const shape = s._zod?.def?.shape ?? s.shape ?? s.entries;
  if (typeof shape !== "object" || shape === null) return undefined;
  return new Set(Object.keys(shape));
}

/**
 * True when CNI_ARGS carries `IgnoreUnknown` set to a true value (Go's `CommonArgs`).
 *
 * @example cniArgsIgnoreUnknown(parseCniArgs("IgnoreUnknown=1")) // true
 * @throws CniError code 4 for a value that is not a boolean.
 */
export function cniArgsIgnoreUnknown(args: Record<string, string>): boolean {
  const v = args.IgnoreUnknown;
  return v === undefined ? false : parseBoolArg(v);
}
