/**
 * Running commands (iproute2, nsenter, ping, iptables, a plugin) and collecting their output.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { spawn } from "node:child_process";

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

/**
 * Runs a command (no shell) and collects its output; never rejects for a non-zero exit.
 *
 * @throws Error only when the command cannot be started (not found, not executable).
 * @example
 * ```ts
 * const { code, stdout } = await runCommand(["iptables", "-t", "nat", "-S"]);
 * if (code === 0) console.log(stdout);
 * ```
 */
export function runCommand(argv: readonly string[], opts: RunCommandOptions = {}): Promise<CommandOutput> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error("empty command"));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.stdin ?? "");
  });
}

/**
 * Runs a command (no shell) and returns its stdout; a non-zero exit throws.
 *
 * @throws Error naming the command, its exit code and its stderr (or stdout).
 * @example
 * ```ts
 * const routes = JSON.parse(await runCommandOrThrow(["ip", "-j", "route"]));
 * ```
 */
export async function runCommandOrThrow(argv: readonly string[], opts: RunCommandOptions = {}): Promise<string> {
  const r = await runCommand(argv, opts);
  if (r.code !== 0) {
    throw new Error(`${argv.join(" ")} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}
