import { chmodSync, writeFileSync } from "node:fs";

/** Debian's Go reference plugins. */
export const GO_PLUGINS = "/usr/lib/cni";

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
