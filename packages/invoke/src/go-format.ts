/**
 * Small formatting helpers that reproduce the Go library's error texts (runtimes and users
 * grep for them). Internal: not exported from the package entry.
 */
import { createRequire } from "node:module";

/**
 * A built-in module loaded on first use (`node:util` is needed only to describe a failed spawn;
 * under Bun loading it costs ~2.5 ms, and `node:child_process` ~1.5 ms, on every plugin call):
 * `process.getBuiltinModule` on Node ≥ 20.16 and Bun, else `require` from any base path.
 */
export function builtin<T>(name: string): T {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const mod = typeof get === "function" ? get.call(process, name) : undefined;
  return (mod ?? createRequire(process.execPath)(name)) as T;
}

/** Go's `%q` for a string (close enough: JSON escaping). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Go's `%s` / `%v` for a `[]string`: `[a b c]`. */
export function goList(items: readonly string[]): string {
  return `[${items.join(" ")}]`;
}

const SIGNAL_TEXT: Record<string, string> = {
  SIGKILL: "killed",
  SIGTERM: "terminated",
  SIGINT: "interrupt",
  SIGSEGV: "segmentation fault",
  SIGABRT: "aborted",
  SIGHUP: "hangup",
  SIGPIPE: "broken pipe",
  SIGQUIT: "quit",
  SIGBUS: "bus error",
  SIGILL: "illegal instruction",
  SIGFPE: "floating point exception",
};

/** Go's `*exec.ExitError` text: `exit status N` or `signal: killed`. */
export function exitText(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal: ${SIGNAL_TEXT[signal] ?? signal}`;
  return `exit status ${code ?? -1}`;
}

/** The strerror text of a Node system error (`no such file or directory`), else its message. */
export function systemErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.errno === "number") {
    const entry = builtin<typeof import("node:util")>("node:util").getSystemErrorMap().get(e.errno);
    if (entry) return entry[1];
  }
  return e instanceof Error ? e.message : String(err);
}

/** Cuts long plugin output for error messages (a plugin can print megabytes). */
export function clip(s: string, max = 4096): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length - max} more chars)`;
}
