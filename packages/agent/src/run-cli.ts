/**
 * The `cnikit-agent` command line (the bin in cli.ts calls {@link runAgentCli}).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
import { stat } from "node:fs/promises";
import { parseArgs } from "node:util";
import { loadAgentPlugin, type ServedPlugin } from "./load-plugin.js";
import { type AgentServer, serveAgent } from "./serve.js";
import { queryAgentStatus } from "./status.js";

/**
 * The node flags the daemon runs with (the bin's shebang has them; pass them when starting it
 * with `node` yourself): a 1 MB young generation and V8's size-over-speed mode keep its RSS flat
 * (≈65–72 MB over 1,000 calls instead of ≈70–105 MB with the defaults).
 *
 * @example
 * spawn("node", [...AGENT_NODE_FLAGS, "cnikit-agent", "serve", "--socket-dir", "/run/cnikit", "bridge.plugin.cjs"]);
 */
export const AGENT_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1", "--optimize-for-size"];

/**
 * The text of `cnikit-agent --help`.
 *
 * @example
 * process.stdout.write(AGENT_USAGE);
 */
export const AGENT_USAGE = `usage: cnikit-agent serve --socket-dir <dir> [--exec-delegates] <plugin module>...
       cnikit-agent status --socket-dir <dir> [--json]

serve    serves each plugin module (dist/agent/<name>.plugin.cjs, written by
         \`cnikit-build --agent\`) on <dir>/<name>.sock (directory 0700, socket 0600,
         root peers only); logs JSON lines on stderr; SIGTERM/SIGINT unlink the sockets,
         finish the calls in flight and exit; a served plugin's delegate that is the
         shim of a plugin served here runs in process (--exec-delegates: executed)
status   asks each socket in <dir> for its plugin, version and request counts
`;

/**
 * Where the CLI writes, and how a running daemon is told to stop (default: the process).
 *
 * @example
 * let text = "";
 * await runAgentCli(["status", "--socket-dir", dir], { out: (s) => (text += s), err: () => {}, onStop: () => {} });
 */
export interface AgentCliIo {
  /** Writes to stdout. */
  readonly out: (s: string) => void;
  /** Writes to stderr (the daemon's JSON-lines log). */
  readonly err: (s: string) => void;
  /** Registers what stops a running daemon (default: SIGTERM and SIGINT). */
  readonly onStop: (stop: () => void) => void;
}

const defaultIo: AgentCliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  onStop: (stop) => {
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  },
};

/**
 * Runs `cnikit-agent` with `argv` (without node and the script); resolves with the exit code
 * when done (for `serve`: once stopped): 0 ok, 1 failed, 2 usage error.
 *
 * @example
 * process.exitCode = await runAgentCli(["serve", "--socket-dir", "/run/cnikit", "dist/agent/bridge.plugin.cjs"]);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export async function runAgentCli(argv: readonly string[], io: AgentCliIo = defaultIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`cnikit-agent: ${(err as Error).message}\n\n${AGENT_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(AGENT_USAGE);
    return 0;
  }
  const [command, ...modules] = positionals;
  const dir = values["socket-dir"];
  const usage = (msg: string) => {
    io.err(`cnikit-agent: ${msg}\n\n${AGENT_USAGE}`);
    return 2;
  };
  if (command !== "serve" && command !== "status") return usage("a command (serve or status) is required");
  if (!dir) return usage("--socket-dir is required");
  const log = (entry: object) => io.err(`${JSON.stringify(entry)}\n`);
  if (command === "status") {
    if (modules.length) return usage("status takes no modules");
    let list: Awaited<ReturnType<typeof queryAgentStatus>>;
    try {
      list = await queryAgentStatus(dir);
    } catch (err) {
      io.err(`cnikit-agent: ${(err as Error).message}\n`);
      return 1;
    }
    if (values.json) io.out(`${JSON.stringify(list)}\n`);
    else {
      for (const s of list) {
        const st = s.status;
        io.out(
          st
            ? `${s.socket}: ${st.plugin} ${st.version} (pid ${st.pid}) requests ${st.requests} (in process ${st.inProcess}) failures ${st.failures} in flight ${st.inFlight} refused ${st.refused}\n`
            : `${s.socket}: not answering (${s.error})\n`,
        );
      }
      if (list.length === 0) io.out(`no sockets in ${dir}\n`);
    }
    return list.every((s) => s.status) ? 0 : 1;
  }
  if (modules.length === 0) return usage("serve needs at least one plugin module");
  // the libuv thread pool is created by the first async fs call, with the netns of the thread
  // that makes it: make it now, in the host netns, before any plugin opens a namespace window
  await stat("/");
  let server: AgentServer;
  try {
    const plugins: ServedPlugin[] = modules.map((m) => loadAgentPlugin(m));
    server = await serveAgent({ socketDir: dir, plugins, log, inProcessDelegates: !values["exec-delegates"] });
  } catch (err) {
    log({ time: new Date().toISOString(), level: "error", msg: "cannot start", error: (err as Error).message });
    return 1;
  }
  log({ time: new Date().toISOString(), level: "info", msg: "ready", pid: process.pid, sockets: server.sockets });
  await new Promise<void>((resolve) => io.onStop(resolve));
  await server.close();
  return 0;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      "socket-dir": { type: "string" },
      json: { type: "boolean" },
      "exec-delegates": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}
