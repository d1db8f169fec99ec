import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** Repo root. */
export const ROOT = resolve(here, "../../..");
/** The noop test-double plugin binary: `await buildFixture("examples/noop")` (in a beforeAll) writes it. */
export const NOOP = join(ROOT, "examples/noop/dist/noop");
/** Debian's Go reference plugins. */
export const GO_PLUGINS = "/usr/lib/cni";

/** Makes `<binDir>/<name>` a symlink to the noop plugin, so a chain can hold distinguishable noops. */
export function linkNoop(binDir: string, name: string): void {
  symlinkSync(NOOP, join(binDir, name));
}

/** Debug-file helpers for the noop plugin. */
export function writeDebug(file: string, debug: Record<string, unknown>): void {
  writeFileSync(file, JSON.stringify(debug));
}
export function readDebug(file: string): {
  command?: string;
  cmdArgs?: { stdin: string; containerId: string; netns: string; ifName: string; args: string; path: string };
} {
  return JSON.parse(readFileSync(file, "utf8"));
}
/** The config the noop received on its last call. */
export function lastStdin(file: string): Record<string, unknown> {
  return JSON.parse(readDebug(file).cmdArgs?.stdin ?? "null");
}
