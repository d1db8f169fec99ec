/**
 * Flag parsing for every `cnikit` command: `--flag VALUE`, `--flag=VALUE`, short aliases
 * (`-i NAME`), boolean flags, repeatable flags, `--` and `-h/--help`.
 */

/** A bad command line, for every `cnikit` command (exit 2, with a hint to `--help`). */
export class CliUsageError extends Error {}

/** What each flag takes: a value (last one wins), a repeatable value, or nothing. */
export type FlagSpec = Record<string, "value" | "list" | "boolean">;

/** The parsed command line. */
export interface ParsedFlags {
  positionals: string[];
  values: Record<string, string>;
  lists: Record<string, string[]>;
  booleans: Set<string>;
}

/**
 * Parses `argv` against `spec` (`aliases` maps a short flag to its long name, e.g. `-i` →
 * `--ifname`); returns "help" for -h/--help. A value flag needs a non-empty value; a boolean one
 * takes none.
 */
export function parseFlags(
  argv: readonly string[],
  spec: FlagSpec,
  aliases: Readonly<Record<string, string>> = {},
): ParsedFlags | "help" {
  const out: ParsedFlags = { positionals: [], values: {}, lists: {}, booleans: new Set() };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i] as string;
    let inline: string | undefined;
    if (arg.startsWith("--") && arg.includes("=")) {
      inline = arg.slice(arg.indexOf("=") + 1);
      arg = arg.slice(0, arg.indexOf("="));
    }
    if (arg === "-h" || arg === "--help") return "help";
    arg = aliases[arg] ?? arg;
    if (arg === "--") {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    const kind = spec[arg];
    if (kind === undefined) {
      if (arg.startsWith("-") && arg !== "-") throw new CliUsageError(`unknown flag: ${arg}`);
      out.positionals.push(arg);
      continue;
    }
    if (kind === "boolean") {
      if (inline !== undefined) throw new CliUsageError(`flag takes no value: ${arg}`);
      out.booleans.add(arg);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || value === "") throw new CliUsageError(`flag needs an argument: ${arg}`);
    if (kind === "value") out.values[arg] = value;
    else out.lists[arg] = [...(out.lists[arg] ?? []), value];
  }
  return out;
}
