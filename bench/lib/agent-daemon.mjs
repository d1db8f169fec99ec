// A cnikit-agent daemon for the benchmarks: the shims of example plugins (bridge and host-local
// unless told otherwise) installed in a temp CNI bin dir (sidecars pointing at a temp socket dir,
// fallback the usual dist/ builds), and the built daemon (packages/agent/dist/cli.js) serving
// them, started and stopped by pid.
import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLEAN_PATH } from "./proc.mjs";
import { ROOT } from "./plugins.mjs";

/** The node flags the daemon runs with (AGENT_NODE_FLAGS of @cnikit/agent). */
const NODE_FLAGS = ["--max-semi-space-size=1", "--optimize-for-size"];
const DAEMON = join(ROOT, "packages/agent/dist/cli.js");
const PLUGINS = ["bridge", "host-local"];
/** The environment the deployment samples give the daemon (docs/shipping.md): a pool thread per concurrent veth deletion. */
const DAEMON_ENV = { UV_THREADPOOL_SIZE: "16" };

const agentFile = (name, ext = "") => join(ROOT, "examples", name, "dist", "agent", `${name}${ext}`);

/** What is missing to run the agent rows of `plugins` (empty when everything is built). */
export function agentMissing(plugins = PLUGINS) {
  const need = [
    DAEMON,
    ...plugins.flatMap((n) => [agentFile(n), agentFile(n, ".plugin.cjs"), join(ROOT, "examples", n, "dist", n)]),
  ];
  return need.filter((p) => !existsSync(p)).map((p) => p.slice(ROOT.length + 1));
}

/** The status a daemon's `<name>.sock` answers (the built @cnikit/agent's client). */
export async function agentStatus(sockDir, name) {
  const { AGENT_PROTOCOL, requestAgent } = await import(join(ROOT, "packages/agent/dist/index.js"));
  const r = await requestAgent(join(sockDir, `${name}.sock`), {
    type: AGENT_PROTOCOL.status,
    env: {},
    stdin: Buffer.alloc(0),
  });
  return JSON.parse(r.stdout);
}

/** VmRSS (KB) and open fds of a process. */
export function procStats(pid) {
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return { rssKb: rss, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/**
 * Installs the shims of `plugins` in `binDir` (socket dir `sockDir`) and starts the daemon (`flags`, e.g.
 * `--exec-delegates`, before the modules); resolves once it is ready with `{ pid, bin, flush(), stop() }`.
 * `onCall` receives each `call` line of its log (`{ plugin, command, inProcess, exitCode, ms }`):
 * the log is a file read every 100 ms, at `flush()` and at `stop()`.
 */
export async function startAgent(
  binDir,
  sockDir,
  { plugins = PLUGINS, timeoutMs = 30_000, flags = [], onCall, env = {}, nodeFlags = [] } = {},
) {
  for (const name of plugins) {
    const shim = join(binDir, name);
    copyFileSync(agentFile(name), shim);
    chmodSync(shim, 0o755);
    const sidecar = JSON.parse(readFileSync(agentFile(name, ".agent.json"), "utf8"));
    writeFileSync(
      `${shim}.agent.json`,
      JSON.stringify({
        ...sidecar,
        socket: join(sockDir, `${name}.sock`),
        fallback: join(ROOT, "examples", name, "dist", name),
        timeoutMs,
      }),
    );
  }
  // the daemon logs a JSON line per call: to a file, not a pipe — the timed calls run
  // synchronously, so nothing would drain a pipe, and a full one would stall the daemon
  const logDir = mkdtempSync(join(tmpdir(), "ckb-agent-log-"));
  const logFile = join(logDir, "agent.log");
  const logFd = openSync(logFile, "w");
  const child = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      ...nodeFlags,
      DAEMON,
      "serve",
      "--socket-dir",
      sockDir,
      ...flags,
      ...plugins.map((n) => agentFile(n, ".plugin.cjs")),
    ],
    { stdio: ["ignore", "ignore", logFd], env: { PATH: CLEAN_PATH, ...DAEMON_ENV, ...env } },
  );
  closeSync(logFd);
  let exitCode;
  const exited = new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      exitCode = code ?? signal;
      resolve(exitCode);
    }),
  );
  const log = () => readFileSync(logFile, "utf8");
  for (const t0 = Date.now(); !log().includes('"msg":"ready"'); ) {
    if (exitCode !== undefined) throw new Error(`cnikit-agent exited (${exitCode}): ${log()}`);
    if (Date.now() - t0 > 15_000) {
      child.kill("SIGKILL");
      throw new Error(`cnikit-agent did not get ready: ${log()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  // `call` lines written since the last look go to onCall (read on a timer, and on stop)
  let seen = log().length;
  const deliver = () => {
    if (!onCall) return;
    const text = log();
    const fresh = text.slice(seen, text.lastIndexOf("\n") + 1);
    seen += fresh.length;
    for (const line of fresh.split("\n")) {
      if (!line.includes('"msg":"call"')) continue;
      try {
        onCall(JSON.parse(line));
      } catch {}
    }
  };
  const timer = onCall ? setInterval(deliver, 100) : undefined;
  timer?.unref();
  return {
    pid: child.pid,
    bin: binDir,
    /** Hands the `call` lines logged so far to onCall now (they also arrive on a timer). */
    flush: deliver,
    async stop() {
      if (timer) clearInterval(timer);
      deliver();
      try {
        process.kill(child.pid, "SIGCONT");
        process.kill(child.pid, "SIGTERM");
      } catch {
        return;
      }
      const t = setTimeout(() => {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {}
      }, 5000);
      await exited;
      clearTimeout(t);
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
