/**
 * The agent's kernel state, all in-process netlink through @cnikit/ns in the netns the agent runs
 * in: the vxlan device, the host bridge, and per remote host exactly three objects (flannel's
 * vxlan backend):
 *
 *   neighbour  <remote subnet>.0 lladdr <remote VtepMAC> dev <vxlan> permanent
 *   FDB        <remote VtepMAC> dev <vxlan> dst <remote PublicIP> self permanent
 *   route      <remote subnet> via <remote subnet>.0 dev <vxlan> onlink
 *
 * @see https://github.com/flannel-io/flannel/blob/master/pkg/backend/vxlan/vxlan_network.go
 */
import { enableIpForward, type Link, Netns, randomMac } from "@cnikit/ns";
import { addressIn, within } from "./lease.js";

/** The overhead of VXLAN over IPv4: outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;

/** One remote host as the kernel must know it. */
export interface Peer {
  /** Its subnet, `10.244.2.0/24`. */
  subnet: string;
  /** Its underlay address. */
  publicIp: string;
  /** Its vxlan device's MAC. */
  vtepMac: string;
}

/** What {@link ensureDevices} sets up. */
export interface DeviceSpec {
  vxlan: string;
  bridge: string;
  vni: number;
  port: number;
  underlay: Link;
  publicIp: string;
  subnet: string;
  mtu: number;
  /** MAC for a vxlan device created now (a restarted host keeps its lease's). */
  mac: string | undefined;
}

const host = () => Netns.host();

/** True when an existing vxlan device is the one `spec` asks for. */
function vxlanMatches(link: Link, spec: DeviceSpec): boolean {
  const vx = link.vxlan;
  return (
    link.kind === "vxlan" &&
    vx !== undefined &&
    vx.id === spec.vni &&
    vx.local === spec.publicIp &&
    vx.dev === spec.underlay.index &&
    vx.port === spec.port &&
    !vx.learning
  );
}

/**
 * Creates (or keeps, when it matches) the vxlan device — created in this netns, so its UDP socket
 * is here — with `<subnet>.0/32`, and the bridge with `<subnet>.1/<len>`, both with `mtu`, up.
 * Turns IPv4 forwarding on. Answers the vxlan device's MAC.
 */
export async function ensureDevices(spec: DeviceSpec, log: (msg: string) => void): Promise<string> {
  const ns = host();
  let vx = await ns.findLink(spec.vxlan);
  if (vx && !vxlanMatches(vx, spec)) {
    log(`vxlan device ${spec.vxlan} has other settings (${JSON.stringify(vx.vxlan)}): re-creating it`);
    await ns.deleteLink(vx.index, { missingOk: true });
    vx = undefined;
  }
  if (!vx) {
    await ns.createVxlan({
      name: spec.vxlan,
      id: spec.vni,
      local: spec.publicIp,
      dev: spec.underlay.index,
      port: spec.port,
      learning: false,
      mtu: spec.mtu,
      mac: spec.mac ?? randomMac(),
    });
    vx = await ns.getLink(spec.vxlan);
  }
  if (vx.mtu !== spec.mtu) await ns.setMtu(vx.index, spec.mtu);
  await ensureOnlyAddress(vx.index, `${addressIn(spec.subnet, 0)}/32`);
  if (!vx.up) await ns.setLinkUp(vx.index);

  let br = await ns.findLink(spec.bridge);
  if (br && br.kind !== "bridge") throw new Error(`${spec.bridge} exists and is not a bridge (${br.kind ?? "device"})`);
  if (!br) {
    await ns.createBridge({ name: spec.bridge, mtu: spec.mtu, mac: randomMac(), up: true });
    br = await ns.getLink(spec.bridge);
  }
  if (br.mtu !== spec.mtu) await ns.setMtu(br.index, spec.mtu);
  const len = spec.subnet.split("/")[1];
  await ensureOnlyAddress(br.index, `${addressIn(spec.subnet, 1)}/${len}`);
  if (!br.up) await ns.setLinkUp(br.index);
  await enableIpForward([4]);
  return vx.mac;
}

/** Puts `cidr` on the link and removes any other IPv4 address (a previous subnet's). */
async function ensureOnlyAddress(index: number, cidr: string): Promise<void> {
  const ns = host();
  const addrs = await ns.listAddresses(index, { family: 4 });
  for (const a of addrs) if (a.cidr !== cidr) await ns.deleteAddress(index, a.cidr);
  if (!addrs.some((a) => a.cidr === cidr)) await ns.addAddress(index, cidr);
}

/** True when the vxlan device exists, is up and carries `<subnet>.0/32` (else a flush or a delete happened). */
export async function deviceIntact(vxlan: string, subnet: string): Promise<boolean> {
  const ns = host();
  const vx = await ns.findLink(vxlan);
  if (!vx?.up) return false;
  const want = `${addressIn(subnet, 0)}/32`;
  return (await ns.listAddresses(vx.index, { family: 4 })).some((a) => a.cidr === want);
}

/** What a reconcile changed (for the log and the tests). */
export interface ReconcileReport {
  added: string[];
  changed: string[];
  removed: string[];
}

/**
 * Makes the kernel hold exactly the three objects of every peer in `peers` and none of a peer
 * that is gone: reads the vxlan device's permanent neighbours, its FDB entries with a `dst` and
 * the routes through it inside `pool`, then adds/replaces what differs (neighbour, FDB, route,
 * in that order) and deletes what is left over (route, neighbour, FDB).
 */
export async function reconcilePeers(vxlan: string, pool: string, peers: readonly Peer[]): Promise<ReconcileReport> {
  const ns = host();
  const report: ReconcileReport = { added: [], changed: [], removed: [] };
  const vx = await ns.getLink(vxlan);
  const [neighs, fdb, routes] = await Promise.all([
    ns.listNeighbours({ link: vx.index, family: 4 }),
    ns.listFdbEntries({ link: vx.index }),
    ns.listRoutes({ family: 4, dev: vx.index }),
  ]);
  const neighByIp = new Map(neighs.filter((n) => n.state === "permanent").map((n) => [n.ip, n]));
  const fdbByMac = new Map<string, string[]>();
  for (const e of fdb) {
    if (!e.dst || !e.self) continue;
    fdbByMac.set(e.mac, [...(fdbByMac.get(e.mac) ?? []), e.dst]);
  }
  const routeByDst = new Map(routes.filter((r) => within(pool, r.dst) && r.gw).map((r) => [r.dst, r]));

  const wantedNeigh = new Set<string>();
  const wantedFdb = new Set<string>();
  const wantedRoute = new Set<string>();
  for (const p of peers) {
    const gw = addressIn(p.subnet, 0);
    wantedNeigh.add(gw);
    wantedFdb.add(p.vtepMac);
    wantedRoute.add(p.subnet);
    const n = neighByIp.get(gw);
    const dsts = fdbByMac.get(p.vtepMac);
    const r = routeByDst.get(p.subnet);
    const neighOk = n?.mac === p.vtepMac;
    const fdbOk = dsts?.length === 1 && dsts[0] === p.publicIp;
    const routeOk = r?.gw === gw;
    if (neighOk && fdbOk && routeOk) continue;
    if (!neighOk) await ns.replaceNeighbour({ link: vx.index, ip: gw, mac: p.vtepMac, state: "permanent" });
    if (!fdbOk) {
      for (const d of dsts ?? [])
        if (d !== p.publicIp) await ns.deleteFdbEntry({ link: vx.index, mac: p.vtepMac, dst: d }, { missingOk: true });
      await ns.replaceFdbEntry({ link: vx.index, mac: p.vtepMac, dst: p.publicIp, self: true, state: "permanent" });
    }
    if (!routeOk) await ns.replaceRoute({ dst: p.subnet, gw, dev: vx.index, onlink: true });
    (n || dsts || r ? report.changed : report.added).push(p.subnet);
  }

  const gone = new Set<string>();
  for (const [dst, r] of routeByDst) {
    if (wantedRoute.has(dst)) continue;
    await ns.deleteRoute({ dst, gw: r.gw, dev: vx.index }).catch(ignoreMissing);
    gone.add(`route ${dst}`);
  }
  for (const ip of neighByIp.keys()) {
    if (wantedNeigh.has(ip)) continue;
    await ns.deleteNeighbour({ link: vx.index, ip }, { missingOk: true });
    gone.add(`neighbour ${ip}`);
  }
  for (const [mac, dsts] of fdbByMac) {
    if (wantedFdb.has(mac)) continue;
    for (const dst of dsts) await ns.deleteFdbEntry({ link: vx.index, mac, dst }, { missingOk: true });
    gone.add(`fdb ${mac}`);
  }
  report.removed = [...gone];
  return report;
}

function ignoreMissing(err: unknown): void {
  const code = (err as { errnoCode?: string }).errnoCode;
  if (code === "ESRCH" || code === "ENOENT") return;
  throw err;
}

/** Removes the vxlan device (and with it its neighbours, FDB entries and routes), and the bridge when no port is left. */
export async function removeDevices(vxlan: string, bridge: string): Promise<string[]> {
  const ns = host();
  const removed: string[] = [];
  if (await ns.deleteLink(vxlan, { missingOk: true })) removed.push(vxlan);
  const br = await ns.findLink(bridge);
  if (br?.kind === "bridge") {
    const ports = (await ns.listLinks()).filter((l) => l.master === br.index);
    if (ports.length === 0 && (await ns.deleteLink(br.index, { missingOk: true }))) removed.push(bridge);
  }
  return removed;
}
