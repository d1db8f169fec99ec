/**
 * The overlay agent: one long-running process per host, in the host's netns. It leases a subnet
 * in the store, creates the vxlan device and the host bridge, tells the plugin (run directory)
 * and keeps, for every other host's lease, a neighbour, an FDB entry and a route in line with
 * the store (watch) and with the kernel (a resync tick that repairs flushes and deletions).
 */
import { type Link, Netns, randomMac } from "@cnikit/ns";
import { LeaseNotFoundError, openStore, type Store, type WatchHandle, WatchCompactedError } from "@cnikit/store";
import { deviceIntact, ensureDevices, type Peer, reconcilePeers, removeDevices, VXLAN_OVERHEAD } from "./kernel.js";
import {
  acquireLease,
  type HeldLease,
  type LeaseValue,
  parseLease,
  readLeases,
  type SubnetLease,
  subnetsPrefix,
  within,
} from "./lease.js";
import { networkRunDir, pidAlive, type RunState, readRunState, removeRunState, writeRunState } from "./run-dir.js";

/** The agent's settings (the command line's flags). */
export interface AgentOptions {
  /** Store URL (`file:/var/lib/cnikit/store`, `etcd://…`). */
  store: string;
  /** Network name: the key prefix in the store and the run directory's name. */
  network: string;
  /** The underlay interface (its first IPv4 address is the PublicIP). */
  underlay: string;
  /** Cluster pool (default 10.244.0.0/16). */
  pool?: string | undefined;
  /** Prefix length of a host's subnet (default 24). */
  subnetLen?: number | undefined;
  /** VXLAN network identifier (default 1). */
  vni?: number | undefined;
  /** UDP port (default 8472, flannel's and the kernel's). */
  port?: number | undefined;
  /** TTL of the store lease in seconds (default 60); renewed every third of it. */
  leaseTtl?: number | undefined;
  /** Base run directory (default /run/cnikit/overlay); the agent writes `<base>/<network>/state.json`. */
  runDir?: string | undefined;
  /** vxlan device name (default `<network>.<vni>`, shortened to 15 bytes). */
  vxlanName?: string | undefined;
  /** Bridge name (default `<network>-br`, shortened to 15 bytes). */
  bridgeName?: string | undefined;
  /** How often the kernel state is checked and repaired, ms (default 500). */
  resyncMs?: number | undefined;
  /** Receives log lines (default: stderr). */
  log?: ((line: string) => void) | undefined;
}

/** Linux's limit on interface names. */
const IFNAMSIZ = 15;

/** `<network>.<vni>`, the network shortened so that it fits 15 bytes. */
export function defaultVxlanName(network: string, vni: number): string {
  const tail = `.${vni}`;
  return `${network.slice(0, IFNAMSIZ - tail.length)}${tail}`;
}

/** `<network>-br`, shortened to 15 bytes. */
export function defaultBridgeName(network: string): string {
  return `${network.slice(0, IFNAMSIZ - 3)}-br`;
}

interface Settings {
  store: string;
  network: string;
  underlay: string;
  pool: string;
  subnetLen: number;
  vni: number;
  port: number;
  leaseTtl: number;
  runDir: string;
  vxlan: string;
  bridge: string;
  resyncMs: number;
  log: (line: string) => void;
}

function settingsOf(o: AgentOptions): Settings {
  const vni = o.vni ?? 1;
  return {
    store: o.store,
    network: o.network,
    underlay: o.underlay,
    pool: o.pool ?? "10.244.0.0/16",
    subnetLen: o.subnetLen ?? 24,
    vni,
    port: o.port ?? 8472,
    leaseTtl: o.leaseTtl ?? 60,
    runDir: networkRunDir(o.runDir ?? "/run/cnikit/overlay", o.network),
    vxlan: o.vxlanName ?? defaultVxlanName(o.network, vni),
    bridge: o.bridgeName ?? defaultBridgeName(o.network),
    resyncMs: o.resyncMs ?? 500,
    log: o.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
}

/** The underlay link and its first global IPv4 address. */
async function underlayOf(name: string): Promise<{ link: Link; ip: string }> {
  const ns = Netns.host();
  const link = await ns.findLink(name);
  if (!link) throw new Error(`underlay interface "${name}" not found`);
  const addr = (await ns.listAddresses(link.index, { family: 4 })).find((a) => a.scope === 0);
  if (!addr) throw new Error(`underlay interface "${name}" has no IPv4 address`);
  return { link, ip: addr.cidr.split("/")[0] as string };
}

/**
 * A running agent. {@link OverlayAgent.start} returns once the host is ready (lease, devices,
 * first reconcile, run directory written).
 *
 * @example
 * const agent = await OverlayAgent.start({ store: "file:/var/lib/cnikit/store", network: "ov", underlay: "eth0" });
 * process.on("SIGTERM", () => void agent.stop());
 */
export class OverlayAgent {
  readonly #s: Settings;
  readonly #store: Store;
  readonly #publicIp: string;
  readonly #underlay: Link;
  readonly #mtu: number;
  #held: HeldLease;
  #mac: string;
  #watch: WatchHandle | undefined;
  #timers: NodeJS.Timeout[] = [];
  #leases = new Map<string, SubnetLease>();
  #skipped = new Map<string, string>();
  #dirty = true;
  #running: Promise<void> | undefined;
  /** Until the first reconcile is done, kicks only mark the state dirty. */
  #starting = true;
  #stopped = false;

  private constructor(s: Settings, store: Store, underlay: Link, publicIp: string, held: HeldLease, mac: string) {
    this.#s = s;
    this.#store = store;
    this.#underlay = underlay;
    this.#publicIp = publicIp;
    this.#mtu = underlay.mtu - VXLAN_OVERHEAD;
    this.#held = held;
    this.#mac = mac;
  }

  /** This host's subnet. */
  get subnet(): string {
    return this.#held.subnet;
  }

  /**
   * Leases a subnet, sets up the devices, programs the peers, writes the run directory, and keeps
   * all of it in line until {@link stop}.
   *
   * @throws Error when the underlay is missing, the store cannot be reached or the pool is full.
   */
  static async start(options: AgentOptions): Promise<OverlayAgent> {
    const s = settingsOf(options);
    const { link: underlay, ip: publicIp } = await underlayOf(s.underlay);
    const store = await openStore(s.store);
    try {
      let previous: RunState | undefined;
      try {
        previous = readRunState(s.runDir);
      } catch (err) {
        s.log(`ignoring the run directory: ${(err as Error).message}`);
      }
      // the MAC peers know this host by: the device's (it survived a restart), else the one
      // in our old lease (the device was lost), else a new one
      const device = await Netns.host().findLink(s.vxlan);
      const { leases } = await readLeases(store, s.network, s.log);
      const own = leases.find((l) => l.value.PublicIP === publicIp && within(s.pool, l.subnet));
      const mac = (device?.kind === "vxlan" ? device.mac : undefined) ?? own?.value.BackendData.VtepMAC ?? randomMac();
      const value: LeaseValue = {
        PublicIP: publicIp,
        BackendType: "vxlan",
        BackendData: { VNI: s.vni, VtepMAC: mac, Port: s.port },
      };
      const held = await acquireLease({
        store,
        network: s.network,
        pool: s.pool,
        subnetLen: s.subnetLen,
        publicIp,
        ttlSeconds: s.leaseTtl,
        value,
        previous: previous?.network === s.network ? previous.subnet : undefined,
        log: s.log,
      });
      s.log(`${own?.subnet === held.subnet ? "kept" : "leased"} ${held.subnet} (PublicIP ${publicIp}, VtepMAC ${mac})`);
      const agent = new OverlayAgent(s, store, underlay, publicIp, held, mac);
      await agent.#setUpDevices();
      await agent.#watchLeases();
      try {
        await agent.#reconcile();
      } catch (err) {
        agent.#stopped = true;
        agent.#watch?.close();
        throw err; // the store is closed below
      }
      agent.#starting = false;
      agent.#writeState(true);
      agent.#timers.push(setInterval(() => void agent.#renew(), Math.max(1000, (s.leaseTtl * 1000) / 3)));
      agent.#timers.push(setInterval(() => agent.#kick(), s.resyncMs));
      agent.#kick(); // whatever the watch delivered during start-up
      s.log(
        `ready: ${s.vxlan} (vni ${s.vni}, port ${s.port}, mtu ${agent.#mtu}), bridge ${s.bridge}, ${agent.#peers().length} peer(s)`,
      );
      return agent;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  async #setUpDevices(): Promise<void> {
    const s = this.#s;
    const mac = await ensureDevices(
      {
        vxlan: s.vxlan,
        bridge: s.bridge,
        vni: s.vni,
        port: s.port,
        underlay: this.#underlay,
        publicIp: this.#publicIp,
        subnet: this.#held.subnet,
        mtu: this.#mtu,
        mac: this.#mac,
      },
      s.log,
    );
    if (mac !== this.#mac) {
      this.#mac = mac;
      await this.#putLease();
    }
  }

  #value(): LeaseValue {
    return {
      PublicIP: this.#publicIp,
      BackendType: "vxlan",
      BackendData: { VNI: this.#s.vni, VtepMAC: this.#mac, Port: this.#s.port },
    };
  }

  async #putLease(): Promise<void> {
    await this.#store.put(this.#held.key, JSON.stringify(this.#value()), { lease: this.#held.lease });
  }

  /** Renews the store lease; when it is gone (expired while the store was unreachable), takes the subnet again. */
  async #renew(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#store.keepAlive(this.#held.lease);
    } catch (err) {
      if (err instanceof LeaseNotFoundError) await this.#reacquire("the store lease expired");
      else this.#s.log(`renewing the lease failed (will retry): ${(err as Error).message}`);
    }
  }

  async #reacquire(why: string): Promise<void> {
    if (this.#stopped) return;
    const s = this.#s;
    const before = this.#held.subnet;
    try {
      this.#held = await acquireLease({
        store: this.#store,
        network: s.network,
        pool: s.pool,
        subnetLen: s.subnetLen,
        publicIp: this.#publicIp,
        ttlSeconds: s.leaseTtl,
        value: this.#value(),
        previous: before,
        log: s.log,
      });
    } catch (err) {
      s.log(`${why}; taking a subnet again failed (will retry): ${(err as Error).message}`);
      return;
    }
    if (this.#held.subnet === before) {
      s.log(`${why}: ${before} leased again`);
    } else {
      s.log(
        `${why}: ${before} was taken by another host; now ${this.#held.subnet} (containers of ${before} lose connectivity)`,
      );
      await this.#setUpDevices();
      this.#writeState(true);
    }
    this.#kick();
  }

  async #watchLeases(): Promise<void> {
    const s = this.#s;
    const { leases, revision } = await readLeases(this.#store, s.network, s.log);
    this.#leases = new Map(leases.map((l) => [l.key, l]));
    this.#watch?.close();
    this.#watch = this.#store.watch(
      subnetsPrefix(s.network),
      {
        fromRevision: revision + 1,
        onError: (err) => {
          if (this.#stopped) return;
          s.log(
            `lease watch stopped (${err instanceof WatchCompactedError ? "compacted" : err.message}): reading again`,
          );
          void this.#watchLeases().then(
            () => this.#kick(),
            (e: Error) => s.log(`re-reading the leases failed: ${e.message}`),
          );
        },
      },
      (e) => {
        if (e.type === "delete") {
          this.#leases.delete(e.kv.key);
          if (e.kv.key === this.#held.key && !this.#stopped) void this.#reacquire("our lease was deleted");
        } else {
          const l = parseLease(s.network, e.kv);
          if (typeof l === "string") s.log(l);
          else this.#leases.set(l.key, l);
        }
        this.#kick();
      },
    );
    await this.#watch.ready;
  }

  /** The peers to program: every other lease with our VNI and port (others are logged once and skipped). */
  #peers(): Peer[] {
    const s = this.#s;
    const out: Peer[] = [];
    for (const l of this.#leases.values()) {
      if (l.key === this.#held.key) continue;
      const bd = l.value.BackendData;
      let why: string | undefined;
      if (!within(s.pool, l.subnet)) why = `outside the pool ${s.pool}`;
      else if (l.value.PublicIP === this.#publicIp) why = "has this host's PublicIP (a stale lease of this host)";
      else if (bd.VNI !== s.vni) why = `uses VNI ${bd.VNI}, this host ${s.vni}`;
      else if (bd.Port !== s.port) why = `uses port ${bd.Port}, this host ${s.port}`;
      if (why) {
        const note = `${l.modRevision} ${why}`;
        if (this.#skipped.get(l.key) !== note) {
          this.#skipped.set(l.key, note);
          s.log(`peer ${l.subnet} (${l.value.PublicIP}) ${why}: skipped`);
        }
        continue;
      }
      this.#skipped.delete(l.key);
      out.push({ subnet: l.subnet, publicIp: l.value.PublicIP, vtepMac: bd.VtepMAC });
    }
    return out;
  }

  /** Asks for a reconcile (coalesced: one runs at a time, a kick during it runs one more). */
  #kick(): void {
    this.#dirty = true;
    if (this.#running || this.#stopped || this.#starting) return;
    this.#running = (async () => {
      while (this.#dirty && !this.#stopped) {
        this.#dirty = false;
        try {
          await this.#reconcile();
        } catch (err) {
          this.#s.log(`reconcile failed (will retry): ${(err as Error).message}`);
        }
      }
      this.#running = undefined;
    })();
  }

  async #reconcile(): Promise<void> {
    const s = this.#s;
    if (!(await deviceIntact(s.vxlan, this.#held.subnet))) {
      s.log(`${s.vxlan} lost its address or is gone: setting it up again`);
      await this.#setUpDevices();
    }
    const r = await reconcilePeers(s.vxlan, s.pool, this.#peers());
    if (r.added.length) s.log(`programmed ${r.added.join(", ")}`);
    if (r.changed.length) s.log(`re-programmed ${r.changed.join(", ")}`);
    if (r.removed.length) s.log(`removed ${r.removed.join(", ")}`);
  }

  #writeState(ready: boolean): void {
    const s = this.#s;
    writeRunState(s.runDir, {
      network: s.network,
      pool: s.pool,
      subnet: this.#held.subnet,
      mtu: this.#mtu,
      bridge: s.bridge,
      vxlan: s.vxlan,
      vni: s.vni,
      port: s.port,
      publicIp: this.#publicIp,
      pid: process.pid,
      ready,
    });
  }

  /**
   * Stops following the store; leaves the devices, the peers' objects and the lease as they are
   * (a restart within the lease's TTL finds everything in place). The run directory says "not ready".
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    this.#watch?.close();
    await this.#running;
    try {
      this.#writeState(false);
    } catch {
      // the run directory may be gone (--leave ran meanwhile)
    }
    await this.#store.close();
  }
}

/** What {@link leave} removed. */
export interface LeaveReport {
  subnet: string | undefined;
  devices: string[];
  stoppedPid: number | undefined;
}

/**
 * `--leave`: stops a running agent of this network (SIGTERM, by the pid in the run directory),
 * deletes this host's lease (peers remove their objects for it), removes the vxlan device and
 * the bridge (when no container is attached) and the run directory.
 *
 * @throws Error when the store cannot be reached.
 */
export async function leave(options: AgentOptions): Promise<LeaveReport> {
  const s = settingsOf(options);
  let state: RunState | undefined;
  try {
    state = readRunState(s.runDir);
  } catch {
    state = undefined;
  }
  let stoppedPid: number | undefined;
  if (state && state.pid !== process.pid && pidAlive(state.pid)) {
    process.kill(state.pid, "SIGTERM");
    for (let i = 0; i < 100 && pidAlive(state.pid); i++) await new Promise((r) => setTimeout(r, 50));
    stoppedPid = state.pid;
  }
  const { ip: publicIp } = await underlayOf(s.underlay).catch(() => ({ ip: state?.publicIp }));
  const store = await openStore(s.store);
  let subnet: string | undefined;
  try {
    const { leases } = await readLeases(store, s.network, s.log);
    for (const l of leases) {
      if (l.value.PublicIP !== publicIp) continue;
      if (l.lease) await store.revoke(l.lease);
      await store.delete(l.key);
      subnet = l.subnet;
    }
  } finally {
    await store.close();
  }
  const devices = await removeDevices(state?.vxlan ?? s.vxlan, state?.bridge ?? s.bridge);
  removeRunState(s.runDir);
  return { subnet, devices, stoppedPid };
}
