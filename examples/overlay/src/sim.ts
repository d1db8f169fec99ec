/**
 * A simulated cluster on one machine, for the demo, the tests and the benchmark: an underlay
 * bridge in a netns of its own, hosts (a netns each, `eth0` on the underlay), an `overlay-agent`
 * process per host (started inside the host's netns), plugin calls run inside a host's netns
 * (as a container runtime on that host would run them), and containers (netns).
 * Everything is named `<prefix>…` and removed by {@link SimCluster.destroy}.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRawExec, nodeSpawn, type RawExec } from "@cnikit/invoke";
import { Netns } from "@cnikit/ns";

/** The underlay's addresses: hosts get .11, .12, …; a store served on the underlay gets .254. */
export const UNDERLAY_SUBNET = "192.168.77.0/24";

/** The address a store (etcd) listens on inside the underlay netns. */
export const UNDERLAY_SERVICE_IP = "192.168.77.254";

/** Runs `fn` (which must start a process synchronously) with the main thread in `ns`: the child is born there. */
export function spawnIn<T>(ns: Netns, fn: () => T): T {
  let out: T | undefined;
  ns.run(() => {
    out = fn();
  });
  return out as T;
}

/** A plugin executor that starts every plugin inside `ns` (a runtime on that host). */
export function execIn(ns: Netns): RawExec {
  return createRawExec((req) => spawnIn(ns, () => nodeSpawn(req)));
}

/** Runs a command inside `ns`; resolves with its exit code and output (never rejects). */
export function runIn(ns: Netns, argv: string[], timeoutMs = 10_000): Promise<{ code: number; out: string }> {
  const [cmd, ...args] = argv;
  return new Promise((resolve) => {
    let out = "";
    let child: ChildProcess;
    try {
      child = spawnIn(ns, () => spawn(cmd as string, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs }));
    } catch (err) {
      resolve({ code: 127, out: (err as Error).message });
      return;
    }
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("error", (err) => resolve({ code: 127, out: out + err.message }));
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

/** One simulated host. */
export interface SimHost {
  /** `h1`, `h2`, … */
  label: string;
  /** Its netns name. */
  netnsName: string;
  /** Its netns, open. */
  ns: Netns;
  /** Its underlay address (on `eth0`). */
  ip: string;
  /** Its agent's base run directory. */
  runDir: string;
}

/** A running agent process. */
export interface SimAgent {
  host: SimHost;
  network: string;
  pid: number;
  /** Every line it logged so far. */
  readonly lines: string[];
  /** Resolves with the exit code when it has exited. */
  readonly exited: Promise<number | null>;
  /** Resolves once a line matching `re` was logged (rejects after `timeoutMs` or when the agent exits). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** Flags of one agent (see `overlay-agent --help`). */
export interface SimAgentOptions {
  store: string;
  network: string;
  pool?: string | undefined;
  vni?: number | undefined;
  port?: number | undefined;
  leaseTtl?: string | undefined;
  resync?: string | undefined;
  /** More flags, verbatim. */
  extra?: string[] | undefined;
}

/**
 * The cluster. Create it with {@link SimCluster.create}; always call {@link SimCluster.destroy}.
 *
 * @example
 * const sim = await SimCluster.create({ prefix: "ckov1a2b3c", hosts: 3, agentBin });
 * try { await sim.startAgent(sim.hosts[0], { store, network }); } finally { await sim.destroy(); }
 */
export class SimCluster {
  readonly prefix: string;
  readonly hosts: SimHost[] = [];
  readonly agents = new Set<SimAgent>();
  readonly containers: { name: string; ns: Netns }[] = [];
  /** A temporary directory for run dirs, stores, config. */
  readonly dir: string;
  readonly underlay: Netns;
  readonly underlayName: string;
  readonly #agentBin: string;
  readonly #mtu: number;
  #etcd: ChildProcess | undefined;

  private constructor(
    prefix: string,
    underlay: Netns,
    underlayName: string,
    dir: string,
    agentBin: string,
    mtu: number,
  ) {
    this.prefix = prefix;
    this.underlay = underlay;
    this.underlayName = underlayName;
    this.dir = dir;
    this.#agentBin = agentBin;
    this.#mtu = mtu;
  }

  /**
   * Makes the underlay netns with its bridge and `hosts` hosts on it.
   *
   * @throws Error when a netns or link cannot be made (what was made is removed).
   */
  static async create(o: {
    prefix: string;
    hosts: number;
    agentBin: string;
    mtu?: number | undefined;
  }): Promise<SimCluster> {
    const dir = mkdtempSync(join(tmpdir(), `${o.prefix}-`));
    const underlayName = `${o.prefix}-ul`;
    let ul: Netns | undefined;
    let sim: SimCluster | undefined;
    try {
      ul = await Netns.create(underlayName);
      sim = new SimCluster(o.prefix, ul, underlayName, dir, o.agentBin, o.mtu ?? 1500);
      await ul.setLinkUp("lo");
      await ul.createBridge({ name: "ul0", up: true, mtu: sim.#mtu });
      await ul.addAddress("ul0", `${UNDERLAY_SERVICE_IP}/24`);
      for (let i = 1; i <= o.hosts; i++) await sim.addHost();
      return sim;
    } catch (err) {
      if (sim) await sim.destroy();
      else {
        ul?.close();
        await Netns.remove(underlayName).catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      }
      throw err;
    }
  }

  /** Adds one more host: a netns with `eth0` on the underlay bridge, `192.168.77.<10+n>/24`. */
  async addHost(): Promise<SimHost> {
    const n = this.hosts.length + 1;
    const label = `h${n}`;
    const netnsName = `${this.prefix}-${label}`;
    const ns = await Netns.create(netnsName);
    const ip = `192.168.77.${10 + n}`;
    const host: SimHost = { label, netnsName, ns, ip, runDir: join(this.dir, label, "run") };
    this.hosts.push(host);
    await ns.setLinkUp("lo");
    const br = await this.underlay.getLink("ul0");
    await this.underlay.createVeth({
      name: label,
      mtu: this.#mtu,
      master: br.index,
      up: true,
      peer: { name: "eth0", netnsFd: ns.fd },
    });
    await ns.setMtu("eth0", this.#mtu);
    await ns.addAddress("eth0", `${ip}/24`);
    await ns.setLinkUp("eth0");
    mkdirSync(host.runDir, { recursive: true });
    return host;
  }

  /** `overlay-agent` and the flags that name its store, network, underlay, run dir and VNI: what its runs and `--leave` share. */
  #agentArgs(host: SimHost, o: SimAgentOptions): string[] {
    return [
      this.#agentBin,
      "--store",
      o.store,
      "--network",
      o.network,
      "--underlay",
      "eth0",
      "--run-dir",
      host.runDir,
      ...(o.vni !== undefined ? ["--vni", String(o.vni)] : []),
    ];
  }

  /** Starts `overlay-agent` inside `host`'s netns and waits until it logged "ready". */
  async startAgent(host: SimHost, o: SimAgentOptions, readyTimeoutMs = 20_000): Promise<SimAgent> {
    const args = [
      ...this.#agentArgs(host, o),
      ...(o.pool ? ["--pool", o.pool] : []),
      ...(o.port !== undefined ? ["--port", String(o.port)] : []),
      ...(o.leaseTtl ? ["--lease-ttl", o.leaseTtl] : []),
      ...["--resync", o.resync ?? "300ms"],
      ...(o.extra ?? []),
    ];
    const child = spawnIn(host.ns, () => spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] }));
    const lines: string[] = [];
    const waiters = new Set<{ re: RegExp; resolve: (l: string) => void }>();
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString();
      let i = buf.indexOf("\n");
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        for (const w of waiters) if (w.re.test(line)) w.resolve(line);
        i = buf.indexOf("\n");
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    const exited = new Promise<number | null>((resolve) => {
      child.on("close", (code) => resolve(code));
      child.on("error", () => resolve(127));
    });
    const agent: SimAgent = {
      host,
      network: o.network,
      pid: child.pid ?? -1,
      lines,
      exited,
      waitFor: (re, timeoutMs = 10_000) => {
        const seen = lines.find((l) => re.test(l));
        if (seen) return Promise.resolve(seen);
        return new Promise<string>((resolve, reject) => {
          const w = {
            re,
            resolve: (l: string) => {
              clearTimeout(t);
              waiters.delete(w);
              resolve(l);
            },
          };
          const t = setTimeout(() => {
            waiters.delete(w);
            reject(
              new Error(`agent on ${host.label}: no line matching ${re} within ${timeoutMs} ms:\n${lines.join("\n")}`),
            );
          }, timeoutMs);
          waiters.add(w);
          void exited.then((code) => {
            if (!waiters.has(w)) return;
            clearTimeout(t);
            waiters.delete(w);
            reject(new Error(`agent on ${host.label} exited (${code}) before ${re}:\n${lines.join("\n")}`));
          });
        });
      },
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const t = setTimeout(() => child.kill("SIGKILL"), 5000);
          await exited;
          clearTimeout(t);
        }
        this.agents.delete(agent);
      },
    };
    this.agents.add(agent);
    try {
      await agent.waitFor(/ ready: /, readyTimeoutMs);
    } catch (err) {
      await agent.stop();
      throw err;
    }
    return agent;
  }

  /** Runs `overlay-agent --leave` for `host` (stops its agent, releases the lease, removes the devices). */
  async leave(host: SimHost, o: SimAgentOptions): Promise<{ code: number; out: string }> {
    const r = await runIn(host.ns, [process.execPath, ...this.#agentArgs(host, o), "--leave"]);
    for (const a of this.agents) if (a.host === host && a.network === o.network) await a.stop();
    return r;
  }

  /** A container: a netns named `<prefix>-<label>` with `lo` up. */
  async container(label: string): Promise<{ name: string; ns: Netns; path: string }> {
    const name = `${this.prefix}-${label}`;
    const ns = await Netns.create(name);
    this.containers.push({ name, ns });
    await ns.setLinkUp("lo");
    return { name, ns, path: ns.path };
  }

  /**
   * Starts a private etcd inside the underlay netns on {@link UNDERLAY_SERVICE_IP}:2379 (the hosts
   * reach it over their `eth0`), data in the cluster's temporary directory, and waits until it
   * answers `/health`. {@link destroy} stops it by pid.
   *
   * @throws Error when etcd is not installed or not healthy within 20 s.
   */
  async startEtcd(signal?: AbortSignal): Promise<{ url: string; child: ChildProcess }> {
    const data = join(this.dir, "etcd");
    mkdirSync(data, { recursive: true, mode: 0o700 });
    const client = `http://${UNDERLAY_SERVICE_IP}:2379`;
    const peer = `http://${UNDERLAY_SERVICE_IP}:2380`;
    // biome-ignore format: one flag and its value per line
    const args = [
      "--name", "sim", "--data-dir", data,
      "--listen-client-urls", client, "--advertise-client-urls", client,
      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `sim=${peer}`,
      "--log-level", "error",
    ];
    const child = spawnIn(this.underlay, () => spawn("etcd", args, { stdio: ["ignore", "ignore", "pipe"] }));
    this.#etcd = child;
    let log = "";
    child.stderr?.on("data", (d: Buffer) => {
      log = (log + d.toString()).slice(-2000);
    });
    const failed = new Promise<never>((_, reject) => {
      child.on("error", (err) => reject(new Error(`etcd: ${err.message} (Debian: apt install etcd-server)`)));
      child.on("exit", (code) => reject(new Error(`etcd exited (${code}): ${log.trim()}`)));
    });
    failed.catch(() => {});
    // healthy once it answers /health on the underlay, asked from inside the underlay netns
    const probe = `fetch(${JSON.stringify(`${client}/health`)}).then(r=>r.json()).then(j=>process.exit(j.health==="true"?0:1),()=>process.exit(1))`;
    const t0 = Date.now();
    for (;;) {
      signal?.throwIfAborted();
      const ok = await Promise.race([runIn(this.underlay, [process.execPath, "-e", probe], 3000), failed]);
      if (ok.code === 0) break;
      if (Date.now() - t0 > 20_000) throw new Error(`etcd did not become healthy in 20 s: ${log.trim()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { url: `etcd://${UNDERLAY_SERVICE_IP}:2379?prefix=/cnikit-sim`, child };
  }

  /**
   * Stops every agent (SIGTERM, by pid), removes every netns this cluster made (hosts, containers,
   * underlay: their devices go with them) and the temporary directory. Never throws; answers
   * what could not be removed.
   */
  async destroy(): Promise<string[]> {
    const problems: string[] = [];
    await Promise.all(
      [...this.agents].map((a) => a.stop().catch((e: Error) => problems.push(`agent ${a.pid}: ${e.message}`))),
    );
    const etcd = this.#etcd;
    if (etcd && etcd.exitCode === null && etcd.signalCode === null) {
      const exited = new Promise((r) => etcd.once("exit", r));
      etcd.kill("SIGTERM");
      const t = setTimeout(() => etcd.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    }
    for (const { name, ns } of this.containers) {
      ns.close();
      await Netns.remove(name).catch((e: Error) => problems.push(`netns ${name}: ${e.message}`));
    }
    for (const h of this.hosts) {
      h.ns.close();
      await Netns.remove(h.netnsName).catch((e: Error) => problems.push(`netns ${h.netnsName}: ${e.message}`));
    }
    this.underlay.close();
    await Netns.remove(this.underlayName).catch((e: Error) =>
      problems.push(`netns ${this.underlayName}: ${e.message}`),
    );
    rmSync(this.dir, { recursive: true, force: true });
    return problems;
  }
}
