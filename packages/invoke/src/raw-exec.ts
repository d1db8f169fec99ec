/**
 * Running a plugin process: stdin in, stdout out, stderr forwarded, failures decoded.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
import { posixSpawn, posixSpawnAvailable, type SpawnOutcome, type SpawnRequest, type Spawner } from "@cnikit/native";
import { CniError, ErrorCode } from "@cnikit/spec";
import { builtin, clip, exitText, goQuote, systemErrorText } from "./go-format.js";

/**
 * Where a plugin's stderr goes: anything with a `write` method (a stream), or `null` to drop it.
 *
 * @example
 * const lines: string[] = [];
 * const sink: StderrSink = { write: (chunk) => lines.push(String(chunk)) };
 * await execPlugin({ pluginPath, command: "VERSION", stdin: { cniVersion: "1.1.0" }, stderr: sink });
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export interface StderrSink {
  write(chunk: Uint8Array | string): unknown;
}

/**
 * One process execution: a `SpawnRequest` (from `@cnikit/native`) plus where its stderr goes.
 *
 * @example
 * const req: RawExecRequest = { pluginPath: "/opt/cni/bin/bridge", stdin: confText, env: { CNI_COMMAND: "VERSION" }, timeoutMs: 5000 };
 * const stdout = await rawExec(req);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export interface RawExecRequest extends SpawnRequest {
  /** Receives the plugin's stderr; default `process.stderr`; `null` drops it. */
  readonly stderr?: StderrSink | null | undefined;
}

/**
 * Executes a plugin and returns its stdout, or throws the decoded failure. The default is
 * {@link rawExec}; pass your own to the `exec` option of the exec/delegate functions to fake plugins.
 *
 * @example
 * const fake: RawExec = async (req) =>
 *   req.env.CNI_COMMAND === "ADD" ? JSON.stringify({ cniVersion: "1.1.0", ips: [{ address: "10.1.0.5/24" }] }) : "";
 * const lease = await execPluginWithResult({ pluginPath: "/fake/host-local", command: "ADD", stdin: conf, exec: fake });
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export type RawExec = (request: RawExecRequest) => Promise<Uint8Array | string>;

const TEXT_BUSY_RETRIES = 5;
const TEXT_BUSY_DELAY_MS = 1000;

let posixInFlight = 0;

/**
 * The spawner of {@link rawExec}, so of every exec and delegate call: `posixSpawn` (no fork of
 * this process: ~0.3 ms instead of 3–4 ms on the event loop) for one process at a time where
 * `@cnikit/native` loads, `child_process` ({@link nodeSpawn}) for a second concurrent one and
 * where it does not. posixSpawn reads the child's output on libuv pool threads, so an unbounded
 * number of them could starve the pool.
 */
function pluginSpawner(request: SpawnRequest): Promise<SpawnOutcome> {
  if (posixInFlight > 0 || !posixSpawnAvailable()) return nodeSpawn(request);
  posixInFlight++;
  return posixSpawn(request).finally(() => {
    posixInFlight--;
  });
}

/**
 * Runs the plugin at `pluginPath` with the given env and stdin and resolves with its stdout.
 * Retries up to 5 times, 1 s apart, while the binary is being written ("text file busy").
 * On success the plugin's stderr is copied to `stderr` (default `process.stderr`).
 * The process is started with `posix_spawn` (from `@cnikit/native`, one at a time) where koffi
 * loads, else with `child_process`: every exec and delegate function behaves the same whichever
 * package calls it.
 *
 * @example
 * const out = await rawExec({ pluginPath: "/opt/cni/bin/bridge", stdin: conf, env: buildPluginEnv({ command: "ADD", ... }) });
 * @throws CniError: the plugin's own error (its code, msg and details) when it exits non-zero
 *   with an error JSON on stdout; code 999 `netplugin failed: "<stderr>": exit status 1`,
 *   `netplugin failed with no error message: exit status 1` or
 *   `netplugin failed but error parsing its diagnostic message "<stdout>": ...` otherwise;
 *   `netplugin failed: signal: killed` (details: its partial output) when a signal ended a plugin that had printed something;
 *   code 5 when the binary cannot be executed; code 999 on timeout or abort.
 */
export const rawExec: RawExec = /* @__PURE__ */ createRawExec(pluginSpawner);

/**
 * A {@link RawExec} like {@link rawExec} (the same retries, errors and stderr forwarding) that
 * starts processes with `spawner` (a `Spawner` from `@cnikit/native`).
 *
 * @example
 * const exec = createRawExec(nodeSpawn); // always child_process
 * const result = await delegateAdd("host-local", ctx, { exec });
 * @throws never itself; the returned function throws like {@link rawExec}.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export function createRawExec(spawner: Spawner): RawExec {
  return (request) => runPlugin(spawner, request);
}

async function runPlugin(spawner: Spawner, request: RawExecRequest): Promise<Uint8Array> {
  // process.stderr is only touched when there is something to forward: creating the stream costs
  // (a pipe becomes a net.Socket) and most plugins print nothing
  const sink = request.stderr === undefined ? defaultSink : request.stderr;
  let outcome: SpawnOutcome | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      outcome = await spawner(request);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ETXTBSY" && attempt < TEXT_BUSY_RETRIES) {
        await sleep(TEXT_BUSY_DELAY_MS, request.signal);
        continue;
      }
      if (err instanceof CniError) throw err;
      throw new CniError(
        ErrorCode.IoFailure,
        `netplugin failed with no error message: fork/exec ${request.pluginPath}: ${systemErrorText(err)}`,
        undefined,
        { cause: err },
      );
    }
  }
  const { stdout, stderr } = outcome;
  if (outcome.timedOut || outcome.aborted) {
    forward(sink, stderr);
    const why = outcome.timedOut
      ? `timed out after ${request.timeoutMs} ms`
      : `aborted${request.signal?.reason instanceof Error ? `: ${request.signal.reason.message}` : ""}`;
    throw new CniError(ErrorCode.Internal, `netplugin ${request.pluginPath} ${why}`, undefined, {
      cause: request.signal?.reason,
    });
  }
  if (outcome.code === 0 && outcome.signal === null) {
    forward(sink, stderr);
    return stdout;
  }
  const exit = exitText(outcome.code, outcome.signal);
  if (stdout.length === 0) {
    if (stderr.length === 0) throw new CniError(ErrorCode.Internal, `netplugin failed with no error message: ${exit}`);
    throw new CniError(ErrorCode.Internal, `netplugin failed: ${goQuote(clip(stderr.toString("utf8")))}: ${exit}`);
  }
  forward(sink, stderr);
  if (outcome.signal !== null) {
    // killed while writing: what it printed is a fragment, not a diagnostic message
    throw new CniError(
      ErrorCode.Internal,
      `netplugin failed: ${exit}`,
      `partial output before the signal: ${goQuote(clip(stdout.toString("utf8")))}`,
    );
  }
  throw decodeErrorReply(stdout.toString("utf8"), exit);
}

/**
 * Turns the stdout of a failed plugin into a CniError carrying its code, msg and details.
 *
 * @example decodeErrorReply('{"code":7,"msg":"bad config"}', "exit status 1").code // 7
 */
export function decodeErrorReply(stdout: string, exit: string): CniError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (err) {
    return new CniError(
      ErrorCode.Internal,
      `netplugin failed but error parsing its diagnostic message ${goQuote(clip(stdout))}: ${(err as Error).message}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return new CniError(
      ErrorCode.Internal,
      `netplugin failed but error parsing its diagnostic message ${goQuote(clip(stdout))}: not a JSON object`,
    );
  }
  const reply = parsed as Record<string, unknown>;
  const code = typeof reply.code === "number" && Number.isInteger(reply.code) ? reply.code : ErrorCode.Internal;
  const msg =
    typeof reply.msg === "string" && reply.msg !== ""
      ? reply.msg
      : `netplugin failed without a message: ${goQuote(clip(stdout))}: ${exit}`;
  const details = typeof reply.details === "string" && reply.details !== "" ? reply.details : undefined;
  return new CniError(code, msg, details);
}

const defaultSink: StderrSink = { write: (chunk) => process.stderr.write(chunk) };

function forward(sink: StderrSink | null, data: Buffer): void {
  if (sink === null || data.length === 0) return;
  try {
    sink.write(data);
  } catch {
    // stderr is informational only
  }
}

/**
 * A `Spawner` on `child_process.spawn` (libuv forks the Node process): what {@link rawExec}
 * uses where `@cnikit/native`'s `posixSpawn` is not available or already busy.
 *
 * @example
 * const { code, stdout } = await nodeSpawn({ pluginPath: "/opt/cni/bin/host-local", stdin: "", env: { CNI_COMMAND: "VERSION" } });
 * @throws the spawn error (ENOENT, EACCES, ETXTBSY, ...) when the process cannot be started.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export function nodeSpawn(request: SpawnRequest): Promise<SpawnOutcome> {
  return new Promise<SpawnOutcome>((resolve, reject) => {
    if (request.signal?.aborted) {
      resolve({
        code: null,
        signal: null,
        stdout: Buffer.alloc(0),
        stderr: Buffer.alloc(0),
        timedOut: false,
        aborted: true,
      });
      return;
    }
    // loaded here, not at start-up: most plugins never take this path (posixSpawn serves them)
    const { spawn } = builtin<typeof import("node:child_process")>("node:child_process");
    const child = spawn(request.pluginPath, request.args ?? [], {
      env: request.env as NodeJS.ProcessEnv,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let aborted = false;
    let spawnError: Error | undefined;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      aborted = true;
      child.kill("SIGKILL");
    };
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      request.signal?.removeEventListener("abort", onAbort);
    };
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.stdin.on("error", () => {
      // the plugin may exit without reading stdin (EPIPE): not our failure
    });
    child.on("error", (e) => {
      spawnError = e;
      if (child.pid === undefined) {
        cleanup();
        reject(e);
      }
    });
    child.on("close", (code, signal) => {
      cleanup();
      if (child.pid === undefined) {
        if (spawnError) return; // already rejected
        reject(new Error(`spawn ${request.pluginPath} failed`));
        return;
      }
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err), timedOut, aborted });
    });
    if (child.pid !== undefined) {
      if (request.timeoutMs !== undefined && request.timeoutMs > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          child.kill("SIGKILL");
        }, request.timeoutMs);
      }
      request.signal?.addEventListener("abort", onAbort, { once: true });
      child.stdin.end(request.stdin);
    }
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
