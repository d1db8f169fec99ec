/**
 * Version negotiation between the config's cniVersion and the versions a plugin supports,
 * with the Go library's codes and messages.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-considerations
 */
import { CniError, ErrorCode, versionGte } from "@cnikit/spec";
import type { Command } from "./env.js";

/** The oldest config version each gated command exists in. */
const COMMAND_FLOOR: Partial<Record<Command, string>> = {
  CHECK: "0.4.0",
  STATUS: "1.1.0",
  GC: "1.1.0",
};

/** Go's `%q` of a string slice: `["a" "b"]`. */
function quoteList(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(" ")}]`;
}

/**
 * Decides whether `command` may run for a config of `configVersion`.
 *
 * CHECK needs a config >= 0.4.0, STATUS and GC >= 1.1.0, and for those at least one supported
 * version >= the config's. Then the config version must be one of `supported`, by exact string.
 *
 * @throws CniError 1 `config version does not allow X`, `plugin version does not allow X`,
 * `incompatible CNI versions` (details `config is "X", plugin supports ["a" "b"]`);
 * 6 when a version involved in a comparison is malformed.
 * @example checkVersion("ADD", "1.0.0", ["0.4.0", "1.0.0"]);
 */
export function checkVersion(command: Command, configVersion: string, supported: readonly string[]): void {
  const floor = COMMAND_FLOOR[command];
  if (floor !== undefined) {
    if (!versionGte(configVersion, floor)) {
      throw new CniError(ErrorCode.IncompatibleCniVersion, `config version does not allow ${command}`);
    }
    let pluginAllows = false;
    for (const v of supported) {
      if (versionGte(v, configVersion)) {
        pluginAllows = true;
        break;
      }
    }
    if (!pluginAllows) {
      throw new CniError(ErrorCode.IncompatibleCniVersion, `plugin version does not allow ${command}`);
    }
  }
  if (!supported.includes(configVersion)) {
    throw new CniError(
      ErrorCode.IncompatibleCniVersion,
      "incompatible CNI versions",
      `config is ${JSON.stringify(configVersion)}, plugin supports ${quoteList(supported)}`,
    );
  }
}
