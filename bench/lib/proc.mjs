// Running one plugin invocation the way a runtime does, timed, in a clean environment.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAsync, runSync, runnerBinary } from "./runner.mjs";

/** PATH of the clean environment (the only inherited thing besides CNI_* variables). */
export const CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The environment of one invocation: exactly what `env -i PATH=... CNI_...=...` gives.
 * Nothing from the caller's environment leaks in (NODE_OPTIONS, NODE_EXTRA_CA_CERTS, ...).
 */
export function cleanEnv(cni = {}) {
  const env = { PATH: CLEAN_PATH };
  for (const [k, v] of Object.entries(cni)) if (v !== undefined) env[k] = String(v);
  return env;
}

/**
 * Runs `file args` once with `env` and `input` on stdin; returns the wall time in ms (spawn to
 * reap, with the output closed) with status, output and `kb`, the peak RSS (ru_maxrss of the
 * process and every process it waited for). Through the bench runner (runner.mjs: posix_spawn
 * from a small process, so the time is the command's, not this process's fork); without a C
 * compiler through spawnSync, and then `kb` is NaN.
 */
export function timedRun(file, args, { env, input = "" }) {
  const viaRunner = runSync(file, args, { env, input });
  if (viaRunner) return viaRunner;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, input, maxBuffer: 16 * 1024 * 1024 });
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  return {
    ms: elapsed,
    kb: Number.NaN,
    status: r.status,
    signal: r.signal,
    error: r.error,
    stdout: r.stdout?.toString() ?? "",
    stderr: r.stderr?.toString() ?? "",
  };
}

/** Whether timedRun measures peak RSS itself (the bench runner is built). */
export function timedRunMeasuresRss() {
  return runnerBinary() !== null;
}

/** The GNU time binary used for peak RSS, or undefined when it is not installed. */
export const GNU_TIME = ["/usr/bin/time"].find((p) => existsSync(p) && isGnuTime(p));

function isGnuTime(p) {
  const r = spawnSync(p, ["-f", "%M", "true"], { env: { PATH: CLEAN_PATH } });
  return r.status === 0 && /^\d+\s*$/m.test(r.stderr.toString());
}

let rssDir;
/**
 * Runs `file args` once under GNU time and returns the peak RSS in KB (ru_maxrss from wait4:
 * the largest process of the tree the plugin waited for, e.g. a delegated IPAM plugin).
 */
export function rssRun(file, args, { env, input = "" }) {
  if (!GNU_TIME) return { kb: Number.NaN, status: null, stdout: "", stderr: "GNU time missing" };
  rssDir ??= mkdtempSync(join(tmpdir(), "ckb-rss-"));
  const out = join(rssDir, "rss");
  const r = spawnSync(GNU_TIME, ["-f", "%M", "-o", out, file, ...args], { env, input });
  let kb = Number.NaN;
  try {
    kb = Number.parseInt(readFileSync(out, "utf8").trim().split("\n").pop(), 10);
  } catch {}
  return { kb, status: r.status, stdout: r.stdout?.toString() ?? "", stderr: r.stderr?.toString() ?? "" };
}

process.once("exit", () => {
  if (rssDir) rmSync(rssDir, { recursive: true, force: true });
});

/**
 * Runs one invocation asynchronously (for the concurrency bench); resolves with status, output
 * and `ms`. Through the bench runner when it is built (launching many at once then costs no fork
 * of this process each), else node's spawn.
 */
export function asyncRun(file, args, { env, input = "" }) {
  const viaRunner = runAsync(file, args, { env, input });
  if (viaRunner) return viaRunner;
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", (error) => resolve({ status: null, error, stdout, stderr }));
    child.on("close", (status, signal) =>
      resolve({ status, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 }),
    );
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

/** Parses a plugin's stdout as JSON, or undefined. */
export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A short description of a failed invocation, for error messages. */
export function describeFailure(r) {
  const out = (r.stdout || "").trim().slice(0, 300);
  const err = (r.stderr || "").trim().slice(0, 300);
  return `exit ${r.status}${r.signal ? ` (${r.signal})` : ""}${r.error ? ` ${r.error.message}` : ""}: ${out}${err ? ` | ${err}` : ""}`;
}
