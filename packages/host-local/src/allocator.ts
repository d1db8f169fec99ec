/**
 * host-local's allocator: one IP per range set, round-robin from `last_reserved_ip.<idx>`,
 * requested IPs, duplicate refusal, release, CHECK and GC over a {@link HostLocalStore}, with
 * Go host-local's semantics and messages (`plugins/ipam/host-local/main.go`,
 * `backend/allocator/allocator.go`).
 *
 * @see https://www.cni.dev/plugins/current/ipam/host-local/
 */
import {
  type Attachment,
  CniError,
  CURRENT_VERSION,
  ErrorCode,
  formatCidr,
  formatIp,
  type IPConfig,
  type IpAddress,
  nextIp,
  type Result,
  sameIp,
  tryParseIp,
} from "@cnikit/spec";
import { type HostLocalConfig, type LoadHostLocalConfigOptions, loadHostLocalConfig } from "./config.js";
import { type FileLocker, HostLocalStore } from "./store.js";
import { parseResolvConf } from "./resolv-conf.js";
import { findRange, type IpamRange, type IpamRangeSet, rangeContains, rangeFor, rangeSetToString } from "./range.js";

function fail(msg: string): never {
  throw new CniError(ErrorCode.Internal, msg);
}

/**
 * Iterates a range set round-robin like Go's `RangeIter`: from just after the last reserved IP
 * (or from the first rangeStart), wrapping across ranges, skipping gateways, ending after one
 * full cycle.
 */
class RangeIterator {
  readonly #set: IpamRangeSet;
  #rangeIdx = 0;
  #cur: IpAddress | undefined;
  #start: IpAddress | undefined;

  constructor(set: IpamRangeSet, lastReserved: IpAddress | undefined) {
    this.#set = set;
    if (lastReserved) {
      const idx = set.findIndex((r) => rangeContains(r, lastReserved));
      if (idx >= 0) {
        this.#rangeIdx = idx;
        this.#cur = lastReserved;
        return;
      }
    }
    this.#start = (set[0] as IpamRange).rangeStart;
  }

  /** The next candidate (IP + its range), or undefined when the cycle is complete. */
  next(): { ip: IpAddress; range: IpamRange } | undefined {
    for (;;) {
      let r = this.#set[this.#rangeIdx] as IpamRange;
      if (this.#cur === undefined) {
        this.#cur = r.rangeStart;
        this.#start = this.#cur;
        if (sameIp(this.#cur, r.gateway)) continue;
        return { ip: this.#cur, range: r };
      }
      if (sameIp(this.#cur, r.rangeEnd)) {
        this.#rangeIdx = (this.#rangeIdx + 1) % this.#set.length;
        r = this.#set[this.#rangeIdx] as IpamRange;
        this.#cur = r.rangeStart;
      } else {
        this.#cur = nextIp(this.#cur);
      }
      if (this.#start === undefined) this.#start = this.#cur;
      else if (sameIp(this.#cur, this.#start)) return undefined;
      if (sameIp(this.#cur, r.gateway)) continue;
      return { ip: this.#cur, range: r };
    }
  }
}

/**
 * Allocates from the range sets of a {@link HostLocalConfig} into a {@link HostLocalStore}.
 * Every method takes the store's lock around its disk work, as Go's host-local does.
 *
 * @example
 * const config = loadHostLocalConfig(netconf, process.env.CNI_ARGS ?? "");
 * const store = await HostLocalStore.open(config.name, { dataDir: config.dataDir });
 * try {
 *   const result = await new HostLocalAllocator(config, store).allocate(containerId, ifName);
 * } finally {
 *   store.close();
 * }
 */
export class HostLocalAllocator {
  /** The loaded host-local settings (range sets, routes, requested IPs). */
  readonly config: HostLocalConfig;
  /** The lease store of the network; {@link close} closes it. */
  readonly store: HostLocalStore;

  constructor(config: HostLocalConfig, store: HostLocalStore) {
    this.config = config;
    this.store = store;
  }

  /**
   * Loads the host-local settings of a network config (see {@link loadHostLocalConfig}) and opens
   * its store. Call {@link close} when done.
   *
   * @throws CniError config errors (Go's texts) or a data dir that cannot be created.
   * @example
   * const alloc = await HostLocalAllocator.open(ctx.config, ctx.rawArgs);
   * try { return await alloc.allocate(ctx.containerId, ctx.ifName); } finally { alloc.close(); }
   */
  static async open(
    netconf: unknown,
    envArgs = "",
    options: LoadHostLocalConfigOptions & { locker?: FileLocker | undefined } = {},
  ): Promise<HostLocalAllocator> {
    const config = loadHostLocalConfig(netconf, envArgs, options);
    const store = await HostLocalStore.open(config.name, { dataDir: config.dataDir, locker: options.locker });
    return new HostLocalAllocator(config, store);
  }

  /**
   * Closes the store (its lock file).
   *
   * @example
   * try { await alloc.release(ctx.containerId, ctx.ifName); } finally { alloc.close(); }
   */
  close(): void {
    this.store.close();
  }

  /**
   * Allocates one IP from range set `rangeIdx` (Go's `IPAllocator.Get`): the requested IP if
   * given, otherwise the next free one round-robin.
   *
   * @throws CniError `requested ip X is subnet's gateway`,
   * `requested IP address X is not available in range set a-b`,
   * `X has been allocated to ID, duplicate allocation is not allowed`,
   * `no IP addresses available in range set: a-b`.
   * @example const { address, gateway } = await allocator.allocateFromRangeSet(0, "ctr1", "eth0");
   */
  async allocateFromRangeSet(
    rangeIdx: number,
    containerId: string,
    ifName: string,
    requestedIp?: IpAddress,
  ): Promise<IPConfig> {
    const set = this.config.ranges[rangeIdx];
    if (!set) throw new CniError(ErrorCode.Internal, `no range set ${rangeIdx}`);
    const rangeId = String(rangeIdx);
    return this.store.withLock(() => {
      if (requestedIp) {
        const r = rangeFor(set, requestedIp);
        const text = formatIp(requestedIp);
        if (sameIp(requestedIp, r.gateway)) fail(`requested ip ${text} is subnet's gateway`);
        if (!this.store.reserve(containerId, ifName, text, rangeId)) {
          fail(`requested IP address ${text} is not available in range set ${rangeSetToString(set)}`);
        }
        return { address: formatCidr(requestedIp, r.prefix), gateway: formatIp(r.gateway) };
      }
      for (const held of this.store.getById(containerId, ifName)) {
        const ip = tryParseIp(held);
        if (ip && findRange(set, ip)) {
          fail(`${held} has been allocated to ${containerId}, duplicate allocation is not allowed`);
        }
      }
      const lastText = this.store.lastReservedIp(rangeId);
      const last = lastText === undefined ? undefined : tryParseIp(lastText.trim());
      const iter = new RangeIterator(set, last);
      for (let c = iter.next(); c; c = iter.next()) {
        const text = formatIp(c.ip);
        if (this.store.reserve(containerId, ifName, text, rangeId)) {
          return { address: formatCidr(c.ip, c.range.prefix), gateway: formatIp(c.range.gateway) };
        }
      }
      return fail(`no IP addresses available in range set: ${rangeSetToString(set)}`);
    });
  }

  /**
   * host-local ADD: one IP per range set (requested IPs go to the set containing them), the
   * routes of the config and the dns of `resolvConf`. On failure the IPs taken by this call are
   * released. The result is a 1.1.0 Result without interfaces.
   *
   * @throws CniError `failed to allocate for range N: <reason>`,
   * `failed to allocate all requested IPs: X`, resolv.conf errors.
   * @example const result = await allocator.allocate("ctr1", "eth0");
   */
  async allocate(containerId: string, ifName: string): Promise<Result> {
    const result: Result = { cniVersion: CURRENT_VERSION };
    if (this.config.resolvConf) {
      const dns = parseResolvConf(this.config.resolvConf);
      if (Object.keys(dns).length > 0) result.dns = dns;
    }
    // Go keys requested IPs by their text: the same IP asked for twice is one request.
    const requested = [...new Map(this.config.requestedIps.map((ip) => [formatIp(ip), ip])).values()];
    const ips: IPConfig[] = [];
    let allocated = 0;
    const rollback = async () => {
      for (let i = 0; i < allocated; i++) {
        try {
          await this.store.withLock(() => this.store.releaseById(containerId, ifName));
        } catch {
          /* best effort, as Go */
        }
      }
    };
    for (let idx = 0; idx < this.config.ranges.length; idx++) {
      const set = this.config.ranges[idx] as IpamRangeSet;
      const at = requested.findIndex((ip) => findRange(set, ip) !== undefined);
      const requestedIp = at >= 0 ? requested.splice(at, 1)[0] : undefined;
      try {
        ips.push(await this.allocateFromRangeSet(idx, containerId, ifName, requestedIp));
        allocated++;
      } catch (err) {
        await rollback();
        const reason = err instanceof CniError ? err.message : String(err);
        throw new CniError(ErrorCode.Internal, `failed to allocate for range ${idx}: ${reason}`, undefined, {
          cause: err,
        });
      }
    }
    if (requested.length > 0) {
      await rollback();
      fail(`failed to allocate all requested IPs: ${requested.map(formatIp).join(" ")}`);
    }
    result.ips = ips;
    if (this.config.routes) result.routes = this.config.routes.map((r) => ({ ...r }));
    return result;
  }

  /**
   * host-local DEL: releases the leases of (containerId, ifName) once per range set (Go's loop;
   * with more than one set this also clears old-format leases). A missing lease is not an error.
   * Returns the IPs released.
   *
   * @example await allocator.release("ctr1", "eth0") // ["10.1.0.5"]
   */
  async release(containerId: string, ifName: string): Promise<string[]> {
    const released: string[] = [];
    for (let i = 0; i < this.config.ranges.length; i++) {
      released.push(...(await this.store.withLock(() => this.store.releaseById(containerId, ifName))));
    }
    return released;
  }

  /**
   * host-local CHECK: passes when (containerId, ifName) holds any lease in this network.
   * @throws CniError `host-local: Failed to find address added by container <id>`.
   * @example await allocator.check(ctx.containerId, ctx.ifName);
   */
  async check(containerId: string, ifName: string): Promise<void> {
    const found = await this.store.withLock(() => this.store.findById(containerId, ifName));
    if (!found) fail(`host-local: Failed to find address added by container ${containerId}`);
  }

  /**
   * GC: releases every lease of this network not held by one of `validAttachments`. Returns the
   * IPs released.
   *
   * @example await allocator.gc(ctx.validAttachments) // ["10.1.0.9"] (leases of containers that are gone)
   */
  async gc(validAttachments: readonly Attachment[]): Promise<string[]> {
    return this.store.withLock(() => this.store.releaseStale(validAttachments));
  }
}

/** @internal re-exported for tests of the iteration order. */
export function iterateRangeSet(set: IpamRangeSet, lastReserved?: IpAddress): string[] {
  const iter = new RangeIterator(set, lastReserved);
  const out: string[] = [];
  for (let c = iter.next(); c; c = iter.next()) out.push(formatIp(c.ip));
  return out;
}
