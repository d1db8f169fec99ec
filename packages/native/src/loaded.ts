/**
 * Whether koffi is loaded: the one piece of state the koffi loader and the fast exit share.
 * Internal (exported by no entry point); tsup puts it in the chunk both entries import.
 */
import type * as KoffiModule from "koffi";

let loaded: typeof KoffiModule | undefined;

/** Records the loaded koffi module (called once by `loadKoffi`). */
export function setLoadedKoffi(koffi: typeof KoffiModule): void {
  loaded = koffi;
}

/** The koffi module if something already loaded it, else undefined (never loads it). */
export function loadedKoffi(): typeof KoffiModule | undefined {
  return loaded;
}
