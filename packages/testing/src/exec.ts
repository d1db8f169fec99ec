/**
 * Running commands (iproute2, nsenter, ping, iptables, a plugin) and collecting their output.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { execa, type Options as ExecaOptions } from "execa";

/**
 * What a helper command printed.
 *
 * @example
 * ```ts
 * const out: CommandOutput = await ns.exec(["ip", "-brief", "addr"]);
 * if (out.code !== 0) throw new Error(out.stderr);
 * ```
 */
export interface CommandOutput {
  /** Exit code (`null` when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Options for {@link runCommand} and {@link runCommandOrThrow}.
 *
 * @example
 * ```ts
 * const opts: RunCommandOptions = { stdin: "{}", env: { PATH: "/usr/bin:/bin" }, timeoutMs: 5_000 };
 * ```
 */
export interface RunCommandOptions {
  /** Written to the command's stdin (default: nothing, stdin closed). */
  stdin?: string | undefined;
  /** The whole environment (default: the test process's). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Working directory (default: the test process's). */
  cwd?: string | undefined;
  /** Kill the command (SIGKILL) after this long (default 30 s). */
  timeoutMs?: number | undefined;
}

function execaOptions(opts: RunCommandOptions) {
  return {
    input: opts.stdin ?? "",
    // the whole environment, as given (execa would otherwise add the test process's)
    ...(opts.env !== undefined ? { env: opts.env, extendEnv: false } : {}),
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    timeout: opts.timeoutMs ?? 30_000,
    killSignal: "SIGKILL",
    stripFinalNewline: false,
  } satisfies ExecaOptions;
}

/**
 * Runs a command (no shell) and collects its output; never rejects for a non-zero exit.
 *
 * @throws Error only when the command cannot be started (not found, not executable): execa's
 *   message names the command and the reason.
 * @example
 * ```ts
 * const { code, stdout } = await runCommand(["iptables", "-t", "nat", "-S"]);
 * if (code === 0) console.log(stdout);
 * ```
 */
export async function runCommand(argv: readonly string[], opts: RunCommandOptions = {}): Promise<CommandOutput> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error("empty command");
  const r = await execa(cmd, args, { ...execaOptions(opts), reject: false });
  if (r.failed && r.exitCode === undefined && r.signal === undefined && !r.timedOut) {
    // not started at all (ENOENT, EACCES): the one case that rejects
    throw new Error(r.message, { cause: r.cause });
  }
  return { code: r.exitCode ?? null, signal: (r.signal as NodeJS.Signals | undefined) ?? null, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs a command (no shell) and returns its stdout; a non-zero exit throws.
 *
 * @throws ExecaError (an Error) whose message names the command, its exit code (or the signal,
 *   or the timeout) and its stderr and stdout; `exitCode`, `stderr`, `stdout` are on it too.
 * @example
 * ```ts
 * const routes = JSON.parse(await runCommandOrThrow(["ip", "-j", "route"]));
 * ```
 */
export async function runCommandOrThrow(argv: readonly string[], opts: RunCommandOptions = {}): Promise<string> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error("empty command");
  return (await execa(cmd, args, execaOptions(opts))).stdout;
}
