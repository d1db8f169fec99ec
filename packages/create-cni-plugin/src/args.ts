import { parseArgs } from "node:util";

/** What the command line asked for; anything left undefined is prompted for or defaulted. */
export interface CliArgs {
  targetDir?: string;
  template?: string;
  name?: string;
  /** `--install` → true, `--no-install` → false. */
  install?: boolean;
  overwrite?: boolean;
  /** `--interactive` → true, `--no-interactive` → false; default: prompt when stdin and stdout are TTYs. */
  interactive?: boolean;
  help: boolean;
  version: boolean;
}

/** A command line we cannot make sense of; the CLI prints it with a hint to `--help`, exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Parses the scaffolder's command line (without `node` and the script).
 *
 * @throws {UsageError} on an unknown flag, a missing flag value or more than one directory.
 * @example
 * ```ts
 * parseCliArgs(["my-plugin", "--template", "ipam", "--no-install"]);
 * // { targetDir: "my-plugin", template: "ipam", install: false, help: false, version: false }
 * ```
 */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify a positional.*$/s, ".") : String(err));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new UsageError(`Expected at most one directory, got ${positionals.length}: ${positionals.join(" ")}`);
  }
  const args: CliArgs = { help: values.help === true, version: values.version === true };
  const dir = positionals[0];
  if (dir !== undefined) args.targetDir = dir;
  if (values.template !== undefined) args.template = values.template;
  if (values.name !== undefined) args.name = values.name;
  const install = flag(values.install, values["no-install"], "install");
  if (install !== undefined) args.install = install;
  if (values.overwrite === true) args.overwrite = true;
  const interactive = flag(values.interactive, values["no-interactive"], "interactive");
  if (interactive !== undefined) args.interactive = interactive;
  return args;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      template: { type: "string", short: "t" },
      name: { type: "string", short: "n" },
      install: { type: "boolean" },
      "no-install": { type: "boolean" },
      overwrite: { type: "boolean" },
      interactive: { type: "boolean" },
      "no-interactive": { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
}

function flag(yes: boolean | undefined, no: boolean | undefined, name: string): boolean | undefined {
  if (yes && no) throw new UsageError(`--${name} and --no-${name} contradict each other`);
  if (yes) return true;
  if (no) return false;
  return undefined;
}
