/**
 * sysctl names and /proc/sys access (Go's `pkg/utils/sysctl`).
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 * @internal
 */
import { fileOps } from "@cnikit/native";
import { CniError, ErrorCode } from "@cnikit/spec";

/**
 * Turns a sysctl name into its /proc/sys path. Like Go: when the first separator is a dot,
 * dots and slashes are swapped, so `net.ipv4.conf.eth0/100.rp_filter` keeps the VLAN name's
 * dot; a name whose first separator is a slash is used as is.
 *
 * @example
 * sysctlPath("net.ipv4.ip_forward") // "/proc/sys/net/ipv4/ip_forward"
 * sysctlPath("net/ipv4/conf/eth0.100/rp_filter") // "/proc/sys/net/ipv4/conf/eth0.100/rp_filter"
 * @throws {CniError} code 7 for an empty name or one that tries to escape /proc/sys.
 */
export function sysctlPath(name: string): string {
  let n = name.trim().replace(/^\/+/, "");
  const dot = n.indexOf(".");
  const slash = n.indexOf("/");
  if (dot !== -1 && (slash === -1 || dot < slash)) {
    n = n.replace(/[./]/g, (c) => (c === "." ? "/" : "."));
  }
  if (n === "" || n.split("/").some((p) => p === ".." || p === "." || p === "")) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, `invalid sysctl name "${name}"`);
  }
  return `/proc/sys/${n}`;
}

/** @internal reads an already opened sysctl fd and closes it. */
export function readFd(fd: number): string {
  try {
    const buf = Buffer.alloc(4096);
    let len = 0;
    for (;;) {
      const n = fileOps.readSync(fd, buf, len, buf.length - len, null);
      if (n <= 0) break;
      len += n;
      if (len === buf.length) break;
    }
    return buf.toString("utf8", 0, len).replace(/\n$/, "");
  } finally {
    fileOps.closeSync(fd);
  }
}

/** @internal writes to an already opened sysctl fd and closes it. */
export function writeFd(fd: number, value: string): void {
  try {
    fileOps.writeSync(fd, value);
  } finally {
    fileOps.closeSync(fd);
  }
}

/** @internal wraps an fs error for a sysctl. */
export function sysctlError(name: string, op: "read" | "write", err: unknown): CniError {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  return new CniError(ErrorCode.IoFailure, `failed to ${op} sysctl ${name}`, code || (err as Error).message, {
    cause: err,
  });
}
