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

/** The kinds (see {@link CniError.errorKind}) an error instance was built as, shared by every bundled copy. */
const KINDS = Symbol.for("cnikit.errorKinds");

/** The kind a class declares itself (not one inherited from its parent class). */
function ownKind(cls: unknown): string | undefined {
  if (typeof cls !== "function" || !Object.hasOwn(cls, "errorKind")) return undefined;
  const kind = (cls as { errorKind?: unknown }).errorKind;
  return typeof kind === "string" ? kind : undefined;
}

/** `value instanceof cls` by kinds when both carry them, else by prototype. */
function isInstanceOf(cls: unknown, value: unknown): boolean {
  const kind = ownKind(cls);
  if (kind !== undefined && typeof value === "object" && value !== null) {
    const kinds = (value as { [KINDS]?: unknown })[KINDS];
    if (Array.isArray(kinds)) return kinds.includes(kind);
  }
  return Function.prototype[Symbol.hasInstance].call(cls, value);
}

/**
 * An error with a CNI error code. Skel prints it as the spec's error JSON; any other
 * thrown value becomes code 999 (`ErrorCode.Internal`).
 *
 * `message` is `msg` or `msg; details` (the Go string form).
 *
 * `instanceof` works across bundled copies of cnikit (a plugin bundle and a dependency may each
 * carry their own copy of this class): every instance records the kinds of its class chain
 * (each class's static {@link CniError.errorKind}) under a global symbol, and
 * `static [Symbol.hasInstance]` compares kinds instead of prototypes. A subclass that declares
 * its own `errorKind` gets the same behaviour; one that does not falls back to the ordinary
 * prototype check.
 *
 * @example
 * throw new CniError(ErrorCode.TryAgainLater, "bridge is being reconfigured");
 * @example
 * class QuotaError extends CniError {
 *   static override readonly errorKind = "my-plugin.QuotaError";
 *   constructor(msg: string) { super(120, msg); this.name = "QuotaError"; }
 * }
 * err instanceof QuotaError; // also for a QuotaError thrown by another bundled copy
 */
export class CniError extends Error {
  /**
   * The name of this kind of error, unique across packages (e.g. `"cnikit.ns.NetnsNotFoundError"`).
   * `instanceof` compares it, so it must be declared by each subclass that wants `instanceof`
   * to work across bundled copies.
   *
   * @example
   * class QuotaError extends CniError { static override readonly errorKind = "my-plugin.QuotaError"; }
   */
  static readonly errorKind: string = "cnikit.CniError";

  /**
   * True when `value` was built as this class or a subclass of it, by any bundled copy of the
   * package that defines the class (see the class description).
   *
   * @example
   * if (err instanceof CniError) log.warn("plugin error", { code: err.code });
   */
  static override [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of `instanceof` (a subclass too)
    return isInstanceOf(this, value);
  }

  /** The CNI error code. */
  readonly code: number;
  /** Short message (the JSON `msg`). */
  readonly msg: string;
  /** Longer explanation (the JSON `details`), if any. */
  readonly details: string | undefined;

  constructor(code: number, msg: string, details?: string, options?: { cause?: unknown }) {
    super(details ? `${msg}; ${details}` : msg, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CniError";
    this.code = code;
    this.msg = msg;
    this.details = details === "" ? undefined : details;
    const kinds: string[] = [];
    for (let c: unknown = new.target; typeof c === "function" && c !== Error; c = Object.getPrototypeOf(c)) {
      const kind = ownKind(c);
      if (kind !== undefined) kinds.push(kind);
    }
    Object.defineProperty(this, KINDS, { value: kinds });
  }

  /**
   * Wraps anything thrown into a CniError: a CniError (from any bundled copy) passes through, an
   * Error becomes code 999 with its message (the original kept as `cause`), anything else is
   * stringified.
   *
   * @example CniError.from(new Error("disk full")).code // 999
   */
  static from(value: unknown, code: number = ErrorCode.Internal): CniError {
    if (value instanceof CniError) return value;
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
