/**
 * `demo --network overlay`: the talk's overlay. An underlay bridge in a netns of its own, N
 * hosts (a netns each, `eth0` on the underlay) each with its own `overlay-agent`, two containers
 * per host attached through the cnikit runtime (run inside the host's netns, as that host's
 * runtime would), a ping matrix of every pair, a host leaving, CHECK, DEL, and everything
 * removed again — on success, failure or Ctrl-C.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CniRuntime, loadConfList, type NetworkConfigList, type RuntimeConf } from "@cnikit/runtime";
import { type Result, toCurrentResult } from "@cnikit/spec";
import { addressIn } from "@cnikit-examples/overlay/lease";
import { execIn, runIn, type SimAgent, SimCluster, type SimHost } from "@cnikit-examples/overlay/sim";
import { type Printer, ReportedError } from "./demo.js";
import type { DemoNetwork } from "./networks.js";

/** Where the store lives for the run. */
export const OVERLAY_STORES = ["file", "etcd"] as const;

/** One of {@link OVERLAY_STORES}. */
export type OverlayStore = (typeof OVERLAY_STORES)[number];

/** Options of one overlay run. */
export interface OverlayDemoOptions {
  /** The `overlay` row of the networks table (its plugin configs). */
  network: DemoNetwork;
  root: string;
  print: Printer;
  signal: AbortSignal;
  /** Hosts (default 3). */
  hosts: number;
  store: OverlayStore;
}

const POOL = "10.244.0.0/16";

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface Ctr {
  label: string;
  host: SimHost;
  name: string;
  rt: RuntimeConf;
  ip: string;
  attached: boolean;
}

interface HostNet {
  host: SimHost;
  cni: CniRuntime;
  list: NetworkConfigList;
  agent: SimAgent | undefined;
  subnet: string;
}

/** How many of the three objects for `peer` `host` holds on its vxlan device. */
async function objectsFor(host: SimHost, vxlan: string, peer: string): Promise<number> {
  const vx = await host.ns.findLink(vxlan);
  if (!vx) return 0;
  const gw = addressIn(peer, 0);
  const [n, f, r] = await Promise.all([
    host.ns.listNeighbours({ link: vx.index, family: 4 }),
    host.ns.listFdbEntries({ link: vx.index }),
    host.ns.listRoutes({ family: 4, dev: vx.index }),
  ]);
  const neigh = n.find((x) => x.ip === gw);
  return (
    (neigh ? 1 : 0) + (f.some((x) => x.mac === neigh?.mac && x.dst) ? 1 : 0) + (r.some((x) => x.dst === peer) ? 1 : 0)
  );
}

/** Prints the matrix; answers [ok, total]. */
function printMatrix(print: Printer, ctrs: Ctr[], ok: Map<string, boolean>): [number, number] {
  const w = Math.max(4, ...ctrs.map((c) => c.label.length + 1));
  print.note(`    ${"from\\to".padEnd(w + 3)}${ctrs.map((c) => c.label.padStart(w)).join("")}`);
  let good = 0;
  let total = 0;
  for (const a of ctrs) {
    const cells = ctrs.map((b) => {
      if (a === b) return "·".padStart(w);
      total++;
      const r = ok.get(`${a.label}>${b.label}`) === true;
      if (r) good++;
      return (r ? "✓" : "✗").padStart(w);
    });
    print.note(`    ${a.label.padEnd(w + 3)}${cells.join("")}`);
  }
  return [good, total];
}

/**
 * Runs the overlay demo once. Resolves when every step went well; rejects (after cleaning up)
 * with the first failure.
 *
 * @throws ReportedError describing the failed step (already printed).
 */
export async function runOverlayDemo(options: OverlayDemoOptions): Promise<void> {
  const { root, print, signal } = options;
  const id = randomBytes(3).toString("hex");
  const network = `ckdemo-ov-${id}`;
  const vxlan = `ov${id}.1`;
  const bridge = `ov${id}-br`;
  const agentBin = join(root, "examples", "overlay", "dist", "overlay-agent");
  const bins = {
    overlay: join(root, "examples", "overlay", "dist", "overlay"),
    "host-local": join(root, "examples", "host-local", "dist", "host-local"),
  };
  let sim: SimCluster | undefined;
  let etcd: ChildProcess | undefined;
  const nets: HostNet[] = [];
  const ctrs: Ctr[] = [];
  try {
    for (const bin of [agentBin, ...Object.values(bins)]) {
      if (!existsSync(bin)) throw new Error(`${bin} not found: run \`pnpm build\` first`);
    }
    print.step("plugins", "overlay (cnikit), host-local (cnikit); overlay-agent per host");

    // 1. the underlay and the hosts
    sim = await SimCluster.create({ prefix: `ckd${id}`, hosts: options.hosts, agentBin });
    print.step(
      "underlay",
      `bridge ul0 in netns ${sim.underlayName}; ${sim.hosts.map((h) => `${h.label} ${h.ip}`).join(", ")}`,
    );

    // 2. the store
    let store: string;
    if (options.store === "etcd") {
      const e = await sim.startEtcd(signal);
      etcd = e.child;
      store = e.url;
      print.step("store", `etcd (pid ${etcd.pid}) in the underlay netns, ${store}`);
    } else {
      store = `file:${join(sim.dir, "store")}`;
      print.step("store", `embedded, ${store}`);
    }

    // 3. an agent per host
    const bin = join(sim.dir, "bin");
    mkdirSync(bin);
    for (const [type, path] of Object.entries(bins)) symlinkSync(path, join(bin, type));
    for (const host of sim.hosts) {
      signal.throwIfAborted();
      const agent = await sim.startAgent(host, {
        store,
        network,
        pool: POOL,
        extra: ["--vxlan", vxlan, "--bridge", bridge, "--lease-ttl", "30s"],
      });
      const subnet = /(?:leased|kept) (\S+)/.exec(agent.lines.join("\n"))?.[1] ?? "?";
      const conf = join(sim.dir, host.label, "net.d");
      mkdirSync(conf, { recursive: true });
      const conflist = {
        cniVersion: options.network.cniVersion,
        name: network,
        plugins: options.network.pluginConfigs({
          network,
          bridge,
          subnet: POOL,
          dataDir: join(sim.dir, host.label, "ipam"),
          runDir: join(host.runDir, network),
        }),
      };
      writeFileSync(join(conf, "10-overlay.conflist"), `${JSON.stringify(conflist, null, 2)}\n`);
      const cni = new CniRuntime({
        path: [bin],
        cacheDir: join(sim.dir, host.label, "cache"),
        exec: execIn(host.ns),
        timeoutMs: 30_000,
      });
      nets.push({ host, cni, list: await loadConfList(conf, network), agent, subnet });
      print.step(`agent ${host.label}`, `pid ${agent.pid}  subnet ${subnet}  ${vxlan} mtu 1450  bridge ${bridge}`);
    }

    // 4. two containers per host
    for (const net of nets) {
      for (const l of ["a", "b"]) {
        signal.throwIfAborted();
        const label = `${net.host.label}${l}`;
        const c = await sim.container(label);
        const ctr: Ctr = {
          label,
          host: net.host,
          name: c.name,
          rt: { containerId: c.name, netns: c.path, ifName: "eth0" },
          ip: "",
          attached: true,
        };
        ctrs.push(ctr);
        const t0 = performance.now();
        const r = await net.cni.addNetworkList(net.list, ctr.rt, { signal });
        const res: Result | undefined = r ? toCurrentResult(r) : undefined;
        ctr.ip = res?.ips?.[0]?.address.split("/")[0] ?? "";
        if (!ctr.ip) throw new Error(`container ${label} got no address`);
        print.step(
          `container ${label}`,
          `${res?.ips?.[0]?.address} on ${net.host.label}  (${Math.round(performance.now() - t0)} ms)`,
        );
      }
    }

    // 5. the ping matrix
    const ok = new Map<string, boolean>();
    const pairs = ctrs.flatMap((a) => ctrs.filter((b) => b !== a).map((b) => [a, b] as const));
    await Promise.all(
      pairs.map(async ([a, b]) => {
        const c = sim?.containers.find((x) => x.name === a.name);
        const r = c ? await runIn(c.ns, ["ping", "-c", "1", "-W", "2", b.ip]) : { code: 1 };
        ok.set(`${a.label}>${b.label}`, r.code === 0);
      }),
    );
    signal.throwIfAborted();
    print.note("");
    const [good, total] = printMatrix(print, ctrs, ok);
    print.note(`ping matrix: ${good}/${total} pairs reachable`);
    print.note("");
    if (good !== total) throw new Error(`${total - good} of ${total} pairs unreachable`);

    // 6. a host leaves: its containers go, then `overlay-agent --leave`; the others forget it
    if (nets.length > 1) {
      const gone = nets[nets.length - 1] as HostNet;
      for (const c of ctrs.filter((x) => x.host === gone.host)) {
        await gone.cni.delNetworkList(gone.list, c.rt, { signal });
        c.attached = false;
      }
      const others = nets.filter((n) => n !== gone);
      const before = await Promise.all(others.map((n) => objectsFor(n.host, vxlan, gone.subnet)));
      const t0 = performance.now();
      const r = await sim.leave(gone.host, { store, network });
      if (r.code !== 0) throw new Error(`overlay-agent --leave on ${gone.host.label} failed: ${r.out.trim()}`);
      gone.agent = undefined;
      for (;;) {
        const left = await Promise.all(others.map((n) => objectsFor(n.host, vxlan, gone.subnet)));
        if (left.every((x) => x === 0)) break;
        if (performance.now() - t0 > 5000) {
          throw new Error(
            `after ${gone.host.label} left, ${left.join("/")} of its objects are still on ${others.map((n) => n.host.label).join("/")}`,
          );
        }
        await new Promise((res) => setTimeout(res, 20));
      }
      print.step(
        `${gone.host.label} leaves`,
        `lease ${gone.subnet} released; its route, neighbour and FDB entry (${before.join("/")} objects) gone on ${others.map((n) => n.host.label).join(", ")} in ${Math.round(performance.now() - t0)} ms`,
      );
      nets.pop();
    }

    // 7. CHECK and DEL of the rest
    const rest = ctrs.filter((c) => c.attached);
    for (const c of rest) {
      const net = nets.find((n) => n.host === c.host) as HostNet;
      await net.cni.checkNetworkList(net.list, c.rt, { signal });
    }
    print.step("CHECK", `${rest.map((c) => c.label).join(", ")} ok`);
    for (const c of rest) {
      const net = nets.find((n) => n.host === c.host) as HostNet;
      await net.cni.delNetworkList(net.list, c.rt, { signal });
      c.attached = false;
    }
    print.step("DEL", `${rest.map((c) => c.label).join(", ")} detached`);
  } catch (err) {
    if (signal.aborted) print.fail("interrupted", `${messageOf(signal.reason)}, cleaning up`);
    else print.fail("failed", messageOf(err));
    throw new ReportedError(messageOf(err), { cause: err });
  } finally {
    const problems: string[] = [];
    for (const c of ctrs) {
      if (!c.attached) continue;
      const net = nets.find((n) => n.host === c.host);
      try {
        await net?.cni.delNetworkList(net.list, c.rt);
      } catch (err) {
        problems.push(`DEL ${c.label}: ${messageOf(err)}`);
      }
    }
    const agents = sim ? sim.agents.size : 0;
    if (sim) problems.push(...(await sim.destroy()));
    if (problems.length === 0) {
      print.step(
        "cleaned up",
        `${agents} agent(s)${etcd ? ", etcd" : ""} stopped; ${ctrs.length} container + ${options.hosts} host + 1 underlay netns, store, config removed`,
      );
    } else print.fail("cleanup", problems.join("; "));
  }
}
