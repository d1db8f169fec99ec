/**
 * CNI error codes and the `CniError` class.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#error
 */

/**
 * Well-known CNI error codes (SPEC.md "Error"). Codes 0–99 are reserved by the spec;
 * plugins use 100 and above for their own errors. `InvalidNetns` (8) and `Internal` (999)
 * are the Go library's, kept for compatibility.
 *
 * @example
 * throw new CniError(ErrorCode.InvalidNetworkConfig, "bridge name too long", config.bridge);
 */
export const ErrorCode = {
  IncompatibleCniVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetns: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  Internal: 999,
} as const;

/**
 * One of the well-known codes, or a plugin-specific code (>= 100).
 *
 * @example
 * const code: ErrorCodeValue = ErrorCode.TryAgainLater; // 11; a plugin's own codes start at 100
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#error
 */
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | number;

/**
 * The JSON error object a plugin prints on stdout (SPEC.md "Error").
 *
 * @example
 * const reply: ErrorReply = new CniError(ErrorCode.InvalidNetworkConfig, "invalid MTU", "mtu: 70000").toJSON("1.1.0");
 * // { cniVersion: "1.1.0", code: 7, msg: "invalid MTU", details: "mtu: 70000" }
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#error
 */
export interface ErrorReply {
  cniVersion?: string;
  code: number;
  msg: string;
  details?: string;
}

const MARKER = Symbol.for("cnikit.CniError");

/**
 * An error with a CNI error code. Skel prints it as the spec's error JSON; any other
 * thrown value becomes code 999 (`ErrorCode.Internal`).
 *
 * `message` is `msg` or `msg; details` (the Go string form).
 *
 * @example
 * throw new CniError(ErrorCode.TryAgainLater, "bridge is being reconfigured");
 */
export class CniError extends Error {
  /** The CNI error code. */
  readonly code: number;
  /** Short message (the JSON `msg`). */
  readonly msg: string;
  /** Longer explanation (the JSON `details`), if any. */
  readonly details: string | undefined;
  /** @internal marker so `isInstance` works across bundled copies of this class. */
  readonly [MARKER] = true;

  constructor(code: number, msg: string, details?: string, options?: { cause?: unknown }) {
    super(details ? `${msg}; ${details}` : msg, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CniError";
    this.code = code;
    this.msg = msg;
    this.details = details === "" ? undefined : details;
  }

  /**
   * True for a CniError from any copy of this library (bundles each carry their own class).
   * @example if (CniError.isInstance(err)) log.warn("plugin error", { code: err.code });
   */
  static isInstance(value: unknown): value is CniError {
    return (
      typeof value === "object" &&
      value !== null &&
      (value instanceof CniError || (value as Record<symbol, unknown>)[MARKER] === true)
    );
  }

  /**
   * Wraps anything thrown into a CniError: a CniError passes through, an Error becomes
   * code 999 with its message (the original kept as `cause`), anything else is stringified.
   *
   * @example CniError.from(new Error("disk full")).code // 999
   */
  static from(value: unknown, code: number = ErrorCode.Internal): CniError {
    if (CniError.isInstance(value)) return value;
    if (value instanceof Error) return new CniError(code, value.message, undefined, { cause: value });
    return new CniError(code, String(value), undefined, { cause: value });
  }

  /**
   * The error `err` with `prefix: ` before its message: a CniError keeps its code and details,
   * anything else becomes code 999 (`ErrorCode.Internal`). The original is kept as `cause`.
   * Use it to say which step or delegate failed without losing the code a runtime acts on.
   *
   * @example
   * CniError.wrap("IPAM plugin host-local", new CniError(11, "try again later")).msg // "IPAM plugin host-local: try again later"
   */
  static wrap(prefix: string, err: unknown): CniError {
    const inner = CniError.from(err);
    return new CniError(inner.code, `${prefix}: ${inner.msg}`, inner.details, { cause: err });
  }

  /**
   * The spec's error object. `cniVersion` is included when given.
   *
   * `JSON.stringify` also calls `toJSON`, passing the property key ("" at the top level,
   * "0" inside an array, "error" inside `{ error }`); such keys are not versions and are
   * ignored, so only a dotted version string (`1.1.0`, `0.4.0`) is written as `cniVersion`.
   *
   * @example new CniError(7, "bad config").toJSON("1.1.0") // { cniVersion: "1.1.0", code: 7, msg: "bad config" }
   */
  toJSON(cniVersion?: string): ErrorReply {
    const out: ErrorReply = {} as ErrorReply;
    if (typeof cniVersion === "string" && /^\d+\.\d+(\.\d+)?$/.test(cniVersion)) out.cniVersion = cniVersion;
    out.code = this.code;
    out.msg = this.msg;
    if (this.details !== undefined) out.details = this.details;
    return out;
  }
}
