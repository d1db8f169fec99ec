/**
 * A NETLINK_ROUTE socket driven synchronously through libc (koffi), with request/ack and dump
 * handling. rtnetlink answers inside sendmsg(2) (the kernel runs the request in the caller's
 * context and queues the reply before returning), so a request is one send and one or a few
 * non-blocking receives: no event-loop round trip per request and no second native addon.
 * The socket is bound to the netns of the thread that creates it, so {@link Netns} creates it
 * inside its setns window.
 * @internal
 */
import { NetlinkError } from "./errors.js";
import { errnoName, errnoNumbers, getSocketLibc, lastErrno } from "@cnikit/native";

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
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
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const MSG_DONTWAIT = 0x40;
const MSG_TRUNC = 0x20;
const EINTR = errnoNumbers().EINTR as number;
const EAGAIN = errnoNumbers().EAGAIN as number;
const EMSGSIZE = errnoNumbers().EMSGSIZE as number;
/** Link and route messages without VF info are a few KB; the kernel sizes dump parts to ≤ 32 KB. */
const RECV_BYTES = 64 * 1024;
/** How long to wait for an answer the kernel did not queue at once (it always does). */
const RECV_TIMEOUT_MS = 10_000;
const POLLIN = 1;


/** @internal A NETLINK_ROUTE socket fd in the calling thread's netns (-1 and errno on failure). */
export function routeSocketFd(): number {
  return getSocketLibc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
}

/**
 * @internal One request message: header (`type`, `flags`, `seq`) and `body`, in memory of its own
 * (`Buffer.alloc` never uses the shared pool), so a pool thread may read it while JS runs on.
 */
export function encodeRequest(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const msg = Buffer.alloc(HDR + body.length);
  msg.writeUInt32LE(msg.length, 0);
  msg.writeUInt16LE(type, 4);
  msg.writeUInt16LE(flags, 6);
  msg.writeUInt32LE(seq, 8);
  body.copy(msg, HDR);
  return msg;
}

/**
 * @internal Reads the messages in `buf[0, n)` that answer request `seq`: their payloads go to
 * `payloads` (when given); `done` once the ack (NLMSG_ERROR 0) or NLMSG_DONE arrived, `intr` when
 * a dump part was interrupted.
 * @throws {NetlinkError} when the answer is an error (the kernel's errno and `what`).
 */
export function scanAnswer(
  buf: Buffer,
  n: number,
  seq: number,
  what: string,
  payloads?: Buffer[],
): { done: boolean; intr: boolean } {
  let intr = false;
  let off = 0;
  while (off + HDR <= n) {
    const len = buf.readUInt32LE(off);
    if (len < HDR || off + len > n) break;
    const type = buf.readUInt16LE(off + 4);
    const flags = buf.readUInt16LE(off + 6);
    const mseq = buf.readUInt32LE(off + 8);
    const payloadAt = off + HDR;
    off += (len + 3) & ~3;
    if (mseq !== seq) continue; // a late answer to an earlier, abandoned request
    if (flags & NLM_F_DUMP_INTR) intr = true;
    if (type === NLMSG_ERROR || type === NLMSG_DONE) {
      const errno = len - HDR >= 4 ? -buf.readInt32LE(payloadAt) : 0;
      if (errno > 0) throw new NetlinkError(what, errno, errnoName(errno));
      return { done: true, intr };
    }
    if (payloads && type !== NLMSG_NOOP && type !== NLMSG_OVERRUN) {
      payloads.push(Buffer.from(buf.subarray(payloadAt, payloadAt + len - HDR)));
    }
  }
  return { done: false, intr };
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
  private fd: number;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  /** One receive buffer per socket: replies are copied out of it. */
  private readonly rbuf = Buffer.allocUnsafe(RECV_BYTES);

  /** Opens a socket in the calling thread's current netns (synchronous). */
  constructor() {
    const fd = routeSocketFd();
    if (fd < 0) {
      const { errno, code } = lastErrno();
      throw new NetlinkError("open netlink socket", errno, code);
    }
    this.fd = fd;
  }

  /**
   * Sends a request with NLM_F_ACK and resolves with any reply payloads once acked.
   *
   * @example await sock.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, "create veth eth0");
   * @throws {NetlinkError} when the kernel answers with an error (its errno and `what`).
   */
  async request(type: number, flags: number, body: Buffer, what: string): Promise<Buffer[]> {
    return this.exchange(type, NLM_F_REQUEST | NLM_F_ACK | flags, body, what).msgs;
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
      const r = this.exchange(type, NLM_F_REQUEST | NLM_F_DUMP, body, what);
      if (!r.intr) return r.msgs;
      last = r.msgs;
    }
    return last;
  }

  /**
   * Closes the socket. Safe to call twice.
   *
   * @example sock.close();
   */
  close(): void {
    if (this.fd < 0) return;
    getSocketLibc().close(this.fd);
    this.fd = -1;
  }

  /**
   * Whether `close()` was called.
   *
   * @example if (sock.closed) sock = new RtnlSocket();
   */
  get closed(): boolean {
    return this.fd < 0;
  }

  /** One request and its whole answer (an ack, an error, or a dump up to NLMSG_DONE). */
  private exchange(type: number, flags: number, body: Buffer, what: string): { msgs: Buffer[]; intr: boolean } {
    if (this.fd < 0) throw new Error("netlink socket closed");
    const c = getSocketLibc();
    this.seq = (this.seq % 0x7fffffff) + 1;
    const seq = this.seq;
    const msg = encodeRequest(type, flags, seq, body);
    for (;;) {
      if (c.send(this.fd, msg, msg.length, 0) >= 0) break;
      const { errno, code } = lastErrno();
      if (errno !== EINTR) throw new NetlinkError(what, errno, code);
    }
    const msgs: Buffer[] = [];
    let intr = false;
    let waited = false;
    for (;;) {
      const n = c.recv(this.fd, this.rbuf, this.rbuf.length, MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        const { errno, code } = lastErrno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN && !waited) {
          // never seen for NETLINK_ROUTE (the reply is queued before send returns): wait, bounded
          const pfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
          pfd.writeInt32LE(this.fd, 0);
          pfd.writeInt16LE(POLLIN, 4);
          c.poll(pfd, 1, RECV_TIMEOUT_MS);
          waited = true;
          continue;
        }
        throw new NetlinkError(what, errno, errno === EAGAIN ? "ETIMEDOUT (no answer from the kernel)" : code);
      }
      waited = false;
      if (n > this.rbuf.length)
        throw new NetlinkError(what, EMSGSIZE, "EMSGSIZE (reply larger than the receive buffer)");
      const r = scanAnswer(this.rbuf, n, seq, what, msgs);
      if (r.intr) intr = true;
      if (r.done) return { msgs, intr };
    }
  }
}
