/**
 * The debug file that drives the noop plugin and records what it was called with.
 * Keys are camelCase; Go's noop spelling (`ReportResult`, `CmdArgs`, ...) is accepted too.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";

/** What a test writes to steer the plugin, plus what the plugin records. */
export interface Debug {
  /** ADD's stdout, verbatim; or `PASSTHROUGH` (echo prevResult) or `INJECT-DNS` (prevResult + nameserver 1.2.3.4). */
  reportResult?: string;
  /** Fail with this message. */
  reportError?: string;
  /** The code of `reportError` (default 999). */
  reportErrorCode?: number;
  /** Written to stderr before anything else happens. */
  reportStderr?: string;
  /** The cniVersions the plugin claims (default: every released version). */
  reportVersionSupport?: string[];
  /** Exit with this status, printing nothing on stdout. */
  exitWithCode?: number;
  /** A file to append one JSON line per call to. */
  commandLog?: string;
  /** Recorded: the last command. */
  command?: string;
  /** Recorded: the last call's parameters. */
  cmdArgs?: CmdArgs;
  [key: string]: unknown;
}

/** The parameters of one call, as recorded. */
export interface CmdArgs {
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
  stdin: string;
}

/** Reads a debug file; PascalCase keys (Go's) are turned into camelCase. */
export function readDebug(file: string): Debug {
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`debug file ${file} does not hold a JSON object`);
  }
  const out: Debug = {};
  for (const [k, v] of Object.entries(parsed)) out[k.charAt(0).toLowerCase() + k.slice(1)] = v;
  return out;
}

/** Writes a debug file. */
export function writeDebug(file: string, debug: Debug): void {
  writeFileSync(file, `${JSON.stringify(debug, null, 2)}\n`, { mode: 0o600 });
}

/** Appends one JSON line to a command log. */
export function appendCommandLog(file: string, entry: Record<string, unknown>): void {
  appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

/** The debug file named by CNI_ARGS `DEBUG=<path>`, else by the config's `debugFile`. */
export function debugFilePath(cniArgs: string, config: unknown): string | undefined {
  for (const pair of cniArgs.split(";")) {
    if (pair.startsWith("DEBUG=")) return pair.slice("DEBUG=".length) || undefined;
  }
  if (typeof config === "object" && config !== null) {
    const file = (config as Record<string, unknown>).debugFile;
    if (typeof file === "string" && file !== "") return file;
  }
  return undefined;
}
