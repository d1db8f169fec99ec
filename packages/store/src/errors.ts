/**
 * The store's typed errors. Each has a `code` and a `name`, keeps `cause`, and carries a brand so
 * that `instanceof` also recognises errors thrown by another bundled copy of this package.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */

/** The property that carries an error's code as its brand. */
const BRAND = Symbol.for("cnikit.StoreError");

/**
 * What went wrong, as a stable string.
 *
 * @example if (err instanceof StoreError && err.code === "unavailable") return tryAgainLater();
 */
export type StoreErrorCode =
  | "unavailable"
  | "timeout"
  | "auth"
  | "compare-failed"
  | "lease-not-found"
  | "compacted"
  | "invalid"
  | "config";

function brandOf(value: unknown): unknown {
  return typeof value === "object" && value !== null ? (value as Record<symbol, unknown>)[BRAND] : undefined;
}

/**
 * The base of every store error. `instanceof` works across bundled copies of this package.
 *
 * @example
 * try { await store.get("a"); } catch (err) { if (err instanceof StoreError) console.log(err.code); }
 */
export class StoreError extends Error {
  /** What went wrong. */
  readonly code: StoreErrorCode;
  /** @internal the brand (the code), for `instanceof` across copies. */
  readonly [BRAND]: StoreErrorCode;
  /** @internal the code a subclass stands for (undefined: any store error). */
  protected static readonly kind: StoreErrorCode | undefined = undefined;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = "StoreError";
    this[BRAND] = code;
  }

  /**
   * `instanceof` by brand: true for this class's errors from any copy of the package.
   * @example err instanceof StoreTimeoutError
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    const brand = brandOf(value);
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof (a subclass too)
    const kind = (this as unknown as { kind: StoreErrorCode | undefined }).kind;
    return typeof brand === "string" && (kind === undefined || brand === kind);
  }
}

/**
 * No endpoint answered (refused, reset, unreachable) within the retry budget. Safe to try again
 * later: nothing was applied. Plugins map it to CNI code 11 ("try again later").
 *
 * @example throw new StoreUnavailableError("etcd: no endpoint answered within 5000 ms");
 */
export class StoreUnavailableError extends StoreError {
  protected static override readonly kind: StoreErrorCode = "unavailable";
  /** True when a write was sent and may or may not have been applied. */
  readonly outcomeUnknown: boolean;

  constructor(message: string, options?: { cause?: unknown; outcomeUnknown?: boolean }) {
    super("unavailable", message, options);
    this.name = "StoreUnavailableError";
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}

/**
 * A call ran out of time: its deadline (a write) or the retry budget (a read). When
 * `outcomeUnknown` is true the write may have been applied: read again before deciding.
 *
 * @example if (err instanceof StoreTimeoutError && err.outcomeUnknown) await reconcile();
 */
export class StoreTimeoutError extends StoreError {
  protected static override readonly kind: StoreErrorCode = "timeout";
  /** True when a write was sent and may or may not have been applied. */
  readonly outcomeUnknown: boolean;

  constructor(message: string, options?: { cause?: unknown; outcomeUnknown?: boolean }) {
    super("timeout", message, options);
    this.name = "StoreTimeoutError";
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}

/**
 * The store refused our credentials (TLS client certificate, CA mismatch, etcd auth).
 * Retrying does not help.
 *
 * @example throw new StoreAuthError("etcd: certificate signed by unknown authority");
 */
export class StoreAuthError extends StoreError {
  protected static override readonly kind: StoreErrorCode = "auth";
  constructor(message: string, options?: { cause?: unknown }) {
    super("auth", message, options);
    this.name = "StoreAuthError";
  }
}

/**
 * A transaction's comparison did not hold. `txn()` itself answers `succeeded: false`; this
 * error is for callers that want to throw it (see {@link expectSucceeded}).
 *
 * @example if (!r.succeeded) throw new CompareFailedError("ips/10.0.0.2 is taken");
 */
export class CompareFailedError extends StoreError {
  protected static override readonly kind: StoreErrorCode = "compare-failed";
  constructor(message: string, options?: { cause?: unknown }) {
    super("compare-failed", message, options);
    this.name = "CompareFailedError";
  }
}

/**
 * The lease does not exist (revoked or expired).
 *
 * @example await store.keepAlive(lease).catch((e) => { if (e instanceof LeaseNotFoundError) regrant(); });
 */
export class LeaseNotFoundError extends StoreError {
  protected static override readonly kind: StoreErrorCode = "lease-not-found";
  constructor(message: string, options?: { cause?: unknown }) {
    super("lease-not-found", message, options);
    this.name = "LeaseNotFoundError";
  }
}

/**
 * A watch asked for a revision the store no longer keeps history for. Re-read the state
 * (`range`) and watch again from the revision of that read + 1.
 *
 * @example store.watch("a/", { fromRevision: 1, onError: (e) => e instanceof WatchCompactedError && resync() }, f)
 */
export class WatchCompactedError extends StoreError {
  protected static override readonly kind: StoreErrorCode = "compacted";
  /** The oldest revision the store still has history for. */
  readonly compactRevision: number;

  constructor(message: string, compactRevision: number) {
    super("compacted", message);
    this.name = "WatchCompactedError";
    this.compactRevision = compactRevision;
  }
}

/**
 * A store URL or option that cannot be used (unknown scheme, missing path, unreadable TLS file).
 *
 * @example await openStore("redis://x").catch((e) => e instanceof StoreConfigError) // true
 */
export class StoreConfigError extends StoreError {
  protected static override readonly kind: StoreErrorCode = "config";
  constructor(message: string, options?: { cause?: unknown }) {
    super("config", message, options);
    this.name = "StoreConfigError";
  }
}

/**
 * Throws {@link CompareFailedError} when a transaction's comparison did not hold.
 *
 * @throws CompareFailedError when `response.succeeded` is false.
 * @example expectSucceeded(await store.txn(req), "ips/10.0.0.2 is taken");
 */
export function expectSucceeded<T extends { succeeded: boolean }>(response: T, message = "compare failed"): T {
  if (!response.succeeded) throw new CompareFailedError(message);
  return response;
}
