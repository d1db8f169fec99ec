/**
 * `definePlugin`: turns a table of handlers into a runnable CNI plugin.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#cni-operations
 */
import { dispatch } from "./dispatch.js";
import { flushStream, guardProcessStreams, type PluginIo, processIo, type RunOutput } from "./io.js";
import type { Plugin, PluginDefinition } from "./types.js";

/**
 * Defines a CNI plugin. Handlers get one typed context; ADD returns its result, the others
 * return nothing. Skel does the protocol: env, stdin, version negotiation, validation, the
 * result at the config's version, errors as JSON, exit status.
 *
 * @example
 * const plugin = definePlugin({
 *   name: "hello", version: "1.0.0", cniVersions: ["1.0.0", "1.1.0"],
 *   add: ({ prevResult }) => prevResult ?? { interfaces: [], ips: [] },
 *   del: () => {},
 * });
 * await plugin.main();
 * @throws TypeError at definition time when `cniVersions` is empty or `add`/`del` is missing.
 */
export function definePlugin<C = unknown, A = Record<string, string>>(definition: PluginDefinition<C, A>): Plugin {
  if (!Array.isArray(definition.cniVersions) || definition.cniVersions.length === 0) {
    throw new TypeError("definePlugin: cniVersions must list at least one version");
  }
  if (typeof definition.add !== "function" || typeof definition.del !== "function") {
    throw new TypeError("definePlugin: add and del handlers are required");
  }
  const about = definition.about ?? `CNI ${definition.name} plugin ${definition.version}`;
  const def = {
    ...definition,
    cniVersions: [...definition.cniVersions],
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
    const exitCode = await dispatch(def, full);
    return { exitCode, stdout, stderr };
  }

  async function main(io: Partial<PluginIo> & { exit?: boolean } = {}): Promise<number> {
    const { exit = true, ...overrides } = io;
    const streams = guardProcessStreams();
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => controller.abort(new Error(`received ${signal}`));
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    let code: number;
    try {
      code = await dispatch(def, {
        ...processIo(),
        signal: controller.signal,
        ...overrides,
      });
    } finally {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    }
    process.exitCode = code;
    if (exit) {
      // Flush both streams, then leave: a handle a handler forgot must not hang the runtime.
      // A 1 MB result on a pipe waits in Node's buffer until the reader takes it.
      const flushed = await flushStream(process.stdout);
      const stdoutError = overrides.stdout === undefined ? (flushed ?? streams.stdoutError) : undefined;
      if (stdoutError !== undefined && code === 0) code = 1; // the reply never arrived
      if (stdoutError !== undefined) {
        process.stderr.write(`${def.name}: could not write the reply to stdout: ${stdoutError.message}\n`);
      }
      await flushStream(process.stderr);
      process.exit(code);
    }
    return code;
  }

  return {
    name: def.name,
    version: def.version,
    about,
    cniVersions: def.cniVersions,
    main,
    run,
  };
}
