/**
 * The wire protocol between the agent shim and `cnikit-agent` (version 1). One request and one
 * response per connection; all integers little-endian.
 *
 * ```
 * request  = "CNKA" u8 version=1, u8 type (1 call, 2 status), u16 0, u32 envLen, u32 stdinLen,
 *            env: "KEY=VALUE\0" entries (CNI_* only), stdin bytes      (then the shim half-closes)
 * response = "CNKA" u8 version=1, u8 type (1 result, 2 status, 3 unsupported version),
 *            u8 exit status, u8 0, u32 stdoutLen, u32 stderrLen, stdout bytes, stderr bytes
 * ```
 *
 * A type-3 answer (or a header of another version) sends the shim to its fallback; a connection
 * closed before a whole response is a code-11 error.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */

/** The four bytes every frame starts with. */
const MAGIC = Buffer.from("CNKA", "latin1");

/** Size of a request or response header. */
const HEADER_BYTES = 16;

/**
 * The constants of the agent wire protocol: its version, frame types and limits.
 *
 * @example
 * AGENT_PROTOCOL.version; // 1
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export const AGENT_PROTOCOL = {
  /** The protocol version this daemon and the shim speak. */
  version: 1,
  /** Request type: a CNI call (env + stdin). */
  call: 1,
  /** Request and response type: the daemon's status (JSON on stdout). */
  status: 2,
  /** Response type: the result of a call. */
  result: 1,
  /** Response type: the request's version is not spoken here (the shim runs its fallback). */
  unsupportedVersion: 3,
  /** Largest env section accepted. */
  maxEnvBytes: 64 * 1024,
  /** Largest stdin section accepted. */
  maxStdinBytes: 64 * 1024 * 1024,
} as const;

/**
 * A request: its type, the CNI_* variables and stdin.
 *
 * @example
 * const request: AgentRequest = { type: AGENT_PROTOCOL.call, env: { CNI_COMMAND: "VERSION" }, stdin: Buffer.alloc(0) };
 */
export interface AgentRequest {
  /** 1: call, 2: status. */
  readonly type: number;
  /** The CNI_* variables of the call. */
  readonly env: Readonly<Record<string, string>>;
  /** The call's stdin. */
  readonly stdin: Buffer;
}

/** What the header says, once 16 bytes have arrived. */
export type HeaderCheck =
  | { readonly kind: "ok"; readonly type: number; readonly total: number; readonly envBytes: number }
  | { readonly kind: "skew"; readonly version: number }
  | { readonly kind: "bad"; readonly reason: string };

/** Checks a request header (the first 16 bytes). */
export function checkRequestHeader(head: Buffer): HeaderCheck {
  if (!head.subarray(0, 4).equals(MAGIC)) return { kind: "bad", reason: "not a cnikit agent frame (bad magic)" };
  const version = head.readUInt8(4);
  if (version !== AGENT_PROTOCOL.version) return { kind: "skew", version };
  const type = head.readUInt8(5);
  if (type !== AGENT_PROTOCOL.call && type !== AGENT_PROTOCOL.status) {
    return { kind: "bad", reason: `unknown request type ${type}` };
  }
  const envBytes = head.readUInt32LE(8);
  const stdinBytes = head.readUInt32LE(12);
  if (envBytes > AGENT_PROTOCOL.maxEnvBytes) {
    return { kind: "bad", reason: `env section of ${envBytes} bytes is larger than ${AGENT_PROTOCOL.maxEnvBytes}` };
  }
  if (stdinBytes > AGENT_PROTOCOL.maxStdinBytes) {
    return {
      kind: "bad",
      reason: `stdin section of ${stdinBytes} bytes is larger than ${AGENT_PROTOCOL.maxStdinBytes}`,
    };
  }
  return { kind: "ok", type, total: HEADER_BYTES + envBytes + stdinBytes, envBytes };
}

const CNI_KEY = /^CNI_[A-Z0-9_]+$/;

/**
 * Decodes the env section: `KEY=VALUE\0` entries, CNI_* keys only, CNI_NETNS an absolute path.
 *
 * @throws Error naming the offending entry.
 */
export function decodeRequestEnv(section: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  const text = section.toString("utf8");
  if (text.length > 0 && !text.endsWith("\0")) throw new Error("env section does not end with NUL");
  for (const entry of text.split("\0")) {
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (!CNI_KEY.test(key))
      throw new Error(`only CNI_* variables are accepted, not ${JSON.stringify(key.slice(0, 64))}`);
    env[key] = eq < 0 ? "" : entry.slice(eq + 1);
  }
  checkNetns(env);
  return env;
}

/** Throws unless CNI_NETNS (when set) is an absolute path without `..`. */
function checkNetns(env: Readonly<Record<string, string | undefined>>): void {
  const netns = env.CNI_NETNS;
  if (
    netns !== undefined &&
    netns !== "" &&
    (!netns.startsWith("/") || netns.length > 4096 || netns.split("/").includes(".."))
  ) {
    throw new Error(`CNI_NETNS must be an absolute path, not ${JSON.stringify(netns.slice(0, 128))}`);
  }
}

/**
 * The CNI_* variables of an environment (what the shim forwards; the rest is dropped), with
 * CNI_NETNS checked as in a request frame: an in-process delegation gets the same as a call
 * through the delegate's shim.
 *
 * @throws Error when CNI_NETNS is not an absolute path.
 */
export function cniVariables(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in env) {
    const value = env[key];
    if (value !== undefined && CNI_KEY.test(key)) out[key] = value;
  }
  checkNetns(out);
  return out;
}

/** Splits a whole request frame (header checked `ok`) into its parts. */
export function decodeRequest(frame: Buffer, header: { type: number; envBytes: number; total: number }): AgentRequest {
  const env = decodeRequestEnv(frame.subarray(HEADER_BYTES, HEADER_BYTES + header.envBytes));
  return { type: header.type, env, stdin: frame.subarray(HEADER_BYTES + header.envBytes, header.total) };
}

/**
 * Encodes a request frame (what the shim sends; the status client and tests use it).
 *
 * @example
 * socket.end(encodeAgentRequest({ type: AGENT_PROTOCOL.call, env: { CNI_COMMAND: "VERSION" }, stdin: Buffer.alloc(0) }));
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
export function encodeAgentRequest(request: AgentRequest, version: number = AGENT_PROTOCOL.version): Buffer {
  const env = Buffer.from(
    Object.entries(request.env)
      .map(([k, v]) => `${k}=${v}\0`)
      .join(""),
    "utf8",
  );
  const head = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(head, 0);
  head.writeUInt8(version, 4);
  head.writeUInt8(request.type, 5);
  head.writeUInt32LE(env.length, 8);
  head.writeUInt32LE(request.stdin.length, 12);
  return Buffer.concat([head, env, request.stdin]);
}

/** Encodes a response frame. */
export function encodeResponse(type: number, exitCode: number, stdout: string, stderr: string): Buffer {
  const out = Buffer.from(stdout, "utf8");
  const err = Buffer.from(stderr, "utf8");
  const head = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(head, 0);
  head.writeUInt8(AGENT_PROTOCOL.version, 4);
  head.writeUInt8(type, 5);
  head.writeUInt8(exitCode & 0xff, 6);
  head.writeUInt32LE(out.length, 8);
  head.writeUInt32LE(err.length, 12);
  return Buffer.concat([head, out, err]);
}

/**
 * A decoded response frame.
 *
 * @example
 * const r: AgentResponse = await requestAgent(socketPath, { type: AGENT_PROTOCOL.status, env: {}, stdin: Buffer.alloc(0) });
 */
export interface AgentResponse {
  /** 1 result, 2 status, 3 unsupported version. */
  readonly type: number;
  /** The plugin's exit status. */
  readonly exitCode: number;
  /** The plugin's stdout (one JSON document). */
  readonly stdout: string;
  /** The plugin's stderr (its log lines). */
  readonly stderr: string;
}

/** Decodes a whole response; undefined when it is incomplete or not a v1 frame. */
export function decodeResponse(frame: Buffer): AgentResponse | undefined {
  if (frame.length < HEADER_BYTES || !frame.subarray(0, 4).equals(MAGIC)) return undefined;
  const outLen = frame.readUInt32LE(8);
  const errLen = frame.readUInt32LE(12);
  if (frame.length < HEADER_BYTES + outLen + errLen) return undefined;
  return {
    type: frame.readUInt8(5),
    exitCode: frame.readUInt8(6),
    stdout: frame.toString("utf8", HEADER_BYTES, HEADER_BYTES + outLen),
    stderr: frame.toString("utf8", HEADER_BYTES + outLen, HEADER_BYTES + outLen + errLen),
  };
}

export { HEADER_BYTES };
