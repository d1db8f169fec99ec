/**
 * A NETLINK_ROUTE socket on netlink's native binding, with request/ack and dump handling.
 * The socket is bound to the netns of the thread that creates it (the constructor calls
 * socket(2) synchronously), so {@link Netns} creates it inside its setns window.
 * @internal
 */
import { constants as osConstants } from "node:os";
import { NetlinkError } from "./errors.js";
import { loadNetlinkBinding, type NativeNetlinkSocket } from "./native.js";

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;

const NLMSG_NOOP = 1;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSG_OVERRUN = 4;
const NETLINK_ROUTE = 0;
const HDR = 16;

/** errno number → symbolic name. */
export function errnoName(errno: number): string {
  for (const [k, v] of Object.entries(osConstants.errno)) if (v === errno) return k;
  return `errno ${errno}`;
}

interface Pending {
  dump: boolean;
  what: string;
  msgs: Buffer[];
  intr: boolean;
  resolve: (v: { msgs: Buffer[]; intr: boolean }) => void;
  reject: (e: Error) => void;
}

/**
 * A NETLINK_ROUTE socket bound to one network namespace: the transport under every link,
 * address and route method of {@link Netns}. Plugins normally never use it directly;
 * it is exported as a type so the {@link Netns} API it appears in is fully documented.
 *
 * @example
 * // Netns creates one lazily, inside its namespace, and closes it in close():
 * const links = await ns.listLinks(); // an RTM_GETLINK dump on the namespace's RtnlSocket
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
export class RtnlSocket {
  private native: NativeNetlinkSocket | undefined;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private pending = new Map<number, Pending>();

  /** Opens a socket in the calling thread's current netns (synchronous). */
  constructor() {
    const { NativeNetlink } = loadNetlinkBinding();
    const native = new NativeNetlink(
      NETLINK_ROUTE,
      0,
      (msg) => this.onMessage(msg),
      (err) => this.onError(err),
    );
    try {
      native.bind(0, 0);
      native.unref();
    } catch (err) {
      native.close();
      throw err;
    }
    this.native = native;
  }

  /**
   * Sends a request with NLM_F_ACK and resolves with any reply payloads once acked.
   *
   * @example await sock.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, "create veth eth0");
   * @throws {NetlinkError} when the kernel answers with an error (its errno and `what`).
   */
  async request(type: number, flags: number, body: Buffer, what: string): Promise<Buffer[]> {
    return (await this.send(type, NLM_F_REQUEST | NLM_F_ACK | flags, body, what, false)).msgs;
  }

  /**
   * Dumps (NLM_F_DUMP) and returns each reply's payload; retries up to 5 times when interrupted.
   *
   * @example const payloads = await sock.dump(RTM_GETLINK, ifinfomsg, "list links");
   * @throws {NetlinkError} when the kernel answers with an error.
   */
  async dump(type: number, body: Buffer, what: string): Promise<Buffer[]> {
    let last: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await this.send(type, NLM_F_REQUEST | NLM_F_DUMP, body, what, true);
      if (!r.intr) return r.msgs;
      last = r.msgs;
    }
    return last;
  }

  /**
   * Closes the socket; pending requests are rejected. Safe to call twice.
   *
   * @example sock.close();
   */
  close(): void {
    const n = this.native;
    if (!n) return;
    this.native = undefined;
    n.close();
    for (const p of this.pending.values()) p.reject(new Error("netlink socket closed"));
    this.pending.clear();
  }

  /**
   * Whether `close()` was called.
   *
   * @example if (sock.closed) sock = new RtnlSocket();
   */
  get closed(): boolean {
    return this.native === undefined;
  }

  private send(
    type: number,
    flags: number,
    body: Buffer,
    what: string,
    dump: boolean,
  ): Promise<{ msgs: Buffer[]; intr: boolean }> {
    const native = this.native;
    if (!native) return Promise.reject(new Error("netlink socket closed"));
    this.seq = (this.seq % 0x7fffffff) + 1;
    const seq = this.seq;
    const msg = Buffer.alloc(HDR + body.length);
    msg.writeUInt32LE(msg.length, 0);
    msg.writeUInt16LE(type, 4);
    msg.writeUInt16LE(flags, 6);
    msg.writeUInt32LE(seq, 8);
    msg.writeUInt32LE(0, 12);
    body.copy(msg, HDR);
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) native.ref();
      this.pending.set(seq, { dump, what, msgs: [], intr: false, resolve, reject });
      native.send(0, 0, msg, (err) => {
        if (err) this.finish(seq, err);
      });
    });
  }

  private finish(seq: number, err?: Error): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    if (this.pending.size === 0) this.native?.unref();
    if (err) p.reject(err);
    else p.resolve({ msgs: p.msgs, intr: p.intr });
  }

  private onMessage(buf: Buffer): void {
    let off = 0;
    while (off + HDR <= buf.length) {
      const len = buf.readUInt32LE(off);
      if (len < HDR || off + len > buf.length) break;
      const type = buf.readUInt16LE(off + 4);
      const flags = buf.readUInt16LE(off + 6);
      const seq = buf.readUInt32LE(off + 8);
      const payload = buf.subarray(off + HDR, off + len);
      off += (len + 3) & ~3;
      const p = this.pending.get(seq);
      if (!p) continue;
      if (flags & NLM_F_DUMP_INTR) p.intr = true;
      if (type === NLMSG_ERROR) {
        const errno = payload.length >= 4 ? -payload.readInt32LE(0) : 0;
        if (errno === 0) this.finish(seq);
        else this.finish(seq, new NetlinkError(p.what, errno, errnoName(errno)));
      } else if (type === NLMSG_DONE) {
        const errno = payload.length >= 4 ? -payload.readInt32LE(0) : 0;
        if (errno > 0) this.finish(seq, new NetlinkError(p.what, errno, errnoName(errno)));
        else this.finish(seq);
      } else if (type !== NLMSG_NOOP && type !== NLMSG_OVERRUN) {
        p.msgs.push(Buffer.from(payload));
      }
    }
  }

  private onError(err: Error): void {
    for (const seq of [...this.pending.keys()]) this.finish(seq, err);
  }
}
