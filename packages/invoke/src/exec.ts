/**
 * Executing a plugin with a CNI command and decoding what it prints.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
import { CniError, CURRENT_VERSION, decodeVersionReply, ErrorCode, parseResult } from "@cnikit/spec";
import type { AnyResult, VersionReply } from "@cnikit/spec";
import { buildPluginEnv } from "./env.js";
import type { CniArgsInput } from "./env.js";
import { clip, goQuote } from "./go-format.js";
import { rawExec } from "./raw-exec.js";
import type { RawExec, StderrSink } from "./raw-exec.js";

/**
 * How to run a process: timeout, cancellation, stderr, base env and a replaceable executor.
 *
 * @example
 * const run: ExecRunOptions = { timeoutMs: 10_000, signal: AbortSignal.timeout(30_000), stderr: null };
 * const info = await getVersionInfo("/usr/lib/cni/host-local", run);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export interface ExecRunOptions {
  /** Base environment (default `process.env`); CNI_* variables given explicitly replace its values. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Kill the plugin after this many milliseconds (default: no timeout). */
  timeoutMs?: number | undefined;
  /** Kill the plugin when this signal aborts. */
  signal?: AbortSignal | undefined;
  /** Receives the plugin's stderr (default `process.stderr`; `null` drops it). */
  stderr?: StderrSink | null | undefined;
  /** Executor to use instead of spawning (for fakes in tests). Default {@link rawExec}. */
  exec?: RawExec | undefined;
}

/**
 * One plugin call: the binary, the command, stdin and the CNI parameters.
 *
 * @example
 * const call: ExecPluginOptions = {
 *   pluginPath: "/opt/cni/bin/bridge",
 *   command: "ADD",
 *   stdin: { cniVersion: "1.1.0", name: "mynet", type: "bridge" },
 *   containerId: "c1",
 *   netns: "/var/run/netns/c1",
 *   ifName: "eth0",
 *   path: ["/opt/cni/bin"],
 * };
 * const result = await execPluginWithResult(call);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
export interface ExecPluginOptions extends ExecRunOptions {
  /** Absolute path of the plugin (see `findInPath`). */
  pluginPath: string;
  /** CNI_COMMAND. */
  command: string;
  /** The network config: raw JSON text/bytes (sent verbatim) or an object (JSON-encoded). */
  stdin: string | Uint8Array | object;
  /** CNI_CONTAINERID; `undefined` inherits it from `env`. */
  containerId?: string | undefined;
  /** CNI_NETNS; `undefined` inherits it from `env`. */
  netns?: string | undefined;
  /** CNI_IFNAME; `undefined` inherits it from `env`. */
  ifName?: string | undefined;
  /** CNI_ARGS; `undefined` inherits it from `env`. */
  args?: CniArgsInput | undefined;
  /** CNI_PATH; `undefined` inherits it from `env`. */
  path?: string | readonly string[] | undefined;
}

function stdinBytes(stdin: ExecPluginOptions["stdin"]): string | Uint8Array {
  if (typeof stdin === "string" || stdin instanceof Uint8Array) return stdin;
  return JSON.stringify(stdin);
}

/**
 * Runs a plugin and returns its raw stdout text (no decoding on success).
 *
 * @example
 * const out = await execPlugin({ pluginPath, command: "DEL", stdin: conf, containerId, netns, ifName: "eth0", path: ["/opt/cni/bin"] });
 * @throws CniError the plugin's error, or an exec failure (see `rawExec`).
 */
export async function execPlugin(options: ExecPluginOptions): Promise<string> {
  const env = buildPluginEnv(
    {
      command: options.command,
      containerId: options.containerId,
      netns: options.netns,
      ifName: options.ifName,
      args: options.args,
      path: options.path,
    },
    options.env ?? process.env,
  );
  const exec = options.exec ?? rawExec;
  const out = await exec({
    pluginPath: options.pluginPath,
    stdin: stdinBytes(options.stdin),
    env,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    stderr: options.stderr,
  });
  return typeof out === "string" ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString("utf8");
}

/**
 * The `cniVersion` of a network config (Go `ConfigDecoder`): "" or missing means "0.1.0".
 *
 * @example configVersion('{"cniVersion":"1.0.0","name":"n","type":"bridge"}') // "1.0.0"
 * @throws CniError code 6 `decoding version from network config: ...` when it is not a JSON object.
 */
export function configVersion(stdin: string | Uint8Array | object): string {
  let conf: unknown = stdin;
  if (typeof stdin === "string" || stdin instanceof Uint8Array) {
    const text = typeof stdin === "string" ? stdin : Buffer.from(stdin).toString("utf8");
    try {
      conf = JSON.parse(text);
    } catch (err) {
      throw new CniError(ErrorCode.DecodingFailure, `decoding version from network config: ${(err as Error).message}`);
    }
  }
  if (typeof conf !== "object" || conf === null || Array.isArray(conf)) {
    throw new CniError(ErrorCode.DecodingFailure, "decoding version from network config: not a JSON object");
  }
  const v = (conf as Record<string, unknown>).cniVersion;
  if (v === undefined || v === null || v === "") return "0.1.0";
  if (typeof v !== "string") {
    throw new CniError(ErrorCode.DecodingFailure, "decoding version from network config: cniVersion is not a string");
  }
  return v;
}

/**
 * Decodes a plugin's successful ADD output into a result of its own version. A result without
 * (or with an empty) `cniVersion` takes `confVersion`, the config's version, as Go does.
 *
 * @example decodeResult('{"ips":[{"address":"10.1.2.3/24"}]}', "1.0.0").cniVersion // "1.0.0"
 * @throws CniError code 6 naming the bytes when the output is not JSON, or not a valid result.
 */
export function decodeResult(stdout: string, confVersion: string): AnyResult {
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch (err) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `failed to unmarshal raw result ${goQuote(clip(stdout))}: ${(err as Error).message}`,
    );
  }
  if (raw === null) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new CniError(ErrorCode.DecodingFailure, `failed to unmarshal raw result ${goQuote(clip(stdout))}: not a JSON object`);
  }
  const obj = { ...(raw as Record<string, unknown>) };
  if (typeof obj.cniVersion !== "string" || obj.cniVersion === "") obj.cniVersion = confVersion;
  return parseResult(obj);
}

/**
 * Runs a plugin (normally ADD) and decodes its result in whatever version it printed.
 *
 * @example
 * const result = await execPluginWithResult({ pluginPath, command: "ADD", stdin: conf, containerId, netns, ifName: "eth0", path });
 * @throws CniError the plugin's error, an exec failure, or code 6 for output that is not a result.
 */
export async function execPluginWithResult(options: ExecPluginOptions): Promise<AnyResult> {
  const confVersion = configVersion(options.stdin);
  const stdout = await execPlugin(options);
  return decodeResult(stdout, confVersion);
}

/**
 * Runs a plugin for a command without a result (DEL, CHECK, STATUS, GC); its stdout is ignored.
 *
 * @example await execPluginWithoutResult({ pluginPath, command: "DEL", stdin: conf, containerId, netns: "", ifName: "eth0", path });
 * @throws CniError the plugin's error or an exec failure.
 */
export async function execPluginWithoutResult(options: ExecPluginOptions): Promise<void> {
  await execPlugin(options);
}

/**
 * Asks a plugin which spec versions it supports (CNI_COMMAND=VERSION). Plugins older than the
 * VERSION command (they answer `unknown CNI_COMMAND: VERSION`) are reported as supporting 0.1.0.
 *
 * @example (await getVersionInfo("/usr/lib/cni/bridge")).supportedVersions // ["0.1.0", ..., "1.0.0"]
 * @throws CniError the plugin's error, an exec failure, or `decoding version info: ...` (code 6).
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version
 */
export async function getVersionInfo(pluginPath: string, options: ExecRunOptions = {}): Promise<VersionReply> {
  let stdout: string;
  try {
    stdout = await execPlugin({
      ...options,
      pluginPath,
      command: "VERSION",
      stdin: `{"cniVersion":"${CURRENT_VERSION}"}`,
      // fake values required by plugins built against very old skel versions
      containerId: "",
      netns: "dummy",
      ifName: "dummy",
      args: "",
      path: "dummy",
    });
  } catch (err) {
    if (err instanceof Error && err.message === "unknown CNI_COMMAND: VERSION") {
      return { cniVersion: CURRENT_VERSION, supportedVersions: ["0.1.0"] };
    }
    throw err;
  }
  return decodeVersionReply(stdout);
}
