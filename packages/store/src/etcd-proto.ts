/**
 * etcd's v3 messages in protobuf, for the gRPC transport (etcd-grpc.ts): the few requests and
 * answers the store sends, converted from and to the shape the JSON gateway speaks (protobuf's
 * JSON mapping: bytes as base64, 64-bit integers as decimal strings, enums by name, fields at
 * their default left out), so that the store builds and reads one shape whatever the transport.
 *
 * Field numbers are those of etcd's `rpc.proto` and `kv.proto` (etcdserverpb, mvccpb); fields the
 * store never sends or reads are left out (an unknown field of an answer is skipped).
 *
 * @see https://github.com/etcd-io/etcd/blob/release-3.4/etcdserver/etcdserverpb/rpc.proto
 */

/** A field's type: scalars in their JSON form, an enum's names by number, or a message. */
type FieldType = "bytes" | "string" | "int64" | "bool" | readonly string[] | Schema;

interface Field {
  name: string;
  no: number;
  type: FieldType;
  repeated?: boolean;
}

/** A message: its fields by name (encoding) and by number (decoding). */
export interface Schema {
  byName: Map<string, Field>;
  byNo: Map<number, Field>;
}

function schema(fields: [name: string, no: number, type: FieldType, repeated?: "repeated"][]): Schema {
  const byName = new Map<string, Field>();
  const byNo = new Map<number, Field>();
  for (const [name, no, type, repeated] of fields) {
    const f: Field = { name, no, type, ...(repeated ? { repeated: true } : {}) };
    byName.set(name, f);
    byNo.set(no, f);
  }
  return { byName, byNo };
}

const Header = schema([
  ["cluster_id", 1, "int64"],
  ["member_id", 2, "int64"],
  ["revision", 3, "int64"],
  ["raft_term", 4, "int64"],
]);
const KeyValue = schema([
  ["key", 1, "bytes"],
  ["create_revision", 2, "int64"],
  ["mod_revision", 3, "int64"],
  ["version", 4, "int64"],
  ["value", 5, "bytes"],
  ["lease", 6, "int64"],
]);
const RangeRequest = schema([
  ["key", 1, "bytes"],
  ["range_end", 2, "bytes"],
  ["limit", 3, "int64"],
  ["revision", 4, "int64"],
  ["serializable", 7, "bool"],
  ["keys_only", 8, "bool"],
  ["count_only", 9, "bool"],
]);
const RangeResponse = schema([
  ["header", 1, Header],
  ["kvs", 2, KeyValue, "repeated"],
  ["more", 3, "bool"],
  ["count", 4, "int64"],
]);
const PutRequest = schema([
  ["key", 1, "bytes"],
  ["value", 2, "bytes"],
  ["lease", 3, "int64"],
]);
const PutResponse = schema([["header", 1, Header]]);
const DeleteRangeRequest = schema([
  ["key", 1, "bytes"],
  ["range_end", 2, "bytes"],
]);
const DeleteRangeResponse = schema([
  ["header", 1, Header],
  ["deleted", 2, "int64"],
]);
const Compare = schema([
  ["result", 1, ["EQUAL", "GREATER", "LESS", "NOT_EQUAL"]],
  ["target", 2, ["VERSION", "CREATE", "MOD", "VALUE", "LEASE"]],
  ["key", 3, "bytes"],
  ["version", 4, "int64"],
  ["create_revision", 5, "int64"],
  ["mod_revision", 6, "int64"],
  ["value", 7, "bytes"],
  ["lease", 8, "int64"],
  ["range_end", 64, "bytes"],
]);
const RequestOp = schema([
  ["request_range", 1, RangeRequest],
  ["request_put", 2, PutRequest],
  ["request_delete_range", 3, DeleteRangeRequest],
]);
const ResponseOp = schema([
  ["response_range", 1, RangeResponse],
  ["response_put", 2, PutResponse],
  ["response_delete_range", 3, DeleteRangeResponse],
]);
const TxnRequest = schema([
  ["compare", 1, Compare, "repeated"],
  ["success", 2, RequestOp, "repeated"],
  ["failure", 3, RequestOp, "repeated"],
]);
const TxnResponse = schema([
  ["header", 1, Header],
  ["succeeded", 2, "bool"],
  ["responses", 3, ResponseOp, "repeated"],
]);
const LeaseGrantRequest = schema([
  ["TTL", 1, "int64"],
  ["ID", 2, "int64"],
]);
const LeaseGrantResponse = schema([
  ["header", 1, Header],
  ["ID", 2, "int64"],
  ["TTL", 3, "int64"],
  ["error", 4, "string"],
]);
const LeaseId = schema([["ID", 1, "int64"]]);
const LeaseKeepAliveResponse = schema([
  ["header", 1, Header],
  ["ID", 2, "int64"],
  ["TTL", 3, "int64"],
]);

/** One gateway call as a gRPC method. */
export interface GrpcMethod {
  /** The gRPC path, `/etcdserverpb.KV/Txn`. */
  path: string;
  request: Schema;
  response: Schema;
  /** The gateway wraps this answer in `{ "result": ... }` (a streaming method's). */
  wrapped?: boolean;
}

/** The gateway paths the store calls, as gRPC methods (watch stays on the gateway). */
export const GRPC_METHODS: Readonly<Record<string, GrpcMethod>> = {
  "/v3/kv/range": { path: "/etcdserverpb.KV/Range", request: RangeRequest, response: RangeResponse },
  "/v3/kv/put": { path: "/etcdserverpb.KV/Put", request: PutRequest, response: PutResponse },
  "/v3/kv/deleterange": { path: "/etcdserverpb.KV/DeleteRange", request: DeleteRangeRequest, response: DeleteRangeResponse },
  "/v3/kv/txn": { path: "/etcdserverpb.KV/Txn", request: TxnRequest, response: TxnResponse },
  "/v3/lease/grant": { path: "/etcdserverpb.Lease/LeaseGrant", request: LeaseGrantRequest, response: LeaseGrantResponse },
  "/v3/lease/revoke": { path: "/etcdserverpb.Lease/LeaseRevoke", request: LeaseId, response: PutResponse },
  "/v3/lease/keepalive": {
    path: "/etcdserverpb.Lease/LeaseKeepAlive",
    request: LeaseId,
    response: LeaseKeepAliveResponse,
    wrapped: true,
  },
};

// ---- encoding ----

/** A growing byte buffer. */
class Writer {
  buf = Buffer.allocUnsafe(256);
  len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** A length-delimited string field's bytes: base64-decoded or UTF-8, written in place. */
  text(s: string, encoding: "base64" | "utf8"): void {
    this.byte(0);
    const start = this.len;
    this.room(encoding === "base64" ? Math.ceil((s.length * 3) / 4) : s.length * 3);
    this.len += this.buf.write(s, this.len, encoding);
    this.lengthBefore(start);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }

  /** A varint of a non-negative integer up to 2^53. */
  varint(n: number): void {
    this.room(10);
    while (n > 0x7f) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }

  /** A varint of any int64 (negative numbers as their two's complement, 10 bytes). */
  bigVarint(n: bigint): void {
    let v = BigInt.asUintN(64, n);
    this.room(10);
    while (v > 0x7fn) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  /** Writes the length of what follows `start` into the byte reserved before it (as a varint). */
  lengthBefore(start: number): void {
    let n = this.len - start;
    let extra = 0;
    for (let m = n; m > 0x7f; m = Math.floor(m / 0x80)) extra++;
    if (extra > 0) {
      this.room(extra);
      this.buf.copyWithin(start + extra, start, this.len);
      this.len += extra;
    }
    let i = start - 1;
    while (n > 0x7f) {
      this.buf[i++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[i] = n;
  }
}

function int64(w: Writer, value: unknown, where: string): void {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) w.varint(value);
  else if (typeof value === "string" && /^\d{1,15}$/.test(value)) w.varint(Number(value));
  else if (typeof value === "string" && /^-?\d{1,20}$/.test(value)) w.bigVarint(BigInt(value));
  else if (typeof value === "number" && Number.isSafeInteger(value)) w.bigVarint(BigInt(value));
  else throw new TypeError(`${where}: not a 64-bit integer: ${String(value)}`);
}

function encodeInto(w: Writer, s: Schema, obj: Record<string, unknown>): void {
  for (const name in obj) {
    const value = obj[name];
    if (value === undefined) continue;
    const f = s.byName.get(name);
    if (!f) throw new TypeError(`protobuf: no field "${name}"`);
    const values = f.repeated ? (value as unknown[]) : [value];
    for (const v of values) encodeField(w, f, v);
  }
}

function encodeField(w: Writer, f: Field, v: unknown): void {
  const t = f.type;
  if (t === "int64") {
    w.varint(f.no << 3);
    int64(w, v, f.name);
  } else if (t === "bool") {
    w.varint(f.no << 3);
    w.byte(v ? 1 : 0);
  } else if (t === "bytes" || t === "string") {
    w.varint((f.no << 3) | 2);
    w.text(String(v), t === "bytes" ? "base64" : "utf8");
  } else if (Array.isArray(t)) {
    const n = t.indexOf(String(v));
    if (n < 0) throw new TypeError(`protobuf: ${f.name}: no value "${String(v)}"`);
    w.varint(f.no << 3);
    w.varint(n);
  } else {
    // the message in place, after one byte reserved for its length (moved up when it needs more)
    w.varint((f.no << 3) | 2);
    w.byte(0);
    const start = w.len;
    encodeInto(w, t as Schema, v as Record<string, unknown>);
    w.lengthBefore(start);
  }
}

/**
 * A request in the gateway's JSON shape as a protobuf message.
 *
 * @throws TypeError for a field the schema does not have or a value of the wrong type.
 */
export function encodeMessage(s: Schema, obj: Record<string, unknown>): Uint8Array {
  const w = new Writer();
  encodeInto(w, s, obj);
  return w.buf.subarray(0, w.len);
}

// ---- decoding ----

/** A malformed message. */
export class ProtobufError extends Error {}

/** A position in a message's bytes. */
class Reader {
  i = 0;
  constructor(readonly buf: Uint8Array) {}

  /** A varint as a number when it fits 2^49 exactly, else as a bigint. */
  varint(end: number): number | bigint {
    const buf = this.buf;
    let n = 0;
    let mul = 1;
    for (let k = 0; k < 7; k++) {
      if (this.i >= end) throw new ProtobufError("truncated varint");
      const b = buf[this.i++] as number;
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 0x80;
    }
    let big = BigInt(n);
    let shift = 49n;
    for (;;) {
      if (this.i >= end || shift > 63n) throw new ProtobufError("bad varint");
      const b = buf[this.i++] as number;
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return big;
      shift += 7n;
    }
  }

  /** A length that fits before `end`. */
  length(end: number): number {
    const n = this.varint(end);
    if (typeof n !== "number" || this.i + n > end) throw new ProtobufError("length past the end");
    return n;
  }
}

/** Reads one message of the reader's bytes up to `end` into the gateway's JSON shape. */
function decodeRange(s: Schema, r: Reader, end: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const buf = r.buf;
  while (r.i < end) {
    const tag = r.varint(end);
    if (typeof tag !== "number") throw new ProtobufError("bad tag");
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    const f = s.byNo.get(no);
    let value: unknown;
    if (wire === 0) {
      const n = r.varint(end);
      if (!f) continue;
      if (f.type === "int64") value = typeof n === "bigint" ? String(BigInt.asIntN(64, n)) : String(n);
      else if (f.type === "bool") value = n !== 0;
      else if (Array.isArray(f.type)) value = f.type[Number(n)] ?? Number(n);
      else throw new ProtobufError(`${f.name}: unexpected varint`);
    } else if (wire === 2) {
      const n = r.length(end);
      const from = r.i;
      if (!f) {
        r.i += n;
        continue;
      }
      if (f.type === "bytes" || f.type === "string")
        value = Buffer.from(buf.buffer, buf.byteOffset + from, n).toString(f.type === "bytes" ? "base64" : "utf8");
      else if (typeof f.type === "object" && !Array.isArray(f.type)) value = decodeRange(f.type as Schema, r, from + n);
      else throw new ProtobufError(`${f.name}: unexpected bytes`);
      r.i = from + n;
    } else if (wire === 1) {
      r.i += 8;
      continue;
    } else if (wire === 5) {
      r.i += 4;
      continue;
    } else throw new ProtobufError(`unsupported wire type ${wire}`);
    if (!f.repeated) out[f.name] = value;
    else if (Array.isArray(out[f.name])) (out[f.name] as unknown[]).push(value);
    else out[f.name] = [value];
  }
  if (r.i !== end) throw new ProtobufError("truncated field");
  return out;
}

/**
 * A protobuf answer in the gateway's JSON shape.
 *
 * @throws ProtobufError when the bytes are not a well-formed message.
 */
export function decodeMessage(s: Schema, buf: Uint8Array): Record<string, unknown> {
  return decodeRange(s, new Reader(buf), buf.length);
}
