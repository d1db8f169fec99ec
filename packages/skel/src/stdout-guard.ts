/**
 * Keeps stdout for the protocol: while a handler runs, whatever it (or a library it calls)
 * writes to process.stdout — console.log, console.info, process.stdout.write — goes to
 * stderr instead.
 */

import { createRequire } from "node:module";
import { existingStream, onStreamCreated } from "./stdio.js";

/**
 * `node:util`, loaded when a handler first prints through console: under Bun, loading it costs
 * ~2.5 ms, on every call of a plugin otherwise (`process.getBuiltinModule` on Node ≥ 20.16 and
 * Bun, else `require` from any base path: built-ins resolve from anywhere).
 */
function util(): typeof import("node:util") {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const mod = typeof get === "function" ? get.call(process, "node:util") : undefined;
  return (mod ?? createRequire(process.execPath)("node:util")) as typeof import("node:util");
}

type Write = typeof process.stdout.write;

/** console methods that print to stdout. */
const CONSOLE_METHODS = ["log", "info", "debug", "dir"] as const;
type ConsoleMethod = (typeof CONSOLE_METHODS)[number];

const targets: Array<(chunk: string) => void> = [];
let saved:
  | {
      console: Record<ConsoleMethod, (...args: unknown[]) => void>;
      /** The stream whose write was replaced, its own `write` before (undefined: the prototype's). */
      patched?: { stream: NodeJS.WriteStream; write: Write | undefined };
      /** Cancels the patch-on-creation hook while process.stdout does not exist yet. */
      cancelHook?: () => void;
    }
  | undefined;

function emit(text: string): void {
  targets[targets.length - 1]?.(text);
}

// Replacing the console methods too (not only stdout.write) also covers consoles that do not
// print through process.stdout (test runners install their own).
const consoleReplacements: Record<ConsoleMethod, (...args: unknown[]) => void> = {
  log: (...args) => emit(`${util().format(...args)}\n`),
  info: (...args) => emit(`${util().format(...args)}\n`),
  debug: (...args) => emit(`${util().format(...args)}\n`),
  dir: (obj, options) => emit(`${util().inspect(obj, options as object)}\n`),
};

function redirected(this: unknown, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  const text =
    typeof chunk === "string"
      ? chunk
      : chunk instanceof Uint8Array
        ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString()
        : String(chunk);
  emit(text);
  const cb = typeof encoding === "function" ? encoding : callback;
  if (typeof cb === "function") queueMicrotask(() => (cb as () => void)());
  return true;
}

function patch(stream: NodeJS.WriteStream): void {
  if (saved === undefined) return;
  const own = Object.hasOwn(stream, "write") ? stream.write : undefined;
  saved.patched = { stream, write: own };
  stream.write = redirected as Write;
}

/**
 * Sends process.stdout writes to `target` until the returned function is called.
 * Nested calls stack; the last restore puts the original write back.
 *
 * When `process.stdout` has not been created yet (plugin.main() tracks it, see stdio.ts), it
 * stays uncreated: only if a handler touches it is the stream created, and patched right then.
 *
 * @example
 * const restore = redirectStdout((s) => process.stderr.write(s));
 * try { await handler(); } finally { restore(); }
 */
export function redirectStdout(target: (chunk: string) => void): () => void {
  targets.push(target);
  if (saved === undefined) {
    const con = console as unknown as Record<ConsoleMethod, (...args: unknown[]) => void>;
    saved = { console: { log: con.log, info: con.info, debug: con.debug, dir: con.dir } };
    for (const m of CONSOLE_METHODS) con[m] = consoleReplacements[m];
    const existing = existingStream("stdout");
    if (existing === undefined) saved.cancelHook = onStreamCreated("stdout", patch);
    else patch(existing === "unknown" ? process.stdout : existing);
  }
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const i = targets.lastIndexOf(target);
    if (i >= 0) targets.splice(i, 1);
    if (targets.length === 0 && saved !== undefined) {
      saved.cancelHook?.();
      const p = saved.patched;
      if (p !== undefined) {
        if (p.write === undefined) delete (p.stream as { write?: unknown }).write;
        else p.stream.write = p.write;
      }
      Object.assign(console, saved.console);
      saved = undefined;
    }
  };
}
