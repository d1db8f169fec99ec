/**
 * The injectable process surface skel talks to: env, stdin, stdout, stderr.
 * `plugin.main()` uses the real process; `plugin.run(io)` and tests inject their own.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */

/**
 * Something text can be written to (a stream, or a collector in tests).
 *
 * @example
 * let logs = "";
 * const stderr: TextSink = { write: (chunk) => (logs += chunk) };
 * await plugin.run({ env: { CNI_COMMAND: "VERSION" }, stderr });
 */
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

/**
 * What `plugin.run()` returns: the exit status and everything written.
 *
 * @example
 * const out: RunOutput = await plugin.run({ env: { CNI_COMMAND: "VERSION" } });
 * JSON.parse(out.stdout).supportedVersions; // ["1.0.0", "1.1.0"]
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version-success
 */
export interface RunOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
  /**
   * Set (true) when a handler finished with a `RawReply`: `stdout` and `exitCode` are the
   * reply's, not a result or error document.
   */
  raw?: boolean;
}

/** Stdin larger than this is refused with code 5 (a config is a few KB; 10 MB still fits). */
export const MAX_STDIN_BYTES = 64 * 1024 * 1024;
