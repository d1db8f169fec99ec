/**
 * Test harness for agent mode: the built daemon (cnikit-agent bundled by buildFixture), the
 * example shims installed in a temp CNI bin dir with their sidecars pointing at a temp socket
 * dir, and daemons started as real processes and stopped by pid.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scratch } from "@cnikit/testing";
import { afterEach, beforeAll } from "vitest";
import { buildFixture, fixtureOutfile } from "../../../tools/build-fixture.js";
import { AGENT_NODE_FLAGS } from "../src/run-cli.js";

/** The built pieces: the daemon bundle, each example's one-shot executable and agent files. */
export interface AgentFixtures {
  readonly daemon: string;
  readonly oneShot: Readonly<Record<"bridge" | "host-local", string>>;
  readonly shim: Readonly<Record<"bridge" | "host-local", string>>;
  readonly module: Readonly<Record<"bridge" | "host-local", string>>;
}

/** Builds (or reuses) everything agent tests run. */
export async function buildAgentFixtures(): Promise<AgentFixtures> {
  const daemon = await buildFixture({ entry: "packages/agent/src/cli.ts", outfile: fixtureOutfile("cnikit-agent") });
  const oneShot = {
    bridge: await buildFixture("examples/bridge"),
    "host-local": await buildFixture("examples/host-local"),
  };
  const shim = {
    bridge: await buildFixture("examples/bridge", "build:agent"),
    "host-local": await buildFixture("examples/host-local", "build:agent"),
  };
  const module = {
    bridge: `${shim.bridge}.plugin.cjs`,
    "host-local": `${shim["host-local"]}.plugin.cjs`,
  };
  return { daemon, oneShot, shim, module };
}

/** A CNI bin dir with the shims (sidecars: socket in `sockDir`, fallback the one-shot build). */
export function installShims(
  s: Scratch,
  f: AgentFixtures,
  sockDir: string,
  opts: { timeoutMs?: number; delegates?: Record<string, string> } = {},
): string {
  const bin = s.dir("bin");
  chmodSync(bin, 0o755);
  for (const name of ["bridge", "host-local"] as const) {
    const shim = join(bin, name);
    copyFileSync(f.shim[name], shim);
    chmodSync(shim, 0o755);
    const sidecar = JSON.parse(readFileSync(`${f.shim[name]}.agent.json`, "utf8")) as Record<string, unknown>;
    writeFileSync(
      `${shim}.agent.json`,
      JSON.stringify({
        ...sidecar,
        socket: join(sockDir, `${name}.sock`),
        fallback: f.oneShot[name],
        timeoutMs: opts.timeoutMs ?? 30_000,
      }),
    );
  }
  for (const [name, script] of Object.entries(opts.delegates ?? {})) {
    writeFileSync(join(bin, name), script);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

/** A running daemon process. */
export interface Daemon {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Its stderr so far (JSON lines). */
  log(): string;
  /** Resolves with the exit code (or signal) once it exits. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it is gone. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `cnikit-agent serve [flags]` and waits for its "ready" line. */
export async function startDaemon(
  f: AgentFixtures,
  sockDir: string,
  modules: readonly string[],
  flags: readonly string[] = [],
): Promise<Daemon> {
  const args = [...AGENT_NODE_FLAGS, f.daemon, "serve", "--socket-dir", sockDir, ...flags, ...modules];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", UV_THREADPOOL_SIZE: "16" },
  });
  let log = "";
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "?")),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the daemon did not get ready: ${log}`)), 15_000);
    child.stderr?.on("data", (c: Buffer) => {
      log += c.toString();
      if (log.includes('"msg":"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the daemon exited (${code}) before it was ready: ${log}`));
    });
  });
  const pid = child.pid as number;
  let alive = true;
  void exited.then(() => {
    alive = false;
  });
  return {
    pid,
    child,
    log: () => log,
    exited,
    async stop() {
      if (!alive) return;
      try {
        process.kill(pid, "SIGCONT");
        process.kill(pid, "SIGTERM");
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** VmRSS of a process in KiB. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? Number.NaN);
}

/** Number of open fds of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Polls `cond` every 20 ms until true or `ms` pass. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The bridge network of the agent tests: a bridge of the scratch, host-local on its subnet with leases in `dataDir`. */
export function bridgeNetConf(s: Scratch, dataDir: string, ipam: Record<string, unknown> = {}) {
  return {
    cniVersion: "1.0.0",
    name: `cknet${s.id}`,
    type: "bridge",
    bridge: s.link("br"),
    isGateway: true,
    ipam: { type: "host-local", subnet: s.subnet(), dataDir, ...ipam },
  };
}

/** What {@link agentTestFile} gives a test file. */
export interface AgentTestFile {
  /** The fixtures (built before the file's first test). */
  readonly f: AgentFixtures;
  /** Starts a daemon serving bridge and host-local on `sockDir` (stopped after the test). */
  daemon(sockDir: string, flags?: string[]): Promise<Daemon>;
  /** Cleans `s` up after the test (returns it). */
  track(s: Scratch): Scratch;
}

/**
 * The hooks an agent test file needs: the fixtures built before its first test, and after each
 * test the daemons it started stopped, then its scratches cleaned up.
 */
export function agentTestFile(): AgentTestFile {
  let fixtures: AgentFixtures | undefined;
  const daemons: Daemon[] = [];
  const scratches: Scratch[] = [];
  beforeAll(async () => {
    fixtures = await buildAgentFixtures();
  }, 180_000);
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop();
    for (const s of scratches.splice(0)) s.cleanup();
  });
  const file: AgentTestFile = {
    get f() {
      if (!fixtures) throw new Error("agent fixtures are built in beforeAll");
      return fixtures;
    },
    async daemon(sockDir, flags = []) {
      const d = await startDaemon(file.f, sockDir, [file.f.module.bridge, file.f.module["host-local"]], flags);
      daemons.push(d);
      return d;
    },
    track(s) {
      scratches.push(s);
      return s;
    },
  };
  return file;
}
