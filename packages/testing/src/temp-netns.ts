/**
 * Temporary network namespaces for tests, removed even when a test forgets.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters (CNI_NETNS)
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { spawnSync } from "node:child_process";
import { Netns } from "@cnikit/ns";
import { type CommandOutput, runCommand, runCommandOrThrow } from "./exec.js";
import { uniqueName } from "./names.js";
import { NETNS_RUN_DIR } from "@cnikit/ns";

/**
 * A network namespace made for one test; remove it with `remove()` or `await using`.
 *
 * @example
 * ```ts
 * await using ns: TempNetns = await createTempNetns();
 * const { stdout } = await ns.exec(["ip", "-brief", "link"]);
 * ```
 */
export interface TempNetns {
  /** Name under /var/run/netns (`ck` + random hex unless a prefix was given). */
  readonly name: string;
  /** `/var/run/netns/<name>`: what a runtime passes as CNI_NETNS. */
  readonly path: string;
  /** True once removed. */
  readonly removed: boolean;
  /** A `@cnikit/ns` handle acting inside the namespace (closed by `remove()`). */
  open(): Promise<Netns>;
  /** Runs a command inside the namespace (`nsenter --net=<path> ...`). */
  exec(argv: readonly string[]): Promise<CommandOutput>;
  /** Deletes the namespace (and every link in it); safe to call twice. */
  remove(): Promise<void>;
  /** Same as `remove()`, for `await using ns = await createTempNetns()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Options for {@link createTempNetns}.
 *
 * @example
 * ```ts
 * const opts: CreateTempNetnsOptions = { prefix: "ckbr", loopbackUp: false };
 * await using ns = await createTempNetns(opts);
 * ```
 */
export interface CreateTempNetnsOptions {
  /** Name prefix (default `ck`), e.g. the test's name, so a leftover says who made it; the name is at most 15 characters. */
  prefix?: string | undefined;
  /** Bring `lo` up, as runtimes do (default true). */
  loopbackUp?: boolean | undefined;
}

const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last line of defence: a test that forgot remove() (or crashed) still leaves nothing behind.
  const removeLive = () => {
    for (const name of live) spawnSync("ip", ["netns", "delete", name], { stdio: "ignore" });
    live.clear();
  };
  process.once("exit", removeLive);
  // Killed by a signal nobody handles: clean up, then die of that signal as before.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      removeLive();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Registers a namespace made without {@link createTempNetns} (by a `Scratch`) for removal at
 * process exit and by {@link removeAllTempNetns}.
 * @internal
 */
export function trackTempNetns(name: string): void {
  installExitHook();
  live.add(name);
}

/**
 * Forgets a namespace registered by {@link trackTempNetns}, once it is deleted.
 * @internal
 */
export function untrackTempNetns(name: string): void {
  live.delete(name);
}

/**
 * Creates a uniquely named network namespace (`ip netns add`), registered for
 * removal even if the test forgets (process exit hook). Needs root.
 *
 * @throws Error when the namespace cannot be created (not root, no `ip`).
 * @example
 * ```ts
 * await using ns = await createTempNetns();
 * const run = await runPlugin(bin, { command: "ADD", config, netns: ns.path });
 * ```
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters (CNI_NETNS)
 */
export async function createTempNetns(options: CreateTempNetnsOptions = {}): Promise<TempNetns> {
  installExitHook();
  const name = uniqueName(options.prefix ?? "ck");
  await runCommandOrThrow(["ip", "netns", "add", name]);
  live.add(name);
  const path = `${NETNS_RUN_DIR}/${name}`;
  const handles: Netns[] = [];
  let removed = false;
  const remove = async (): Promise<void> => {
    if (removed) return;
    removed = true;
    for (const h of handles.splice(0)) {
      try {
        h.close();
      } catch {
        // already closed
      }
    }
    await removeNetnsByName(name);
  };
  const ns: TempNetns = {
    name,
    path,
    get removed() {
      return removed;
    },
    async open() {
      if (removed) throw new Error(`netns ${name} was removed`);
      const h = await Netns.open(path);
      handles.push(h);
      return h;
    },
    exec: (argv) => runCommand(["nsenter", `--net=${path}`, ...argv], { timeoutMs: 60_000 }),
    remove,
    [Symbol.asyncDispose]: remove,
  };
  try {
    if (options.loopbackUp !== false) await runCommandOrThrow(["ip", "-n", name, "link", "set", "lo", "up"]);
  } catch (err) {
    await remove();
    throw err;
  }
  return ns;
}

/**
 * Runs `fn` with a fresh namespace (or `count` of them) and removes them afterwards, whether
 * `fn` succeeds or throws. `options` are {@link createTempNetns}'s (e.g. a name `prefix`).
 *
 * @example
 * ```ts
 * await withTempNetns(async (ns) => { await expectLink(ns, "lo", { up: true }); });
 * await withTempNetns({ prefix: "ckveth" }, async (ns) => { ... }); // /var/run/netns/ckveth<hex>
 * await withTempNetns(2, async ([a, b]) => { ... });
 * await withTempNetns(2, { prefix: "ckbr" }, async ([a, b]) => { ... });
 * ```
 * @throws whatever `fn` throws (after cleanup), or an error when a namespace cannot be made or removed.
 */
export function withTempNetns<T>(fn: (ns: TempNetns) => Promise<T> | T): Promise<T>;
export function withTempNetns<T>(options: CreateTempNetnsOptions, fn: (ns: TempNetns) => Promise<T> | T): Promise<T>;
export function withTempNetns<T>(count: number, fn: (ns: TempNetns[]) => Promise<T> | T): Promise<T>;
export function withTempNetns<T>(
  count: number,
  options: CreateTempNetnsOptions,
  fn: (ns: TempNetns[]) => Promise<T> | T,
): Promise<T>;
export async function withTempNetns<T>(...args: unknown[]): Promise<T> {
  const count = typeof args[0] === "number" ? args[0] : undefined;
  const rest = count === undefined ? args : args.slice(1);
  const options = (typeof rest[0] === "function" ? {} : rest[0]) as CreateTempNetnsOptions;
  const fn = rest.find((a) => typeof a === "function") as ((ns: TempNetns | TempNetns[]) => Promise<T> | T) | undefined;
  if (!fn) throw new TypeError("withTempNetns: the callback is missing");
  const created: TempNetns[] = [];
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    for (let i = 0; i < (count ?? 1); i++) created.push(await createTempNetns(options));
    outcome = { ok: true, value: await fn(count === undefined ? (created[0] as TempNetns) : created) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const errors: unknown[] = [];
  for (const ns of created.reverse()) {
    try {
      await ns.remove();
    } catch (err) {
      errors.push(err);
    }
  }
  if (!outcome.ok) throw outcome.error;
  if (errors.length) throw new AggregateError(errors, "removing temporary namespaces failed");
  return outcome.value;
}

/**
 * Removes every namespace created by {@link createTempNetns} (or a `Scratch`) in this
 * process that is still there (e.g. in a global `afterAll`).
 *
 * @example
 * ```ts
 * afterAll(() => removeAllTempNetns());
 * ```
 */
export async function removeAllTempNetns(): Promise<void> {
  for (const name of [...live]) await removeNetnsByName(name);
}

/**
 * Names of the temporary namespaces still alive in this process.
 *
 * @example
 * ```ts
 * afterAll(() => expect(liveTempNetns()).toEqual([])); // every test removed its namespaces
 * ```
 */
export function liveTempNetns(): string[] {
  return [...live];
}

async function removeNetnsByName(name: string): Promise<void> {
  const r = await runCommand(["ip", "netns", "delete", name], { timeoutMs: 30_000 });
  if (r.code !== 0 && !/No such file|not found|Invalid argument/i.test(r.stderr)) {
    throw new Error(`removing netns ${name} failed: ${r.stderr.trim()}`);
  }
  live.delete(name);
}
