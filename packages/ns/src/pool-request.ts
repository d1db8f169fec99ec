/**
 * One netlink request whose send and receive run on a libuv pool thread (koffi's async calls),
 * for requests the kernel is slow to answer: deleting a veth waits for RCU grace periods
 * (~20 ms), during which the event loop keeps running (a delegate child process is spawned or
 * serviced meanwhile) instead of being blocked in sendmsg(2).
 * @internal
 */
import { NetlinkError } from "./errors.js";
import { check, getSocketLibc } from "./libc.js";
import { errnoName, NLM_F_ACK, NLM_F_REQUEST } from "./netlink-socket.js";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_ROUTE = 0;
const NLMSG_ERROR = 2;
const HDR = 16;
const EIO = 5;

/** @internal Opens a NETLINK_ROUTE socket in the calling thread's netns (call it inside `Netns.run`). */
export function openRouteSocket(): number {
  return check(getSocketLibc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), "socket", "(netlink)");
}

function onPool(fn: { async: (...args: unknown[]) => void }, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, result: number) => (err ? reject(err) : resolve(Number(result))));
  });
}

/**
 * Sends one request (NLM_F_REQUEST | NLM_F_ACK | `flags`) on the socket `fd` (closed afterwards)
 * and resolves on the kernel's ack, like `RtnlSocket.request` without reply payloads.
 *
 * @throws {NetlinkError} with the kernel's errno when it refuses (EIO when the socket fails).
 * @internal
 */
export async function requestOnPoolThread(
  fd: number,
  type: number,
  flags: number,
  body: Buffer,
  what: string,
): Promise<void> {
  const c = getSocketLibc();
  try {
    const seq = 1;
    // off-heap memory (an ArrayBuffer of its own): the pool thread reads it while JS runs on
    const msg = Buffer.from(new ArrayBuffer(HDR + body.length));
    msg.writeUInt32LE(msg.length, 0);
    msg.writeUInt16LE(type, 4);
    msg.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK | flags, 6);
    msg.writeUInt32LE(seq, 8);
    body.copy(msg, HDR);
    if ((await onPool(c.send, fd, msg, msg.length, 0)) !== msg.length) throw new NetlinkError(what, EIO, "EIO");
    const buf = Buffer.from(new ArrayBuffer(8192));
    for (let failures = 0; ; ) {
      const n = await onPool(c.recv, fd, buf, buf.length, 0);
      if (n < 0) {
        if (++failures >= 3) throw new NetlinkError(what, EIO, "EIO");
        continue; // EINTR
      }
      for (let off = 0; off + HDR <= n; ) {
        const len = buf.readUInt32LE(off);
        if (len < HDR || off + len > n) break;
        if (buf.readUInt16LE(off + 4) === NLMSG_ERROR && buf.readUInt32LE(off + 8) === seq) {
          const errno = len >= HDR + 4 ? -buf.readInt32LE(off + HDR) : 0;
          if (errno === 0) return;
          throw new NetlinkError(what, errno, errnoName(errno));
        }
        off += (len + 3) & ~3;
      }
    }
  } finally {
    c.close(fd);
  }
}
