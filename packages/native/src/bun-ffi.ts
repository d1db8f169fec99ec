/**
 * The Bun backend of the libc bindings: `bun:ffi` (loaded with `process.getBuiltinModule`, so
 * no bundler ever has to resolve it) instead of koffi through Bun's N-API, which would load
 * `koffi.node` with `libstdc++` (~2 ms and ~1 MB more per plugin call).
 *
 * Each function's `bun:ffi` signature is derived from the C prototype koffi is given, and the
 * arguments are converted as koffi converts them: a string for `const char *` becomes a
 * NUL-terminated UTF-8 buffer, an array of strings (and a final `null`) for `const char **` an
 * array of pointers, `null` a NULL pointer. `bun:ffi` does not capture errno: every wrapper reads
 * it through `__errno_location()` (the JS thread's errno, whose address is fixed for the thread)
 * right after the call returns, before any other JS runs, as koffi saves it after each call.
 * `bun:ffi` has no asynchronous calls: `.async` runs the call on the JS thread one event-loop
 * turn later (never inside a synchronous `Netns.run` window) and passes its result to the
 * callback.
 */
import { CniError, ErrorCode } from "@cnikit/spec";
import { setNativeExit } from "./loaded.js";

/** A libc function bound by either backend (see backend.ts). */
export type BunFunction = ((...args: unknown[]) => number) & { async: (...args: unknown[]) => void };

type FfiType = "i16" | "i32" | "i64" | "u64" | "ptr" | "void";
interface FfiSymbol {
  args: FfiType[];
  returns: FfiType;
}
/** The part of `bun:ffi` used here. */
interface BunFfi {
  dlopen(path: string, symbols: Record<string, FfiSymbol>): { symbols: Record<string, (...args: unknown[]) => unknown> };
  ptr(view: ArrayBufferView): number;
  read: { i32(address: number, offset: number): number; u8(address: number, offset: number): number };
  CString: new (address: number, offset?: number) => string;
}

/** How one argument is passed: as is, or converted first. */
type ArgKind = "value" | "cstring" | "cstrings";

interface Parsed {
  symbol: string;
  returns: FfiType;
  args: FfiType[];
  kinds: ArgKind[];
}

function ffiType(cType: string, prototype: string): FfiType {
  const t = cType
    .replace(/\b(const|_Out_|_In_|_Inout_|signed)\b/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (t.includes("*")) return "ptr";
  switch (t) {
    case "void":
      return "void";
    case "int":
      return "i32";
    case "short":
      return "i16";
    case "long":
      return "i64";
    case "unsigned long":
    case "size_t":
      return "u64";
    default:
      throw new TypeError(`bun:ffi backend: unsupported C type "${cType}" in ${prototype}`);
  }
}

/** Splits `int posix_spawn(_Out_ int *pid, const char *path)` into its symbol and types. */
export function parsePrototype(prototype: string): Parsed {
  const m = /^\s*(.+?)\b([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*$/.exec(prototype);
  if (!m?.[1] || !m[2] || m[3] === undefined) throw new TypeError(`not a C prototype: ${prototype}`);
  const params = m[3].trim() === "" || m[3].trim() === "void" ? [] : m[3].split(",");
  const args: FfiType[] = [];
  const kinds: ArgKind[] = [];
  for (const p of params) {
    // drop the parameter's name: the last identifier, unless the type is all there is ("int")
    const decl = p.trim();
    const named = /^(.*?[\s*])([A-Za-z_][A-Za-z0-9_]*)$/.exec(decl);
    const type = named?.[1] && /[A-Za-z_]/.test(named[1].replace(/\b(const|_Out_|_In_|_Inout_)\b/g, "")) ? named[1] : decl;
    args.push(ffiType(type, prototype));
    const stars = (type.match(/\*/g) ?? []).length;
    kinds.push(/\bchar\b/.test(type) ? (stars === 2 ? "cstrings" : stars === 1 ? "cstring" : "value") : "value");
  }
  return { symbol: m[2], returns: ffiType(m[1], prototype), args, kinds };
}

let ffi: BunFfi | undefined;
let errnoAddress = 0;
let errno = 0;

function loadFfi(): BunFfi {
  if (ffi) return ffi;
  try {
    const mod = (process as unknown as { getBuiltinModule(id: string): unknown }).getBuiltinModule("bun:ffi") as BunFfi;
    const core = mod.dlopen("libc.so.6", {
      __errno_location: { args: [], returns: "ptr" },
      _exit: { args: ["i32"], returns: "void" },
    });
    errnoAddress = Number(core.symbols.__errno_location?.());
    const exit = core.symbols._exit as (code: number) => never;
    setNativeExit((code) => exit(code));
    ffi = mod;
  } catch (err) {
    throw new CniError(ErrorCode.Internal, "cannot load libc through bun:ffi", (err as Error).message, { cause: err });
  }
  return ffi;
}

const utf8 = new TextEncoder();

function cstring(value: unknown, keep: unknown[]): unknown {
  if (typeof value !== "string") return value; // a buffer, a pointer or null: as is
  const buf = new Uint8Array(Buffer.byteLength(value) + 1); // zero-filled: NUL-terminated
  utf8.encodeInto(value, buf);
  keep.push(buf);
  return buf;
}

function cstrings(value: unknown, keep: unknown[], f: BunFfi): unknown {
  if (!Array.isArray(value)) return value;
  const table = new BigUint64Array(value.length);
  value.forEach((s, i) => {
    if (s === null || s === undefined) return; // NULL
    const buf = cstring(String(s), keep) as Uint8Array;
    table[i] = BigInt(f.ptr(buf));
  });
  keep.push(table);
  return table;
}

/** Wraps one `bun:ffi` symbol: converts the arguments, calls, saves errno, returns a number. */
function wrap(f: BunFfi, call: (...args: unknown[]) => unknown, parsed: Parsed): BunFunction {
  const convert = parsed.kinds.some((k) => k !== "value");
  const fn = ((...args: unknown[]) => {
    let rc: unknown;
    if (convert) {
      const keep: unknown[] = [];
      const native = args.map((a, i) =>
        parsed.kinds[i] === "cstring" ? cstring(a, keep) : parsed.kinds[i] === "cstrings" ? cstrings(a, keep, f) : a,
      );
      rc = call(...native);
      errno = f.read.i32(errnoAddress, 0);
      keep.length = 0; // the buffers lived until the call returned
    } else {
      rc = call(...args);
      errno = f.read.i32(errnoAddress, 0);
    }
    return typeof rc === "bigint" ? Number(rc) : (rc as number);
  }) as BunFunction;
  fn.async = (...args: unknown[]) => {
    const callback = args.pop() as (err: unknown, result?: number) => void;
    setImmediate(() => {
      let result: number;
      try {
        result = fn(...args);
      } catch (err) {
        callback(err);
        return;
      }
      callback(null, result);
    });
  };
  return fn;
}

/**
 * Binds libc functions through `bun:ffi` (one `dlopen` for the whole set).
 *
 * @throws {CniError} code 999 when `bun:ffi` or libc cannot be loaded.
 */
export function bunBind<K extends string>(prototypes: Readonly<Record<K, string>>): Record<K, BunFunction> {
  const f = loadFfi();
  const parsed = {} as Record<K, Parsed>;
  const symbols: Record<string, FfiSymbol> = {};
  for (const [key, prototype] of Object.entries(prototypes) as [K, string][]) {
    const p = parsePrototype(prototype);
    parsed[key] = p;
    symbols[p.symbol] = { args: p.args, returns: p.returns };
  }
  let lib: ReturnType<BunFfi["dlopen"]>;
  try {
    lib = f.dlopen("libc.so.6", symbols);
  } catch (err) {
    throw new CniError(ErrorCode.Internal, "cannot bind libc through bun:ffi", (err as Error).message, { cause: err });
  }
  const out = {} as Record<K, BunFunction>;
  for (const key of Object.keys(parsed) as K[]) {
    const p = parsed[key];
    const call = lib.symbols[p.symbol];
    if (!call) throw new CniError(ErrorCode.Internal, `libc has no ${p.symbol}`);
    out[key] = wrap(f, call, p);
  }
  return out;
}

/** Native memory reads (readdir's entries). */
export interface BunMemory {
  u8(address: number, offset: number): number;
  cstring(address: number, offset: number): string;
}

/** Reads native memory: a byte, and a NUL-terminated UTF-8 string (readdir's entries). */
export function bunMemory(): BunMemory {
  const f = loadFfi();
  return { u8: (a, o) => f.read.u8(a, o), cstring: (a, o) => String(new f.CString(a, o)) };
}

/** errno as the last call through {@link bunBind} left it (0 before any call). */
export function bunErrno(): number {
  loadFfi();
  return errno;
}
