/**
 * The allocator: Calico-style host-affine blocks over @cnikit/store.
 *
 * - A host claims a free block with one CAS (`blocks/<block>` created only if absent). Free
 *   blocks are found from the `blocks/` range (blocks are few), never from the addresses.
 * - An allocation is one transaction creating `ips/<block>/<ip>` and `owners/<cid>/<ifname>`,
 *   both compared absent and the block compared unchanged. The owner key makes a retried ADD
 *   return the same address, and makes a second allocation for one attachment impossible: a
 *   write whose outcome is unknown is settled by reading the owner key again.
 * - Every call renews the host's lease (`hosts/<node>`, TTL `hostTtl`), unless it was renewed less
 *   than a tenth of the TTL ago (renewal-memo.ts: one-shot calls remember it in `runDir`). When the pool has no free
 *   block, blocks of hosts without a live lease are marked (`orphanedAt`) and, `gracePeriod`
 *   later, taken over with their stale allocations dropped, in one transaction.
 */
import {
  CniError,
  ErrorCode,
  type IpAddress,
  type Attachment,
  formatIp,
  lastAddress,
  type Result,
  tryParseIp,
} from "@cnikit/spec";
import {
  type KeyValue,
  LeaseNotFoundError,
  type Store,
  StoreAuthError,
  StoreConfigError,
  StoreError,
  StoreTimeoutError,
  StoreUnavailableError,
  type TxnOp,
  type TxnOpResult,
} from "@cnikit/store";
import type { EtcdIpamConfig } from "./config.js";
import {
  type BlockRecord,
  type IpRecord,
  KeyLayout,
  type OwnerRecord,
  blockId,
  parseBlockRecord,
  parseIpRecord,
  parseOwnerRecord,
} from "./key-layout.js";
import { RenewalMemo } from "./renewal-memo.js";

/** How many times one ADD re-reads and tries again after losing a race. */
const MAX_ATTEMPTS = 64;

/** One block as read from the store. */
interface Block {
  id: string;
  index: bigint;
  network: IpAddress;
  record: BlockRecord;
  kv: KeyValue;
}

/** What one read transaction tells an ADD. */
interface Snapshot {
  owner: KeyValue | undefined;
  host: KeyValue | undefined;
  blocks: Block[];
  /** The addresses of this host's home block (where its first claim lands), read in the same transaction. */
  home: { id: string; kvs: KeyValue[] } | undefined;
}

/**
 * Turns store errors into CNI errors: unreachable or timed out → code 11 (try again later),
 * refused credentials or a bad URL → code 7; CniErrors pass through.
 *
 * @example throw storeFailure(err, "ADD");
 */
export function storeFailure(err: unknown, what: string): unknown {
  if (err instanceof CniError) return err;
  if (err instanceof StoreUnavailableError || err instanceof StoreTimeoutError)
    return new CniError(ErrorCode.TryAgainLater, `etcd-ipam: ${what}: the store cannot be reached, try again later`, err.message, {
      cause: err,
    });
  if (err instanceof StoreAuthError || err instanceof StoreConfigError)
    return new CniError(ErrorCode.InvalidNetworkConfig, `etcd-ipam: ${what}: ${err.message}`, undefined, { cause: err });
  if (err instanceof StoreError)
    return new CniError(ErrorCode.Internal, `etcd-ipam: ${what}: ${err.message}`, undefined, { cause: err });
  return err;
}

function outcomeUnknown(err: unknown): boolean {
  return (err instanceof StoreUnavailableError || err instanceof StoreTimeoutError) && err.outcomeUnknown;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A small string hash (FNV-1a), to spread hosts over the pool and containers over a block. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The allocator of one network on one host. */
export class BlockAllocator {
  readonly keys: KeyLayout;
  private readonly blockCount: bigint;
  private readonly blockAddrs: bigint;
  private readonly renewals: RenewalMemo;
  /** This host's home block (where its first claim lands, hashed from `nodeName`): index, network, id. */
  private readonly home: { index: bigint; network: IpAddress; id: string };
  /** This host's block record as stored (`{"node":...}`), compared by the one-transaction ADD. */
  private readonly ownBlockValue: string;

  constructor(
    readonly store: Store,
    readonly config: EtcdIpamConfig,
    storePrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.keys = new KeyLayout(config.network, storePrefix);
    this.blockCount = 1n << BigInt(config.blockSize - config.subnet.prefix);
    this.blockAddrs = 1n << BigInt(config.subnet.maskBits - config.blockSize);
    this.renewals = new RenewalMemo(`${store.url}\n${this.keys.host(config.nodeName)}`, config.runDir);
    const index = BigInt(hash(config.nodeName)) % this.blockCount;
    const network = this.blockNetwork(index);
    this.home = { index, network, id: blockId(network, config.blockSize) };
    this.ownBlockValue = JSON.stringify({ node: config.nodeName } satisfies BlockRecord);
  }

  private blockNetwork(index: bigint): IpAddress {
    return { family: this.config.family, value: this.config.subnet.ip.value + index * this.blockAddrs };
  }

  private parseBlocks(kvs: KeyValue[]): Block[] {
    const byId = new Map<string, bigint>();
    const prefix = this.keys.blocksPrefix;
    // an id → index map only for the ids present (ids are canonical addresses, so compute from the text)
    const blocks: Block[] = [];
    for (const kv of kvs) {
      const record = parseBlockRecord(this.keys, kv.key, kv.value);
      const id = kv.key.slice(prefix.length);
      let index = byId.get(id);
      if (index === undefined) {
        index = this.indexFromId(id);
        if (index === undefined) continue; // a block of another pool under the same network name: not ours to use
        byId.set(id, index);
      }
      blocks.push({ id, index, network: this.blockNetwork(index), record, kv });
    }
    return blocks.sort((a, b) => (a.index < b.index ? -1 : a.index > b.index ? 1 : 0));
  }

  private indexFromId(id: string): bigint | undefined {
    const dash = id.lastIndexOf("-");
    if (dash < 0 || id.slice(dash + 1) !== String(this.config.blockSize)) return undefined;
    const first = this.config.subnet.ip.value;
    const net = parseAddress(id.slice(0, dash), this.config.family);
    if (net === undefined || net < first) return undefined;
    const offset = (net - first) / this.blockAddrs;
    if ((net - first) % this.blockAddrs !== 0n || offset >= this.blockCount) return undefined;
    return offset;
  }

  /**
   * The read of an ADD, as transaction operations: the attachment's owner key, this host's key,
   * every block, and the addresses of this host's home block (usually the host's only block, so
   * the common ADD needs no second read: a range of at most one block's addresses, never of the
   * pool's).
   */
  private snapshotOps(containerId: string, ifName: string): TxnOp[] {
    return [
      { type: "get", key: this.keys.owner(containerId, ifName) },
      { type: "get", key: this.keys.host(this.config.nodeName) },
      { type: "range", prefix: this.keys.blocksPrefix },
      { type: "range", prefix: this.keys.ipsOf(this.home.id) },
    ];
  }

  private async parseSnapshot(results: TxnOpResult[]): Promise<Snapshot> {
    const [owner, host, blocks, home] = results;
    let blockKvs = blocks?.type === "range" ? blocks.kvs : [];
    if (blocks?.type === "range" && blocks.more) blockKvs = await this.rangeAll(this.keys.blocksPrefix);
    return {
      owner: owner?.type === "get" ? owner.kvs[0] : undefined,
      host: host?.type === "get" ? host.kvs[0] : undefined,
      blocks: this.parseBlocks(blockKvs),
      home: home?.type === "range" && !home.more ? { id: this.home.id, kvs: home.kvs } : undefined,
    };
  }

  /** One read: the attachment's owner key, this host's key, every block, the home block's addresses. */
  private async snapshot(containerId: string, ifName: string): Promise<Snapshot> {
    const r = await this.store.txn({ success: this.snapshotOps(containerId, ifName) });
    return this.parseSnapshot(r.results);
  }

  /**
   * The common ADD in one round trip: claim a guessed address of the home block (picked by a hash
   * of the attachment) if the block is this host's (its value compared, no read needed), the
   * address is free and the attachment has none; otherwise the same transaction answers the
   * snapshot the full path needs. Undefined when the home block has no usable address.
   */
  private async claimGuess(
    containerId: string,
    ifName: string,
  ): Promise<{ ip: string; host: KeyValue | undefined } | { snapshot: Snapshot } | undefined> {
    const network = this.home.network;
    const size = this.blockAddrs;
    const start = BigInt(hash(`${containerId}/${ifName}`)) % size;
    let guess: string | undefined;
    for (let i = 0n; i < size && guess === undefined; i++) {
      const v = network.value + ((start + i) % size);
      if (!this.isExcluded(v)) guess = formatIp({ family: this.config.family, value: v });
    }
    if (guess === undefined) return undefined;
    const homeId = this.home.id;
    const ipKey = this.keys.ip(homeId, guess);
    const ownerKey = this.keys.owner(containerId, ifName);
    const ipRecord: IpRecord = { containerID: containerId, ifname: ifName, node: this.config.nodeName };
    const ownerRecord: OwnerRecord = { ip: guess, block: homeId };
    try {
      const pending = this.store.txn({
        compare: [
          { key: ipKey, target: "create", op: "==", value: 0 },
          { key: ownerKey, target: "create", op: "==", value: 0 },
          { key: this.keys.block(homeId), target: "value", op: "==", value: this.ownBlockValue },
        ],
        success: [
          { type: "put", key: ipKey, value: JSON.stringify(ipRecord) },
          { type: "put", key: ownerKey, value: JSON.stringify(ownerRecord) },
          { type: "get", key: this.keys.host(this.config.nodeName) },
        ],
        failure: this.snapshotOps(containerId, ifName),
      });
      this.renewals.prefetch(); // while the request is on its way (a one-shot call reads runDir)
      const r = await pending;
      if (!r.succeeded) return { snapshot: await this.parseSnapshot(r.results) };
      const host = r.results[2]?.type === "get" ? r.results[2].kvs[0] : undefined;
      return { ip: guess, host };
    } catch (err) {
      if (!outcomeUnknown(err)) throw err;
      return undefined; // applied or not: the full path reads the owner key first
    }
  }

  private async rangeAll(prefix: string): Promise<KeyValue[]> {
    const out: KeyValue[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.store.range(prefix, after === undefined ? { limit: 500 } : { limit: 500, after });
      out.push(...page.kvs);
      if (!page.more || page.kvs.length === 0) return out;
      after = page.kvs.at(-1)?.key;
    }
  }

  /**
   * Renews this host's lease, or creates it (and the `hosts/<node>` key) when it is gone. A lease
   * renewed less than a tenth of its TTL ago (by this process, or by an earlier call that left its
   * memo in `runDir`) is not renewed again: the key was just read, so the lease is live.
   */
  async renewHost(host: KeyValue | undefined): Promise<void> {
    if (host?.lease) {
      if (this.renewals.fresh(host.lease, this.config.hostTtl, this.now())) return;
      try {
        const at = this.now();
        const ttl = await this.store.keepAlive(host.lease);
        this.renewals.record({ lease: host.lease, at, ttl });
        return;
      } catch (err) {
        if (!(err instanceof LeaseNotFoundError)) throw err;
      }
    }
    const key = this.keys.host(this.config.nodeName);
    const at = this.now();
    const lease = await this.store.grant(this.config.hostTtl);
    try {
      const r = await this.store.txn({
        compare: [host ? { key, target: "mod", op: "==", value: host.modRevision } : { key, target: "create", op: "==", value: 0 }],
        success: [{ type: "put", key, value: JSON.stringify({ node: this.config.nodeName }), lease }],
      });
      if (r.succeeded) this.renewals.record({ lease, at, ttl: this.config.hostTtl });
      else await this.store.revoke(lease); // another call of this host renewed it first
    } catch (err) {
      if (!outcomeUnknown(err)) throw err; // applied or not: the next call renews again
    }
  }

  private isExcluded(v: bigint): boolean {
    for (const r of this.config.excluded) if (v >= r.first && v <= r.last) return true;
    return false;
  }

  /** Free addresses of a block (up to `max`), given the ones in use. */
  private freeIn(block: Block, used: Set<string>, max: number): string[] {
    const free: string[] = [];
    const last = lastAddress(block.network, this.config.blockSize).value;
    for (let v = block.network.value; v <= last && free.length < max; v++) {
      if (this.isExcluded(v)) continue;
      const text = formatIp({ family: this.config.family, value: v });
      if (!used.has(text)) free.push(text);
    }
    return free;
  }

  private async usedIn(block: Block, snap?: Snapshot): Promise<Map<string, KeyValue>> {
    const prefix = this.keys.ipsOf(block.id);
    const kvs = snap?.home?.id === block.id ? snap.home.kvs : await this.rangeAll(prefix);
    return new Map(kvs.map((kv) => [kv.key.slice(prefix.length), kv]));
  }

  private result(ip: string): Result {
    const out: Result = {
      cniVersion: "1.1.0",
      ips: [
        {
          address: `${ip}/${this.config.subnet.prefix}`,
          ...(this.config.gateway ? { gateway: formatIp(this.config.gateway) } : {}),
        },
      ],
    };
    if (this.config.routes.length) out.routes = this.config.routes;
    return out;
  }

  /**
   * ADD: the attachment's address (the same one on a retried ADD).
   *
   * @throws {CniError} code 11 when the store cannot be reached, 999 when the pool is exhausted
   *   or a value does not parse (naming the key).
   */
  async allocate(containerId: string, ifName: string): Promise<Result> {
    const ownerKey = this.keys.owner(containerId, ifName);
    let renewal: Promise<unknown> | undefined;
    try {
      return await this.allocateLoop(containerId, ifName, ownerKey, (host) => {
        // renewed once per call, in parallel with the allocation (a failure to renew is not the
        // ADD's); a lease renewed lately costs not even a promise
        if (renewal === undefined && !(host?.lease && this.renewals.fresh(host.lease, this.config.hostTtl, this.now())))
          renewal = this.renewHost(host).catch((err: unknown) => err);
      });
    } finally {
      if (renewal) await renewal;
    }
  }

  private async allocateLoop(
    containerId: string,
    ifName: string,
    ownerKey: string,
    renew: (host: KeyValue | undefined) => void,
  ): Promise<Result> {
    const fast = await this.claimGuess(containerId, ifName);
    if (fast && "ip" in fast) {
      renew(fast.host);
      return this.result(fast.ip);
    }
    let first = fast?.snapshot;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(Math.random() * Math.min(20, 2 * attempt));
      const snap = first ?? (await this.snapshot(containerId, ifName));
      first = undefined;
      if (snap.owner) return this.result(parseOwnerRecord(this.keys, snap.owner.key, snap.owner.value).ip);
      const mine = snap.blocks.filter((b) => b.record.node === this.config.nodeName);
      renew(snap.host);
      // a block of ours marked by another host while our lease had lapsed: take the mark back
      const marked = mine.find((b) => b.record.orphanedAt !== undefined);
      if (marked) {
        await this.writeBlock(marked, { node: this.config.nodeName });
        continue;
      }
      let raced = false;
      for (const block of mine) {
        const used = await this.usedIn(block, snap);
        const free = this.freeIn(block, new Set(used.keys()), 256);
        if (free.length === 0) continue;
        const ip = free[(hash(`${containerId}/${ifName}`) + attempt) % free.length] as string;
        const outcome = await this.claimIp(block, ip, containerId, ifName);
        if (outcome.ip) return this.result(outcome.ip);
        raced = true;
        break;
      }
      if (raced) continue;
      // every block of ours is full: claim a free block
      const taken = new Set(snap.blocks.map((b) => b.index));
      const index = this.freeBlockIndex(taken);
      if (index !== undefined) {
        await this.claimBlock(index);
        continue;
      }
      if (await this.reclaimBlock(snap.blocks)) continue;
      throw new CniError(ErrorCode.Internal, `etcd-ipam: no free address in ${this.poolText()}: ${await this.exhaustedReason(snap.blocks)}`);
    }
    throw new CniError(
      ErrorCode.TryAgainLater,
      `etcd-ipam: ADD ${ownerKey}: lost the race for an address ${MAX_ATTEMPTS} times, try again later`,
    );
  }

  private poolText(): string {
    return `${formatIp(this.config.subnet.ip)}/${this.config.subnet.prefix}`;
  }

  /** One transaction: the address and the owner key, both absent, the block unchanged. */
  private async claimIp(block: Block, ip: string, containerId: string, ifName: string): Promise<{ ip?: string }> {
    const ipKey = this.keys.ip(block.id, ip);
    const ownerKey = this.keys.owner(containerId, ifName);
    const ipRecord: IpRecord = { containerID: containerId, ifname: ifName, node: this.config.nodeName };
    const ownerRecord: OwnerRecord = { ip, block: block.id };
    try {
      const r = await this.store.txn({
        compare: [
          { key: ipKey, target: "create", op: "==", value: 0 },
          { key: ownerKey, target: "create", op: "==", value: 0 },
          { key: this.keys.block(block.id), target: "mod", op: "==", value: block.kv.modRevision },
        ],
        success: [
          { type: "put", key: ipKey, value: JSON.stringify(ipRecord) },
          { type: "put", key: ownerKey, value: JSON.stringify(ownerRecord) },
        ],
        failure: [{ type: "get", key: ownerKey }],
      });
      if (r.succeeded) return { ip };
      const owner = r.results[0]?.type === "get" ? r.results[0].kvs[0] : undefined;
      return owner ? { ip: parseOwnerRecord(this.keys, owner.key, owner.value).ip } : {};
    } catch (err) {
      if (!outcomeUnknown(err)) throw err;
      // applied or not? The owner key says; no second address can be created for this
      // attachment either way (every allocation compares the owner key absent).
      const owner = await this.store.get(ownerKey);
      return owner ? { ip: parseOwnerRecord(this.keys, owner.key, owner.value).ip } : {};
    }
  }

  /** The first block index not in `taken`, starting at this host's hashed position. */
  private freeBlockIndex(taken: Set<bigint>): bigint | undefined {
    if (BigInt(taken.size) >= this.blockCount) return undefined;
    const start = this.home.index;
    // a free block is among the first taken.size + 1 candidates, unless whole blocks are excluded
    const tries = this.blockCount < BigInt(taken.size + 4096) ? this.blockCount : BigInt(taken.size + 4096);
    for (let i = 0n; i < tries; i++) {
      const index = (start + i) % this.blockCount;
      if (!taken.has(index) && this.hasUsable(index)) return index;
    }
    return undefined;
  }

  private hasUsable(index: bigint): boolean {
    const net = this.blockNetwork(index);
    const last = lastAddress(net, this.config.blockSize).value;
    for (let v = net.value; v <= last; v++) if (!this.isExcluded(v)) return true;
    return false;
  }

  private async claimBlock(index: bigint): Promise<void> {
    const key = this.keys.block(blockId(this.blockNetwork(index), this.config.blockSize));
    try {
      await this.store.txn({
        compare: [{ key, target: "create", op: "==", value: 0 }],
        success: [{ type: "put", key, value: JSON.stringify({ node: this.config.nodeName }) }],
      });
    } catch (err) {
      if (!outcomeUnknown(err)) throw err; // the next read shows whether it is ours
    }
  }

  private async writeBlock(block: Block, record: BlockRecord): Promise<boolean> {
    const key = this.keys.block(block.id);
    try {
      const r = await this.store.txn({
        compare: [{ key, target: "mod", op: "==", value: block.kv.modRevision }],
        success: [{ type: "put", key, value: JSON.stringify(record) }],
      });
      return r.succeeded;
    } catch (err) {
      if (!outcomeUnknown(err)) throw err;
      return false;
    }
  }

  private async liveHosts(): Promise<Set<string>> {
    const prefix = this.keys.hostsPrefix;
    return new Set((await this.rangeAll(prefix)).map((kv) => kv.key.slice(prefix.length)));
  }

  /**
   * The pool has no free block: marks blocks of hosts without a live lease, and takes over one
   * whose mark is older than `gracePeriod` (dropping its allocations). True when it changed
   * something worth reading again.
   */
  private async reclaimBlock(blocks: Block[]): Promise<boolean> {
    const live = await this.liveHosts();
    const now = this.now();
    let changed = false;
    for (const block of blocks) {
      const { node, orphanedAt } = block.record;
      if (node === this.config.nodeName || live.has(node)) continue;
      if (orphanedAt === undefined) {
        changed = (await this.writeBlock(block, { node, orphanedAt: now })) || changed;
        continue;
      }
      if (now - orphanedAt < this.config.gracePeriod * 1000) continue;
      const used = await this.usedIn(block);
      const drop: TxnOp[] = [{ type: "deletePrefix", prefix: this.keys.ipsOf(block.id) }];
      for (const [, kv] of used) {
        const rec = parseIpRecord(this.keys, kv.key, kv.value);
        drop.push({ type: "delete", key: this.keys.owner(rec.containerID, rec.ifname) });
      }
      try {
        const r = await this.store.txn({
          compare: [
            { key: this.keys.block(block.id), target: "mod", op: "==", value: block.kv.modRevision },
            { key: this.keys.host(node), target: "create", op: "==", value: 0 },
          ],
          success: [...drop, { type: "put", key: this.keys.block(block.id), value: JSON.stringify({ node: this.config.nodeName }) }],
        });
        if (r.succeeded) return true;
      } catch (err) {
        if (!outcomeUnknown(err)) throw err;
      }
      return true; // re-read either way
    }
    return false;
  }

  private async exhaustedReason(blocks: Block[]): Promise<string> {
    const live = await this.liveHosts();
    const dead = blocks.filter((b) => b.record.node !== this.config.nodeName && !live.has(b.record.node));
    const base = `every block is claimed (${blocks.length} of ${this.blockCount}) and this host's blocks are full`;
    return dead.length
      ? `${base}; ${dead.length} block(s) of hosts whose lease expired return to the pool ${this.config.gracePeriod} s after they were marked`
      : base;
  }

  /**
   * STATUS: throws code 50 when the store cannot be reached or the pool is exhausted for this
   * host (renews the host's lease on the way).
   *
   * @throws {CniError} code 50 with the reason.
   */
  async status(): Promise<void> {
    let reason: string | undefined;
    try {
      const snap = await this.snapshot("", "");
      await this.renewHost(snap.host);
      const mine = snap.blocks.filter((b) => b.record.node === this.config.nodeName);
      for (const block of mine) if (this.freeIn(block, new Set((await this.usedIn(block)).keys()), 1).length) return;
      if (this.freeBlockIndex(new Set(snap.blocks.map((b) => b.index))) !== undefined) return;
      const live = await this.liveHosts();
      const now = this.now();
      const reclaimable = snap.blocks.some(
        (b) =>
          b.record.node !== this.config.nodeName &&
          !live.has(b.record.node) &&
          b.record.orphanedAt !== undefined &&
          now - b.record.orphanedAt >= this.config.gracePeriod * 1000,
      );
      if (reclaimable) return;
      reason = `pool ${this.poolText()} is exhausted: ${await this.exhaustedReason(snap.blocks)}`;
    } catch (err) {
      if (err instanceof CniError) throw new CniError(ErrorCode.PluginNotAvailable, err.msg, err.details, { cause: err });
      throw new CniError(ErrorCode.PluginNotAvailable, "etcd-ipam: the store cannot be reached", (err as Error).message, {
        cause: err,
      });
    }
    throw new CniError(ErrorCode.PluginNotAvailable, `etcd-ipam: ${reason}`);
  }

  /**
   * DEL: compare-and-delete of the owner key and its address; a missing one is success. Usually
   * two round trips: read the owner key, then one transaction that deletes both keys if the owner
   * key is unchanged and the address key holds this attachment's record as this host wrote it
   * (a value comparison); otherwise that transaction's failure branch reads both keys and the
   * general compare-and-delete follows.
   *
   * @throws {CniError} code 11 when the store cannot be reached.
   */
  async release(containerId: string, ifName: string): Promise<void> {
    const ownerKey = this.keys.owner(containerId, ifName);
    const expected = JSON.stringify({ containerID: containerId, ifname: ifName, node: this.config.nodeName } satisfies IpRecord);
    let owner = await this.store.get(ownerKey);
    for (let attempt = 0; attempt < 8; attempt++) {
      if (!owner) return;
      const rec = parseOwnerRecord(this.keys, owner.key, owner.value);
      const ipKey = this.keys.ip(rec.block, rec.ip);
      const fast = await this.store.txn({
        compare: [
          { key: ownerKey, target: "mod", op: "==", value: owner.modRevision },
          { key: ipKey, target: "value", op: "==", value: expected },
        ],
        success: [
          { type: "delete", key: ownerKey },
          { type: "delete", key: ipKey },
        ],
        failure: [
          { type: "get", key: ownerKey },
          { type: "get", key: ipKey },
        ],
      });
      if (fast.succeeded) return;
      const now = fast.results[0]?.type === "get" ? fast.results[0].kvs[0] : undefined;
      const ipKv = fast.results[1]?.type === "get" ? fast.results[1].kvs[0] : undefined;
      if (!now) return;
      if (now.modRevision !== owner.modRevision) {
        owner = now;
        continue;
      }
      // the address key is missing, another host's record, or not this attachment's
      const ours =
        ipKv !== undefined &&
        (() => {
          const r = parseIpRecord(this.keys, ipKv.key, ipKv.value);
          return r.containerID === containerId && r.ifname === ifName;
        })();
      const r = await this.store.txn({
        compare: [
          { key: ownerKey, target: "mod", op: "==", value: owner.modRevision },
          ...(ours && ipKv ? [{ key: ipKey, target: "mod" as const, op: "==" as const, value: ipKv.modRevision }] : []),
        ],
        success: [{ type: "delete", key: ownerKey }, ...(ours ? [{ type: "delete" as const, key: ipKey }] : [])],
      });
      if (r.succeeded) return;
      owner = await this.store.get(ownerKey);
    }
    throw new CniError(ErrorCode.TryAgainLater, `etcd-ipam: DEL ${ownerKey}: the keys kept changing, try again later`);
  }

  /**
   * CHECK: the attachment holds an address and the address names it.
   *
   * @throws {CniError} code 999 when it does not.
   */
  async check(containerId: string, ifName: string): Promise<void> {
    const ownerKey = this.keys.owner(containerId, ifName);
    const owner = await this.store.get(ownerKey);
    if (!owner) throw new CniError(ErrorCode.Internal, `etcd-ipam: ${containerId}/${ifName} has no address (no ${this.keys.fullKey(ownerKey)})`);
    const rec = parseOwnerRecord(this.keys, owner.key, owner.value);
    const ipKey = this.keys.ip(rec.block, rec.ip);
    const ipKv = await this.store.get(ipKey);
    const back = ipKv && parseIpRecord(this.keys, ipKv.key, ipKv.value);
    if (!back || back.containerID !== containerId || back.ifname !== ifName)
      throw new CniError(ErrorCode.Internal, `etcd-ipam: ${rec.ip} is not held by ${containerId}/${ifName} (${this.keys.fullKey(ipKey)})`);
  }

  /**
   * GC: releases this host's allocations that are not in `valid`. Returns the released addresses.
   *
   * @throws {CniError} code 11 when the store cannot be reached.
   */
  async gc(valid: readonly Attachment[]): Promise<string[]> {
    const keep = new Set(valid.map((a) => `${a.containerID}/${a.ifname}`));
    const snap = await this.snapshot("", "");
    await this.renewHost(snap.host);
    const released: string[] = [];
    for (const block of snap.blocks.filter((b) => b.record.node === this.config.nodeName)) {
      for (const [ip, kv] of await this.usedIn(block)) {
        const rec = parseIpRecord(this.keys, kv.key, kv.value);
        if (keep.has(`${rec.containerID}/${rec.ifname}`)) continue;
        const ownerKey = this.keys.owner(rec.containerID, rec.ifname);
        // both keys in one transaction (the owner key only if it still names this address)
        const owner = await this.store.get(ownerKey);
        const named = owner !== undefined && parseOwnerRecord(this.keys, owner.key, owner.value).ip === ip;
        const r = await this.store.txn({
          compare: [
            { key: kv.key, target: "mod", op: "==", value: kv.modRevision },
            ...(named && owner ? [{ key: ownerKey, target: "mod" as const, op: "==" as const, value: owner.modRevision }] : []),
          ],
          success: [{ type: "delete", key: kv.key }, ...(named ? [{ type: "delete" as const, key: ownerKey }] : [])],
        });
        if (!r.succeeded) continue;
        released.push(ip);
      }
    }
    return released;
  }
}

function parseAddress(text: string, family: 4 | 6): bigint | undefined {
  const ip = tryParseIp(text);
  return ip && ip.family === family ? ip.value : undefined;
}
