/**
 * Running helper commands (iproute2, nsenter, ping) and collecting their output.
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
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command with optional stdin and collects its output; never rejects
 * for a non-zero exit (only when the command cannot be started).
 * @internal
 */
export function runCommand(
  argv: readonly string[],
  opts: { stdin?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CommandOutput> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error("empty command"));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.stdin ?? "");
  });
}

/**
 * Runs a command and returns stdout, throwing a readable error on failure.
 * @internal
 */
export async function mustRun(argv: readonly string[], what: string): Promise<string> {
  const r = await runCommand(argv, { timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new Error(`${what} failed: ${argv.join(" ")} → exit ${r.code ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}
