/**
 * The hook through which a process that hosts plugins (`cnikit-agent`) runs a delegate in
 * process instead of executing it: the delegate functions ask it about the executable they
 * found in CNI_PATH, and execute that executable when it answers `undefined`.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
import type { Spawner } from "@cnikit/native";
import { createRawExec, type RawExec } from "./raw-exec.js";

/**
 * Given the path a delegation found in CNI_PATH, a `Spawner` that runs that plugin in this
 * process (same `SpawnRequest` in, same `SpawnOutcome` out: exit code, stdout, stderr,
 * `timedOut`/`aborted`), or `undefined` to execute it as usual.
 *
 * @example
 * const resolver: DelegateResolver = (path) => (path === "/opt/cni/bin/host-local" ? runHostLocalHere : undefined);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
export type DelegateResolver = (pluginPath: string) => Spawner | undefined;

// Kept on globalThis under a registered symbol: a plugin bundle carries its own copy of this
// package, and the host's copy must reach it.
const KEY = Symbol.for("@cnikit/invoke.delegateResolver");
type Slot = { [KEY]?: DelegateResolver | undefined };

/**
 * Installs (or, with `undefined`, removes) the process-wide {@link DelegateResolver} that
 * `delegateAdd`/`Del`/`Check`/`Status`/`GC` (so `@cnikit/ipam-client`'s `ipam`) consult after
 * finding the delegate in CNI_PATH and before executing it. A call's own `options.exec` still
 * wins. The delegate then gets exactly what it would have been executed with (stdin, env with
 * CNI_COMMAND replaced, `timeoutMs`, the abort signal) and its outcome is decoded the same way:
 * its error keeps its code, msg and details and is wrapped `plugin <type>: ...` /
 * `IPAM plugin <type>: ...`. Every copy of `@cnikit/invoke` in the process (a bundled plugin
 * has its own) sees the same resolver. For hosts of plugins such as `cnikit-agent`; plugins
 * never call it.
 *
 * @example
 * setDelegateResolver((path) => (served.has(path) ? inProcessSpawner(path) : undefined));
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
export function setDelegateResolver(resolver: DelegateResolver | undefined): void {
  (globalThis as Slot)[KEY] = resolver;
}

/** The executor of a delegation to `pluginPath`: in process when the resolver says so, else undefined (execute). */
export function inProcessExec(pluginPath: string): RawExec | undefined {
  const resolver = (globalThis as Slot)[KEY];
  if (resolver === undefined) return undefined;
  const spawner = resolver(pluginPath);
  return spawner === undefined ? undefined : createRawExec(spawner);
}
