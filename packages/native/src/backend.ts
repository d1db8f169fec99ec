/**
 * The FFI behind every libc call of this package: koffi under Node, `bun:ffi` under Bun. Each
 * libc function is declared once, as a C prototype (what koffi parses); the Bun backend derives
 * its `bun:ffi` signature from the same text. Internal: the public API is libc.ts and spawn.ts.
 *
 * `cnikit-build --target bun` bundles with esbuild's `dropLabels: ["CNIKIT_NODE_ONLY"]`: the
 * labelled koffi blocks below are removed before tree shaking, so a Bun build holds no koffi
 * loader and ships no `koffi.node`. Each block is left with `break` under Bun when it is not
 * dropped (this package run unbundled by Bun, or bundled by another tool).
 */
import { bunBind, bunErrno, type BunFunction } from "./bun-ffi.js";
import { loadKoffi } from "./koffi.js";

/**
 * A bound libc function: numbers, buffers, strings (for `const char *`) and arrays of strings
 * (for `const char **`) in, the C return value out; `.async(...args, callback)` runs it off the
 * event loop's current turn (koffi: on a libuv pool thread; Bun: on the JS thread, one turn later).
 */
export type BoundFunction = BunFunction;

/**
 * Which FFI backs `@cnikit/native` in this process: `"bun:ffi"` under Bun, else `"koffi"`.
 *
 * @example
 * nativeBackend(); // "koffi" under Node, "bun:ffi" in a `cnikit-build --target bun` plugin
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 */
export function nativeBackend(): "koffi" | "bun:ffi" {
  return typeof process.versions.bun === "string" ? "bun:ffi" : "koffi";
}

/** The C symbol a prototype declares: `int setns(int fd, int nstype)` → `setns`. */
export function symbolOf(prototype: string): string {
  const m = /([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(prototype);
  if (!m?.[1]) throw new TypeError(`not a C prototype: ${prototype}`);
  return m[1];
}

let koffiLibc: ReturnType<ReturnType<typeof loadKoffi>["load"]> | undefined;

/**
 * Binds libc's functions given as C prototypes, keyed as the caller names them.
 *
 * @throws {CniError} code 999 when the FFI (koffi, or libc through `bun:ffi`) cannot be loaded.
 */
export function bindLibc<K extends string>(prototypes: Readonly<Record<K, string>>): Record<K, BoundFunction> {
  // the label is used (break), so that esbuild keeps it in @cnikit/native's dist/ too
  // biome-ignore lint/suspicious/noConfusingLabels: dropped by cnikit-build's Bun builds (esbuild dropLabels)
  CNIKIT_NODE_ONLY: {
    if (typeof process.versions.bun === "string") break CNIKIT_NODE_ONLY;
    koffiLibc ??= loadKoffi().load("libc.so.6");
    const lib = koffiLibc;
    const out = {} as Record<K, BoundFunction>;
    for (const [key, prototype] of Object.entries(prototypes) as [K, string][]) {
      out[key] = lib.func(prototype) as unknown as BoundFunction;
    }
    return out;
  }
  return bunBind(prototypes);
}

/**
 * errno as the last libc call made through {@link bindLibc} on the JS thread left it.
 *
 * @throws {CniError} code 999 when the FFI cannot be loaded.
 */
export function lastCallErrno(): number {
  // biome-ignore lint/suspicious/noConfusingLabels: dropped by cnikit-build's Bun builds (esbuild dropLabels)
  CNIKIT_NODE_ONLY: {
    if (typeof process.versions.bun === "string") break CNIKIT_NODE_ONLY;
    return loadKoffi().errno();
  }
  return bunErrno();
}

/** Whether `.async` calls run on a thread of their own (koffi) or on the JS thread (Bun). */
export function asyncOnPoolThread(): boolean {
  return typeof process.versions.bun !== "string";
}
