/**
 * SO_PEERCRED on an accepted unix socket, through koffi's libc `getsockopt` (Node does not
 * expose the peer's credentials).
 */
import { loadKoffi } from "@cnikit/native";

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

type Getsockopt = (fd: number, level: number, name: number, value: Buffer, len: number[]) => number;
let getsockopt: Getsockopt | undefined;

/** The credentials the kernel recorded when the peer connected. */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * Reads the peer's pid, uid and gid of the unix socket `fd` (SO_PEERCRED).
 *
 * @throws Error when getsockopt fails.
 */
export function peerCredentials(fd: number): PeerCredentials {
  if (getsockopt === undefined) {
    const koffi = loadKoffi();
    getsockopt = koffi
      .load("libc.so.6")
      .func("int getsockopt(int fd, int level, int name, _Out_ void *value, _Inout_ uint32_t *len)") as Getsockopt;
  }
  const value = Buffer.alloc(12);
  const len = [12];
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, value, len) !== 0) throw new Error("getsockopt(SO_PEERCRED) failed");
  return { pid: value.readInt32LE(0), uid: value.readUInt32LE(4), gid: value.readUInt32LE(8) };
}

/** The fd of a connected net.Socket (a libuv pipe handle's fd), or -1. */
export function socketFd(socket: unknown): number {
  const handle = (socket as { _handle?: { fd?: unknown } })._handle;
  return typeof handle?.fd === "number" ? handle.fd : -1;
}
