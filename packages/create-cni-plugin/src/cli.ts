import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as clack from "@clack/prompts";
import { type CliArgs, parseCliArgs, UsageError } from "./args.js";
import { helpText } from "./help.js";
import { commandsFor, detectPackageManager } from "./package-manager.js";
import { CancelledError, resolveOptions, type Prompter, type ResolvedOptions } from "./resolve-options.js";
import { emptyDir, scaffold } from "./scaffold.js";

/** The process bits the CLI uses, injectable for tests. */
export interface CliIo {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Folder holding `template-*` and `versions.json`; default: `templates/` beside the built CLI. */
  templatesDir?: string;
}

const clackPrompter: Prompter = {
  async text(q) {
    const { validate, ...rest } = q;
    const v = await clack.text(validate ? { ...rest, validate: (s) => validate(s ?? "") } : rest);
    return clack.isCancel(v) ? undefined : v;
  },
  async select(q) {
    const v = await clack.select(q as Parameters<typeof clack.select>[0]);
    return clack.isCancel(v) ? undefined : (v as typeof q.initialValue);
  },
  async confirm(q) {
    const v = await clack.confirm(q);
    return clack.isCancel(v) ? undefined : v;
  },
};

/**
 * Runs `create-cni-plugin` and returns its exit code: 0 done, 1 failed or
 * cancelled, 2 bad command line.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd(), stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export async function runCli(io: CliIo): Promise<number> {
  const print = (s: string) => io.stdout.write(`${s}\n`);
  const fail = (s: string) => io.stderr.write(`${s}\n`);
  const own = ownPackage();

  let args: CliArgs;
  try {
    args = parseCliArgs(io.argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    fail(`create-cni-plugin: ${err.message}\nRun create-cni-plugin --help for usage.`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(helpText());
    return 0;
  }
  if (args.version) {
    print(own.version);
    return 0;
  }

  const interactive = args.interactive ?? (io.stdin.isTTY === true && io.stdout.isTTY === true);
  const pm = detectPackageManager(io.env.npm_config_user_agent);
  const cmds = commandsFor(pm);
  if (interactive) clack.intro("create-cni-plugin");

  let opts: ResolvedOptions;
  try {
    opts = await resolveOptions(args, { interactive, cwd: io.cwd, prompter: clackPrompter });
  } catch (err) {
    if (err instanceof CancelledError) {
      if (interactive) clack.cancel(err.message);
      else fail(err.message);
      return 1;
    }
    if (err instanceof UsageError) {
      fail(`create-cni-plugin: ${err.message}`);
      return 2;
    }
    throw err;
  }

  const templatesDir = io.templatesDir ?? fileURLToPath(new URL("./templates/", import.meta.url));
  const templateDir = join(templatesDir, opts.template.folder);
  if (!existsSync(templateDir)) {
    fail(`create-cni-plugin: template folder missing: ${templateDir} (broken install?)`);
    return 1;
  }
  if (opts.overwrite) await emptyDir(opts.targetPath);
  const versions = readVersions(templatesDir);
  await scaffold({
    templateDir,
    targetDir: opts.targetPath,
    name: opts.name,
    versions,
    fallbackVersion: own.version,
  });

  const rel = relative(io.cwd, opts.targetPath) || ".";
  const say = interactive ? (s: string) => clack.log.success(s) : print;
  say(`Created ${opts.template.name} plugin "${opts.name}" in ${rel}`);

  if (opts.install) {
    const [cmd, ...cmdArgs] = cmds.install;
    say(`Installing dependencies with ${cmds.install.join(" ")}...`);
    // execa (loaded only here): its error names the command and the exit code, signal or spawn
    // error, with the tool's stderr, which the user also sees live
    const { execa } = await import("execa");
    const res = await execa(cmd, cmdArgs, {
      cwd: opts.targetPath,
      env: { ...io.env },
      extendEnv: false,
      stdin: "inherit",
      stdout: "inherit",
      stderr: ["inherit", "pipe"],
      reject: false,
    });
    if (res.failed) {
      fail(`create-cni-plugin: ${res.message}\nThe project is written; run ${cmds.install.join(" ")} yourself in ${rel}.`);
      return 1;
    }
  }

  const steps = [
    ...(rel !== "." ? [`cd ${rel.includes(" ") ? JSON.stringify(rel) : rel}`] : []),
    ...(opts.install ? [] : [cmds.install.join(" ")]),
    `${cmds.run("build")}          # → dist/${opts.name} (one file, needs only node)`,
    `${cmds.run("build:bun")}      # → dist-bun/${opts.name} (Bun executable: the fastest start, no node needed)`,
    `sudo ${cmds.run("test")}      # tests create network namespaces: run them as root`,
    `sudo npx cnikit install dist   # → /opt/cni/bin, atomically; README.md shows how to try it`,
  ];
  if (interactive) {
    clack.note(steps.join("\n"), "Next steps");
    clack.outro("Happy networking!");
  } else {
    print(`\nNext steps:\n${steps.map((s) => `  ${s}`).join("\n")}\n`);
  }
  return 0;
}

function ownPackage(): { version: string } {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: string };
    return { version: pkg.version ?? "0.0.0" };
  } catch {
    return { version: "0.0.0" };
  }
}

function readVersions(templatesDir: string): Record<string, string> {
  try {
    return JSON.parse(readFileSync(join(templatesDir, "versions.json"), "utf8")) as Record<string, string>;
  } catch {
    return {};
  }
}
