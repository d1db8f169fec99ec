/**
 * The VERSION prologue (internal): a plugin whose `cniVersions` is a list answers
 * `CNI_COMMAND=VERSION` with a constant, so the build captures that reply and writes a few lines
 * that answer it before the bundle is evaluated (under Bun ~1.2 ms of a ~7.5 ms call, under Node
 * ~8 ms of ~38 ms: the code cache read and the bundle's compilation and evaluation).
 *
 * The reply comes from the plugin itself: the bundle is built once more with its main call
 * replaced by a probe, run in a child process (node, or the bun of the Bun builds) with a clean
 * environment and `CNI_COMMAND=VERSION`. The probe reads what `@cnikit/skel`'s `definePlugin`
 * recorded while the modules were evaluated (`globalThis[Symbol.for("@cnikit/skel.plugins")]`):
 * exactly one plugin, with a list of versions, or no prologue. It then runs the entry as a call
 * would, and the reply is kept only when that call printed exactly the same bytes and exited 0.
 * Any failure only means no prologue: the build still succeeds. The entry's own top-level code
 * runs in the probe only once that check passed: a plugin defined in the entry itself (not in a
 * module it imports) gets no prologue, and an entry whose modules define no plugin is never run.
 *
 * The prologue applies when `CNI_COMMAND` is `VERSION` and `CNI_LOG_LEVEL` and `CNI_LOG_FILE` are
 * unset or empty (so no logging can differ). It writes the reply as skel would: under Node with
 * `writeSync` on fd 1 (a full non-blocking pipe before any byte is written: the full path
 * answers, as skel waits for the reader), under Bun with `Bun.write(Bun.stdout, …)`; a failed
 * write is `<name>: could not write the reply to stdout: write EPIPE` on stderr and exit 1. It
 * loads nothing under Bun and only `node:fs` under Node.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type BundleOptions, bundleDeferredCjs, type SelfPath, type VersionGuard } from "./bundle.js";

/** What the probe captured: the plugin's name and its VERSION reply (stdout bytes, as text). */
export interface CapturedVersion {
  readonly name: string;
  readonly reply: string;
}

/** The condition under which the prologue answers. */
const WHEN = '(process.env.CNI_COMMAND === "VERSION" && !process.env.CNI_LOG_LEVEL && !process.env.CNI_LOG_FILE)';

/** How long the probe may take before the build gives up on the prologue. */
const PROBE_TIMEOUT_MS = 10_000;

/**
 * The probe's main call: the registry's plugin and its reply into `resultFile`, then the entry
 * as a VERSION call (its stdout is compared with the reply).
 */
function probeMainCall(resultFile: string): string {
  return [
    "(async () => {",
    '  const r = globalThis[Symbol.for("@cnikit/skel.plugins")];',
    "  const p = r && r.count === 1 && r.last && r.last.staticVersions ? r.last : undefined;",
    "  const found = p ? { name: p.name, reply: await p.versionReply() } : null;",
    `  require("node:fs").writeFileSync(${JSON.stringify(resultFile)}, JSON.stringify(found));`,
    "  if (found) __cnikitRun();",
    "  else process.exit(0);",
    "})().catch(() => process.exit(3));",
  ].join("\n");
}

/**
 * Builds and runs the probe (see the module comment) with `runtime` (node or bun). Returns the
 * captured reply, or undefined when the plugin does not qualify or anything failed.
 */
export async function probeVersionReply(
  o: BundleOptions,
  {
    work,
    self,
    runtime,
    lazyBuiltins = false,
  }: { work: string; self: SelfPath; runtime: string; lazyBuiltins?: boolean },
): Promise<CapturedVersion | undefined> {
  const probe = join(work, "version-probe.cjs");
  const resultFile = join(work, "version-probe.json");
  try {
    await bundleDeferredCjs(o, {
      outfile: probe,
      work,
      mainCall: probeMainCall(resultFile),
      shebang: undefined,
      self,
      lazyBuiltins,
    });
    const r = spawnSync(runtime, [probe], {
      cwd: work,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", CNI_COMMAND: "VERSION", BUN_DEBUG_QUIET_LOGS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: PROBE_TIMEOUT_MS,
      killSignal: "SIGKILL",
    });
    if (r.status !== 0 || r.error) return undefined;
    const found = JSON.parse(readFileSync(resultFile, "utf8")) as { name?: unknown; reply?: unknown } | null;
    if (typeof found?.name !== "string" || typeof found.reply !== "string") return undefined;
    // the plugin's own answer, all of it, must be the reply
    if (!r.stdout.equals(Buffer.from(found.reply, "utf8"))) return undefined;
    return { name: found.name, reply: found.reply };
  } catch {
    return undefined;
  } finally {
    rmSync(probe, { force: true });
    rmSync(resultFile, { force: true });
  }
}

/** The message skel writes when the reply could not be written (`write EPIPE`). */
function failureMessage(name: string, errVar: string): string {
  return `${JSON.stringify(`${name}: could not write the reply to stdout: `)} + (typeof ${errVar}?.code === "string" ? "write " + ${errVar}.code : String(${errVar}?.message ?? ${errVar})) + "\\n"`;
}

/**
 * Node: `__cnikitVersionReply()` (a declaration: hoisted) answers when the test holds; it
 * returns false when nothing was written and the full path must answer (stdout is a full
 * non-blocking pipe), true when it answered (exit status in `process.exitCode`).
 */
export function nodeVersionGuard(v: CapturedVersion): VersionGuard {
  const declarations = [
    "// cnikit: VERSION is answered here, before the bundle is compiled and evaluated (the reply",
    "// was captured from this plugin at build time); a full non-blocking pipe leaves it to the plugin",
    "function __cnikitVersionReply() {",
    '  const fs = require("node:fs");',
    "  const put = (fd, text, first) => {",
    '    const b = Buffer.from(text, "utf8");',
    "    for (let o = 0; o < b.length; ) {",
    "      try {",
    "        o += fs.writeSync(fd, b, o, b.length - o);",
    "      } catch (e) {",
    '        const again = e?.code === "EAGAIN" || e?.code === "EWOULDBLOCK";',
    "        if (again && first && o === 0) return false;",
    "        if (again) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);",
    '        else if (e?.code !== "EINTR") throw e;',
    "      }",
    "    }",
    "    return true;",
    "  };",
    "  try {",
    `    return put(1, ${JSON.stringify(v.reply)}, true);`,
    "  } catch (e) {",
    "    process.exitCode = 1;",
    "    try {",
    `      put(2, ${failureMessage(v.name, "e")}, false);`,
    "    } catch {}",
    "    return true;",
    "  }",
    "}",
  ].join("\n");
  return { test: `${WHEN} && __cnikitVersionReply()`, declarations };
}

/** Bun: the reply with `Bun.write`, then exit 0 (or the failure message and exit 1). */
export function bunVersionGuard(v: CapturedVersion): VersionGuard {
  const answer = [
    "  // cnikit: VERSION is answered here, before the bundle is evaluated (the reply was captured",
    "  // from this plugin at build time)",
    "  const fail = (e) =>",
    `    Bun.write(Bun.stderr, ${failureMessage(v.name, "e")}).then(() => process.exit(1), () => process.exit(1));`,
    "  try {",
    `    Bun.write(Bun.stdout, ${JSON.stringify(v.reply)}).then(() => process.exit(0), fail);`,
    "  } catch (e) {",
    "    fail(e);",
    "  }",
  ].join("\n");
  return { test: WHEN, answer };
}
