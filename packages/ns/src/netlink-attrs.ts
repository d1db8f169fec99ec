/**
 * Minimal netlink attribute (TLV) encoding and decoding. Enough for rtnetlink links,
 * addresses and routes, including nested IFLA_LINKINFO.
 * @internal
 */

import { type IpAddress, ipToBytes } from "@cnikit/spec";

/** NLA_F_NESTED: set on nested attribute types. */
export const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

/** One attribute: its type (flags stripped) and payload. */
export type Attr = { type: number; data: Buffer };

/** An attribute to encode: payload bytes or nested attributes. */
export type AttrInput = { type: number; data: Buffer } | { type: number; nested: AttrInput[] };

/** Pads `n` to a multiple of 4. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Encodes a list of attributes (recursively). */
export function encodeAttrs(attrs: readonly AttrInput[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    const payload = "nested" in a ? encodeAttrs(a.nested) : a.data;
    const type = "nested" in a ? a.type | NLA_F_NESTED : a.type;
    const len = 4 + payload.length;
    const buf = Buffer.alloc(align4(len));
    buf.writeUInt16LE(len, 0);
    buf.writeUInt16LE(type, 2);
    payload.copy(buf, 4);
    parts.push(buf);
  }
  return Buffer.concat(parts);
}

/** Decodes the attributes in `buf[start..]`. */
export function decodeAttrs(buf: Buffer, start = 0, end = buf.length): Attr[] {
  const out: Attr[] = [];
  let off = start;
  while (off + 4 <= end) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (len < 4 || off + len > end) break;
    out.push({ type, data: buf.subarray(off + 4, off + len) });
    off += align4(len);
  }
  return out;
}

/**
 * Decodes attributes into a map (the last attribute of a type wins); with `only`, just those
 * types (a link message carries ~50 attributes, a Link reads 10 of them).
 */
export function attrMap(buf: Buffer, start = 0, end = buf.length, only?: readonly number[]): Map<number, Buffer> {
  const m = new Map<number, Buffer>();
  let off = start;
  while (off + 4 <= end) {
    const len = buf.readUInt16LE(off);
    const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (len < 4 || off + len > end) break;
    if (only === undefined || only.includes(type)) m.set(type, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return m;
}

export const u8 = (type: number, v: number): AttrInput => ({ type, data: Buffer.from([v & 0xff]) });
export const u16 = (type: number, v: number): AttrInput => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return { type, data: b };
};
export const u16be = (type: number, v: number): AttrInput => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return { type, data: b };
};
export const u32 = (type: number, v: number): AttrInput => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return { type, data: b };
};
export const s32 = (type: number, v: number): AttrInput => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return { type, data: b };
};
/** NUL-terminated string attribute. */
export const str = (type: number, v: string): AttrInput => ({ type, data: Buffer.from(`${v}\0`) });
export const bytes = (type: number, v: Buffer): AttrInput => ({ type, data: v });
export const nested = (type: number, attrs: AttrInput[]): AttrInput => ({ type, nested: attrs });
/** An address attribute: 4 or 16 network-order bytes (CniError code 7 when text is not an address). */
export const ipAttr = (type: number, ip: string | IpAddress): AttrInput => ({ type, data: Buffer.from(ipToBytes(ip)) });

/** Reads a NUL-terminated string payload. */
export function readStr(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const z = b.indexOf(0);
  return b.toString("utf8", 0, z === -1 ? b.length : z);
}
export function readU32(b: Buffer | undefined): number | undefined {
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
}
export function readS32(b: Buffer | undefined): number | undefined {
  return b && b.length >= 4 ? b.readInt32LE(0) : undefined;
}
export function readU8(b: Buffer | undefined): number | undefined {
  return b && b.length >= 1 ? b.readUInt8(0) : undefined;
}
