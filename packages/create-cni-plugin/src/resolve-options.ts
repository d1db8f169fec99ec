import { basename, resolve } from "node:path";
import type { CliArgs } from "./args.js";
import { UsageError } from "./args.js";
import { toValidPluginName, validatePluginName } from "./plugin-name.js";
import { DEFAULT_TEMPLATE, TEMPLATES, findTemplate, type TemplateInfo } from "./templates.js";
import { isEmptyDir } from "./scaffold.js";

/** Directory used when none is given and no prompt can be shown. */
export const DEFAULT_TARGET_DIR = "my-cni-plugin";

/** What to do with a non-empty target directory. */
export type OverwriteChoice = "overwrite" | "ignore" | "cancel";

/**
 * The questions the scaffolder may ask. The CLI implements it with
 * @clack/prompts; tests inject answers. Returning `undefined` means the user cancelled.
 */
export interface Prompter {
  text(q: { message: string; placeholder?: string; defaultValue?: string; validate?: (v: string) => string | undefined }): Promise<string | undefined>;
  select<T extends string>(q: { message: string; options: { value: T; label: string; hint?: string }[]; initialValue?: T }): Promise<T | undefined>;
  confirm(q: { message: string; initialValue?: boolean }): Promise<boolean | undefined>;
}

/** The final answers: everything needed to write the project. */
export interface ResolvedOptions {
  /** As given (relative), for messages. */
  targetDir: string;
  /** Absolute. */
  targetPath: string;
  name: string;
  template: TemplateInfo;
  /** Empty the target directory first. */
  overwrite: boolean;
  install: boolean;
}

/** The user cancelled a prompt (Ctrl-C / Esc) or chose "Cancel". */
export class CancelledError extends Error {
  override readonly name = "CancelledError";
}

/**
 * Turns command-line flags into final answers, asking `prompter` for anything
 * missing when `interactive`, using defaults otherwise.
 *
 * @throws {UsageError} on an unknown template, an invalid name, or a non-empty directory without `--overwrite` (non-interactive).
 * @throws {CancelledError} when the user cancels a prompt.
 * @example
 * ```ts
 * await resolveOptions({ targetDir: "x", template: "main", help: false, version: false }, { interactive: false, cwd: process.cwd() });
 * ```
 */
export async function resolveOptions(
  args: CliArgs,
  ctx: { interactive: boolean; cwd: string; prompter?: Prompter },
): Promise<ResolvedOptions> {
  const { interactive, prompter } = ctx;
  const ask = interactive ? prompter : undefined;
  if (interactive && !prompter) throw new Error("interactive mode needs a prompter");

  // 1. directory
  let targetDir = args.targetDir?.trim().replace(/\/+$/, "") || undefined;
  if (targetDir === undefined && ask) {
    targetDir = need(
      await ask.text({
        message: "Project directory:",
        placeholder: DEFAULT_TARGET_DIR,
        defaultValue: DEFAULT_TARGET_DIR,
      }),
    ).trim();
  }
  targetDir ||= DEFAULT_TARGET_DIR;
  const targetPath = resolve(ctx.cwd, targetDir);

  // 2. non-empty directory
  let overwrite = args.overwrite === true;
  if (!overwrite && !(await isEmptyDir(targetPath))) {
    const where = targetDir === "." ? "The current directory" : `Directory "${targetDir}"`;
    if (!ask) {
      throw new UsageError(`${where} is not empty. Use --overwrite to remove its files first, or pick another directory.`);
    }
    const choice = need(
      await ask.select<OverwriteChoice>({
        message: `${where} is not empty. What now?`,
        options: [
          { value: "cancel", label: "Cancel" },
          { value: "overwrite", label: "Remove existing files and continue" },
          { value: "ignore", label: "Ignore files and continue" },
        ],
        initialValue: "cancel",
      }),
    );
    if (choice === "cancel") throw new CancelledError("Cancelled: the directory is not empty.");
    overwrite = choice === "overwrite";
  }

  // 3. plugin name
  let name = args.name;
  if (name !== undefined) {
    const problem = validatePluginName(name);
    if (problem) {
      if (!ask) throw new UsageError(`Invalid plugin name "${name}": ${problem}`);
      name = undefined;
    }
  }
  const derived = toValidPluginName(basename(targetPath));
  if (name === undefined) {
    if (ask) {
      const suggestion = derived ?? "my-plugin";
      name = need(
        await ask.text({
          message: "Plugin name (the executable's name and the config's \"type\"):",
          placeholder: suggestion,
          defaultValue: suggestion,
          validate: (v) => (v === "" ? undefined : validatePluginName(v)),
        }),
      );
      name ||= suggestion;
    } else if (derived) {
      name = derived;
    } else {
      throw new UsageError(
        `Cannot derive a plugin name from "${basename(targetPath)}": pass --name (lowercase letters, digits, '-', '_').`,
      );
    }
  }

  // 4. template
  let template = args.template !== undefined ? findTemplate(args.template) : undefined;
  if (args.template !== undefined && !template && !ask) {
    throw new UsageError(
      `Unknown template "${args.template}". Templates: ${TEMPLATES.map((t) => t.name).join(", ")}.`,
    );
  }
  if (!template) {
    if (ask) {
      const picked = need(
        await ask.select({
          message:
            args.template !== undefined
              ? `"${args.template}" isn't a template. Pick one:`
              : "Which kind of plugin?",
          options: TEMPLATES.map((t) => ({ value: t.name, label: `${t.name} — ${t.title}`, hint: t.description })),
          initialValue: DEFAULT_TEMPLATE,
        }),
      );
      template = findTemplate(picked);
    }
    template ??= findTemplate(DEFAULT_TEMPLATE);
  }
  if (!template) throw new Error("no default template");

  // 5. install
  let install = args.install;
  if (install === undefined) {
    install = ask ? need(await ask.confirm({ message: "Install dependencies now?", initialValue: true })) : true;
  }

  return { targetDir, targetPath, name, template, overwrite, install };
}

function need<T>(answer: T | undefined): T {
  if (answer === undefined) throw new CancelledError("Cancelled.");
  return answer;
}
