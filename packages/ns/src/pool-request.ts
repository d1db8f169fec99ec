/**
 * One netlink request whose send and receive run on a libuv pool thread (koffi's async calls),
 * for requests the kernel is slow to answer: deleting a veth waits for RCU grace periods
 * (~20 ms), during which the event loop keeps running (a delegate child process is spawned or
 * serviced meanwhile) instead of being blocked in sendmsg(2).
 * @internal
 */
import { NetlinkError } from "./errors.js";
import { checkSyscall, getSocketLibc } from "@cnikit/native";
import { encodeRequest, NLM_F_ACK, NLM_F_REQUEST, routeSocketFd, scanAnswer } from "./netlink-socket.js";

const EIO = 5;

/** @internal Opens a NETLINK_ROUTE socket in the calling thread's netns (call it inside `Netns.run`). */
export function openRouteSocket(): number {
  return checkSyscall(routeSocketFd(), "socket", "(netlink)");
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
    // memory of its own: the pool thread reads it while JS runs on
    const msg = encodeRequest(type, NLM_F_REQUEST | NLM_F_ACK | flags, seq, body);
    if ((await onPool(c.send, fd, msg, msg.length, 0)) !== msg.length) throw new NetlinkError(what, EIO, "EIO");
    const buf = Buffer.from(new ArrayBuffer(8192));
    for (let failures = 0; ; ) {
      const n = await onPool(c.recv, fd, buf, buf.length, 0);
      if (n < 0) {
        if (++failures >= 3) throw new NetlinkError(what, EIO, "EIO");
        continue; // EINTR
      }
      if (scanAnswer(buf, n, seq, what).done) return;
    }
  } finally {
    c.close(fd);
  }
}
