/**
 * Lazy, bundle-aware loading of the one native addon @cnikit/ns needs: koffi (libc through FFI:
 * setns, the netlink socket, posix_spawn, flock).
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

declare const __CNIKIT_BUNDLED__: boolean | undefined;

/**
 * The koffi module type (what `import koffi from "koffi"` gives).
 *
 * @example
 * const koffi: Koffi = loadKoffi();
 * const getpid = koffi.load("libc.so.6").func("int getpid()");
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
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

function loadBeside(file: string): unknown {
  const dir = entryDir();
  const candidates = [dir && join(dir, file), dir && join(dir, "..", file)].filter(
    (x): x is string => typeof x === "string",
  );
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
 * With libc at hand, leave `_exit(2)` where `@cnikit/skel`'s `main()` looks for it: a plugin
 * then ends right after its 'exit' listeners, without Node's teardown (see skel's define-plugin).
 */
function offerFastExit(k: Koffi): void {
  const key = Symbol.for("cnikit.fastExit");
  const g = globalThis as Record<symbol, unknown>;
  if (g[key] !== undefined) return;
  let exit: ((code: number) => void) | undefined;
  g[key] = (code: number) => {
    exit ??= k.load("libc.so.6").func("void _exit(int)") as (code: number) => void;
    exit(code);
  };
}

/**
 * Loads koffi (the C FFI) on first call and returns it; later calls return the same module.
 * Bundle-aware: when bundled by tools/build-plugin.mjs, loads `koffi.node` from beside the entry.
 *
 * @example
 * const koffi = loadKoffi();
 * const getpid = koffi.load("libc.so.6").func("int getpid()");
 * @throws {CniError} code 999 when the addon cannot be found or loaded.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md
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
    if (CniError.isInstance(err)) throw err;
    throw new CniError(ErrorCode.Internal, "cannot load koffi", (err as Error).message, { cause: err });
  }
  offerFastExit(koffi);
  return koffi;
}
