/**
 * `demo --agent`: our plugins in agent mode. Each cnikit plugin of the network is installed in
 * the run's plugin directory as its agent shim (`examples/<type>/dist/agent/<type>`, written by
 * `cnikit-build --agent`) with a sidecar naming a socket in the run's temp dir; a private
 * `cnikit-agent` serves them there and is stopped by pid when the run ends. Its `call` log lines
 * give the per-call times printed at the end.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The node flags the daemon runs with (`AGENT_NODE_FLAGS` of @cnikit/agent; its bin's shebang has them). */
const DAEMON_NODE_FLAGS = ["--max-semi-space-size=1", "--optimize-for-size"];

/** One `call` line of the daemon's log. */
export interface AgentCall {
  plugin: string;
  command: string;
  ms: number;
  exitCode: number;
  inProcess?: boolean;
}

/** A running private daemon. */
export interface DemoAgent {
  readonly pid: number;
  readonly socketDir: string;
  /** The calls it answered so far. */
  readonly calls: AgentCall[];
  /** SIGTERM (SIGKILL after 5 s); resolves once it is gone. Safe to call twice. */
  stop(): Promise<void>;
}

/** The files `--agent` needs from a built repository (empty when all are there). */
export function agentFilesMissing(root: string, types: readonly string[]): string[] {
  const need = [join(root, "packages", "agent", "dist", "cli.js")];
  for (const t of types)
    need.push(
      join(root, "examples", t, "dist", "agent", t),
      `${join(root, "examples", t, "dist", "agent", t)}.plugin.cjs`,
    );
  return need.filter((p) => !existsSync(p));
}

/**
 * Copies the shim of `type` to `binDir/<type>` with a sidecar beside it: socket
 * `<socketDir>/<type>.sock`, fallback the usual one-shot build.
 */
export function installAgentShim(root: string, type: string, binDir: string, socketDir: string): void {
  const built = join(root, "examples", type, "dist", "agent", type);
  const shim = join(binDir, type);
  copyFileSync(built, shim);
  chmodSync(shim, 0o755);
  const sidecar = JSON.parse(readFileSync(`${built}.agent.json`, "utf8")) as Record<string, unknown>;
  const fallback = join(root, "examples", type, "dist", type);
  writeFileSync(
    `${shim}.agent.json`,
    JSON.stringify({ ...sidecar, socket: join(socketDir, `${type}.sock`), fallback }),
  );
}

/** Starts `cnikit-agent serve` for `types` on `socketDir` (created 0700); resolves once it is ready. */
export async function startDemoAgent(root: string, types: readonly string[], socketDir: string): Promise<DemoAgent> {
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  const modules = types.map((t) => join(root, "examples", t, "dist", "agent", `${t}.plugin.cjs`));
  const cli = join(root, "packages", "agent", "dist", "cli.js");
  const child: ChildProcess = spawn(
    process.execPath,
    [...DAEMON_NODE_FLAGS, cli, "serve", "--socket-dir", socketDir, ...modules],
    {
      stdio: ["ignore", "ignore", "pipe"],
      // a pool thread per concurrent veth deletion, as docs/shipping.md sets it
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", UV_THREADPOOL_SIZE: "16" },
    },
  );
  const calls: AgentCall[] = [];
  let partial = "";
  let early = "";
  let ready = false;
  let alive = true;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exited.then(() => {
    alive = false;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cnikit-agent did not get ready: ${early.trim()}`)), 15_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line.includes('"msg":"call"')) calls.push(JSON.parse(line) as AgentCall);
        else if (!ready && line.includes('"msg":"ready"')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        } else if (!ready && early.length < 4000) early += `${line}\n`;
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`cnikit-agent exited before it was ready: ${early.trim()}`));
    });
  }).catch(async (err) => {
    child.kill("SIGKILL");
    await exited;
    throw err;
  });
  const pid = child.pid as number;
  return {
    pid,
    socketDir,
    calls,
    async stop() {
      if (!alive) return;
      process.kill(pid, "SIGTERM");
      const timer = setTimeout(() => {
        if (alive) process.kill(pid, "SIGKILL");
      }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `bridge ADD 4.2 ms, host-local ADD 1.1 ms (in process), ...` for the calls of one container. */
export function describeCalls(calls: readonly AgentCall[]): string {
  return calls
    .map(
      (c) =>
        `${c.plugin} ${c.command} ${c.ms.toFixed(1)} ms${c.inProcess ? " (in process)" : ""}${c.exitCode ? " FAILED" : ""}`,
    )
    .join(", ");
}
