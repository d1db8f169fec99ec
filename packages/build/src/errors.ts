/**
 * The error every function of `@cnikit/build` throws: a build problem (bad entry, esbuild
 * errors, a missing native addon, `node --build-snapshot` failing), not a CNI protocol error,
 * so it is not a `CniError`.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol — a plugin is an executable the runtime execs
 */

const MARKER = Symbol.for("cnikit.BuildError");

/**
 * A plugin build failed; `message` says what and how to fix it, `cause` keeps the original error.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol — what is built: the executable a runtime execs
 *
 * @example
 * ```ts
 * try {
 *   await buildPlugin({ entry: "src/main.ts", outfile: "dist/my-plugin" });
 * } catch (err) {
 *   if (err instanceof BuildError) console.error(err.message);
 * }
 * ```
 */
export class BuildError extends Error {
  /** Always `"BuildError"`. */
  override readonly name = "BuildError";

  /**
   * True for a `BuildError`, also one thrown by another bundled copy of this package (each
   * instance carries a global marker), so `err instanceof BuildError` is reliable.
   *
   * @example
   * ```ts
   * new BuildError("x") instanceof BuildError; // true
   * ```
   */
  static override [Symbol.hasInstance](value: unknown): value is BuildError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }

  /**
   * Creates a build error.
   *
   * @example
   * ```ts
   * throw new BuildError("entry src/main.ts not found");
   * ```
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.defineProperty(this, MARKER, { value: true });
  }
}
