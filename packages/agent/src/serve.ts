/**
 * `serveAgent`: serves built plugins on root-only unix sockets, one `<name>.sock` per plugin,
 * each request through the plugin's own skel dispatch (`plugin.run(io)`).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { setDelegateResolver } from "@cnikit/invoke";
import type { Spawner } from "@cnikit/native";
import { CniError, ErrorCode } from "@cnikit/spec";
import { type CallOutput, inProcessSpawner, shimResolver } from "./delegates.js";
import type { ServedPlugin } from "./load-plugin.js";
import { peerCredentials, socketFd } from "./peer-cred.js";
import {
  AGENT_PROTOCOL,
  type AgentRequest,
  checkRequestHeader,
  cniVariables,
  decodeRequest,
  encodeResponse,
  HEADER_BYTES,
} from "./protocol.js";

/**
 * One line of the daemon's log (written as JSON on stderr by the CLI).
 *
 * @example
 * const log = (entry: AgentLogEntry) => process.stderr.write(`${JSON.stringify(entry)}\n`);
 */
export interface AgentLogEntry {
  readonly time: string;
  readonly level: "info" | "warn" | "error";
  readonly msg: string;
  readonly [key: string]: unknown;
}

/**
 * Options of {@link serveAgent}.
 *
 * @example
 * const options: AgentServeOptions = { socketDir: "/run/cnikit", plugins: [loadAgentPlugin("bridge.plugin.cjs")] };
 */
export interface AgentServeOptions {
  /** Directory of the sockets (created root-owned 0700; its owner must be this process's uid). */
  readonly socketDir: string;
  /** The plugins to serve. */
  readonly plugins: readonly ServedPlugin[];
  /** Receives the log entries (default: none); a `call` entry comes on the event loop's turn after its answer. */
  readonly log?: ((entry: AgentLogEntry) => void) | undefined;
  /** The uid a peer must have (default 0: root only). */
  readonly allowedUid?: number | undefined;
  /** The PATH a plugin's delegates are found with (default this process's PATH). */
  readonly path?: string | undefined;
  /**
   * Run a delegate in process when what a served plugin finds in CNI_PATH is the shim of a
   * plugin served here (its sidecar names one of these sockets): default true. False executes
   * every delegate (the shim then calls back over its socket).
   */
  readonly inProcessDelegates?: boolean | undefined;
  /**
   * Run a full garbage collection once this many calls have been answered since the last one,
   * when no call is in flight (default 100; 0: never). Keeps the heap, hence the RSS, at its
   * live size instead of letting V8 grow the old generation over the first thousand calls.
   */
  readonly gcEveryCalls?: number | undefined;
}

/**
 * Request counters of one served plugin.
 *
 * @example
 * const stats: AgentPluginStats = server.stats.bridge!;
 */
export interface AgentPluginStats {
  /** Calls answered. */
  requests: number;
  /** Calls answered with a non-zero exit status. */
  failures: number;
  /** Calls running now. */
  inFlight: number;
  /** Connections refused (peer, frame or env). */
  refused: number;
  /** Of `requests`, the delegations run in process (another served plugin delegated to this one). */
  inProcess: number;
}

/**
 * A running daemon: its sockets, counters, and `close()`.
 *
 * @example
 * const server: AgentServer = await serveAgent({ socketDir, plugins });
 * await server.close();
 */
export interface AgentServer {
  /** The socket paths, one per plugin. */
  readonly sockets: readonly string[];
  /** Counters by plugin name. */
  readonly stats: Readonly<Record<string, AgentPluginStats>>;
  /** Unlinks the sockets first, stops accepting, waits for the calls in flight. */
  close(): Promise<void>;
}

const FRAME_IDLE_MS = 10_000;

let fullGc: (() => void) | undefined;
/** V8's `gc()`, without starting node with --expose-gc. */
function collectGarbage(): void {
  if (!fullGc) {
    setFlagsFromString("--expose-gc");
    fullGc = runInNewContext("gc") as () => void;
  }
  fullGc();
}

function memory(): { rssBytes: number; heapTotalBytes: number; heapUsedBytes: number; externalBytes: number } {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapTotalBytes: m.heapTotal, heapUsedBytes: m.heapUsed, externalBytes: m.external };
}

function errorJson(code: number, msg: string, details?: string): string {
  return `${JSON.stringify({ cniVersion: "1.1.0", code, msg, ...(details ? { details } : {}) })}\n`;
}

/** Ensures the socket directory exists, belongs to us and is 0700. */
function prepareSocketDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== uid) throw new Error(`socket directory ${dir} is owned by uid ${st.uid}, not ${uid}`);
  chmodSync(dir, 0o700);
}

/** Removes a socket file nobody listens on; refuses to take over a live one. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection({ path });
    probe.on("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.on("error", () => resolve(false));
  });
  if (live) throw new Error(`${path} is served by another process`);
  unlinkSync(path);
}

async function listen(server: Server, path: string): Promise<void> {
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  chmodSync(path, 0o600);
}

/**
 * Serves each plugin on `<socketDir>/<name>.sock` (mode 0600, directory 0700): one request per
 * connection, in the agent wire protocol; peers other than root (SO_PEERCRED), non-CNI_* keys,
 * a CNI_NETNS that is not a path and malformed or oversized frames are refused and the daemon
 * goes on. Requests run concurrently, each through `plugin.run({ env, readStdin, signal })`.
 *
 * @example
 * const server = await serveAgent({ socketDir: "/run/cnikit", plugins: [loadAgentPlugin("dist/agent/bridge.plugin.cjs")] });
 * process.once("SIGTERM", () => void server.close());
 * @throws Error when the directory is not ours, a socket is live in another process, or listen fails.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export async function serveAgent(options: AgentServeOptions): Promise<AgentServer> {
  const log = options.log ?? (() => {});
  const emit = (level: AgentLogEntry["level"], msg: string, fields: Record<string, unknown> = {}) =>
    log({ time: new Date().toISOString(), level, msg, ...fields });
  // A call's log line is written on the next turn of the event loop, after its answer went out
  // (the answer of a delegation's caller too, when nothing else waits): not on the call's path.
  const pendingLog: AgentLogEntry[] = [];
  let flushScheduled = false;
  const flushLog = () => {
    flushScheduled = false;
    for (const entry of pendingLog.splice(0)) log(entry);
  };
  const emitLater = (level: AgentLogEntry["level"], msg: string, fields: Record<string, unknown>) => {
    pendingLog.push({ time: new Date().toISOString(), level, msg, ...fields });
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flushLog);
  };
  const allowedUid = options.allowedUid ?? 0;
  const pathEnv = options.path ?? process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin";
  prepareSocketDir(options.socketDir);
  const started = Date.now();
  const stats: Record<string, AgentPluginStats> = {};
  const running = new Set<Promise<unknown>>();
  const open = new Set<Socket>();
  const servers: Array<{ server: Server; path: string }> = [];
  const bySocket = new Map<string, Spawner>();
  let closing: Promise<void> | undefined;

  for (const served of options.plugins) {
    if (stats[served.name]) throw new Error(`two plugins named ${served.name}`);
    const st: AgentPluginStats = { requests: 0, failures: 0, inFlight: 0, refused: 0, inProcess: 0 };
    stats[served.name] = st;
    const path = join(options.socketDir, `${served.name}.sock`);
    await clearStaleSocket(path);
    const server = createServer({ allowHalfOpen: true }, (socket) => accept(served, st, socket));
    server.on("error", (err) => emit("error", "server error", { plugin: served.name, error: err.message }));
    await listen(server, path);
    servers.push({ server, path });
    emit("info", "serving", { plugin: served.name, version: served.plugin.version, socket: path });
    bySocket.set(
      path,
      inProcessSpawner((env, stdin, signal) => {
        let vars: Record<string, string>;
        try {
          vars = cniVariables(env);
        } catch (err) {
          return Promise.resolve({
            exitCode: 1,
            stdout: errorJson(ErrorCode.InvalidEnvironmentVariables, `cnikit-agent: ${(err as Error).message}`),
            stderr: "",
          });
        }
        return track(runCall(served, st, vars, stdin, signal, true));
      }),
    );
  }
  const inProcessDelegates = options.inProcessDelegates ?? true;
  const resolver = inProcessDelegates ? shimResolver(bySocket) : undefined;
  if (resolver) setDelegateResolver(resolver);

  function track<T>(p: Promise<T>): Promise<T> {
    const tracked = p.finally(() => running.delete(tracked));
    tracked.catch((err) => emit("error", "request failed", { error: (err as Error)?.message ?? String(err) }));
    running.add(tracked);
    return p;
  }

  const gcEvery = options.gcEveryCalls ?? 100;
  let callsSinceGc = 0;
  let gcPending = false;
  /** After a call: a full GC once enough calls were answered, on the next turn if still idle. */
  function maybeCollect(): void {
    if (gcEvery <= 0 || ++callsSinceGc < gcEvery || gcPending) return;
    gcPending = true;
    setImmediate(() => {
      gcPending = false;
      if (running.size > 0 || closing) return; // a later call retries
      callsSinceGc = 0;
      collectGarbage();
    });
  }

  function reply(socket: Socket, frame: Buffer): void {
    if (socket.destroyed) return;
    socket.end(frame);
    // the shim half-closed already; a peer that never does is cut off
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  function refuse(served: ServedPlugin, st: AgentPluginStats, socket: Socket, msg: string, code: number): void {
    st.refused++;
    emit("warn", "request refused", { plugin: served.name, reason: msg });
    socket.resume(); // drain what the peer still sends
    reply(socket, encodeResponse(AGENT_PROTOCOL.result, 1, errorJson(code, `cnikit-agent: ${msg}`), ""));
  }

  function accept(served: ServedPlugin, st: AgentPluginStats, socket: Socket): void {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => {});
    if (closing) {
      socket.destroy();
      return;
    }
    let uid: number;
    try {
      uid = peerCredentials(socketFd(socket)).uid;
    } catch (err) {
      refuse(served, st, socket, `cannot check the peer: ${(err as Error).message}`, ErrorCode.Internal);
      return;
    }
    if (uid !== allowedUid) {
      refuse(served, st, socket, `permission denied: peer uid ${uid} is not ${allowedUid}`, ErrorCode.Internal);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let expected = -1;
    let header: { type: number; envBytes: number; total: number } | undefined;
    let done = false;
    socket.setTimeout(FRAME_IDLE_MS, () => {
      if (done) return;
      done = true;
      emit("warn", "request frame incomplete after idle timeout", { plugin: served.name });
      socket.destroy();
    });
    const onData = (chunk: Buffer) => {
      if (done) return;
      chunks.push(chunk);
      size += chunk.length;
      if (!header && size >= HEADER_BYTES) {
        const head = Buffer.concat(chunks);
        const check = checkRequestHeader(head.subarray(0, HEADER_BYTES));
        if (check.kind === "skew") {
          done = true;
          st.refused++;
          emit("warn", "protocol version skew", { plugin: served.name, version: check.version });
          socket.resume();
          reply(socket, encodeResponse(AGENT_PROTOCOL.unsupportedVersion, 1, "", ""));
          return;
        }
        if (check.kind === "bad") {
          done = true;
          refuse(served, st, socket, `malformed request: ${check.reason}`, ErrorCode.IoFailure);
          return;
        }
        header = check;
        expected = check.total;
      }
      if (header && size >= expected) {
        done = true;
        socket.setTimeout(0);
        const frame = Buffer.concat(chunks, size);
        let request: AgentRequest;
        try {
          request = decodeRequest(frame, header);
        } catch (err) {
          refuse(
            served,
            st,
            socket,
            `malformed request: ${(err as Error).message}`,
            ErrorCode.InvalidEnvironmentVariables,
          );
          return;
        }
        socket.off("data", onData);
        socket.resume();
        void track(serveRequest(served, st, socket, request));
      }
    };
    socket.on("data", onData);
    socket.on("end", () => {
      if (!done) {
        done = true;
        st.refused++;
        emit("warn", "request frame incomplete", { plugin: served.name, bytes: size });
        socket.destroy();
      }
    });
  }

  async function serveRequest(
    served: ServedPlugin,
    st: AgentPluginStats,
    socket: Socket,
    request: AgentRequest,
  ): Promise<void> {
    if (request.type === AGENT_PROTOCOL.status) {
      const body = {
        name: served.name,
        plugin: served.plugin.name,
        version: served.plugin.version,
        cniVersions: served.plugin.cniVersions,
        pid: process.pid,
        uptimeMs: Date.now() - started,
        ...memory(),
        protocol: AGENT_PROTOCOL.version,
        ...st,
      };
      reply(socket, encodeResponse(AGENT_PROTOCOL.status, 0, `${JSON.stringify(body)}\n`, ""));
      return;
    }
    const controller = new AbortController();
    let answered = false;
    socket.once("close", () => {
      if (!answered) controller.abort(new CniError(ErrorCode.TryAgainLater, "the agent shim went away"));
    });
    const { exitCode, stdout, stderr } = await runCall(
      served,
      st,
      request.env,
      request.stdin,
      controller.signal,
      false,
    );
    answered = true;
    reply(socket, encodeResponse(AGENT_PROTOCOL.result, exitCode, stdout, stderr));
  }

  /** One call of a served plugin through its skel dispatch, counted and logged; never rejects. */
  async function runCall(
    served: ServedPlugin,
    st: AgentPluginStats,
    env: Readonly<Record<string, string>>,
    stdin: Buffer,
    signal: AbortSignal,
    inProcess: boolean,
  ): Promise<CallOutput> {
    const t0 = performance.now();
    st.inFlight++;
    let out: CallOutput;
    try {
      out = await served.plugin.run({ env: { ...env, PATH: pathEnv }, readStdin: async () => stdin, signal });
    } catch (err) {
      out = { exitCode: 1, stdout: errorJson(ErrorCode.Internal, (err as Error).message ?? String(err)), stderr: "" };
    }
    st.inFlight--;
    st.requests++;
    maybeCollect();
    if (inProcess) st.inProcess++;
    if (out.exitCode !== 0) st.failures++;
    emitLater(out.exitCode === 0 ? "info" : "warn", "call", {
      plugin: served.name,
      command: env.CNI_COMMAND,
      containerId: env.CNI_CONTAINERID,
      ...(inProcess ? { inProcess: true } : {}),
      exitCode: out.exitCode,
      ms: Math.round((performance.now() - t0) * 100) / 100,
    });
    return out;
  }

  async function close(): Promise<void> {
    closing ??= (async () => {
      for (const { path } of servers) {
        try {
          unlinkSync(path);
        } catch {
          // gone already
        }
      }
      const closed = servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve())));
      flushLog();
      emit("info", "stopping", { inFlight: running.size });
      if (resolver) setDelegateResolver(undefined);
      while (running.size > 0) await Promise.allSettled([...running]);
      for (const s of open) s.destroy();
      await Promise.all(closed);
      flushLog();
      emit("info", "stopped");
    })();
    return closing;
  }

  return { sockets: servers.map((s) => s.path), stats, close };
}
