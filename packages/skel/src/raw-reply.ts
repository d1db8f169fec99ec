/**
 * `RawReply`: a handler's way to finish with output skel does not build, such as a test double's
 * canned reply or a bare exit status.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */

/** Marks a RawReply for every bundled copy of skel (see {@link RawReply}). */
const RAW_REPLY = Symbol.for("cnikit.RawReply");

/**
 * What a {@link RawReply} consists of.
 *
 * @example
 * const init: RawReplyInit = { stdout: '{"cniVersion":"1.1.0"}', exitCode: 0 };
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export interface RawReplyInit {
  /** Written to stdout as is, exactly once: no newline added, not checked. Default: nothing. */
  stdout?: string | undefined;
  /** The exit status, an integer 0–255. Default 0. */
  exitCode?: number | undefined;
}

/**
 * A reply a handler returns (or throws) instead of its usual outcome: skel writes `stdout`
 * verbatim (and nothing else) to stdout and exits with `exitCode`. The ADD result is not
 * converted or validated, and no error JSON is printed. This is for test doubles and for
 * plugins that must mimic an exact byte stream; a normal plugin returns its result or throws a
 * `CniError`.
 *
 * Returned or thrown, it is handled the same way, so a helper deep in a handler can end the
 * call with `throw`. Rollback steps run when `exitCode` is not 0, as for a thrown error.
 * `plugin.run()` and `invoke()` report it with `raw: true`. `instanceof` works across bundled
 * copies of skel.
 *
 * @example
 * // a test double: print a canned result exactly as written, whatever the config's version
 * add: () => new RawReply({ stdout: '{ "cniVersion": "1.1.0", "ips": [] }' }),
 * @example
 * // fail with a bare exit status and nothing on stdout (what a crashed plugin looks like)
 * del: () => { throw new RawReply({ exitCode: 3 }); },
 * @throws TypeError when `exitCode` is not an integer from 0 to 255 or `stdout` not a string.
 */
export class RawReply {
  /**
   * True when `value` is a RawReply built by any bundled copy of skel.
   *
   * @example
   * if (err instanceof RawReply) return err.exitCode;
   */
  static [Symbol.hasInstance](value: unknown): value is RawReply {
    return typeof value === "object" && value !== null && (value as { [RAW_REPLY]?: unknown })[RAW_REPLY] === true;
  }

  /** Written to stdout as is ("" writes nothing). */
  readonly stdout: string;
  /** The exit status. */
  readonly exitCode: number;

  constructor(init: RawReplyInit = {}) {
    const exitCode = init.exitCode ?? 0;
    if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255) {
      throw new TypeError(`RawReply: exitCode must be an integer from 0 to 255, got ${String(exitCode)}`);
    }
    const stdout = init.stdout ?? "";
    if (typeof stdout !== "string") throw new TypeError(`RawReply: stdout must be a string, got ${typeof stdout}`);
    this.stdout = stdout;
    this.exitCode = exitCode;
    Object.defineProperty(this, RAW_REPLY, { value: true });
  }
}
