/**
 * The injectable process surface skel talks to: env, stdin, stdout, stderr.
 * `plugin.main()` uses the real process; `plugin.run(io)` and tests inject their own.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */

/** Something text can be written to (a stream, or a collector in tests). */
export interface TextSink {
  write(chunk: string): unknown;
}

/**
 * Everything skel reads from and writes to. Each field defaults to something harmless in
 * `plugin.run()` (empty env, empty stdin, output captured) and to the process in `plugin.main()`.
 *
 * @example
 * await plugin.run({ env: { CNI_COMMAND: "VERSION" } });
 */
export interface PluginIo {
  /** The CNI_* variables (and CNI_LOG_LEVEL / CNI_LOG_FILE). */
  env: Readonly<Record<string, string | undefined>>;
  /** Reads the whole of stdin. Never called for VERSION (cni#485). */
  readStdin(): Promise<Buffer | string>;
  /** Receives the single JSON document of the protocol. */
  stdout: TextSink;
  /** Receives logs and the `about` banner. */
  stderr: TextSink;
  /** Aborted when the plugin should stop early (main: SIGTERM/SIGINT). */
  signal?: AbortSignal;
}

/** What `plugin.run()` returns: the exit status and everything written. */
export interface RunOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Stdin larger than this is refused with code 5 (a config is a few KB; 10 MB still fits). */
export const MAX_STDIN_BYTES = 64 * 1024 * 1024;

/**
 * Reads all of process.stdin into one Buffer, refusing more than `limit` bytes.
 * @throws Error when stdin fails or exceeds the limit (skel reports it as code 5).
 */
export async function readProcessStdin(limit: number = MAX_STDIN_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > limit) throw new Error(`input is larger than ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** The real process as a PluginIo. Writers are bound now, so later patches of stdout don't affect them. */
export function processIo(): PluginIo {
  const out = process.stdout.write.bind(process.stdout) as (s: string) => boolean;
  const err = process.stderr.write.bind(process.stderr) as (s: string) => boolean;
  return {
    env: process.env,
    readStdin: () => readProcessStdin(),
    stdout: { write: (s: string) => out(s) },
    stderr: { write: (s: string) => err(s) },
  };
}

/** What went wrong writing to the real stdout (EPIPE when the reader went away), if anything. */
export interface ProcessStreamState {
  stdoutError: Error | undefined;
}

const streamState: ProcessStreamState = { stdoutError: undefined };
let streamsGuarded = false;

/**
 * Keeps a closed stdout or stderr (EPIPE: the runtime stopped reading) from crashing the
 * plugin with an "Unhandled 'error' event" stack trace. The first stdout error is recorded so
 * `main` can exit 1 (the reply was not delivered); stderr errors are dropped (logs only).
 * Idempotent.
 *
 * @example
 * const state = guardProcessStreams();
 * // ... write the reply ...
 * if (state.stdoutError) process.exitCode = 1;
 */
export function guardProcessStreams(): ProcessStreamState {
  if (!streamsGuarded) {
    streamsGuarded = true;
    process.stdout.on("error", (err: Error) => {
      streamState.stdoutError ??= err;
    });
    process.stderr.on("error", () => {});
  }
  return streamState;
}

/**
 * Resolves once everything written so far to `stream` has been handed to the OS (a pipe
 * reader may be slow: the data waits in Node's buffer until then). Never rejects.
 */
export function flushStream(stream: NodeJS.WritableStream): Promise<Error | undefined> {
  return new Promise((resolve) => {
    try {
      stream.write("", (err?: Error | null) => resolve(err ?? undefined));
    } catch (err) {
      resolve(err as Error);
    }
  });
}
