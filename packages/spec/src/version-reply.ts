/**
 * Decoding of a plugin's VERSION reply, with the rules and messages of Go's
 * `version.PluginDecoder` (runtimes and users grep for these texts).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-success
 */
import { CniError, ErrorCode } from "./errors.js";
import type { VersionReply } from "./types.js";

const PREFIX = "decoding version info";

function fail(msg: string, cause?: unknown): CniError {
  return new CniError(ErrorCode.DecodingFailure, `${PREFIX}: ${msg}`, undefined, cause === undefined ? undefined : { cause });
}

/**
 * Decodes a VERSION reply (a plugin's stdout for `CNI_COMMAND=VERSION`).
 *
 * `cniVersion` is required. An empty or missing `supportedVersions` is accepted only from a
 * plugin answering `cniVersion: "0.2.0"` (pre-0.3 plugins), which means `["0.1.0", "0.2.0"]`.
 * (Go's decoder also relabels that reply's `cniVersion` to its own current version; we keep
 * the plugin's "0.2.0".)
 *
 * @example
 * decodeVersionReply('{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}');
 * @throws CniError code 6: `decoding version info: <JSON error>`,
 *   `decoding version info: missing field cniVersion`,
 *   `decoding version info: missing field supportedVersions`, or a wrong field type.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-success
 */
export function decodeVersionReply(input: string | unknown): VersionReply {
  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw fail((err as Error).message, err);
    }
  }
  if (value === null) value = {}; // Go: unmarshalling `null` into a struct is a no-op
  if (typeof value !== "object" || Array.isArray(value)) {
    throw fail(`json: cannot unmarshal ${Array.isArray(value) ? "array" : typeof value} into a version reply object`);
  }
  const o = value as Record<string, unknown>;
  const cniVersion = o.cniVersion ?? "";
  if (typeof cniVersion !== "string") throw fail(`json: cannot unmarshal ${typeof cniVersion} into field cniVersion of type string`);
  const raw = o.supportedVersions ?? [];
  if (!Array.isArray(raw)) throw fail(`json: cannot unmarshal ${typeof raw} into field supportedVersions of type []string`);
  const supportedVersions = raw.map((v, i) => {
    if (typeof v !== "string") throw fail(`json: cannot unmarshal ${typeof v} into field supportedVersions[${i}] of type string`);
    return v;
  });
  if (cniVersion === "") throw fail("missing field cniVersion");
  if (supportedVersions.length === 0) {
    if (cniVersion === "0.2.0") return { cniVersion, supportedVersions: ["0.1.0", "0.2.0"] };
    throw fail("missing field supportedVersions");
  }
  return { cniVersion, supportedVersions };
}
