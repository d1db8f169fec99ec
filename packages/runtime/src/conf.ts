/**
 * Loading network configurations (files, directories, bytes) with libcni's rules and messages.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-1-network-configuration-format
 */
import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import { CniError, CURRENT_VERSION, compareVersions, ErrorCode, versionGt } from "@cnikit/spec";
import type { PluginConf } from "@cnikit/spec";
import { goMarshal, goQuote, goTypeName, isObject } from "./go-text.js";

/**
 * One plugin's config: the decoded object plus the exact JSON text it came from.
 *
 * @example
 * const conf: PluginConfig = confFromBytes('{"cniVersion":"1.1.0","name":"mynet","type":"bridge"}');
 * conf.network.type; // "bridge"
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#plugin-configuration-objects
 */
export interface PluginConfig {
  /** The decoded config (`type` always set; `name`/`cniVersion` for standalone `.conf` files). */
  network: PluginConf & { name?: string; cniVersion?: string };
  /** The JSON text of this plugin's config. */
  bytes: string;
}

/**
 * A network configuration list (libcni `NetworkConfigList`).
 *
 * @example
 * const list: NetworkConfigList = await loadConfList("/etc/cni/net.d", "mynet");
 * list.plugins.map((p) => p.network.type); // ["bridge", "portmap"]
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#configuration-format
 */
export interface NetworkConfigList {
  name: string;
  /** The chosen version ("" when the file names none: treated as 0.1.0). */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConfig[];
  /** The list's JSON text as read (cached base64-encoded on ADD). */
  bytes: string;
}

/**
 * No config of that network name in the directory (libcni `NotFoundError`).
 * @example
 * try { await loadConfList(dir, "mynet"); } catch (err) { if (err instanceof NetworkNotFoundError) { ... } }
 */
export class NetworkNotFoundError extends CniError {
  /** `instanceof` matches this kind of error from any bundled copy (see `CniError.errorKind`). */
  static override readonly errorKind: string = "cnikit.runtime.NetworkNotFoundError";
  constructor(
    readonly dir: string,
    readonly network: string,
  ) {
    super(ErrorCode.InvalidNetworkConfig, `no net configuration with name "${network}" in ${dir}`);
    this.name = "NetworkNotFoundError";
  }
}

/**
 * The directory holds no config files at all (libcni `NoConfigsFoundError`).
 * @example
 * try { await loadConfList(dir, "mynet"); } catch (err) { if (err instanceof NoConfigsFoundError) { ... } }
 */
export class NoConfigsFoundError extends CniError {
  /** `instanceof` matches this kind of error from any bundled copy (see `CniError.errorKind`). */
  static override readonly errorKind: string = "cnikit.runtime.NoConfigsFoundError";
  constructor(readonly dir: string) {
    super(ErrorCode.InvalidNetworkConfig, `no net configurations found in ${dir}`);
    this.name = "NoConfigsFoundError";
  }
}

function toText(bytes: string | Uint8Array): string {
  return typeof bytes === "string" ? bytes : Buffer.from(bytes).toString("utf8");
}

function parseJson(text: string, prefix: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CniError(ErrorCode.DecodingFailure, `${prefix}: ${(err as Error).message}`);
  }
}

/**
 * Parses one plugin config (libcni `NetworkPluginConfFromBytes`); it must be an object with a `type`.
 *
 * @example confFromBytes('{"type":"bridge","bridge":"cni0"}').network.type // "bridge"
 * @throws CniError `error parsing configuration: missing 'type'` (code 7) or a JSON error (code 6).
 */
export function confFromBytes(bytes: string | Uint8Array): PluginConfig {
  const text = toText(bytes);
  const raw = parseJson(text, "error parsing configuration");
  if (!isObject(raw)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error parsing configuration: expected a JSON object, got ${goTypeName(raw)}`,
    );
  }
  if (typeof raw.type !== "string" || raw.type === "") {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "error parsing configuration: missing 'type'");
  }
  return { network: raw as PluginConfig["network"], bytes: text };
}

function readBool(raw: Record<string, unknown>, key: string): boolean {
  const v = raw[key];
  if (v === undefined) return false;
  if (typeof v === "boolean") return v;
  if (typeof v !== "string") {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `error parsing configuration list: invalid type ${goTypeName(v)} for ${key}`,
    );
  }
  const s = v.toLowerCase();
  if (s === "true") return true;
  if (s === "false") return false;
  throw new CniError(
    ErrorCode.InvalidNetworkConfig,
    `error parsing configuration list: invalid value ${goQuote(s)} for ${key}`,
  );
}

function isNewer(v: string, prefix: string): boolean {
  try {
    return versionGt(v, CURRENT_VERSION);
  } catch (err) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `${prefix}: ${(err as Error).message}`);
  }
}

/**
 * Parses a network configuration list with libcni's rules: `name` required; the version is the
 * highest of `cniVersions` ∪ {`cniVersion`} not above 1.1.0; `disableCheck`, `disableGC` and
 * `loadOnlyInlinedPlugins` accept a bool or "true"/"false"; `plugins` must be a non-empty list
 * whose entries each have a `type`. A list without `plugins` is returned with none (the file
 * loader adds `<dir>/<name>/*.conf`).
 *
 * @example confListFromBytes(readFileSync("/etc/cni/net.d/10-mynet.conflist")).plugins.length
 * @throws CniError with libcni's texts, e.g. `error parsing configuration list: no name`,
 *   `error parsing configuration list: no plugins in list`,
 *   `failed to parse plugin config 1: error parsing configuration: missing 'type'`.
 */
export function confListFromBytes(bytes: string | Uint8Array): NetworkConfigList {
  const text = toText(bytes);
  const raw = parseJson(text, "error parsing configuration list");
  if (!isObject(raw)) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `error parsing configuration list: expected a JSON object, got ${goTypeName(raw)}`,
    );
  }
  if (!("name" in raw)) throw new CniError(ErrorCode.InvalidNetworkConfig, "error parsing configuration list: no name");
  const name = raw.name;
  if (typeof name !== "string") {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `error parsing configuration list: invalid name type ${goTypeName(name)}`,
    );
  }
  let cniVersion = "";
  if ("cniVersion" in raw) {
    if (typeof raw.cniVersion !== "string") {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `error parsing configuration list: invalid cniVersion type ${goTypeName(raw.cniVersion)}`,
      );
    }
    cniVersion = raw.cniVersion;
  }
  if ("cniVersions" in raw) {
    const list = raw.cniVersions;
    if (!Array.isArray(list)) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `error parsing configuration list: invalid type for cniVersions: ${goTypeName(list)}`,
      );
    }
    const candidates: string[] = [];
    list.forEach((v: unknown, i) => {
      if (typeof v !== "string") {
        throw new CniError(
          ErrorCode.InvalidNetworkConfig,
          `error parsing configuration list: invalid type for cniVersions index ${i}: ${goTypeName(v)}`,
        );
      }
      if (!isNewer(v, `error parsing configuration list: invalid cniVersions entry ${v} at index ${i}`))
        candidates.push(v);
    });
    if (
      cniVersion !== "" &&
      !isNewer(cniVersion, `error parsing configuration list: invalid cniVersion ${cniVersion}`)
    ) {
      candidates.push(cniVersion);
    }
    candidates.sort(compareVersions);
    const highest = candidates[candidates.length - 1];
    if (highest !== undefined) cniVersion = highest;
  }
  const list: NetworkConfigList = {
    name,
    cniVersion,
    disableCheck: readBool(raw, "disableCheck"),
    disableGC: readBool(raw, "disableGC"),
    loadOnlyInlinedPlugins: readBool(raw, "loadOnlyInlinedPlugins"),
    plugins: [],
    bytes: text,
  };
  if (!("plugins" in raw)) {
    if (list.loadOnlyInlinedPlugins) {
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        "error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key",
      );
    }
    return list;
  }
  const plugins = raw.plugins;
  if (!Array.isArray(plugins)) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `error parsing configuration list: invalid 'plugins' type ${goTypeName(plugins)}`,
    );
  }
  if (plugins.length === 0)
    throw new CniError(ErrorCode.InvalidNetworkConfig, "error parsing configuration list: no plugins in list");
  plugins.forEach((p: unknown, i) => {
    try {
      list.plugins.push(confFromBytes(JSON.stringify(p)));
    } catch (err) {
      const e = CniError.from(err);
      throw new CniError(e.code, `failed to parse plugin config ${i}: ${e.message}`, undefined, { cause: err });
    }
  });
  return list;
}

/**
 * Lists the files in `dir` with one of `extensions` (not recursive; a missing dir gives []).
 *
 * @example await confFiles("/etc/cni/net.d", [".conflist"])
 * @throws CniError code 5 when the directory cannot be read.
 */
export async function confFiles(dir: string, extensions: readonly string[]): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CniError(ErrorCode.IoFailure, (err as Error).message, undefined, { cause: err });
  }
  return entries.filter((e) => !e.isDirectory() && extensions.includes(extname(e.name))).map((e) => join(dir, e.name));
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new CniError(ErrorCode.IoFailure, `error reading ${file}: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
}

/**
 * Reads a plugin config file (`.conf`/`.json`).
 *
 * @example await confFromFile("/etc/cni/net.d/10-mynet.conf")
 * @throws CniError `error reading FILE: ...` or as {@link confFromBytes}.
 */
export async function confFromFile(file: string): Promise<PluginConfig> {
  return confFromBytes(await readText(file));
}

/**
 * Reads a `.conflist` file; unless `loadOnlyInlinedPlugins` is set, plugin configs in
 * `<dir>/<name>/*.conf` are appended (libcni `NetworkConfFromFile`).
 *
 * @example await confListFromFile("/etc/cni/net.d/10-mynet.conflist")
 * @throws CniError `no plugin configs found` when the list ends up empty, or as {@link confListFromBytes}.
 */
export async function confListFromFile(file: string): Promise<NetworkConfigList> {
  const list = confListFromBytes(await readText(file));
  if (!list.loadOnlyInlinedPlugins) {
    const pluginDir = join(dirname(file), list.name);
    let files: string[];
    try {
      files = (await confFiles(pluginDir, [".conf"])).sort();
    } catch (err) {
      throw new CniError(
        ErrorCode.IoFailure,
        `failed to read plugin config files in ${pluginDir}: ${(err as Error).message}`,
      );
    }
    for (const f of files) list.plugins.push(await confFromFile(f));
  }
  if (list.plugins.length === 0) throw new CniError(ErrorCode.InvalidNetworkConfig, "no plugin configs found");
  return list;
}

/**
 * Wraps a single plugin config into a one-plugin list (libcni `ConfListFromConf`). The list's
 * bytes (cached on ADD) are what libcni builds: `{"cniVersion","name","plugins":[conf]}` encoded
 * like Go's `json.Marshal` (sorted keys), so both runtimes cache the same config text.
 *
 * @example confListFromConf(confFromBytes('{"cniVersion":"1.0.0","name":"n","type":"bridge"}')).plugins.length // 1
 */
export function confListFromConf(conf: PluginConfig): NetworkConfigList {
  const raw = JSON.parse(conf.bytes) as Record<string, unknown>;
  return confListFromBytes(
    goMarshal({ name: conf.network.name ?? "", cniVersion: conf.network.cniVersion ?? "", plugins: [raw] }),
  );
}

/**
 * Finds the legacy single-plugin config (`.conf`, `.json`, sorted by file name) named `name`.
 *
 * @example await loadConf("/etc/cni/net.d", "mynet")
 * @throws NoConfigsFoundError, NetworkNotFoundError, or a parse error of any file read.
 */
export async function loadConf(dir: string, name: string): Promise<PluginConfig> {
  const files = (await confFiles(dir, [".conf", ".json"])).sort();
  if (files.length === 0) throw new NoConfigsFoundError(dir);
  for (const f of files) {
    const conf = await confFromFile(f);
    if (conf.network.name === name) return conf;
  }
  throw new NetworkNotFoundError(dir, name);
}

/**
 * Loads the network `name` from `dir` like libcni's `LoadNetworkConf`: `.conflist` files first
 * (sorted by file name), then legacy `.conf`/`.json` files wrapped into a one-plugin list.
 *
 * @example const list = await loadConfList("/etc/cni/net.d", "mynet");
 * @throws NetworkNotFoundError `no net configuration with name "X" in DIR`, NoConfigsFoundError,
 *   or the parse error of the first malformed file met.
 */
export async function loadConfList(dir: string, name: string): Promise<NetworkConfigList> {
  const files = (await confFiles(dir, [".conflist"])).sort();
  for (const f of files) {
    const list = await confListFromFile(f);
    if (list.name === name) return list;
  }
  let single: PluginConfig;
  try {
    single = await loadConf(dir, name);
  } catch (err) {
    if (files.length > 0 && err instanceof NoConfigsFoundError) throw new NetworkNotFoundError(dir, name);
    throw err;
  }
  return confListFromConf(single);
}

/**
 * Returns a copy of `conf` with `values` set at the top level (libcni `InjectConf`).
 *
 * @example injectConf(plugin, { name: "mynet", cniVersion: "1.0.0" })
 * @throws CniError `keys cannot be empty`, `key 'k' value must not be nil`.
 */
export function injectConf(conf: PluginConfig, values: Readonly<Record<string, unknown>>): PluginConfig {
  const raw = JSON.parse(conf.bytes) as Record<string, unknown>;
  for (const [k, v] of Object.entries(values)) {
    if (k === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "keys cannot be empty");
    if (v === null || v === undefined)
      throw new CniError(ErrorCode.InvalidNetworkConfig, `key '${k}' value must not be nil`);
    raw[k] = v;
  }
  return confFromBytes(JSON.stringify(raw));
}
