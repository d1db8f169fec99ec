/**
 * The run directory: what the agent tells the plugin. One JSON file, `<run dir>/<network>/state.json`,
 * replaced atomically (write + rename) by the agent, read by every plugin call.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The agent's default base directory (`--run-dir`); the plugin's default is `<base>/<network>`. */
export const DEFAULT_RUN_DIR = "/run/cnikit/overlay";

/** The file's name inside a network's run directory. */
export const STATE_FILE = "state.json";

/** What the agent writes for the plugin. */
export interface RunState {
  /** Network name. */
  network: string;
  /** The cluster pool, e.g. `10.244.0.0/16`. */
  pool: string;
  /** This host's leased subnet, e.g. `10.244.3.0/24`. */
  subnet: string;
  /** MTU for the bridge and the containers (underlay MTU − 50). */
  mtu: number;
  /** The host bridge containers attach to. */
  bridge: string;
  /** The vxlan device. */
  vxlan: string;
  /** VXLAN network identifier. */
  vni: number;
  /** UDP port of the vxlan device. */
  port: number;
  /** This host's underlay address. */
  publicIp: string;
  /** The agent's pid. */
  pid: number;
  /** True once the lease, the devices and the first reconcile are done; false after the agent stopped. */
  ready: boolean;
}

/** The run directory of `network` under the agent's base directory. */
export function networkRunDir(base: string, network: string): string {
  return join(base, network);
}

/** Reads a network's state file; undefined when it does not exist. Throws on a corrupt file. */
export function readRunState(dir: string): RunState | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, STATE_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const v = JSON.parse(text) as Partial<RunState>;
  if (typeof v.subnet !== "string" || typeof v.mtu !== "number" || typeof v.bridge !== "string") {
    throw new Error(`${join(dir, STATE_FILE)} is not an overlay agent state file`);
  }
  return v as RunState;
}

/** Writes the state file atomically (a reader sees the old or the new file, never half of one). */
export function writeRunState(dir: string, state: RunState): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `${STATE_FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, join(dir, STATE_FILE));
}

/** Removes a network's run directory (`--leave`). */
export function removeRunState(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** True when a process with this pid exists (same pid namespace). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
