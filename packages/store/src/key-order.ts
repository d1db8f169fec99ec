/**
 * Key order and prefix ranges, byte-wise over UTF-8 as etcd does.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */

/** Compares two strings by their UTF-8 bytes (etcd's key order). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * The exclusive end of the range of keys starting with `prefix` (etcd's `range_end`): the
 * prefix with its last byte incremented, trailing 0xff bytes dropped; `[0]` (all keys) when
 * there is no such key.
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Uint8Array.of(0);
}
