/**
 * Store selection by one URL-like setting, the same in plugin configs and agent flags:
 *
 * - `file:/var/lib/cnikit/store` (also `file:///var/lib/cnikit/store`): the embedded backend;
 * - `etcd://host:2379,host2:2379?prefix=/cnikit`: etcd over HTTP;
 * - `etcd://host:2379?cert=/etc/cnikit/client.pem&key=/etc/cnikit/client-key.pem&cacert=/etc/cnikit/ca.pem`:
 *   HTTPS with a client certificate (any of `cert`/`key`/`cacert` switches to HTTPS; the names are
 *   etcdctl's `--cert`/`--key`/`--cacert`);
 * - `etcds://host:2379`: HTTPS with the system's CAs.
 *
 * Backends are loaded on first use: a `file:` store never loads node:net, an `etcd://` store with
 * IP addresses neither (its connections are libuv TCP handles, see raw-tcp.ts), and node:tls is
 * only loaded for a TLS URL. An `etcd://` store still in use a second after its first call loads
 * node:http2 in the background and moves to etcd's gRPC API (etcd-transport.ts).
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import { readFileSync } from "node:fs";
import { StoreConfigError } from "./errors.js";
import type { Store } from "./types.js";

/**
 * Options of {@link openStore}; each overrides the URL's query parameter of the same meaning.
 *
 * @example await openStore("etcd://10.0.0.1:2379", { callTimeoutMs: 300, retryBudgetMs: 3000 })
 */
export interface OpenStoreOptions {
  /** etcd: the deadline of one request to etcd, gateway or gRPC (default 400 ms; URL `timeout=`). */
  callTimeoutMs?: number;
  /** etcd: the overall time a call may take over retries and endpoints (default 5000 ms; URL `budget=`). */
  retryBudgetMs?: number;
  /** file: how long a write waits for the lock (default 5000 ms; URL `timeout=`). */
  lockTimeoutMs?: number;
  /** file: how often a watch polls (default 100 ms; URL `poll=`). */
  pollIntervalMs?: number;
  /** file: fsync every write (default true; URL `fsync=false`). */
  fsync?: boolean;
}

/**
 * A parsed store URL.
 *
 * @example parseStoreUrl("file:/var/lib/cnikit/store") // { backend: "file", dir: "/var/lib/cnikit/store", ... }
 */
export type StoreUrl =
  | {
      backend: "file";
      dir: string;
      lockTimeoutMs?: number;
      pollIntervalMs?: number;
      fsync?: boolean;
    }
  | {
      backend: "etcd";
      /** `http://host:port` or `https://host:port`, in the order given. */
      endpoints: string[];
      /** Prepended to every key; "" or ending with "/". */
      prefix: string;
      tls: boolean;
      /** The client certificate (PEM file; URL `cert=`, like etcdctl's `--cert`). */
      cert?: string;
      /** Its private key (PEM file; URL `key=`, like etcdctl's `--key`). */
      key?: string;
      /** The CA bundle that verifies the server (PEM file; URL `cacert=`, like etcdctl's `--cacert`). */
      cacert?: string;
      callTimeoutMs?: number;
      retryBudgetMs?: number;
    };

function positive(name: string, value: string, url: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new StoreConfigError(`store URL ${url}: ${name}=${value} is not a positive number`);
  return n;
}

/** `+` is a space and `%XX` a byte, as in a form (URLSearchParams); a malformed escape stays as written. */
function unescapeParam(s: string): string {
  const spaced = s.includes("+") ? s.replaceAll("+", " ") : s;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** The query's parameters (read by hand: URLSearchParams costs a one-shot call a quarter of a millisecond). */
function query(q: string | undefined, allowed: string[], url: string): Map<string, string> {
  const params = new Map<string, string>();
  if (!q) return params;
  for (const pair of q.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const k = unescapeParam(eq < 0 ? pair : pair.slice(0, eq));
    const v = eq < 0 ? "" : unescapeParam(pair.slice(eq + 1));
    if (!allowed.includes(k))
      throw new StoreConfigError(`store URL ${url}: unknown parameter "${k}" (known: ${allowed.join(", ")})`);
    params.set(k, v);
  }
  return params;
}

/**
 * Parses a store URL without touching the network or the disk.
 *
 * @throws StoreConfigError for an unknown scheme, a relative `file:` path, a bad host list or an
 *   unknown parameter.
 * @example parseStoreUrl("etcd://10.0.0.1:2379,10.0.0.2:2379?prefix=/cnikit").endpoints // ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]
 */
export function parseStoreUrl(url: string): StoreUrl {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "file") {
    const m = /^file:(?:\/\/(?=\/))?([^?#]*)(?:\?([^#]*))?$/i.exec(url);
    const dir = m?.[1] ? decodeURIComponent(m[1]) : "";
    if (!dir.startsWith("/")) throw new StoreConfigError(`store URL ${url}: file: needs an absolute directory path`);
    const q = query(m?.[2], ["timeout", "poll", "fsync"], url);
    const parsed: StoreUrl = { backend: "file", dir: dir.length > 1 ? dir.replace(/\/+$/, "") : dir };
    if (q.has("timeout")) parsed.lockTimeoutMs = positive("timeout", q.get("timeout") as string, url);
    if (q.has("poll")) parsed.pollIntervalMs = positive("poll", q.get("poll") as string, url);
    if (q.has("fsync")) parsed.fsync = !["false", "0", "no"].includes(q.get("fsync") as string);
    return parsed;
  }
  if (scheme === "etcd" || scheme === "etcds") {
    const m = /^etcds?:\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url);
    if (!m?.[1]) throw new StoreConfigError(`store URL ${url}: expected etcd://host:port[,host:port...][?prefix=...]`);
    const q = query(m[3], ["prefix", "cert", "key", "cacert", "timeout", "budget"], url);
    const tls = scheme === "etcds" || q.has("cert") || q.has("key") || q.has("cacert");
    if (q.has("cert") !== q.has("key"))
      throw new StoreConfigError(`store URL ${url}: cert= and key= go together (a client certificate and its key)`);
    const endpoints = m[1].split(",").map((h) => {
      const hm = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(h.trim());
      if (!hm) throw new StoreConfigError(`store URL ${url}: "${h}" is not host[:port]`);
      return `${tls ? "https" : "http"}://${hm[1]}:${hm[2] ?? "2379"}`;
    });
    let prefix = q.get("prefix") ?? (m[2] && m[2] !== "/" ? decodeURIComponent(m[2]) : "");
    if (prefix !== "" && !prefix.endsWith("/")) prefix += "/";
    const parsed: StoreUrl = { backend: "etcd", endpoints, prefix, tls };
    for (const k of ["cert", "key", "cacert"] as const) {
      const v = q.get(k);
      if (v !== undefined) parsed[k] = v;
    }
    if (q.has("timeout")) parsed.callTimeoutMs = positive("timeout", q.get("timeout") as string, url);
    if (q.has("budget")) parsed.retryBudgetMs = positive("budget", q.get("budget") as string, url);
    return parsed;
  }
  throw new StoreConfigError(
    `store URL ${url}: unknown scheme ${scheme ? `"${scheme}:"` : "(none)"}; use file:/path, etcd://host:port or etcds://host:port`,
  );
}

function readTls(path: string | undefined, what: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new StoreConfigError(`store TLS ${what} file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A built-in module loaded on first use: `process.getBuiltinModule` where it exists (Node >= 20.16;
 * no loader is involved), else a dynamic import. Not `node:module`'s `createRequire`: loading
 * `node:module` pulls in the ES module loader, which costs a one-shot plugin milliseconds.
 */
async function builtin<T>(name: "node:net" | "node:tls" | "node:http2"): Promise<T> {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const mod = typeof get === "function" ? get.call(process, name) : undefined;
  return (mod ?? (await import(name))) as T;
}

/**
 * Opens a store from its URL. Nothing is contacted yet: the first call does that (and may throw
 * the store errors every call may throw).
 *
 * @throws StoreConfigError for a URL {@link parseStoreUrl} rejects or a TLS file that cannot be read.
 * @example
 * const store = await openStore(process.env.CNIKIT_STORE ?? "file:/var/lib/cnikit/store");
 * const kv = await store.get("hosts/node1");
 * await store.close();
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const parsed = parseStoreUrl(url);
  if (parsed.backend === "file") {
    const { FileStore } = await import("./file-store.js");
    const timeoutMs = options.lockTimeoutMs ?? parsed.lockTimeoutMs;
    const pollIntervalMs = options.pollIntervalMs ?? parsed.pollIntervalMs;
    const fsync = options.fsync ?? parsed.fsync;
    return new FileStore(url, parsed.dir, {
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
      ...(fsync !== undefined ? { fsync } : {}),
    });
  }
  const cert = readTls(parsed.cert, "cert");
  const key = readTls(parsed.key, "key");
  const cacert = readTls(parsed.cacert, "cacert");
  const [{ loadRawTcp }, { HttpClient }, { EtcdTransport }, { EtcdStore }] = await Promise.all([
    import("./raw-tcp.js"),
    import("./http-client.js"),
    import("./etcd-transport.js"),
    import("./etcd-store.js"),
  ]);
  const endpoints = parsed.endpoints.map((e) => new URL(e));
  // plain HTTP to IP addresses goes over libuv's TCP handles: node:net is loaded only for TLS
  // (node:tls is built on it), host names, or where those handles are not reachable (Bun)
  const rawTcp = parsed.tls ? undefined : loadRawTcp();
  const needNet = !rawTcp || !endpoints.every((u) => /^[\d.]+$|:/.test(u.hostname));
  const [net, tls] = await Promise.all([
    needNet ? builtin<typeof import("node:net")>("node:net") : undefined,
    parsed.tls ? builtin<typeof import("node:tls")>("node:tls") : undefined,
  ]);
  const tlsFiles = parsed.tls
    ? { ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(cacert ? { ca: cacert } : {}) }
    : undefined;
  const transport = new EtcdTransport({
    endpoints,
    client: new HttpClient({ net, rawTcp, tls, tlsFiles }),
    callTimeoutMs: options.callTimeoutMs ?? parsed.callTimeoutMs ?? 400,
    retryBudgetMs: options.retryBudgetMs ?? parsed.retryBudgetMs ?? 5000,
    // a long-lived process moves to etcd's gRPC API (etcd-transport.ts); not under Bun, whose
    // node:http2 client is not the one this was measured and tested with
    grpc: process.versions.bun
      ? undefined
      : async () => {
          const [http2, { grpcLink }] = await Promise.all([
            builtin<typeof import("node:http2")>("node:http2"),
            import("./etcd-grpc.js"),
          ]);
          return grpcLink(http2, tlsFiles);
        },
  });
  return new EtcdStore(url, transport, parsed.prefix);
}
