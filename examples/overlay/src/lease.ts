/**
 * Subnet leases in the store, flannel's layout and value: one key per host under
 * `overlay/<network>/subnets/<a.b.c.d-len>`, value
 * `{"PublicIP":…,"BackendType":"vxlan","BackendData":{"VNI":…,"VtepMAC":…,"Port":…}}`, bound to a
 * store lease the agent renews.
 *
 * @see https://github.com/flannel-io/flannel/blob/master/Documentation/backends.md#vxlan
 */
import type { KeyValue, LeaseId, Store } from "@cnikit/store";

/** The value of a subnet lease (flannel's field names). */
export interface LeaseValue {
  PublicIP: string;
  BackendType: "vxlan";
  BackendData: { VNI: number; VtepMAC: string; Port: number };
}

/** One host's lease as read from the store. */
export interface SubnetLease {
  /** `10.244.3.0/24`. */
  subnet: string;
  value: LeaseValue;
  /** The store key (without the store's prefix). */
  key: string;
  /** The store lease the key is bound to. */
  lease: LeaseId | undefined;
  modRevision: number;
}

/** The prefix of every lease key of `network`. */
export function subnetsPrefix(network: string): string {
  return `overlay/${network}/subnets/`;
}

/** `10.244.3.0/24` → the key of its lease. */
export function subnetKey(network: string, subnet: string): string {
  return `${subnetsPrefix(network)}${subnet.replace("/", "-")}`;
}

/** Parses one key-value of the subnets prefix; undefined (and a reason) when it is not a lease. */
export function parseLease(network: string, kv: KeyValue): SubnetLease | string {
  const tail = kv.key.slice(subnetsPrefix(network).length);
  const m = /^(\d+\.\d+\.\d+\.\d+)-(\d+)$/.exec(tail);
  if (!m) return `${kv.key}: not a subnet key`;
  let v: unknown;
  try {
    v = JSON.parse(kv.value);
  } catch {
    return `${kv.key}: value is not JSON`;
  }
  const o = v as Partial<LeaseValue> | null;
  const bd = o?.BackendData;
  if (
    typeof o?.PublicIP !== "string" ||
    o.BackendType !== "vxlan" ||
    typeof bd?.VNI !== "number" ||
    typeof bd.VtepMAC !== "string" ||
    typeof bd.Port !== "number"
  ) {
    return `${kv.key}: not a vxlan lease (${kv.value.slice(0, 120)})`;
  }
  return {
    subnet: `${m[1]}/${m[2]}`,
    value: {
      PublicIP: o.PublicIP,
      BackendType: "vxlan",
      BackendData: { VNI: bd.VNI, VtepMAC: bd.VtepMAC, Port: bd.Port },
    },
    key: kv.key,
    lease: kv.lease,
    modRevision: kv.modRevision,
  };
}

/** IPv4 text → 32-bit number. */
export function ip4ToInt(ip: string): number {
  const p = ip.split(".").map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255))
    throw new Error(`invalid IPv4 address "${ip}"`);
  return (((p[0] as number) << 24) | ((p[1] as number) << 16) | ((p[2] as number) << 8) | (p[3] as number)) >>> 0;
}

/** 32-bit number → IPv4 text. */
export function intToIp4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Parses an IPv4 CIDR into its network number and prefix length. */
export function parseCidr4(cidr: string): { net: number; len: number } {
  const [ip, lenText] = cidr.split("/");
  const len = Number(lenText);
  if (!ip || !Number.isInteger(len) || len < 0 || len > 32) throw new Error(`invalid IPv4 CIDR "${cidr}"`);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { net: (ip4ToInt(ip) & mask) >>> 0, len };
}

/** The address `n` of a subnet: `at("10.244.3.0/24", 1)` = `10.244.3.1`. */
export function addressIn(subnet: string, n: number): string {
  return intToIp4(parseCidr4(subnet).net + n);
}

/** True when `inner` (CIDR or address) lies within `outer`. */
export function within(outer: string, inner: string): boolean {
  const o = parseCidr4(outer);
  const i = inner.includes("/") ? parseCidr4(inner) : { net: ip4ToInt(inner), len: 32 };
  if (i.len < o.len) return false;
  const mask = o.len === 0 ? 0 : (0xffffffff << (32 - o.len)) >>> 0;
  return (i.net & mask) >>> 0 === o.net;
}

/** Every subnet of length `subnetLen` in `pool` except the first (it holds the pool's own address), like flannel's SubnetMin. */
export function candidateSubnets(pool: string, subnetLen: number): string[] {
  const { net, len } = parseCidr4(pool);
  if (subnetLen < len || subnetLen > 30) throw new Error(`--subnet-len ${subnetLen} must be between ${len} and 30`);
  const count = 2 ** (subnetLen - len);
  const size = 2 ** (32 - subnetLen);
  const out: string[] = [];
  for (let i = count > 1 ? 1 : 0; i < count; i++) out.push(`${intToIp4(net + i * size)}/${subnetLen}`);
  return out;
}

/** Reads every lease of `network` (all pages) and the revision they were read at. */
export async function readLeases(
  store: Store,
  network: string,
  onBad: (why: string) => void,
): Promise<{ leases: SubnetLease[]; revision: number }> {
  const prefix = subnetsPrefix(network);
  const leases: SubnetLease[] = [];
  let page = await store.range(prefix, { limit: 500 });
  const revision = page.revision;
  for (;;) {
    for (const kv of page.kvs) {
      const l = parseLease(network, kv);
      if (typeof l === "string") onBad(l);
      else leases.push(l);
    }
    if (!page.more) break;
    page = await store.range(prefix, { limit: 500, after: page.kvs.at(-1)?.key as string });
  }
  return { leases, revision };
}

/** What {@link acquireLease} needs. */
export interface AcquireOptions {
  store: Store;
  network: string;
  pool: string;
  subnetLen: number;
  publicIp: string;
  ttlSeconds: number;
  /** The value to write; VtepMAC may be "" when not known yet (written again once the device exists). */
  value: LeaseValue;
  /** The subnet this host held before (from its run directory), tried first when free. */
  previous?: string | undefined;
  log: (msg: string) => void;
}

/** A lease held by this host. */
export interface HeldLease {
  subnet: string;
  key: string;
  lease: LeaseId;
  /** The VtepMAC the store held for this host before, if it reused its own lease. */
  previousMac: string | undefined;
}

/**
 * Takes a subnet: this host's own lease when one exists for its PublicIP (after a restart), else
 * the subnet it held before when still free, else a free one (random start, one CAS each).
 *
 * @throws Error when the pool has no free subnet.
 */
export async function acquireLease(o: AcquireOptions): Promise<HeldLease> {
  const lease = await o.store.grant(o.ttlSeconds);
  const text = JSON.stringify(o.value);
  for (let attempt = 0; attempt < 100; attempt++) {
    const { leases } = await readLeases(o.store, o.network, o.log);
    const mine = leases.find((l) => l.value.PublicIP === o.publicIp && within(o.pool, l.subnet));
    if (mine) {
      // re-bind our key to the new lease, only if nobody changed it meanwhile
      const r = await o.store.txn({
        compare: [{ key: mine.key, target: "mod", op: "==", value: mine.modRevision }],
        success: [{ type: "put", key: mine.key, value: text, lease }],
      });
      if (!r.succeeded) continue;
      if (mine.lease && mine.lease !== lease) await o.store.revoke(mine.lease).catch(() => {});
      return { subnet: mine.subnet, key: mine.key, lease, previousMac: mine.value.BackendData.VtepMAC || undefined };
    }
    const taken = new Set(leases.map((l) => l.subnet));
    const all = candidateSubnets(o.pool, o.subnetLen);
    const free = all.filter((s) => !taken.has(s));
    if (free.length === 0) throw new Error(`no free /${o.subnetLen} subnet left in ${o.pool}`);
    const pick =
      o.previous && free.includes(o.previous) ? o.previous : (free[Math.floor(Math.random() * free.length)] as string);
    const key = subnetKey(o.network, pick);
    const r = await o.store.txn({
      compare: [{ key, target: "create", op: "==", value: 0 }],
      success: [{ type: "put", key, value: text, lease }],
    });
    if (r.succeeded) return { subnet: pick, key, lease, previousMac: undefined };
  }
  throw new Error("lost the race for a subnet 100 times");
}
