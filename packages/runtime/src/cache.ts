/**
 * The result cache, in libcni's format and place, so a Go runtime and cnikit can pick up each
 * other's attachments: `<cacheDir>/results/<network>-<containerID>-<ifName>`.
 *
 * @see https://github.com/containernetworking/cni/blob/main/libcni/api.go (cachedInfo)
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-3-execution-of-network-configurations
 */
import { mkdir, readdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { CniError, convertResult, ErrorCode, parseResult } from "@cnikit/spec";
import type { AnyResult } from "@cnikit/spec";
import { goQuote, isObject } from "./go-text.js";

/**
 * libcni's default cache directory.
 * @example new CniRuntime({ path, cacheDir: DEFAULT_CACHE_DIR })
 */
export const DEFAULT_CACHE_DIR = "/var/lib/cni";

/**
 * The `kind` of the cache file format written by libcni ≥ 0.8 and by us.
 * @example JSON.parse(text).kind === CACHE_KIND
 */
export const CACHE_KIND = "cniCacheV1";

/**
 * Which attachment a cache entry belongs to.
 *
 * @example
 * const key: CacheKey = { containerId: "c1", ifName: "eth0" };
 * const prev = await readCachedResult("/var/lib/cni", "mynet", key);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#attachment-parameters
 */
export interface CacheKey {
  containerId: string;
  ifName: string;
}

/**
 * What libcni stores next to a result: enough to DEL the attachment later.
 *
 * @example
 * for (const a of await listCachedAttachments("/var/lib/cni", "c1")) console.log(a.network, a.ifName, a.netns);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#deleting-an-attachment
 */
export interface CachedAttachment {
  containerId: string;
  network: string;
  ifName: string;
  /** The network config list bytes (JSON text) used for the ADD. */
  config: string;
  netns: string;
  cniArgs: [string, string][];
  capabilityArgs: Record<string, unknown>;
}

/**
 * The JSON object stored in a cache file.
 *
 * @example
 * const file = JSON.parse(readFileSync(cacheFilePath("/var/lib/cni", "mynet", key), "utf8")) as CacheFile;
 * file.kind === CACHE_KIND; // true
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-3-execution-of-network-configurations
 */
export interface CacheFile {
  kind: string;
  containerId: string;
  /** base64 of the config list bytes (a Go `[]byte`). */
  config: string;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result?: Record<string, unknown>;
}

/**
 * The cache file of one attachment.
 *
 * @example cacheFilePath("/var/lib/cni", "mynet", { containerId: "c1", ifName: "eth0" }) // "/var/lib/cni/results/mynet-c1-eth0"
 * @throws CniError code 7 when the network name, container ID or interface name is empty, holds a
 *   `/` or NUL, or is `.` or `..`.
 */
export function cacheFilePath(cacheDir: string, network: string, key: CacheKey): string {
  if (network === "" || key.containerId === "" || key.ifName === "") {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      `cache file path requires network name (${goQuote(network)}), container ID (${goQuote(key.containerId)}), and interface name (${goQuote(key.ifName)})`,
    );
  }
  // a name with a path in it would read, write or delete outside results/
  for (const part of [network, key.containerId, key.ifName]) {
    if (part.includes("/") || part.includes("\0") || part === "." || part === "..") {
      throw new CniError(ErrorCode.InvalidNetworkConfig, `cache file path: invalid name ${goQuote(part)}`);
    }
  }
  return join(cacheDir, "results", `${network}-${key.containerId}-${key.ifName}`);
}

/**
 * What {@link writeCachedResult} records.
 *
 * @example
 * const entry: CacheEntry = { network: "mynet", containerId: "c1", ifName: "eth0", config: list.bytes, netns: "/run/netns/c1", result };
 * await writeCachedResult("/var/lib/cni", entry);
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#adding-an-attachment
 */
export interface CacheEntry extends CacheKey {
  network: string;
  /** The config list JSON text. */
  config: string;
  netns: string;
  cniArgs?: readonly (readonly [string, string])[] | undefined;
  capabilityArgs?: Readonly<Record<string, unknown>> | undefined;
  result: AnyResult | undefined;
}

/**
 * Writes the cache file of an attachment (dir 0700, file 0600; atomic rename from a temporary
 * file outside `results/`).
 *
 * @example await writeCachedResult("/var/lib/cni", { network, containerId, ifName, config: list.bytes, netns, result });
 * @throws CniError code 5 on I/O failure.
 */
export async function writeCachedResult(cacheDir: string, entry: CacheEntry): Promise<void> {
  const file = cacheFilePath(cacheDir, entry.network, entry);
  const data: CacheFile = {
    kind: CACHE_KIND,
    containerId: entry.containerId,
    config: Buffer.from(entry.config, "utf8").toString("base64"),
    ifName: entry.ifName,
    networkName: entry.network,
  };
  if (entry.netns !== "") data.netns = entry.netns;
  if (entry.cniArgs && entry.cniArgs.length > 0) data.cniArgs = entry.cniArgs.map(([k, v]) => [k, v]);
  if (entry.capabilityArgs && Object.keys(entry.capabilityArgs).length > 0)
    data.capabilityArgs = { ...entry.capabilityArgs };
  if (entry.result !== undefined) data.result = JSON.parse(JSON.stringify(entry.result)) as Record<string, unknown>;
  // The temporary file lives next to results/, not in it: libcni's GC reads every file in
  // results/ as an attachment, so a leftover (crash between write and rename) there would be
  // DELed on every GC and never removed.
  const tmp = join(cacheDir, `.${basename(file)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new CniError(ErrorCode.IoFailure, (err as Error).message, undefined, { cause: err });
  }
}

/**
 * Removes an attachment's cache file; a missing file (or an incomplete key) is not an error.
 *
 * @example await deleteCachedResult("/var/lib/cni", "mynet", { containerId, ifName: "eth0" });
 */
export async function deleteCachedResult(cacheDir: string, network: string, key: CacheKey): Promise<void> {
  let file: string;
  try {
    file = cacheFilePath(cacheDir, network, key);
  } catch {
    return;
  }
  await unlink(file).catch(() => undefined);
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch {
    return undefined;
  }
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Reads the cached result of an attachment converted to `cniVersion` (both the `cniCacheV1`
 * format and the legacy bare-result format). `undefined` when there is no cache file.
 *
 * @example const prev = await readCachedResult("/var/lib/cni", "mynet", "1.0.0", { containerId, ifName: "eth0" });
 * @throws CniError when the file holds no valid result, or
 *   `failed to convert cached result to config version "X": ...`.
 */
export async function readCachedResult(
  cacheDir: string,
  network: string,
  cniVersion: string,
  key: CacheKey,
): Promise<AnyResult | undefined> {
  const file = cacheFilePath(cacheDir, network, key);
  const text = await readIfExists(file);
  if (text === undefined) return undefined;
  const parsed = parseJsonOrUndefined(text);
  let raw: unknown;
  if (isObject(parsed) && parsed.kind === CACHE_KIND) {
    raw = parsed.result;
    if (raw === undefined || raw === null) return undefined;
  } else {
    raw = text; // legacy format: the bare result JSON (or junk: parseResult reports it)
  }
  const result = parseResult(raw);
  try {
    return convertResult(result, cniVersion);
  } catch (err) {
    const e = CniError.from(err);
    throw new CniError(
      e.code,
      `failed to convert cached result to config version ${goQuote(cniVersion)}: ${e.message}`,
      undefined,
      {
        cause: err,
      },
    );
  }
}

function toAttachment(info: Record<string, unknown>): CachedAttachment | undefined {
  if (info.kind !== CACHE_KIND) return undefined;
  const ifName = typeof info.ifName === "string" ? info.ifName : "";
  const network = typeof info.networkName === "string" ? info.networkName : "";
  if (ifName === "" || network === "") return undefined;
  const args = Array.isArray(info.cniArgs)
    ? info.cniArgs.filter(
        (p): p is [string, string] => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === "string"),
      )
    : [];
  return {
    containerId: typeof info.containerId === "string" ? info.containerId : "",
    network,
    ifName,
    config: typeof info.config === "string" ? Buffer.from(info.config, "base64").toString("utf8") : "",
    netns: typeof info.netns === "string" ? info.netns : "",
    cniArgs: args.map(([k, v]) => [k, v]),
    capabilityArgs: isObject(info.capabilityArgs) ? info.capabilityArgs : {},
  };
}

/**
 * Reads the cached config and runtime arguments of an attachment (libcni
 * `GetNetworkListCachedConfig`). `undefined` when there is no cache file.
 *
 * @example const cached = await readCachedConfig("/var/lib/cni", "mynet", { containerId, ifName: "eth0" });
 * @throws CniError `failed to unmarshal cached network "X" config: ...` or
 *   `read cached network "X" config has wrong kind: K`.
 */
export async function readCachedConfig(
  cacheDir: string,
  network: string,
  key: CacheKey,
): Promise<CachedAttachment | undefined> {
  const text = await readIfExists(cacheFilePath(cacheDir, network, key));
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `failed to unmarshal cached network ${goQuote(network)} config: ${(err as Error).message}`,
    );
  }
  const kind = isObject(parsed) ? parsed.kind : undefined;
  if (kind !== CACHE_KIND) {
    throw new CniError(
      ErrorCode.DecodingFailure,
      `read cached network ${goQuote(network)} config has wrong kind: ${String(kind ?? "")}`,
    );
  }
  return (
    toAttachment(parsed as Record<string, unknown>) ?? {
      containerId: key.containerId,
      network,
      ifName: key.ifName,
      config: "",
      netns: "",
      cniArgs: [],
      capabilityArgs: {},
    }
  );
}

/**
 * Lists the cached attachments (all, or those of one container), sorted by file name; files
 * that are unreadable, of another kind, or lack an interface or network name are skipped.
 * A missing cache dir gives [].
 *
 * @example const all = await listCachedAttachments("/var/lib/cni");
 * @throws CniError code 5 when the results directory exists but cannot be read.
 */
export async function listCachedAttachments(cacheDir: string, containerId?: string): Promise<CachedAttachment[]> {
  const dir = join(cacheDir, "results");
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new CniError(ErrorCode.IoFailure, (err as Error).message, undefined, { cause: err });
  }
  names.sort();
  const out: CachedAttachment[] = [];
  for (const name of names) {
    if (containerId) {
      const part = `-${containerId}-`;
      const pos = name.indexOf(part);
      if (pos <= 0 || pos + part.length >= name.length) continue;
    }
    const text = await readIfExists(join(dir, name));
    if (text === undefined) continue;
    const parsed = parseJsonOrUndefined(text);
    if (!isObject(parsed)) continue;
    const att = toAttachment(parsed);
    if (!att) continue;
    if (containerId && att.containerId !== containerId) continue;
    out.push(att);
  }
  return out;
}
