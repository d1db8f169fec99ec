/**
 * The CNI_* environment table: which variable each command needs, and how it is validated.
 * Follows the spec 1.1.0 table (CNI_PATH optional except for GC, CNI_NETNS optional for DEL);
 * all missing variables are reported together in one code-4 error, in the Go library's order.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
import { fileOps } from "@cnikit/native/files";
import { CniError, ErrorCode, validateContainerId, validateInterfaceName } from "@cnikit/spec";

/**
 * The commands a handler serves. VERSION is answered by skel itself.
 *
 * @example
 * HANDLER_COMMANDS.includes(command as Command); // false for "VERSION"
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#cni-operations
 */
export const HANDLER_COMMANDS = ["ADD", "DEL", "CHECK", "STATUS", "GC"] as const;

/**
 * A command dispatched to a handler.
 *
 * @example
 * const command: Command = ctx.command; // "ADD" | "DEL" | "CHECK" | "STATUS" | "GC"
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#cni-operations
 */
export type Command = (typeof HANDLER_COMMANDS)[number];

/**
 * Every value of CNI_COMMAND skel understands.
 *
 * @example
 * const command: AnyCommand = "VERSION";
 * await invoke(plugin, { command });
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
export type AnyCommand = Command | "VERSION";

/** True for a CNI_COMMAND skel knows. */
export function isKnownCommand(value: string): value is AnyCommand {
  return value === "VERSION" || (HANDLER_COMMANDS as readonly string[]).includes(value);
}

/** The CNI_* values of one invocation ("" when unset). */
export interface CniEnv {
  command: AnyCommand;
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
  netnsOverride: string;
}

interface EnvEntry {
  name: string;
  key: Exclude<keyof CniEnv, "command">;
  requiredFor: readonly AnyCommand[];
  validate?: (value: string) => void;
}

// Order matters: it is the order of names in the "missing" message (Go's).
const ENV_TABLE: readonly EnvEntry[] = [
  {
    name: "CNI_CONTAINERID",
    key: "containerId",
    requiredFor: ["ADD", "CHECK", "DEL"],
    validate: validateContainerId,
  },
  { name: "CNI_NETNS", key: "netns", requiredFor: ["ADD", "CHECK"] },
  {
    name: "CNI_IFNAME",
    key: "ifName",
    requiredFor: ["ADD", "CHECK", "DEL"],
    validate: validateInterfaceName,
  },
  { name: "CNI_ARGS", key: "args", requiredFor: [] },
  { name: "CNI_PATH", key: "path", requiredFor: ["GC"] },
  { name: "CNI_NETNS_OVERRIDE", key: "netnsOverride", requiredFor: [] },
];

/**
 * Reads the CNI_* variables for `command` (already known to be valid).
 *
 * A required variable that is present is validated at once (Go's order: the first invalid one
 * wins); the missing ones are collected and reported together.
 *
 * @throws CniError 4 `required env variables [A,B] missing`, or a validator's error
 * (`invalid characters in containerID`, `interface name is too long`, ...).
 * @example readCniEnv({ CNI_COMMAND: "VERSION" }, "VERSION")
 */
export function readCniEnv(env: Readonly<Record<string, string | undefined>>, command: AnyCommand): CniEnv {
  const out: CniEnv = {
    command,
    containerId: "",
    netns: "",
    ifName: "",
    args: "",
    path: "",
    netnsOverride: "",
  };
  const missing: string[] = [];
  for (const entry of ENV_TABLE) {
    const value = env[entry.name] ?? "";
    out[entry.key] = value;
    const required = entry.requiredFor.includes(command);
    if (value === "") {
      if (required) missing.push(entry.name);
    } else if (required && entry.validate) {
      entry.validate(value);
    }
  }
  if (missing.length > 0) throw missingEnvError(missing);
  return out;
}

/** The code-4 error naming missing variables, formatted like Go's. */
export function missingEnvError(names: readonly string[]): CniError {
  return new CniError(ErrorCode.InvalidEnvironmentVariables, `required env variables [${names.join(",")}] missing`);
}

/** CNI_PATH split on ":" with empty entries dropped. */
export function splitCniPath(path: string): string[] {
  return path.split(":").filter((p) => p !== "");
}

/**
 * What is unsafe in CNI_PATH for a plugin that runs as root and executes delegates found there:
 * relative entries (resolved from whatever the working directory is) and directories anyone
 * can write to (anyone could plant a plugin). One message per bad entry; missing ones are fine.
 */
export function cniPathWarnings(path: string): { msg: string; entry: string }[] {
  const out: { msg: string; entry: string }[] = [];
  for (const entry of splitCniPath(path)) {
    if (!entry.startsWith("/")) {
      out.push({ msg: "CNI_PATH entry is relative: delegates would be looked up from the working directory", entry });
      continue;
    }
    const st = fileOps.statSync(entry, { throwIfNoEntry: false });
    if (st?.isDirectory() && (st.mode & 0o002) !== 0) {
      out.push({ msg: "CNI_PATH entry is world-writable: anyone could plant a plugin there", entry });
    }
  }
  return out;
}

/** True when CNI_NETNS_OVERRIDE asks to skip the netns self-check ("1" or "true", any case). */
export function isNetnsOverride(value: string): boolean {
  return value === "1" || value.toLowerCase() === "true";
}
