/**
 * One run of the demo: two "containers" (network namespaces) join a network through the cnikit
 * runtime, show their addresses, ping each other, pass CHECK, leave, and everything the run
 * made is removed again — on success, failure or Ctrl-C.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Netns } from "@cnikit/ns";
import { CniRuntime, loadConfList, type NetworkConfigList, type RuntimeConf } from "@cnikit/runtime";
import { cidrContains, type Result, toCurrentResult, versionGte } from "@cnikit/spec";
import { agentFilesMissing, type DemoAgent, describeCalls, installAgentShim, startDemoAgent } from "./agent.js";
import type { DemoContext, DemoNetwork, PluginSource } from "./networks.js";

/** Where the Go reference plugins live (Debian's containernetworking-plugins). */
export const GO_PLUGIN_DIR = "/usr/lib/cni";

/** Writes the demo's lines; `ok`/`fail` mark a step. */
export interface Printer {
  step(label: string, text: string): void;
  fail(label: string, text: string): void;
  note(text: string): void;
}

/** A failure the run already printed. */
export class ReportedError extends Error {}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Options of one run. */
export interface DemoOptions {
  network: DemoNetwork;
  /** The repository root (for our built plugins). */
  root: string;
  print: Printer;
  /** Aborts the run (Ctrl-C); cleanup still happens. */
  signal: AbortSignal;
  /** Which build of our plugins runs: `node` (dist/, the default) or `bun` (dist-bun/). */
  runtime?: DemoRuntime;
  /** Our plugins in agent mode: their shims, served by a private cnikit-agent (see agent.ts). */
  agent?: boolean;
}

/** What runs our plugins: their Node bundles (dist/) or their Bun executables (dist-bun/). */
export const DEMO_RUNTIMES = ["node", "bun"] as const;

/** One of {@link DEMO_RUNTIMES}. */
export type DemoRuntime = (typeof DEMO_RUNTIMES)[number];

/** The repository root, from the real path of the running script (`examples/demo/dist/demo`). */
export function repoRoot(scriptPath: string): string {
  return resolve(dirname(realpathSync(scriptPath)), "..", "..", "..");
}

function pluginBinary(root: string, type: string, source: PluginSource, runtime: DemoRuntime = "node"): string {
  if (source === "go") return join(GO_PLUGIN_DIR, type);
  return join(root, "examples", type, runtime === "bun" ? "dist-bun" : "dist", type);
}

/** A 10.x.y.0/24 that no host route overlaps. */
async function pickSubnet(): Promise<string> {
  const routes = await Netns.host().listRoutes({ family: 4, table: "all" });
  for (let i = 0; i < 50; i++) {
    const [x = 0, y = 0] = randomBytes(2);
    const subnet = `10.${16 + (x % 224)}.${y}.0/24`;
    const clash = routes.some(
      (r) => r.dst !== "0.0.0.0/0" && (cidrContains(r.dst, subnet) || cidrContains(subnet, r.dst)),
    );
    if (!clash) return subnet;
  }
  throw new Error("could not find a free 10.x.y.0/24 subnet on this host");
}

function run(argv: string[], signal: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, ...args] = argv;
  return new Promise((res) => {
    execFile(cmd as string, args, { signal, timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === "number"
          ? (err as { code: number }).code
          : 1
        : 0;
      res({ code, stdout, stderr });
    });
  });
}

interface Container {
  label: string;
  name: string;
  path: string;
  rt: RuntimeConf;
  attached: boolean;
  result?: Result;
}

function describeAttachment(result: Result, ifName: string): string {
  const ifaces = result.interfaces ?? [];
  const idx = ifaces.findIndex((i) => i.name === ifName && i.sandbox);
  const mine = (result.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === idx);
  const addrs = mine.map((ip) => ip.address).join(", ") || "no address";
  const mac = ifaces[idx]?.mac;
  return `${ifName}  ${addrs}${mac ? `  mac ${mac}` : ""}`;
}

function firstIp(result: Result | undefined): string | undefined {
  return result?.ips?.[0]?.address.split("/")[0];
}

/**
 * Runs the demo once. Resolves when everything went well; rejects with the first failure
 * (after cleaning up).
 *
 * @throws Error describing the failed step.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  const { network, root, print, signal } = options;
  const id = randomBytes(3).toString("hex");
  const tmp = mkdtempSync(join(tmpdir(), `cnikit-demo-${id}-`));
  const dirs = { bin: join(tmp, "bin"), conf: join(tmp, "net.d"), data: join(tmp, "ipam"), cache: join(tmp, "cache") };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const bridge = `ckdemo${id}`;
  const containers: Container[] = [];
  let cni: CniRuntime | undefined;
  let list: NetworkConfigList | undefined;
  let agent: DemoAgent | undefined;
  const ours = Object.keys(network.plugins).filter((t) => network.plugins[t] === "cnikit");

  try {
    // 1. the plugin directory: symlinks to the binaries this network is made of
    const used: string[] = [];
    const missing = options.agent ? agentFilesMissing(root, ours) : [];
    if (missing.length) {
      throw new Error(
        `${missing.join(", ")} not found: \`pnpm build\` builds the agent files of bridge and host-local`,
      );
    }
    for (const [type, source] of Object.entries(network.plugins)) {
      if (options.agent && source === "cnikit") {
        installAgentShim(root, type, dirs.bin, join(tmp, "run"));
        used.push(`${type} (cnikit, agent shim)`);
        continue;
      }
      const bin = pluginBinary(root, type, source, options.runtime);
      if (!existsSync(bin)) {
        throw new Error(
          source === "go"
            ? `${bin} not found: install the Go reference plugins (apt install containernetworking-plugins)`
            : `${bin} not found: run \`pnpm build\` first`,
        );
      }
      symlinkSync(bin, join(dirs.bin, type));
      used.push(`${type} (${source === "go" ? "Go" : "cnikit"})`);
    }
    print.step("plugins", used.join(", "));
    if (options.agent && ours.length) {
      agent = await startDemoAgent(root, ours, join(tmp, "run"));
      print.step("agent", `cnikit-agent pid ${agent.pid} serving ${ours.join(", ")} on ${agent.socketDir}`);
    }

    // 2. the network config, installed in a config dir like /etc/cni/net.d
    const ctx: DemoContext = { network: `cnikit-demo-${id}`, bridge, subnet: await pickSubnet(), dataDir: dirs.data };
    const conflist = { cniVersion: network.cniVersion, name: ctx.network, plugins: network.pluginConfigs(ctx) };
    const confFile = join(dirs.conf, "10-cnikit-demo.conflist");
    writeFileSync(confFile, `${JSON.stringify(conflist, null, 2)}\n`);
    list = await loadConfList(dirs.conf, ctx.network);
    cni = new CniRuntime({ path: [dirs.bin], cacheDir: dirs.cache, timeoutMs: 30_000 });
    print.step("network", `${ctx.network}  subnet ${ctx.subnet}  cniVersion ${network.cniVersion}`);

    // 3. two containers: a network namespace each
    for (const [i, label] of ["a", "b"].entries()) {
      const name = `cnikit-demo-${id}-${label}`;
      const ns = await Netns.create(name);
      const path = ns.path;
      try {
        await ns.setLinkUp("lo");
      } finally {
        ns.close();
      }
      const rt: RuntimeConf = { containerId: name, netns: path, ifName: "eth0" };
      const caps = network.capabilityArgs?.(ctx, i);
      if (caps) rt.capabilityArgs = caps;
      containers.push({ label, name, path, rt, attached: false });
    }

    // 4. ADD: the runtime runs the conflist for each container
    for (const c of containers) {
      signal.throwIfAborted();
      const t0 = performance.now();
      c.attached = true; // a failed ADD may leave a partial attachment: DEL it in cleanup
      const result = await cni.addNetworkList(list, c.rt, { signal });
      const ms = Math.round(performance.now() - t0);
      if (!result) throw new Error(`ADD of container ${c.label} returned no result`);
      c.result = toCurrentResult(result);
      print.step(`container ${c.label}`, `${describeAttachment(c.result, c.rt.ifName)}  (${ms} ms)`);
      if (agent) print.step("  in agent", describeCalls(agent.calls.splice(0)));
    }

    // 5. ping b from a
    const [a, b] = containers as [Container, Container];
    const target = firstIp(b.result);
    if (!target) throw new Error("container b got no address");
    const ping = await run(["ip", "netns", "exec", a.name, "ping", "-c", "1", "-W", "2", target], signal);
    const line = ping.stdout.split("\n").find((l) => l.includes("bytes from"));
    if (ping.code !== 0 || !line) {
      throw new Error(`ping a → b (${target}) failed: ${(ping.stdout + ping.stderr).trim().split("\n").pop() ?? ""}`);
    }
    print.step("ping a → b", line.trim());

    // 6. CHECK: is everything still as ADD left it?
    if (versionGte(network.cniVersion, "0.4.0")) {
      for (const c of containers) await cni.checkNetworkList(list, c.rt, { signal });
      print.step("CHECK", "a ok, b ok");
    }

    // 7. DEL
    for (const c of containers) {
      await cni.delNetworkList(list, c.rt, { signal });
      c.attached = false;
    }
    print.step("DEL", "a, b detached");
    if (agent) print.step("  in agent", describeCalls(agent.calls.splice(0).filter((c) => c.command === "DEL")));
  } catch (err) {
    if (signal.aborted) print.fail("interrupted", `${messageOf(signal.reason)}, cleaning up`);
    else print.fail("failed", messageOf(err));
    throw new ReportedError(messageOf(err), { cause: err });
  } finally {
    await cleanup({ cni, list, containers, bridge, tmp, print, agent });
  }
}

/** Removes what the run made; never throws (reports what it could not remove). */
async function cleanup(state: {
  cni: CniRuntime | undefined;
  list: NetworkConfigList | undefined;
  containers: Container[];
  bridge: string;
  tmp: string;
  print: Printer;
  agent: DemoAgent | undefined;
}): Promise<void> {
  const problems: string[] = [];
  const removed: string[] = [];
  for (const c of state.containers) {
    if (c.attached && state.cni && state.list) {
      try {
        await state.cni.delNetworkList(state.list, c.rt);
      } catch (err) {
        problems.push(`DEL ${c.label}: ${(err as Error).message}`);
      }
    }
  }
  if (state.agent) {
    await state.agent.stop();
    removed.push(`cnikit-agent (pid ${state.agent.pid})`);
  }
  let netnsCount = 0;
  for (const c of state.containers) {
    try {
      await Netns.remove(c.name);
      netnsCount++;
    } catch (err) {
      problems.push(`netns ${c.name}: ${(err as Error).message}`);
    }
  }
  if (netnsCount > 0) removed.push(`${netnsCount} netns`);
  try {
    const host = Netns.host();
    const br = await host.findLink(state.bridge);
    if (br?.kind === "bridge") {
      await host.deleteLink(br.index, { missingOk: true });
      removed.push(`bridge ${state.bridge}`);
    }
  } catch (err) {
    problems.push(`bridge ${state.bridge}: ${(err as Error).message}`);
  }
  try {
    rmSync(state.tmp, { recursive: true, force: true });
    removed.push("config, leases, cache");
  } catch (err) {
    problems.push(`${state.tmp}: ${(err as Error).message}`);
  }
  if (problems.length === 0) state.print.step("cleaned up", removed.join(", "));
  else state.print.fail("cleanup", problems.join("; "));
}
