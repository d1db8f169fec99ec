/**
 * `@cnikit/skel/testing`: run a plugin in-process the way a runtime would call it, and get
 * its output parsed. No process, no binary, no root needed (unless the handler itself does
 * netns work).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
import type { AnyResult, ErrorReply, VersionReply } from "@cnikit/spec";
import type { AnyCommand } from "./env.js";
import type { Plugin } from "./types.js";

/**
 * What to call the plugin with. Unset CNI_* values get test defaults (see each field).
 *
 * @example
 * const opts: InvokeOptions = { command: "ADD", config: { cniVersion: "1.1.0", name: "net", type: "demo" }, ifName: "eth1", args: { K8S_POD_NAME: "web" } };
 * const out = await invoke(plugin, opts);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
export interface InvokeOptions {
  /** CNI_COMMAND. */
  command: AnyCommand | (string & {});
  /** Stdin: an object is JSON-encoded, a string or Buffer is sent as is. Omit for VERSION. */
  config?: object | string | Buffer | undefined;
  /** Extra or overriding env; a value of `undefined` removes a variable. */
  env?: Record<string, string | undefined> | undefined;
  /** CNI_CONTAINERID (default `cnikit-test-container` for ADD/DEL/CHECK). */
  containerId?: string | undefined;
  /** CNI_NETNS (default `/var/run/netns/cnikit-test` for ADD/DEL/CHECK). */
  netns?: string | undefined;
  /** CNI_IFNAME (default `eth0` for ADD/DEL/CHECK). */
  ifName?: string | undefined;
  /** CNI_ARGS: a map becomes `K=V;K2=V2`. */
  args?: Record<string, string> | string | undefined;
  /** CNI_PATH entries (default: none). */
  path?: readonly string[] | undefined;
  /** Aborts the handler's `signal`. */
  signal?: AbortSignal | undefined;
}

/**
 * What the plugin did, parsed.
 *
 * @example
 * const out: InvokeOutput = await invoke(plugin, { command: "VERSION" });
 * expect(out.version?.supportedVersions).toContain("1.1.0");
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-5-result-types
 */
export interface InvokeOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
  /**
   * True when a handler finished with a `RawReply`: `stdout` and `exitCode` are the reply's, as
   * is, and `result`, `version` and `error` are not set.
   */
  raw?: boolean;
  /** ADD's result as printed (at the config's cniVersion). */
  result?: AnyResult;
  /** VERSION's reply. */
  version?: VersionReply;
  /** The error JSON when the plugin failed. */
  error?: ErrorReply;
}

const NEEDS_ATTACHMENT = new Set(["ADD", "DEL", "CHECK"]);

/**
 * Invokes `plugin` in-process with CNI_* env built from `options` and the config on stdin.
 * CNI_NETNS_OVERRIDE defaults to 1 (as Go's testutils), so a placeholder netns passes the
 * self-check.
 *
 * @example
 * const out = await invoke(plugin, { command: "ADD", config: { cniVersion: "1.1.0", name: "net", type: "demo" } });
 * expect(out.exitCode).toBe(0);
 * expect(out.result?.cniVersion).toBe("1.1.0");
 * @example
 * // a handler that finished with a RawReply: its text and status, unparsed
 * const out = await invoke(plugin, { command: "ADD", config });
 * if (out.raw) expect(out.stdout).toBe('{ "result": "anything" }');
 * @throws Error only when stdout is not the single JSON document the protocol allows (a
 * `RawReply`'s stdout is not parsed).
 */
export async function invoke(plugin: Plugin, options: InvokeOptions): Promise<InvokeOutput> {
  const env: Record<string, string | undefined> = {
    CNI_COMMAND: options.command,
    CNI_NETNS_OVERRIDE: "1",
  };
  if (NEEDS_ATTACHMENT.has(options.command)) {
    env.CNI_CONTAINERID = "cnikit-test-container";
    env.CNI_NETNS = "/var/run/netns/cnikit-test";
    env.CNI_IFNAME = "eth0";
  }
  if (options.containerId !== undefined) env.CNI_CONTAINERID = options.containerId;
  if (options.netns !== undefined) env.CNI_NETNS = options.netns;
  if (options.ifName !== undefined) env.CNI_IFNAME = options.ifName;
  if (options.args !== undefined) {
    env.CNI_ARGS =
      typeof options.args === "string"
        ? options.args
        : Object.entries(options.args)
            .map(([k, v]) => `${k}=${v}`)
            .join(";");
  }
  if (options.path !== undefined) env.CNI_PATH = options.path.join(":");
  for (const [k, v] of Object.entries(options.env ?? {})) env[k] = v;
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];

  const config = options.config;
  const stdin =
    config === undefined ? "" : typeof config === "string" || Buffer.isBuffer(config) ? config : JSON.stringify(config);

  const run = await plugin.run({
    env,
    readStdin: async () => stdin,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const out: InvokeOutput = { ...run };
  const text = run.stdout.trim();
  if (text === "" || run.raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`plugin stdout is not one JSON document: ${JSON.stringify(run.stdout.slice(0, 200))}`, {
      cause: err,
    });
  }
  if (run.exitCode !== 0) out.error = parsed as ErrorReply;
  else if (options.command === "VERSION") out.version = parsed as VersionReply;
  else out.result = parsed as AnyResult;
  return out;
}
