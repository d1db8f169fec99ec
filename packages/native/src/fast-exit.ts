/**
 * The fast exit: once a plugin has written its reply, end the process through `_exit(2)` right
 * after its 'exit' listeners, without Node's teardown (freeing the heap, joining the V8 and
 * libuv threads: ~1.3 ms of every call). Go's skel exits the same way: the reply is written,
 * nothing else is waited for.
 *
 * This entry point (`@cnikit/native/fast-exit`) imports neither koffi, `bun:ffi` nor the libc bindings:
 * `@cnikit/skel` imports it on every plugin's start path.
 */
import { loadedNativeExit } from "./loaded.js";

/** Teardown writes something someone asked for: V8 coverage or a CPU/heap profile. */
function teardownWanted(): boolean {
  if (process.env.NODE_V8_COVERAGE) return true;
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].join(" ");
  return /--(cpu-prof|heap-prof|prof)\b/.test(flags);
}

/**
 * Ends the process with `code`, like `process.exit(code)`: the 'exit' listeners run, then, when
 * the native layer is already loaded (koffi under Node, `bun:ffi` under Bun; loaded by
 * `@cnikit/ns`, `flock`, `posixSpawn`...) and Node's teardown is not wanted (no
 * `NODE_V8_COVERAGE`, no `--cpu-prof`/`--heap-prof`/`--prof`), the process ends through libc's
 * `_exit(2)` with the final `process.exitCode`. Nothing native is loaded for this.
 * Call it only when everything is written (stdout and stderr flushed): `@cnikit/skel`'s
 * `main()` calls it after the reply.
 *
 * @example
 * import { fastExit } from "@cnikit/native/fast-exit";
 * process.stdout.write(reply, () => fastExit(0));
 * @throws never: it does not return.
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 */
export function fastExit(code: number): never {
  const exit = loadedNativeExit();
  if (exit !== undefined && !teardownWanted()) {
    process.once("exit", (c) => exit(Number(process.exitCode ?? c) || 0));
  }
  return process.exit(code);
}
