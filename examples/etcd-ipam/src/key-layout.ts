/**
 * etcd-ipam's keys, under the store URL's prefix, for one network:
 *
 * | Key | Value | Written by |
 * |---|---|---|
 * | `ipam/<network>/hosts/<node>` | `{"node":"n1"}`, bound to the host's lease (`hostTtl`) | every call of that host |
 * | `ipam/<network>/blocks/<block>` | `{"node":"n1"}`, `+"orphanedAt":<ms>` once marked | the CAS that claims it |
 * | `ipam/<network>/ips/<block>/<ip>` | `{"containerID":"c1","ifname":"eth0","node":"n1"}` | ADD (with the owner key) |
 * | `ipam/<network>/owners/<containerID>/<ifname>` | `{"ip":"10.200.0.5","block":"10.200.0.0-26"}` | ADD (with the ip key) |
 *
 * `<block>` is the block's CIDR with `-` for `/` (`10.200.0.64-26`, `fd00::40-122`).
 */
import { CniError, ErrorCode, type IpAddress, formatIp, tryParseIp } from "@cnikit/spec";

/** A block's record: its host and, once seen without a live host, when that was noticed. */
export interface BlockRecord {
  node: string;
  orphanedAt?: number | undefined;
}

/** An address's record: who holds it. */
export interface IpRecord {
  containerID: string;
  ifname: string;
  node: string;
}

/** An attachment's record: its address and block. */
export interface OwnerRecord {
  ip: string;
  block: string;
}

/** The key names of one network. */
export class KeyLayout {
  readonly base: string;
  constructor(
    network: string,
    /** The store's own prefix, only to name keys in error messages. */
    readonly storePrefix: string,
  ) {
    this.base = `ipam/${network}/`;
  }
  get hostsPrefix(): string {
    return `${this.base}hosts/`;
  }
  get blocksPrefix(): string {
    return `${this.base}blocks/`;
  }
  host(node: string): string {
    return `${this.hostsPrefix}${node}`;
  }
  block(id: string): string {
    return `${this.blocksPrefix}${id}`;
  }
  ipsOf(block: string): string {
    return `${this.base}ips/${block}/`;
  }
  ip(block: string, ip: string): string {
    return `${this.ipsOf(block)}${ip}`;
  }
  owner(containerId: string, ifName: string): string {
    return `${this.base}owners/${containerId}/${ifName}`;
  }
  /** The key as `etcdctl get` shows it. */
  fullKey(key: string): string {
    return `${this.storePrefix}${key}`;
  }
}

/** The block id of a block network: `10.200.0.64-26`. */
export function blockId(network: IpAddress, size: number): string {
  return `${formatIp(network)}-${size}`;
}

function bad(layout: KeyLayout, key: string, value: string, what: string): never {
  throw new CniError(
    ErrorCode.Internal,
    `etcd-ipam: the value of ${layout.fullKey(key)} is not ${what}; nothing was written (fix or delete the key)`,
    `value: ${value.slice(0, 200)}`,
  );
}

function parseObject(layout: KeyLayout, key: string, value: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    bad(layout, key, value, what);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(layout, key, value, what);
  return v as Record<string, unknown>;
}

/**
 * Reads a `blocks/` value.
 *
 * @throws {CniError} code 999 naming the key when it does not parse.
 */
export function parseBlockRecord(layout: KeyLayout, key: string, value: string): BlockRecord {
  const what = 'a block record {"node":...}';
  const o = parseObject(layout, key, value, what);
  if (typeof o.node !== "string" || o.node === "") bad(layout, key, value, what);
  if (o.orphanedAt !== undefined && typeof o.orphanedAt !== "number") bad(layout, key, value, what);
  return { node: o.node, orphanedAt: o.orphanedAt };
}

/**
 * Reads an `ips/` value.
 *
 * @throws {CniError} code 999 naming the key when it does not parse.
 */
export function parseIpRecord(layout: KeyLayout, key: string, value: string): IpRecord {
  const what = 'an address record {"containerID":...,"ifname":...,"node":...}';
  const o = parseObject(layout, key, value, what);
  if (typeof o.containerID !== "string" || typeof o.ifname !== "string" || typeof o.node !== "string")
    bad(layout, key, value, what);
  return { containerID: o.containerID, ifname: o.ifname, node: o.node };
}

/**
 * Reads an `owners/` value.
 *
 * @throws {CniError} code 999 naming the key when it does not parse.
 */
export function parseOwnerRecord(layout: KeyLayout, key: string, value: string): OwnerRecord {
  const what = 'an owner record {"ip":...,"block":...}';
  const o = parseObject(layout, key, value, what);
  if (typeof o.ip !== "string" || !tryParseIp(o.ip) || typeof o.block !== "string") bad(layout, key, value, what);
  return { ip: o.ip, block: o.block };
}
