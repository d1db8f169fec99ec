/**
 * libc's `_exit`, once a backend (koffi or `bun:ffi`) is loaded: the one piece of state the
 * backends and the fast exit share. Internal (exported by no entry point); tsup puts it in the
 * chunk both entries import.
 */

let nativeExit: ((code: number) => never) | undefined;

/** Records how to call `_exit(2)` (called once by the backend that loads first). */
export function setNativeExit(exit: (code: number) => never): void {
  nativeExit ??= exit;
}

/** `_exit(2)` if a backend is already loaded, else undefined (never loads one). */
export function loadedNativeExit(): ((code: number) => never) | undefined {
  return nativeExit;
}
