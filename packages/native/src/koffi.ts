/**
 * Lazy, bundle-aware loading of the one native addon cnikit needs: koffi (libc through FFI:
 * setns and the netlink socket for `@cnikit/ns`, posix_spawn, flock).
 *
 * Unbundled, it is resolved from node_modules. When the code runs from a bundle made by
 * `@cnikit/build`, the bundler defines `__CNIKIT_BUNDLED__` and copies the addon next to the
 * bundle as `koffi.node`; it is then loaded from the directory of the entry's real path (so a
 * symlink from /opt/cni/bin works) with `process.dlopen`. Nothing is loaded until first use.
 */
import { existsSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as KoffiModule from "koffi";
import { CniError, ErrorCode } from "@cnikit/spec";

import { setNativeExit } from "./loaded.js";

declare const __CNIKIT_BUNDLED__: boolean | undefined;

/**
 * The koffi module type (what `import koffi from "koffi"` gives).
 *
 * @example
 * const koffi: Koffi = loadKoffi();
 * const getpid = koffi.load("libc.so.6").func("int getpid()");
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 */
export type Koffi = typeof KoffiModule;

let koffi: Koffi | undefined;

function isBundled(): boolean {
  return typeof __CNIKIT_BUNDLED__ !== "undefined" && __CNIKIT_BUNDLED__ === true;
}

/** Directory of the running entry's real path (the bundle's dist/ when bundled). */
function entryDir(): string | undefined {
  // a compiled Bun executable (cnikit-build --target bun): argv[1] names the bundle inside it
  // (/$bunfs/...), the executable itself is execPath
  const entry = process.versions.bun && process.argv[1]?.startsWith("/$bunfs/") ? process.execPath : process.argv[1];
  if (!entry) return undefined;
  try {
    return dirname(realpathSync(entry));
  } catch {
    return undefined;
  }
}

/**
 * Loads a `.node` addon the way `require` does (`Module._extensions[".node"]`), without the
 * CommonJS loader around it: ~2 ms less per plugin call when bundled.
 */
function dlopen(path: string): unknown {
  const mod = { exports: {} as unknown };
  process.dlopen(mod, path);
  return mod.exports;
}

/**
 * Directory of the bundle this code is in, when bundled (`cnikit-build` defines `import.meta`
 * as the bundle's real path): differs from the entry's for a module loaded by another program,
 * such as a plugin module served by `cnikit-agent`.
 */
function bundleDir(): string | undefined {
  try {
    const filename = (import.meta as { filename?: unknown }).filename;
    return typeof filename === "string" && !filename.startsWith("/$bunfs/") ? dirname(filename) : undefined;
  } catch {
    return undefined;
  }
}

function loadBeside(file: string): unknown {
  const dir = entryDir();
  const own = isBundled() ? bundleDir() : undefined;
  const candidates = [
    own && own !== dir && join(own, file),
    dir && join(dir, file),
    dir && join(dir, "..", file),
  ].filter((x): x is string => typeof x === "string");
  for (const p of candidates) {
    if (existsSync(p)) return dlopen(p);
  }
  throw new CniError(
    ErrorCode.Internal,
    `native addon ${file} not found`,
    `looked in ${candidates.join(", ") || "(no entry path)"}; copy it next to the plugin bundle`,
  );
}

/**
 * Loads koffi (the C FFI) on first call and returns it; later calls return the same module.
 * Bundle-aware: when bundled by `cnikit-build` (`@cnikit/build`), loads `koffi.node` from beside
 * the entry. Nothing loads koffi before the first call: importing `@cnikit/native` costs nothing.
 *
 * @example
 * const koffi = loadKoffi();
 * const getpid = koffi.load("libc.so.6").func("int getpid()");
 * @throws {CniError} code 999 when the addon cannot be found or loaded.
 * @see https://github.com/cnikit/cnikit/blob/main/docs/performance.md
 */
export function loadKoffi(): Koffi {
  if (koffi) return koffi;
  try {
    if (isBundled()) {
      koffi = loadBeside("koffi.node") as Koffi;
    } else {
      try {
        koffi = createRequire(import.meta.url)("koffi") as Koffi;
      } catch (err) {
        // bundled by another tool: try beside the entry before giving up
        try {
          koffi = loadBeside("koffi.node") as Koffi;
        } catch {
          throw err;
        }
      }
    }
  } catch (err) {
    if (err instanceof CniError) throw err;
    throw new CniError(ErrorCode.Internal, "cannot load koffi", (err as Error).message, { cause: err });
  }
  const loaded = koffi;
  // bound at exit only: the fast exit of a plugin that loaded koffi
  setNativeExit((code) => (loaded.load("libc.so.6").func("void _exit(int)") as unknown as (code: number) => never)(code));
  return koffi;
}
