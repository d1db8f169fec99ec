import { TEMPLATES, DEFAULT_TEMPLATE } from "./templates.js";
import { MAX_PLUGIN_NAME_LENGTH } from "./plugin-name.js";

/**
 * The `--help` text, built from {@link TEMPLATES}.
 *
 * @example
 * ```ts
 * process.stdout.write(helpText());
 * ```
 */
export function helpText(): string {
  const width = Math.max(...TEMPLATES.map((t) => t.name.length));
  const templates = TEMPLATES.map(
    (t) => `  ${t.name.padEnd(width)}  ${t.title}: ${t.description}${t.name === DEFAULT_TEMPLATE ? " (default)" : ""}`,
  ).join("\n");
  return `Usage: create-cni-plugin [DIRECTORY] [OPTIONS]

Create a CNI plugin written in TypeScript with cnikit.
  npm create cni-plugin my-plugin -- --template main
  pnpm create cni-plugin my-plugin --template ipam

With no options in a terminal it asks for what is missing.

Options:
  -t, --template NAME    template to use (see below)
  -n, --name NAME        plugin name: the executable's name and the config's "type"
                         (a-z, 0-9, '-', '_', starts with a letter, at most ${MAX_PLUGIN_NAME_LENGTH});
                         default: derived from DIRECTORY
      --overwrite        empty DIRECTORY first if it is not empty (keeps .git)
      --no-install       do not install dependencies
      --no-interactive   never prompt; use flags and defaults
  -h, --help             show this help
  -v, --version          show the version

Templates:
${templates}
`;
}
