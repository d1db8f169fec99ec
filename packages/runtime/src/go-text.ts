/**
 * Go-compatible texts for libcni's error messages. Internal.
 */

/** Go's `%T` of a value decoded by encoding/json into `interface{}`. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (typeof v === "number") return "float64";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "string";
  if (Array.isArray(v)) return "[]interface {}";
  return "map[string]interface {}";
}

/** Go's `%q`. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** True for a plain JSON object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const GO_HTML_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
  return out;
}

/**
 * Go's `json.Marshal` of a value decoded into `interface{}`: compact, map keys sorted, and
 * `<`, `>`, `&`, U+2028, U+2029 escaped. libcni writes config bytes it builds itself this way
 * (e.g. the list made from a legacy `.conf`), and those bytes end up in the result cache.
 */
export function goMarshal(v: unknown): string {
  return JSON.stringify(sortKeys(v)).replace(/[<>&\u2028\u2029]/g, (c) => GO_HTML_ESCAPES[c] as string);
}
