// A cnikit-agent daemon for the benchmarks: the shims of example plugins (bridge and host-local
// unless told otherwise) installed in a temp CNI bin dir (sidecars pointing at a temp socket dir,
// fallback the usual dist/ builds), and the built daemon (packages/agent/dist/cli.js) serving
// them, started and stopped by pid.
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
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
 * `--exec-delegates`, before the modules); resolves once it is ready with `{ pid, bin, stop() }`.
 * `onCall` receives each `call` line of its log (`{ plugin, command, inProcess, exitCode, ms }`).
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
    { stdio: ["ignore", "ignore", "pipe"], env: { PATH: CLEAN_PATH, ...DAEMON_ENV, ...env } },
  );
  let log = "";
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`cnikit-agent did not get ready: ${log}`)), 15_000);
    child.stderr.on("data", (c) => {
      if (log.length < 100_000) log += c.toString();
      if (log.includes('"msg":"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`cnikit-agent exited (${code}): ${log}`));
    });
  });
  // past start-up only the call lines are wanted (when asked for): keep draining the log
  child.stderr.removeAllListeners("data");
  if (onCall) {
    let rest = "";
    child.stderr.on("data", (c) => {
      const lines = (rest + c.toString()).split("\n");
      rest = lines.pop();
      for (const line of lines) {
        if (!line.includes('"msg":"call"')) continue;
        try {
          onCall(JSON.parse(line));
        } catch {}
      }
    });
  }
  child.stderr.resume();
  return {
    pid: child.pid,
    bin: binDir,
    async stop() {
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
    },
  };
}
