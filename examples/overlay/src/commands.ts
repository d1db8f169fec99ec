/**
 * The overlay plugin's commands: read the agent's run directory, turn the config into the bridge
 * example's (the agent's bridge and MTU, the bridge as gateway, the leased subnet filled into
 * the `ipam` section) and run the bridge example's own handlers with it. Loaded on the first
 * handler call (see plugin.ts).
 */
import type { AddResult, PluginContext } from "@cnikit/skel";
import { CniError, ErrorCode } from "@cnikit/spec";
import * as bridge from "@cnikit-examples/bridge/commands";
import { type BridgeConf, loadBridgeConf } from "@cnikit-examples/bridge/config";
import { addressIn, intToIp4, parseCidr4 } from "./lease.js";
import { DEFAULT_RUN_DIR, networkRunDir, pidAlive, type RunState, readRunState, STATE_FILE } from "./run-dir.js";

type Ctx = PluginContext<unknown>;
type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The run directory the config names (`runDir`), else `/run/cnikit/overlay/<network name>`. */
export function runDirOf(raw: Raw): string {
  const v = raw.runDir;
  if (v === undefined || v === null || v === "") return networkRunDir(DEFAULT_RUN_DIR, String(raw.name ?? ""));
  if (typeof v !== "string") throw new CniError(ErrorCode.InvalidNetworkConfig, `overlay: "runDir" must be a string`);
  return v;
}

function rawOf(ctx: Ctx): Raw {
  const raw: unknown = JSON.parse(ctx.stdin);
  if (!isObject(raw)) throw new CniError(ErrorCode.DecodingFailure, "overlay: the config is not a JSON object");
  return raw;
}

/** The agent's state, or undefined when there is none (the agent never ran or left). */
function stateOf(dir: string): RunState | undefined {
  try {
    return readRunState(dir);
  } catch (err) {
    throw new CniError(ErrorCode.IoFailure, `overlay: cannot read ${dir}/${STATE_FILE}: ${(err as Error).message}`);
  }
}

function notRunning(raw: Raw, dir: string): CniError {
  return new CniError(
    ErrorCode.TryAgainLater,
    `overlay: no agent state in ${dir}: is overlay-agent running for network "${String(raw.name ?? "")}"?`,
  );
}

/**
 * The `ipam` section to delegate with: unchanged when it names its own `ranges` or `subnet`;
 * else the leased subnet with the bridge's `.1` as gateway, and a route to the whole pool
 * (the other hosts' containers) when it names no routes.
 */
export function fillIpam(ipam: unknown, state: Pick<RunState, "subnet" | "pool">): unknown {
  if (!isObject(ipam)) return ipam;
  if (ipam.ranges !== undefined || ipam.subnet !== undefined) return ipam;
  const out: Raw = { ...ipam, ranges: [[{ subnet: state.subnet, gateway: addressIn(state.subnet, 1) }]] };
  if (ipam.routes === undefined) out.routes = [{ dst: state.pool }];
  return out;
}

/** The bridge example's config and stdin for this call. */
function asBridge(
  raw: Raw,
  state: Pick<RunState, "subnet" | "pool" | "bridge" | "mtu">,
): { conf: BridgeConf; stdin: string } {
  const bridgeRaw: Raw = { ...raw, bridge: state.bridge, mtu: state.mtu, isGateway: true };
  if (raw.ipam !== undefined) bridgeRaw.ipam = fillIpam(raw.ipam, state);
  return { conf: loadBridgeConf(bridgeRaw), stdin: JSON.stringify(bridgeRaw) };
}

/** The handler's context with the bridge config and the rewritten stdin (what IPAM receives). */
function bridgeCtx(ctx: Ctx, conf: BridgeConf, stdin: string): PluginContext<BridgeConf> {
  return Object.create(ctx, {
    config: { value: conf, enumerable: true },
    stdin: { value: stdin, enumerable: true },
  }) as PluginContext<BridgeConf>;
}

/** ADD: the bridge example's ADD with the agent's bridge, MTU and subnet. */
export async function add(ctx: Ctx): Promise<AddResult> {
  const raw = rawOf(ctx);
  const dir = runDirOf(raw);
  const state = stateOf(dir);
  if (!state) throw notRunning(raw, dir);
  const { conf, stdin } = asBridge(raw, state);
  return bridge.add(bridgeCtx(ctx, conf, stdin));
}

/**
 * DEL: the bridge example's DEL. Without the agent's state (it left), the subnet comes from the
 * cached result so that the IPAM plugin still gets a valid config; with neither, only the
 * container's interface is removed.
 */
export async function del(ctx: Ctx): Promise<void> {
  const raw = rawOf(ctx);
  const dir = runDirOf(raw);
  let state: Pick<RunState, "subnet" | "pool" | "bridge" | "mtu"> | undefined = stateOf(dir);
  if (!state) {
    const addr = ctx.prevResult?.ips?.[0]?.address;
    if (addr && /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(addr)) {
      const { net, len } = parseCidr4(addr);
      const subnet = `${intToIp4(net)}/${len}`;
      state = { subnet, pool: subnet, bridge: "", mtu: 1450 };
    }
  }
  if (!state) {
    ctx.log.warn("no agent state and no cached result: removing the interface only", { runDir: dir });
    const { ipam: _, ...noIpam } = raw;
    const conf = loadBridgeConf({ ...noIpam, bridge: "cni0" });
    return bridge.del(bridgeCtx(ctx, conf, JSON.stringify(noIpam)));
  }
  const { conf, stdin } = asBridge(raw, state.bridge ? state : { ...state, bridge: "cni0" });
  return bridge.del(bridgeCtx(ctx, conf, stdin));
}

/** CHECK: the bridge example's CHECK against the agent's bridge. */
export async function check(ctx: Ctx): Promise<void> {
  const raw = rawOf(ctx);
  const dir = runDirOf(raw);
  const state = stateOf(dir);
  if (!state) throw notRunning(raw, dir);
  const { conf, stdin } = asBridge(raw, state);
  return bridge.check(bridgeCtx(ctx, conf, stdin));
}

/** STATUS: code 50 until the agent is running and ready, then the IPAM plugin's STATUS. */
export async function status(ctx: Ctx): Promise<void> {
  const raw = rawOf(ctx);
  const dir = runDirOf(raw);
  const state = stateOf(dir);
  const name = String(raw.name ?? "");
  if (!state) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `overlay: no agent state in ${dir}: overlay-agent for "${name}" has not started`,
    );
  }
  if (!state.ready)
    throw new CniError(ErrorCode.PluginNotAvailable, `overlay: overlay-agent for "${name}" is not ready`);
  if (!pidAlive(state.pid)) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      `overlay: overlay-agent for "${name}" (pid ${state.pid}) is not running`,
    );
  }
  const { conf, stdin } = asBridge(raw, state);
  return bridge.status(bridgeCtx(ctx, conf, stdin));
}

/** GC: the bridge example's GC (the IPAM plugin's, with the leased subnet). */
export async function gc(ctx: Ctx): Promise<void> {
  const raw = rawOf(ctx);
  const dir = runDirOf(raw);
  const state = stateOf(dir);
  if (!state) throw notRunning(raw, dir);
  const { conf, stdin } = asBridge(raw, state);
  return bridge.gc(bridgeCtx(ctx, conf, stdin));
}
