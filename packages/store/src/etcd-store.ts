/**
 * The `etcd:` backend. Requests and answers have the shape of etcd v3's JSON gateway: keys and
 * values base64, int64 fields as strings, proto3 defaults omitted (no `succeeded` = false, no
 * `kvs` = none, no `deleted` = 0); the transport sends them to the gateway, or, in a long-lived
 * process, as protobuf to etcd's gRPC API (etcd-transport.ts, etcd-proto.ts). Watches stream from
 * the gateway's `/v3/watch` and resume from the last delivered revision after a disconnect.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import { LeaseNotFoundError, StoreError, WatchCompactedError } from "./errors.js";
import { type EtcdTransport, requestFailure } from "./etcd-transport.js";
import { prefixEnd } from "./key-order.js";
import type {
  Compare,
  DeleteResult,
  KeyValue,
  LeaseId,
  PutOptions,
  RangeOptions,
  RangePage,
  Store,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResponse,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteResult,
} from "./types.js";

interface RawKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}
interface Header {
  header?: { revision?: string };
}
interface RawRange extends Header {
  kvs?: RawKv[];
  more?: boolean;
}
interface RawDelete extends Header {
  deleted?: string;
}
interface RawTxn extends Header {
  succeeded?: boolean;
  responses?: { response_put?: Header; response_range?: RawRange; response_delete_range?: RawDelete }[];
}
interface RawWatch {
  result?: Header & {
    created?: boolean;
    canceled?: boolean;
    compact_revision?: string;
    cancel_reason?: string;
    events?: { type?: "PUT" | "DELETE"; kv?: RawKv }[];
  };
  error?: { message?: string; http_code?: number; grpc_code?: number };
}

const TARGETS = { create: "CREATE", mod: "MOD", value: "VALUE", version: "VERSION" } as const;
const RESULTS = { "==": "EQUAL", "!=": "NOT_EQUAL", "<": "LESS", ">": "GREATER" } as const;
const FIELDS = { create: "create_revision", mod: "mod_revision", value: "value", version: "version" } as const;

const b64 = (bytes: Uint8Array | string) =>
  (typeof bytes === "string" ? Buffer.from(bytes, "utf8") : Buffer.from(bytes)).toString("base64");
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, "base64").toString("utf8") : "");
const rev = (h: Header) => Number(h.header?.revision ?? 0);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The `etcd:` backend. */
export class EtcdStore implements Store {
  private readonly watches = new Set<WatchHandle>();
  /** `key`/`range_end` of the prefixes ranged lately (a long-lived process ranges the same few). */
  private readonly spans = new Map<string, { key: string; range_end: string }>();

  /**
   * @param url the URL given to `openStore`
   * @param transport the gateway client
   * @param prefix prepended to every key ("" or ending with "/")
   */
  constructor(
    readonly url: string,
    private readonly transport: EtcdTransport,
    private readonly prefix: string,
  ) {}

  private kv(raw: RawKv): KeyValue {
    const kv: KeyValue = {
      key: unb64(raw.key).slice(this.prefix.length),
      value: unb64(raw.value),
      createRevision: Number(raw.create_revision ?? 0),
      modRevision: Number(raw.mod_revision ?? 0),
      version: Number(raw.version ?? 0),
    };
    if (raw.lease && raw.lease !== "0") kv.lease = raw.lease;
    return kv;
  }

  /** `key`/`range_end` for the keys starting with `prefix`, after `after`. */
  private span(prefix: string, after?: string): { key: string; range_end: string } {
    if (after === undefined) {
      const known = this.spans.get(prefix);
      if (known) return { key: known.key, range_end: known.range_end };
    }
    const full = Buffer.from(this.prefix + prefix, "utf8");
    const start =
      after !== undefined && (this.prefix + after).startsWith(this.prefix + prefix)
        ? Buffer.from(`${this.prefix + after}\0`, "utf8")
        : full.length === 0
          ? Uint8Array.of(0)
          : full;
    const span = { key: b64(start), range_end: b64(prefixEnd(full)) };
    if (after === undefined) {
      if (this.spans.size >= 256) this.spans.clear();
      this.spans.set(prefix, { key: span.key, range_end: span.range_end });
    }
    return span;
  }

  private rangeBody(prefix: string, limit?: number, after?: string): Record<string, unknown> {
    const body: Record<string, unknown> = this.span(prefix, after);
    if (limit !== undefined && limit > 0) body.limit = String(limit);
    return body;
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const r = await this.transport.call<RawRange>("/v3/kv/range", { key: b64(this.prefix + key) }, true);
    const first = r.kvs?.[0];
    return first ? this.kv(first) : undefined;
  }

  async range(prefix: string, options: RangeOptions = {}): Promise<RangePage> {
    const r = await this.transport.call<RawRange>(
      "/v3/kv/range",
      this.rangeBody(prefix, options.limit, options.after),
      true,
    );
    return { kvs: (r.kvs ?? []).map((k) => this.kv(k)), more: r.more === true, revision: rev(r) };
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<WriteResult> {
    const body: Record<string, unknown> = { key: b64(this.prefix + key), value: b64(value) };
    if (options.lease !== undefined) body.lease = options.lease;
    const r = await this.transport.call<Header>("/v3/kv/put", body, false);
    return { revision: rev(r) };
  }

  async delete(key: string): Promise<DeleteResult> {
    const r = await this.transport.call<RawDelete>("/v3/kv/deleterange", { key: b64(this.prefix + key) }, false);
    return { deleted: Number(r.deleted ?? 0), revision: rev(r) };
  }

  async deletePrefix(prefix: string): Promise<DeleteResult> {
    const r = await this.transport.call<RawDelete>("/v3/kv/deleterange", this.span(prefix), false);
    return { deleted: Number(r.deleted ?? 0), revision: rev(r) };
  }

  private compare(c: Compare): Record<string, string> {
    const value = c.target === "value" ? b64(String(c.value)) : String(c.value);
    return {
      key: b64(this.prefix + c.key),
      target: TARGETS[c.target],
      result: RESULTS[c.op],
      [FIELDS[c.target]]: value,
    };
  }

  private op(op: TxnOp): Record<string, unknown> {
    switch (op.type) {
      case "put": {
        const put: Record<string, string> = { key: b64(this.prefix + op.key), value: b64(op.value) };
        if (op.lease !== undefined) put.lease = op.lease;
        return { request_put: put };
      }
      case "get":
        return { request_range: { key: b64(this.prefix + op.key) } };
      case "range":
        return { request_range: this.rangeBody(op.prefix, op.limit) };
      case "delete":
        return { request_delete_range: { key: b64(this.prefix + op.key) } };
      case "deletePrefix":
        return { request_delete_range: this.span(op.prefix) };
    }
  }

  async txn(request: TxnRequest): Promise<TxnResponse> {
    const body = {
      compare: (request.compare ?? []).map((c) => this.compare(c)),
      success: (request.success ?? []).map((o) => this.op(o)),
      failure: (request.failure ?? []).map((o) => this.op(o)),
    };
    const reads = (o: TxnOp) => o.type === "get" || o.type === "range";
    const readOnly = (request.success ?? []).every(reads) && (request.failure ?? []).every(reads);
    const r = await this.transport.call<RawTxn>("/v3/kv/txn", body, readOnly);
    const succeeded = r.succeeded === true;
    const ops = (succeeded ? request.success : request.failure) ?? [];
    const results = ops.map((op, i): TxnOpResult => {
      const raw = r.responses?.[i] ?? {};
      if (op.type === "put") return { type: "put" };
      const kvs = (raw.response_range?.kvs ?? []).map((k) => this.kv(k));
      if (op.type === "get") return { type: "get", kvs };
      if (op.type === "range") return { type: "range", kvs, more: raw.response_range?.more === true };
      return { type: op.type, deleted: Number(raw.response_delete_range?.deleted ?? 0) };
    });
    return { succeeded, results, revision: rev(r) };
  }

  async revision(): Promise<number> {
    const r = await this.transport.call<RawRange>(
      "/v3/kv/range",
      { key: b64(Uint8Array.of(0)), count_only: true },
      true,
    );
    return rev(r);
  }

  async grant(ttlSeconds: number): Promise<LeaseId> {
    if (!(ttlSeconds > 0)) throw new StoreError("invalid", `lease TTL must be > 0, got ${ttlSeconds}`);
    // a lost grant only leaks a lease that expires: retried like a read
    const r = await this.transport.call<{ ID?: string }>("/v3/lease/grant", { TTL: String(ttlSeconds) }, true);
    if (!r.ID) throw new StoreError("invalid", "etcd /v3/lease/grant: no ID in the answer");
    return r.ID;
  }

  async keepAlive(id: LeaseId): Promise<number> {
    const r = await this.transport.call<{ result?: { TTL?: string } }>("/v3/lease/keepalive", { ID: id }, true);
    const ttl = Number(r.result?.TTL ?? 0);
    if (!(ttl > 0)) throw new LeaseNotFoundError(`etcd: lease ${id} not found`);
    return ttl;
  }

  async revoke(id: LeaseId): Promise<void> {
    try {
      await this.transport.call<Header>("/v3/lease/revoke", { ID: id }, true);
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
    }
  }

  watch(prefix: string, options: WatchOptions, onEvent: (event: WatchEvent) => void): WatchHandle {
    const transport = this.transport;
    let next = options.fromRevision;
    let closed = false;
    let current: (() => void) | undefined;
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
    const stop = (err?: Error) => {
      if (closed) return;
      closed = true;
      current?.();
      markReady();
      this.watches.delete(handle);
      if (err) options.onError?.(err);
    };

    /** One stream: resolves when it ends for any reason (the loop reconnects unless closed). */
    const stream = (ep: URL, onData: () => void) =>
      new Promise<void>((resolve) => {
        const create: Record<string, unknown> = { ...this.span(prefix), progress_notify: true };
        if (next !== undefined) create.start_revision = String(next);
        const body = JSON.stringify({ create_request: create });
        let buffered = "";
        let ok = false;
        const decoder = new TextDecoder();
        // a connection that does not answer within the call deadline is given up on
        const close = transport.options.client.stream(
          ep,
          "/v3/watch",
          body,
          {
            head(status) {
              ok = status === 200;
            },
            data: (chunk) => {
              if (!ok || closed) return; // an error page: read to the end, then reconnect
              buffered += decoder.decode(chunk, { stream: true });
              let nl = buffered.indexOf("\n");
              while (nl >= 0 && !closed) {
                const line = buffered.slice(0, nl).trim();
                buffered = buffered.slice(nl + 1);
                nl = buffered.indexOf("\n");
                if (line === "") continue;
                let msg: RawWatch;
                try {
                  msg = JSON.parse(line) as RawWatch;
                } catch {
                  close();
                  return;
                }
                const result = msg.result;
                if (!result) {
                  close(); // an error object: reconnect (maybe elsewhere)
                  return;
                }
                if (result.created) {
                  onData();
                  if (next === undefined) next = rev(result) + 1;
                  markReady();
                }
                if (result.canceled) {
                  const compact = Number(result.compact_revision ?? 0);
                  stop(
                    compact > 0
                      ? new WatchCompactedError(`etcd: revision ${next} was compacted (oldest: ${compact})`, compact)
                      : new StoreError("invalid", `etcd: watch canceled: ${result.cancel_reason ?? "no reason"}`),
                  );
                  return;
                }
                for (const e of result.events ?? []) {
                  if (closed) return;
                  const kv = this.kv(e.kv ?? {});
                  const event: WatchEvent = {
                    type: e.type === "DELETE" ? "delete" : "put",
                    kv,
                    revision: kv.modRevision,
                  };
                  next = event.revision + 1;
                  try {
                    onEvent(event);
                  } catch (err) {
                    stop(err instanceof Error ? err : new Error(String(err)));
                    return;
                  }
                }
              }
            },
            end(error) {
              if (error && error.code !== "ABORT_ERR") {
                const f = requestFailure(error);
                if (f.kind === "final") stop(f.error);
              }
              resolve();
            },
          },
          { timeoutMs: transport.options.callTimeoutMs * 2 },
        );
        current = close;
      }).finally(() => {
        current = undefined;
      });

    const loop = async () => {
      let backoff = 50;
      while (!closed) {
        const ep = transport.endpoint();
        let gotData = false;
        await stream(ep, () => {
          gotData = true;
        });
        if (closed) break;
        transport.rotate();
        if (gotData) backoff = 50;
        await sleep(backoff * (0.5 + Math.random()));
        backoff = Math.min(backoff * 2, 1000);
      }
    };
    void loop();
    const handle: WatchHandle = { ready, close: () => stop() };
    this.watches.add(handle);
    return handle;
  }

  /**
   * Pins the wire of this store's calls (not its watches): "grpc" moves them to etcd's gRPC API
   * now instead of a second after the first call (etcd-transport.ts), "gateway" keeps them on the
   * JSON gateway. Not part of the Store interface: the tests run the same suites over both wires.
   * Resolves false where gRPC cannot be used or the endpoint did not answer it.
   */
  setWire(wire: "gateway" | "grpc"): Promise<boolean> {
    return this.transport.setWire(wire);
  }

  /** True once the calls go over gRPC. */
  get usingGrpc(): boolean {
    return this.transport.usingGrpc;
  }

  async close(): Promise<void> {
    for (const w of [...this.watches]) w.close();
    this.transport.close();
  }
}
