// Spawns the built scaffolder (dist/index.js), building it first when needed.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { fileURLToPath } from "node:url";

export const PKG_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = join(PKG_DIR, "dist", "index.js");

let built = false;
/** Builds dist/ (tsup + templates copy) once per test process. */
export function buildCli(): void {
  if (built && existsSync(CLI)) return;
  const r = spawnSync("npx", ["tsup"], { cwd: PKG_DIR, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`building create-cni-plugin failed:\n${r.stdout}\n${r.stderr}`);
  built = true;
}

/** The environment the CLI runs in: ours minus npm's and vitest's variables. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|NODE_OPTIONS$|TEST$)/i.test(k)) continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with piped (non-TTY) stdio. */
export function runCli(args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: cleanEnv(opts.env), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end();
  });
}

/**
 * Runs the CLI in a pseudo-terminal (util-linux `script`), so it takes its interactive path,
 * and lets a test answer prompts: `await tty.waitFor(/Template/); tty.send("\r")`.
 */
export function runCliInTty(args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }) {
  const cmd = `stty cols 200 rows 50; exec ${[process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")}`;
  const child = spawn("script", ["-qfec", cmd, "/dev/null"], { cwd: opts.cwd, env: cleanEnv({ TERM: "xterm-256color", ...opts.env }) });
  let raw = "";
  child.stdout.on("data", (d) => (raw += d));
  child.stderr.on("data", (d) => (raw += d));
  const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const text = () => stripVTControlCharacters(raw);
  let seen = 0;
  return {
    /** Everything printed so far, without ANSI escapes. */
    text,
    /** Waits until `re` matches output printed after the previous wait's match. */
    async waitFor(re: RegExp, timeoutMs = 15_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const rest = text().slice(seen);
        const m = re.exec(rest);
        if (m) {
          seen += m.index + m[0].length;
          return;
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re} in:\n${text()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    /** Types keys (give clack a moment to redraw first). */
    async send(keys: string): Promise<void> {
      await new Promise((r) => setTimeout(r, 150));
      child.stdin.write(keys);
    },
    /** Resolves with the exit code. */
    exit: (): Promise<number | null> => closed,
    kill: () => child.kill("SIGKILL"),
  };
}

export const KEY = { enter: "\r", down: "\x1b[B", up: "\x1b[A", ctrlC: "\x03", backspace: "\x7f" } as const;
