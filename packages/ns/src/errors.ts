/**
 * Typed errors thrown by @cnikit/ns. All are {@link CniError}s, so skel prints them as CNI
 * error JSON; each declares its own `errorKind`, so `instanceof` works across bundled copies.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#error
 */
import { CniError, ErrorCode } from "@cnikit/spec";

/**
 * The netns path does not exist (Go's `NSPathNotExistErr`). DEL treats it as success.
 *
 * @example
 * try { await Netns.open(path) } catch (e) { if (e instanceof NetnsNotFoundError) return; throw e; }
 */
export class NetnsNotFoundError extends CniError {
  /** `instanceof` matches this kind of error from any bundled copy (see `CniError.errorKind`). */
  static override readonly errorKind: string = "cnikit.ns.NetnsNotFoundError";
  /** The path that was opened. */
  readonly path: string;
  constructor(path: string, options?: { cause?: unknown }) {
    super(ErrorCode.InvalidNetns, `failed to open netns "${path}"`, "no such file or directory", options);
    this.name = "NetnsNotFoundError";
    this.path = path;
  }
}

/**
 * The path exists but is not a network namespace (Go's `NSPathNotNSErr`).
 *
 * @example
 * await Netns.open("/etc/hostname"); // throws NotANetnsError
 */
export class NotANetnsError extends CniError {
  /** `instanceof` matches this kind of error from any bundled copy (see `CniError.errorKind`). */
  static override readonly errorKind: string = "cnikit.ns.NotANetnsError";
  /** The path that was opened. */
  readonly path: string;
  constructor(path: string, details = "unknown FS magic", options?: { cause?: unknown }) {
    super(ErrorCode.InvalidNetns, `"${path}" is not a valid netns`, details, options);
    this.name = "NotANetnsError";
    this.path = path;
  }
}

/**
 * The handle was used after `close()` (Go: `"<path>" has already been closed`).
 *
 * @example
 * ns.close(); await ns.listLinks(); // throws NetnsClosedError
 */
export class NetnsClosedError extends CniError {
  /** `instanceof` matches this kind of error from any bundled copy (see `CniError.errorKind`). */
  static override readonly errorKind: string = "cnikit.ns.NetnsClosedError";
  constructor(path: string) {
    super(ErrorCode.Internal, `"${path}" has already been closed`);
    this.name = "NetnsClosedError";
  }
}

/**
 * No link with that name or index exists in the netns (Go's `ErrLinkNotFound`).
 *
 * @example
 * await ns.deleteLink("eth0", { missingOk: true }); // never throws this
 */
export class LinkNotFoundError extends CniError {
  /** `instanceof` matches this kind of error from any bundled copy (see `CniError.errorKind`). */
  static override readonly errorKind: string = "cnikit.ns.LinkNotFoundError";
  /** The name or index looked up. */
  readonly link: string | number;
  constructor(link: string | number, options?: { cause?: unknown }) {
    super(ErrorCode.Internal, `link not found`, `failed to find link ${JSON.stringify(link)}`, options);
    this.name = "LinkNotFoundError";
    this.link = link;
  }
}

/**
 * A link with that name already exists (EEXIST on create or rename).
 *
 * @example
 * await ns.createBridge({ name: "cni0" }); // throws LinkExistsError the second time
 */
export class LinkExistsError extends CniError {
  /** `instanceof` matches this kind of error from any bundled copy (see `CniError.errorKind`). */
  static override readonly errorKind: string = "cnikit.ns.LinkExistsError";
  /** The conflicting name. */
  readonly link: string;
  constructor(link: string, msg = `link "${link}" already exists`, options?: { cause?: unknown }) {
    super(ErrorCode.Internal, msg, undefined, options);
    this.name = "LinkExistsError";
    this.link = link;
  }
}

/**
 * The kernel rejected a netlink request. `errno`/`errnoCode` say why (e.g. `EEXIST`, `ENETUNREACH`).
 *
 * @example
 * try { await ns.addRoute(r) } catch (e) { if (e instanceof NetlinkError && e.errnoCode === "EEXIST") ... }
 */
export class NetlinkError extends CniError {
  /** `instanceof` matches this kind of error from any bundled copy (see `CniError.errorKind`). */
  static override readonly errorKind: string = "cnikit.ns.NetlinkError";
  /** Positive errno from the kernel. */
  readonly errno: number;
  /** Symbolic errno (`EEXIST`, ...). */
  readonly errnoCode: string;
  /** What we asked for, e.g. `add route 10.0.0.0/24`. */
  readonly operation: string;
  constructor(operation: string, errno: number, errnoCode: string, options?: { cause?: unknown }) {
    super(ErrorCode.Internal, `${operation}: ${errnoCode}`, undefined, options);
    this.name = "NetlinkError";
    this.errno = errno;
    this.errnoCode = errnoCode;
    this.operation = operation;
  }
}
