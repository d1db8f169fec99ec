/**
 * In-process delegation: when a plugin this daemon serves delegates (bridge → IPAM) and the
 * executable it finds in CNI_PATH is an agent shim whose sidecar names a socket of this daemon,
 * the delegate runs here instead of being executed (no exec of the shim, no second connection).
 * Anything else is executed as usual.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugin-execution-procedure
 */
import { readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { SpawnOutcome, SpawnRequest, Spawner } from "@cnikit/native";

interface Entry {
  /** The executable `pluginPath` led to (device, inode, size, mtime). */
  readonly exe: string;
  /** `<realpath>.agent.json` and its device, inode, size, mtime ("" when there was none). */
  readonly sidecar: string;
  readonly sidecarKey: string;
  readonly spawner: Spawner | undefined;
}

const fileKey = (st: { dev: number; ino: number; size: number; mtimeMs: number }) =>
  `${st.dev}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;

/** A string the shim (shim/shim.c) carries: an executable without it is not a shim, whatever sits beside it. */
const SHIM_MARKER = Buffer.from("cnikit-agent-shim/1\0", "latin1");

/** Sidecars remembered (by the path found in CNI_PATH); the map is emptied when it reaches this. */
const MAX_ENTRIES = 64;
/** The shim is ~50 KB (musl) to ~0.7 MB (static glibc); a larger executable is not read. */
const MAX_SHIM_BYTES = 8 * 1024 * 1024;

/**
 * A resolver for `@cnikit/invoke`'s `setDelegateResolver`: `pluginPath` → realpath, an agent
 * shim (it carries the shim's marker) with `<realpath>.agent.json` beside it (what the shim
 * itself reads) → its `socket`, relative paths resolved against the shim's real directory → the
 * spawner serving that socket here, if any. The answer is remembered per path while the
 * executable it leads to (device, inode, size, mtime) and that sidecar stay the same: a repeated
 * delegation costs two stat(2) calls, no realpath.
 */
export function shimResolver(bySocket: ReadonlyMap<string, Spawner>): (pluginPath: string) => Spawner | undefined {
  const cache = new Map<string, Entry>();
  return (pluginPath) => {
    const exe = statSync(pluginPath, { throwIfNoEntry: false });
    if (exe === undefined || !exe.isFile()) return undefined;
    const exeKey = fileKey(exe);
    const hit = cache.get(pluginPath);
    if (hit?.exe === exeKey) {
      const st = statSync(hit.sidecar, { throwIfNoEntry: false });
      if ((st?.isFile() ? fileKey(st) : "") === hit.sidecarKey) return hit.spawner;
    }
    let real: string;
    try {
      real = realpathSync.native(pluginPath);
    } catch {
      return undefined;
    }
    const sidecar = `${real}.agent.json`;
    const st = statSync(sidecar, { throwIfNoEntry: false });
    const sidecarKey = st?.isFile() ? fileKey(st) : "";
    let spawner: Spawner | undefined;
    if (sidecarKey === "") {
      remember(pluginPath, { exe: exeKey, sidecar, sidecarKey, spawner });
      return undefined;
    }
    try {
      if (exe.size <= MAX_SHIM_BYTES && readFileSync(real).includes(SHIM_MARKER)) {
        const socket = (JSON.parse(readFileSync(sidecar, "utf8")) as { socket?: unknown }).socket;
        if (typeof socket === "string" && socket !== "") spawner = bySocket.get(resolve(dirname(real), socket));
      }
    } catch {
      // not a shim or a sidecar we can read: executed, the shim will say what is wrong
    }
    remember(pluginPath, { exe: exeKey, sidecar, sidecarKey, spawner });
    return spawner;
  };

  function remember(pluginPath: string, entry: Entry): void {
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(pluginPath, entry);
  }
}

/** What a served call returns. */
export interface CallOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const EMPTY = Buffer.alloc(0);

/**
 * A Spawner that runs `run` (a served plugin's call) for a delegation: the request's stdin and
 * env, its timeout and abort signal. A timeout or abort answers at once, as a killed process
 * would (`timedOut` / `aborted`), and aborts the call's own signal; the call itself is not
 * awaited then.
 */
export function inProcessSpawner(
  run: (env: Readonly<Record<string, string | undefined>>, stdin: Buffer, signal: AbortSignal) => Promise<CallOutput>,
): Spawner {
  return (request: SpawnRequest) =>
    new Promise<SpawnOutcome>((resolvePromise) => {
      const stopped = (timedOut: boolean): SpawnOutcome => ({
        code: null,
        signal: "SIGKILL",
        stdout: EMPTY,
        stderr: EMPTY,
        timedOut,
        aborted: !timedOut,
      });
      if (request.signal?.aborted) {
        resolvePromise(stopped(false));
        return;
      }
      const controller = new AbortController();
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: SpawnOutcome) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        request.signal?.removeEventListener("abort", onAbort);
        resolvePromise(outcome);
      };
      const onAbort = () => {
        controller.abort(request.signal?.reason);
        finish(stopped(false));
      };
      if (request.timeoutMs !== undefined && request.timeoutMs > 0) {
        timer = setTimeout(() => {
          controller.abort(new Error(`timed out after ${request.timeoutMs} ms`));
          finish(stopped(true));
        }, request.timeoutMs);
      }
      request.signal?.addEventListener("abort", onAbort, { once: true });
      const stdin = typeof request.stdin === "string" ? Buffer.from(request.stdin, "utf8") : Buffer.from(request.stdin);
      void run(request.env, stdin, controller.signal).then((out) =>
        finish({
          code: out.exitCode,
          signal: null,
          stdout: Buffer.from(out.stdout, "utf8"),
          stderr: Buffer.from(out.stderr, "utf8"),
          timedOut: false,
          aborted: false,
        }),
      );
    });
}
