/**
 * One plugin invocation from env + stdin to exit status: the order of checks, the handler
 * call with its context, result conversion, and the single JSON document on stdout.
 *
 * Order (the Go library's, except where noted): CNI_COMMAND (missing → about banner or code 4;
 * unknown → code 4 before stdin is read), the env table (code 4), VERSION (stdin not read),
 * stdin (code 5), config decoding (code 6) and network name (code 7), version negotiation
 * (codes 1/6), the netns self-check (code 8; before the handler, as the spec asks), warnings
 * on stderr for relative or world-writable CNI_PATH entries (not Go's), config and CNI_ARGS schemas, prevResult, then the handler. A `cniVersions` function is asked once per
 * call: before the about banner or VERSION reply, else right before version negotiation.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#cni-operations
 */
import {
  type AnyResult,
  type Attachment,
  CniError,
  CURRENT_VERSION,
  convertResult,
  ErrorCode,
  loadCniArgs,
  type NetConf,
  parseCniArgs,
  parsePrevResult,
  parseResult,
  validateNetworkName,
  validateWithSchema,
} from "@cnikit/spec";
import {
  type Command,
  cniPathWarnings,
  isKnownCommand,
  isNetnsOverride,
  missingEnvError,
  readCniEnv,
  splitCniPath,
} from "./env.js";
import { MAX_STDIN_BYTES, type PluginIo } from "./io.js";
import { createLogger, type Logger, LogSink, parseLogLevel } from "./logger.js";
import { isOwnNetns } from "./netns-self-check.js";
import { RawReply } from "./raw-reply.js";
import { redirectStdout } from "./stdout-guard.js";
import type { CniVersionsCall, Handler, PluginContext, PluginDefinition, RollbackStep } from "./types.js";
import { checkVersion } from "./version-gate.js";

// biome-ignore lint/suspicious/noExplicitAny: the dispatcher is generic over any schema outputs
type AnyDefinition = PluginDefinition<any, any>;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function writeJson(io: PluginIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Stdin bytes → text; invalid UTF-8 is a decoding failure (6), an oversized input an I/O failure (5). */
function stdinText(data: Buffer | string): string {
  const size = typeof data === "string" ? Buffer.byteLength(data) : data.length;
  if (size > MAX_STDIN_BYTES) {
    throw new CniError(ErrorCode.IoFailure, `error reading from stdin: input is larger than ${MAX_STDIN_BYTES} bytes`);
  }
  if (typeof data === "string") return data;
  try {
    return utf8.decode(data);
  } catch {
    throw new CniError(ErrorCode.DecodingFailure, "error unmarshall network config: stdin is not valid UTF-8");
  }
}

/** Parses stdin as the network config: it must be a JSON object. */
function decodeConfig(stdin: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(ErrorCode.DecodingFailure, `error unmarshall network config: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error unmarshall network config: expected a JSON object, got ${kindOf(parsed)}`,
    );
  }
  return parsed;
}

/** The config's `name` must be present and valid (Go's validateConfig). */
function checkNetworkName(config: Record<string, unknown>): void {
  const name = config.name;
  if (name !== undefined && name !== null && typeof name !== "string") {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error unmarshall network config: "name" must be a string, got ${kindOf(name)}`,
    );
  }
  if (!name) throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name");
  validateNetworkName(name);
}

/** The config's cniVersion; missing or empty means 0.1.0 (Go). */
function configVersionOf(config: Record<string, unknown>): string {
  const v = config.cniVersion;
  if (v === undefined || v === null || v === "") return "0.1.0";
  if (typeof v !== "string") {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `decoding version from network config: "cniVersion" must be a string, got ${kindOf(v)}`,
    );
  }
  return v;
}

function isAttachmentList(value: unknown): value is Attachment[] {
  return (
    Array.isArray(value) &&
    value.every((a) => isObject(a) && typeof a.containerID === "string" && typeof a.ifname === "string")
  );
}

/** GC's keep-list: `cni.dev/valid-attachments`, else the legacy `cni.dev/attachments`. */
function validAttachmentsOf(config: Record<string, unknown>): Attachment[] {
  for (const key of ["cni.dev/valid-attachments", "cni.dev/attachments"]) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    if (!isAttachmentList(value)) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `invalid ${key}`,
        "expected a list of {containerID, ifname} objects",
      );
    }
    return value.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
  }
  return [];
}

/** Asks a `cniVersions` function for this call's versions and checks its answer. */
async function versionsFrom(
  decide: (call: CniVersionsCall) => readonly string[] | Promise<readonly string[]>,
  call: CniVersionsCall,
): Promise<readonly string[]> {
  const versions: unknown = await decide(call);
  if (!Array.isArray(versions) || versions.length === 0 || !versions.every((v) => typeof v === "string")) {
    throw new CniError(
      ErrorCode.Internal,
      "cniVersions function returned no versions",
      `expected a non-empty list of version strings, got ${Array.isArray(versions) ? JSON.stringify(versions) : kindOf(versions)}`,
    );
  }
  return versions as readonly string[];
}

async function runRollbacks(steps: RollbackStep[], log: Logger): Promise<void> {
  for (let i = steps.length - 1; i >= 0; i--) {
    try {
      await (steps[i] as RollbackStep)();
    } catch (err) {
      log.warn("rollback step failed", { step: i, error: err });
    }
  }
}

/** How a dispatch ended: the exit status, and whether a {@link RawReply} decided the output. @internal */
export interface Dispatched {
  exitCode: number;
  raw: boolean;
}

const OK: Readonly<Dispatched> = { exitCode: 0, raw: false };
const FAILED: Readonly<Dispatched> = { exitCode: 1, raw: false };

/**
 * Runs one invocation of `def` against `io` and returns the exit status (0 or 1, or a
 * RawReply's).
 * Never throws: every failure becomes the error JSON on stdout.
 * @internal
 */
export async function dispatch(def: AnyDefinition & { about: string }, io: PluginIo): Promise<Readonly<Dispatched>> {
  const sink = new LogSink({
    level: parseLogLevel(io.env.CNI_LOG_LEVEL),
    stderr: io.stderr,
    file: io.env.CNI_LOG_FILE || undefined,
    base: { plugin: def.name },
  });
  const log = createLogger(sink);
  let replyVersion: string = CURRENT_VERSION;

  try {
    const command = io.env.CNI_COMMAND ?? "";
    if (command === "") {
      if (def.about !== "") {
        const versions =
          typeof def.cniVersions === "function"
            ? await versionsFrom(def.cniVersions, { env: io.env })
            : def.cniVersions;
        io.stderr.write(`${def.about}\nCNI protocol versions supported: ${versions.join(", ")}\n`);
        return OK;
      }
      throw missingEnvError(["CNI_COMMAND"]);
    }
    // Unlike Go (which reads and validates stdin first), an unknown command is reported as such.
    if (!isKnownCommand(command)) {
      throw new CniError(ErrorCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${command}`);
    }
    sink.base.command = command;
    const env = readCniEnv(io.env, command);
    if (env.containerId) sink.base.containerId = env.containerId;

    if (command === "VERSION") {
      // The spec asks to echo the input's cniVersion, but VERSION must not read stdin (cni#485):
      // like Go, answer with the version this library implements.
      const versions =
        typeof def.cniVersions === "function" ? await versionsFrom(def.cniVersions, { env: io.env }) : def.cniVersions;
      writeJson(io, {
        cniVersion: CURRENT_VERSION,
        supportedVersions: [...versions],
      });
      return OK;
    }

    let data: Buffer | string;
    try {
      data = await io.readStdin();
    } catch (err) {
      throw new CniError(ErrorCode.IoFailure, `error reading from stdin: ${(err as Error)?.message ?? String(err)}`);
    }
    const stdin = stdinText(data);
    const raw = decodeConfig(stdin);
    if (typeof raw.cniVersion === "string" && raw.cniVersion !== "") replyVersion = raw.cniVersion;
    if (typeof raw.logFile === "string" && raw.logFile !== "") sink.setFile(raw.logFile);
    checkNetworkName(raw);
    const configVersion = configVersionOf(raw);
    const versions =
      typeof def.cniVersions === "function"
        ? await versionsFrom(def.cniVersions, { env: io.env, config: raw })
        : def.cniVersions;
    checkVersion(command, configVersion, versions);

    const handler = handlerFor(def, command);
    if (!handler) {
      log.debug("no handler: success", {});
      return OK;
    }

    if (command === "ADD" || command === "DEL" || command === "CHECK") {
      if (!isNetnsOverride(env.netnsOverride) && isOwnNetns(env.netns)) {
        throw new CniError(ErrorCode.InvalidNetns, "plugin's netns and netns from CNI_NETNS should not be the same");
      }
    }

    if (env.path !== "") for (const w of cniPathWarnings(env.path)) log.warn(w.msg, { entry: w.entry });

    const ctx = buildContext(def, command, env, raw, configVersion, stdin, log, io);
    const rollbacks: RollbackStep[] = [];
    ctx.onRollback = (step) => {
      if (typeof step !== "function") throw new TypeError("onRollback expects a function");
      rollbacks.push(step);
    };

    const restore = redirectStdout((chunk) => io.stderr.write(chunk));
    let output: string | undefined;
    let reply: RawReply | undefined;
    try {
      let returned: unknown;
      try {
        returned = await handler(ctx);
      } catch (err) {
        if (!(err instanceof RawReply)) throw err;
        returned = err; // thrown or returned: the same reply
      }
      if (returned instanceof RawReply) {
        reply = returned;
        if (reply.exitCode !== 0) await runRollbacks(rollbacks, log);
      } else if (command === "ADD") {
        output = `${JSON.stringify(convertAddResult(returned, configVersion))}\n`;
      }
    } catch (err) {
      await runRollbacks(rollbacks, log);
      throw err;
    } finally {
      restore();
    }
    if (reply !== undefined) {
      log.debug("raw reply", { exitCode: reply.exitCode });
      if (reply.stdout !== "") io.stdout.write(reply.stdout);
      return { exitCode: reply.exitCode, raw: true };
    }
    if (output !== undefined) io.stdout.write(output);
    return OK;
  } catch (err) {
    const e = CniError.from(err);
    if (!(err instanceof CniError)) log.error("unexpected error", { error: e.msg });
    log.debug("command failed", {
      code: e.code,
      error: e.msg,
      details: e.details,
      stack: err instanceof Error ? err.stack : undefined,
    });
    writeJson(io, e.toJSON(replyVersion));
    return FAILED;
  }
}

type AnyHandler = Handler<unknown, unknown, unknown>;

function handlerFor(def: AnyDefinition, command: Command): AnyHandler | undefined {
  switch (command) {
    case "ADD":
      return def.add;
    case "DEL":
      return def.del;
    case "CHECK":
      return def.check;
    case "STATUS":
      return def.status;
    case "GC":
      return def.gc;
  }
}

function convertAddResult(returned: unknown, configVersion: string): AnyResult {
  if (!isObject(returned)) {
    throw new CniError(ErrorCode.Internal, "ADD handler returned no result", `got ${kindOf(returned)}`);
  }
  let result: AnyResult;
  try {
    // Validates the handler's result and keeps only the fields of its version.
    result = parseResult(returned, CURRENT_VERSION);
  } catch (err) {
    const e = CniError.from(err);
    throw new CniError(e.code, `invalid result from ADD handler: ${e.msg}`, e.details, { cause: err });
  }
  checkInterfaceIndexes(result);
  return convertResult(result, configVersion);
}

/**
 * Each IP's `interface` must index the result's `interfaces` list (SPEC.md "ADD Success").
 * Results read from other plugins are not held to this (Go does not check it); what this
 * plugin prints is.
 */
function checkInterfaceIndexes(result: AnyResult): void {
  const r = result as { interfaces?: unknown[]; ips?: Array<{ interface?: number }> };
  if (!Array.isArray(r.ips)) return;
  const count = Array.isArray(r.interfaces) ? r.interfaces.length : 0;
  r.ips.forEach((ip, i) => {
    const idx = ip.interface;
    if (idx === undefined) return;
    if (idx < 0 || idx >= count) {
      throw new CniError(
        ErrorCode.Internal,
        "invalid result from ADD handler: IP interface index out of range",
        `ips[${i}].interface is ${idx} but the result has ${count} interface${count === 1 ? "" : "s"}`,
      );
    }
  });
}

function buildContext(
  def: AnyDefinition,
  command: Command,
  env: ReturnType<typeof readCniEnv>,
  raw: Record<string, unknown>,
  configVersion: string,
  stdin: string,
  log: Logger,
  io: PluginIo,
): PluginContext<unknown, unknown> {
  let config: Record<string, unknown> = raw;
  if (def.config) {
    const validated = validateWithSchema(def.config, raw, {
      code: ErrorCode.InvalidNetworkConfig,
      what: "network config",
    });
    config = isObject(validated) ? { ...raw, ...validated } : raw;
  }

  const ctx = {
    command,
    containerId: env.containerId,
    netns: env.netns,
    ifName: env.ifName,
    rawArgs: env.args,
    path: splitCniPath(env.path),
    config: config as NetConf,
    stdin,
    validAttachments: command === "GC" ? validAttachmentsOf(raw) : [],
    log,
    onRollback: () => {},
    env: io.env,
  } as Omit<PluginContext<unknown, unknown>, "args" | "signal"> as PluginContext<unknown, unknown>;

  // created on first use: most handlers never look at it, and an AbortController costs a module load
  let signal: AbortSignal | undefined;
  Object.defineProperty(ctx, "signal", {
    enumerable: true,
    configurable: true,
    get: () => {
      signal ??= io.signal ?? new AbortController().signal;
      return signal;
    },
  });

  if (def.args) {
    ctx.args = loadCniArgs(env.args, def.args);
  } else {
    let parsed: Record<string, string> | undefined;
    Object.defineProperty(ctx, "args", {
      enumerable: true,
      configurable: true,
      get: () => {
        parsed ??= parseCniArgs(env.args);
        return parsed;
      },
    });
  }

  if (raw.prevResult !== undefined && raw.prevResult !== null) {
    try {
      const prev = parsePrevResult({
        cniVersion: configVersion,
        prevResult: raw.prevResult,
      });
      if (prev) ctx.prevResult = prev;
    } catch (err) {
      // DEL must be able to clean up even after a runtime stored a broken result.
      if (command !== "DEL") throw err;
      log.warn("ignoring unparsable prevResult on DEL", {
        error: (err as Error).message,
      });
    }
  }
  return ctx;
}
