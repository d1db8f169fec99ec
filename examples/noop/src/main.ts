/**
 * The noop executable. It reads stdin before skel does (like Go's noop) because the debug
 * file may name the versions to claim, which the plugin needs before it can be defined.
 */

import { debugFilePath, readDebug } from "./debug.js";
import { createNoopPlugin, type Outcome } from "./plugin.js";
import { readProcessStdin } from "./stdin.js";

const env = process.env;
const command = env.CNI_COMMAND ?? "";
const needsStdin = command !== "" && command !== "VERSION" && /^(ADD|DEL|CHECK|STATUS|GC)$/.test(command);

let stdin: Buffer | undefined;
let stdinError: unknown;
if (needsStdin) {
  try {
    stdin = await readProcessStdin();
  } catch (err) {
    stdinError = err;
  }
}

let cniVersions: string[] | undefined;
try {
  let config: unknown;
  try {
    config = stdin ? JSON.parse(stdin.toString("utf8")) : undefined;
  } catch {
    // skel reports a bad config properly
  }
  const file = debugFilePath(env.CNI_ARGS ?? "", config);
  const versions = file ? readDebug(file).reportVersionSupport : undefined;
  if (Array.isArray(versions) && versions.length > 0) cniVersions = versions.map(String);
} catch {
  // an unreadable debug file is reported by the handler
}

const outcome: Outcome = {};
const plugin = createNoopPlugin({
  ...(cniVersions ? { cniVersions } : {}),
  outcome,
});
const out = process.stdout.write.bind(process.stdout);
let written = "";
const code = await plugin.main({
  exit: false,
  readStdin: async () => {
    if (stdinError) throw stdinError;
    return stdin ?? Buffer.alloc(0);
  },
  stdout: { write: (s: string) => (written += s) },
});

if (outcome.exitCode !== undefined) {
  process.exit(outcome.exitCode);
}
// A closed stdout (EPIPE) must not crash with a stack trace; the reply was lost, so exit 1.
let writeError: Error | undefined;
process.stdout.on("error", (err: Error) => {
  writeError ??= err;
});
out(code === 0 && outcome.rawStdout !== undefined ? outcome.rawStdout : written);
process.exitCode = code;
// Same rule as skel's main: nothing may keep a CNI plugin alive after it has answered, but the
// whole reply must reach a (slow) pipe reader first.
process.stdout.write("", (err?: Error | null) => {
  const failed = err ?? writeError;
  if (failed) process.stderr.write(`noop: could not write the reply to stdout: ${failed.message}\n`);
  process.exit(failed ? 1 : code);
});
