/**
 * Undo stacks for the host-side things a test creates.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { runCommand } from "./exec.js";

/**
 * A stack of undo steps that all run, last first, even when some fail.
 *
 * @example
 * ```ts
 * const cleanup: CleanupStack = createCleanup();
 * try {
 *   cleanup.defer(() => removeHostLink(bridge));
 * } finally {
 *   await cleanup.run();
 * }
 * ```
 */
export interface CleanupStack {
  /** Registers a step; returns it so `const x = defer(() => ...)` reads well. */
  defer(step: () => unknown): void;
  /** Runs every registered step (last first) and empties the stack. */
  run(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates a cleanup stack, for host-side things a test or the plugin under test
 * creates (a bridge, a data dir).
 *
 * @throws AggregateError from `run()` when steps failed (after running all of them).
 * @example
 * ```ts
 * await using cleanup = createCleanup();
 * cleanup.defer(() => removeHostLink(bridge));
 * ```
 */
export function createCleanup(): CleanupStack {
  const steps: (() => unknown)[] = [];
  const run = async () => {
    const errors: unknown[] = [];
    while (steps.length) {
      const step = steps.pop() as () => unknown;
      try {
        await step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length) throw new AggregateError(errors, `${errors.length} cleanup steps failed`);
  };
  return { defer: (step) => void steps.push(step), run, [Symbol.asyncDispose]: run };
}

/**
 * Deletes a link in the host namespace (e.g. a bridge the plugin created); a missing
 * link is fine. Only delete links your test created.
 *
 * @throws Error when `ip link delete` fails for another reason.
 * @example
 * ```ts
 * cleanup.defer(() => removeHostLink("ckbr1a2b3c"));
 * ```
 */
export async function removeHostLink(name: string): Promise<void> {
  const r = await runCommand(["ip", "link", "delete", "dev", name], { timeoutMs: 30_000 });
  if (r.code !== 0 && !/Cannot find device|does not exist/i.test(r.stderr)) {
    throw new Error(`deleting link ${name} failed: ${r.stderr.trim()}`);
  }
}
