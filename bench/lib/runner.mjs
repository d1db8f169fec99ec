// The benchmark's process runner (runner.c beside this file): a small native process that
// posix_spawns each command and times it, so a timed call does not carry the cost of forking
// this (large) node process. `runSync` blocks (FIFOs), `runAsync` runs many at once (pipes).
// Built on first use with the system's C compiler into node_modules/.cache; when there is none,
// both fall back to node's child_process (timings then include the fork of this process, and
// a warning says so).
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const SOURCE = join(HERE, "runner.c");
const CACHE = join(HERE, "..", "..", "node_modules", ".cache", "cnikit-bench");

let binary; // path, or null when it cannot be built
/** The runner executable, built once per source version; null without a C compiler. */
export function runnerBinary() {
  if (binary === undefined) binary = buildRunner();
  return binary;
}

function buildRunner() {
  const source = readFileSync(SOURCE);
  const out = join(CACHE, `runner-${createHash("sha256").update(source).digest("hex").slice(0, 12)}`);
  if (existsSync(out)) return out;
  mkdirSync(CACHE, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  // static musl first: the smallest runner, whose own pages are the floor of every peak RSS it
  // reports (a posix_spawn child runs in the runner's memory until its exec)
  const tries = process.env.CC ? [[process.env.CC]] : [["musl-gcc", "-static"], ["cc"], ["gcc"]];
  for (const [cc, ...flags] of tries) {
    const r = spawnSync(cc, [...flags, "-O2", "-Wall", "-o", tmp, SOURCE], { stdio: ["ignore", "ignore", "pipe"] });
    if (r.status === 0) {
      renameSync(tmp, out);
      return out;
    }
  }
  rmSync(tmp, { force: true });
  process.stderr.write(
    "bench: no C compiler could build bench/lib/runner.c; timing with node's child_process (every time includes the fork of the bench process)\n",
  );
  return null;
}

function str(s) {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(String(s), "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return [len, b];
}

function u32(v) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

function encode(id, file, args, { env, input = "", timeoutMs = 60_000 }) {
  const argv = [file, ...args];
  const envList = Object.entries(env ?? {}).map(([k, v]) => `${k}=${v}`);
  const parts = [
    u32(id),
    u32(timeoutMs),
    u32(argv.length),
    ...argv.flatMap(str),
    u32(envList.length),
    ...envList.flatMap(str),
    ...str(input),
  ];
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(body.length), body]);
}

const SIGNALS = { 9: "SIGKILL", 15: "SIGTERM", 6: "SIGABRT", 11: "SIGSEGV", 2: "SIGINT", 13: "SIGPIPE" };

function decode(body) {
  let off = 0;
  const id = body.readUInt32LE(off);
  const code = body.readInt32LE(off + 4);
  const sig = body.readInt32LE(off + 8);
  const timedOut = body.readUInt32LE(off + 12) === 1;
  const ms = body.readDoubleLE(off + 16);
  const kb = Number(body.readBigInt64LE(off + 24));
  const errno = body.readInt32LE(off + 32);
  off = 36;
  const outLen = body.readUInt32LE(off);
  const stdout = body.subarray(off + 4, off + 4 + outLen).toString();
  off += 4 + outLen;
  const errLen = body.readUInt32LE(off);
  const stderr = body.subarray(off + 4, off + 4 + errLen).toString();
  return {
    id,
    result: {
      ms,
      kb,
      status: errno || sig ? null : code,
      signal: sig ? (SIGNALS[sig] ?? `signal ${sig}`) : null,
      error: errno
        ? Object.assign(new Error(`spawn failed: errno ${errno}`), { errno })
        : timedOut
          ? new Error("timed out")
          : undefined,
      stdout,
      stderr,
    },
  };
}

let syncRunner; // { pid, req, resp }
function startSyncRunner(bin) {
  const dir = mkdtempSync(join(tmpdir(), "ckb-runner-"));
  const req = join(dir, "req");
  const resp = join(dir, "resp");
  for (const f of [req, resp])
    if (spawnSync("mkfifo", ["-m", "600", f]).status !== 0) throw new Error(`mkfifo ${f} failed`);
  const child = spawn(bin, [req, resp], { stdio: ["ignore", "ignore", "inherit"] });
  child.unref();
  const reqFd = openSync(req, "w"); // blocks until the runner opened its end
  const respFd = openSync(resp, "r");
  rmSync(dir, { recursive: true, force: true }); // both ends are open: the names are not needed
  process.once("exit", () => {
    try {
      closeSync(reqFd); // EOF: the runner finishes and exits
      process.kill(child.pid, "SIGTERM");
    } catch {}
  });
  return { pid: child.pid, reqFd, respFd };
}

function readExactly(fd, n) {
  const b = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, b, got, n - got, null);
    if (r === 0) throw new Error("the bench runner went away");
    got += r;
  }
  return b;
}

let nextId = 1;
/**
 * Runs `file args` (env exactly `env`, `input` on stdin) and waits: `{ ms, kb, status, signal,
 * error, stdout, stderr }` — ms from spawn to the process reaped with its output closed, kb its
 * peak RSS (with the processes it waited for); null when the runner is not available.
 */
export function runSync(file, args, options) {
  const bin = runnerBinary();
  if (!bin) return null;
  syncRunner ??= startSyncRunner(bin);
  const frame = encode(nextId++, file, args, options);
  let off = 0;
  while (off < frame.length) off += writeSync(syncRunner.reqFd, frame, off);
  const len = readExactly(syncRunner.respFd, 4).readUInt32LE(0);
  return decode(readExactly(syncRunner.respFd, len)).result;
}

let asyncRunner; // { child, pending: Map<id, resolve>, buf }
function startAsyncRunner(bin) {
  const child = spawn(bin, ["-", "-"], { stdio: ["pipe", "pipe", "inherit"] });
  const state = { child, pending: new Map(), buf: Buffer.alloc(0) };
  child.stdout.on("data", (chunk) => {
    state.buf = Buffer.concat([state.buf, chunk]);
    while (state.buf.length >= 4) {
      const len = state.buf.readUInt32LE(0);
      if (state.buf.length < 4 + len) break;
      const { id, result } = decode(state.buf.subarray(4, 4 + len));
      state.buf = state.buf.subarray(4 + len);
      state.pending.get(id)?.(result);
      state.pending.delete(id);
    }
    if (state.pending.size === 0) idle(state);
  });
  child.on("exit", () => {
    for (const resolve of state.pending.values())
      resolve({
        ms: NaN,
        kb: NaN,
        status: null,
        signal: null,
        error: new Error("the bench runner went away"),
        stdout: "",
        stderr: "",
      });
    state.pending.clear();
    asyncRunner = undefined;
  });
  process.once("exit", () => {
    try {
      process.kill(child.pid, "SIGTERM");
    } catch {}
  });
  return state;
}

function idle(state) {
  state.child.unref();
  state.child.stdout.unref?.();
  state.child.stdin.unref?.();
}

/** Like runSync, without blocking: many commands run at once. Undefined without the runner. */
export function runAsync(file, args, options) {
  const bin = runnerBinary();
  if (!bin) return undefined;
  asyncRunner ??= startAsyncRunner(bin);
  const state = asyncRunner;
  state.child.ref();
  state.child.stdout.ref?.();
  state.child.stdin.ref?.();
  const id = nextId++;
  return new Promise((resolve) => {
    state.pending.set(id, resolve);
    state.child.stdin.write(encode(id, file, args, options));
  });
}
