import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** Repo root. */
export const ROOT = resolve(here, "../../..");
/** The noop test-double plugin binary. */
export const NOOP = join(ROOT, "examples/noop/dist/noop");
/** Debian's Go reference plugins. */
export const GO_PLUGINS = "/usr/lib/cni";

/** Builds examples/noop once if its binary is missing. */
export function ensureNoop(): string {
  if (!existsSync(NOOP)) {
    execFileSync("pnpm", ["--filter", "@cnikit-examples/noop", "build"], { cwd: ROOT, stdio: "inherit" });
  }
  return NOOP;
}

/** Writes an executable shell script. */
export function writeScript(file: string, body: string): string {
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** Collects what is written to it. */
export function sink(): { write(chunk: Uint8Array | string): boolean; text(): string } {
  const parts: string[] = [];
  return {
    write(chunk) {
      parts.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return true;
    },
    text: () => parts.join(""),
  };
}
