/**
 * `definePlugin`: turns a table of handlers into a runnable CNI plugin.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#cni-operations
 */
import { fastExit } from "@cnikit/native/fast-exit";
import { dispatch } from "./dispatch.js";
import type { PluginIo, RunOutput } from "./io.js";
import {
  BunSink,
  existingStream,
  flushStream,
  processIo,
  type StdStreamName,
  streamError,
  trackProcessStreams,
} from "./stdio.js";
import type { Plugin, PluginDefinition } from "./types.js";

// A start-up snapshot build (`node --build-snapshot`) evaluates this module at build time: run
// the abort-signal code a handler's `ctx.signal` uses (a delegate subscribes to it) once then, so
// its functions are compiled in the snapshot instead of at each call (~0.3 ms). Nothing is kept.
if (process.execArgv.includes("--build-snapshot")) {
  const warm = new AbortController();
  const noop = () => {};
  warm.signal.addEventListener("abort", noop, { once: true });
  warm.signal.removeEventListener("abort", noop);
}

/**
 * Internal, not public API: the record of the plugins `definePlugin` made in this process, under
 * `globalThis[Symbol.for("@cnikit/skel.plugins")]`. `@cnikit/build` evaluates a bundle's modules
 * at build time and reads it: when exactly one plugin was defined and its `cniVersions` is a
 * list, the build answers VERSION before the bundle is evaluated (docs/shipping.md). A count and
 * the last plugin only (not a list that grows in a process loading many plugins).
 */
interface PluginRegistry {
  count: number;
  last?: { name: string; staticVersions: boolean; versionReply: () => Promise<string> } | undefined;
}

const REGISTRY = Symbol.for("@cnikit/skel.plugins");

/** The process stream if something created it (or if that cannot be known). */
function streamIfCreated(name: StdStreamName): NodeJS.WriteStream | undefined {
  const s = existingStream(name);
  return s === "unknown" ? process[name] : s;
}

/**
 * Defines a CNI plugin. Handlers get one typed context; ADD returns its result, the others
 * return nothing. Skel does the protocol: env, stdin, version negotiation, validation, the
 * result at the config's version, errors as JSON, exit status. `cniVersions` may be a function
 * of the call, and a handler may finish with a {@link RawReply} (verbatim stdout, any exit status)
 * instead.
 *
 * @example
 * const plugin = definePlugin({
 *   name: "hello", version: "1.0.0", cniVersions: ["1.0.0", "1.1.0"],
 *   add: ({ prevResult }) => prevResult ?? { interfaces: [], ips: [] },
 *   del: () => {},
 * });
 * await plugin.main();
 * @example
 * // versions decided per call, from the config (read before negotiation) or the env
 * definePlugin({
 *   name: "legacy-aware", version: "1.0.0",
 *   cniVersions: ({ config }) => (config?.legacy === true ? ["0.3.1", "0.4.0"] : ["1.0.0", "1.1.0"]),
 *   add: () => ({}), del: () => {},
 * });
 * @throws TypeError at definition time when `cniVersions` is an empty list (or neither a list nor
 * a function) or `add`/`del` is missing.
 */
export function definePlugin<C = unknown, A = Record<string, string>>(definition: PluginDefinition<C, A>): Plugin {
  const versions = definition.cniVersions;
  if (typeof versions !== "function" && (!Array.isArray(versions) || versions.length === 0)) {
    throw new TypeError("definePlugin: cniVersions must list at least one version (or be a function of the call)");
  }
  if (typeof definition.add !== "function" || typeof definition.del !== "function") {
    throw new TypeError("definePlugin: add and del handlers are required");
  }
  const about = definition.about ?? `CNI ${definition.name} plugin ${definition.version}`;
  const def = {
    ...definition,
    cniVersions: typeof versions === "function" ? versions : [...versions],
    about,
  };

  async function run(io: Partial<PluginIo> = {}): Promise<RunOutput> {
    let stdout = "";
    let stderr = "";
    const full: PluginIo = {
      env: io.env ?? {},
      readStdin: io.readStdin ?? (async () => ""),
      stdout: {
        write: (s: string) => {
          stdout += s;
          return io.stdout?.write(s);
        },
      },
      stderr: {
        write: (s: string) => {
          stderr += s;
          return io.stderr?.write(s);
        },
      },
    };
    if (io.signal) full.signal = io.signal;
    const { exitCode, raw } = await dispatch(def, full);
    return raw ? { exitCode, stdout, stderr, raw } : { exitCode, stdout, stderr };
  }

  async function main(io: Partial<PluginIo> & { exit?: boolean } = {}): Promise<number> {
    const { exit = true, ...overrides } = io;
    // No process.stdin/stdout/stderr stream is created unless a handler uses one (see stdio.ts).
    trackProcessStreams();
    const proc = processIo();
    // SIGTERM/SIGINT abort the handler's signal. The AbortController is only created when a
    // handler reads ctx.signal (most calls never do; creating it loads a module).
    let controller: AbortController | undefined;
    let received: Error | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      received ??= new Error(`received ${signal}`);
      controller?.abort(received);
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    const full: PluginIo = { ...proc, ...overrides };
    if (overrides.signal === undefined) {
      Object.defineProperty(full, "signal", {
        enumerable: true,
        configurable: true,
        get: () => {
          if (controller === undefined) {
            controller = new AbortController();
            if (received !== undefined) controller.abort(received);
          }
          return controller.signal;
        },
      });
    }
    let code: number;
    try {
      code = (await dispatch(def, full)).exitCode;
    } finally {
      // when exiting, the process goes away with its listeners (removing them costs a syscall)
      if (!exit) {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      }
    }
    process.exitCode = code;
    if (exit) {
      // Flush what went through a stream (a 1 MB reply on a full non-blocking pipe waits in
      // Node's buffer until the reader takes it), then leave: a handle a handler forgot must not
      // hang the runtime.
      let stdoutError: Error | undefined;
      if (overrides.stdout === undefined) {
        if (proc.stdout instanceof BunSink) await proc.stdout.settled();
        stdoutError = proc.stdout.error;
        const out = proc.stdout.stream ?? streamIfCreated("stdout");
        if (stdoutError === undefined && out !== undefined) {
          stdoutError = (await flushStream(out)) ?? streamError("stdout");
        }
      }
      if (stdoutError !== undefined && code === 0) code = 1; // the reply never arrived
      const stderr = overrides.stderr ?? proc.stderr;
      if (stdoutError !== undefined) {
        stderr.write(`${def.name}: could not write the reply to stdout: ${stdoutError.message}\n`);
      }
      const err = proc.stderr.stream ?? streamIfCreated("stderr");
      if (err !== undefined) await flushStream(err);
      if (proc.stderr instanceof BunSink) await proc.stderr.settled();
      // everything is written (stdout and stderr synchronously or flushed above; log files with
      // appendFileSync): after the 'exit' listeners registered so far, nothing is left to do, so
      // the process ends through _exit(2) when koffi is already loaded, without Node's teardown
      fastExit(code);
    }
    return code;
  }

  const global = globalThis as { [REGISTRY]?: PluginRegistry };
  global[REGISTRY] ??= { count: 0 };
  const registry = global[REGISTRY];
  registry.count++;
  registry.last = {
    name: def.name,
    staticVersions: typeof versions !== "function",
    // the reply exactly as a call with CNI_COMMAND=VERSION writes it
    versionReply: async () => (await run({ env: { CNI_COMMAND: "VERSION" } })).stdout,
  };

  return {
    name: def.name,
    version: def.version,
    about,
    cniVersions: def.cniVersions,
    main,
    run,
  };
}
