/**
 * Typed errors thrown by @cnikit/ns. All are {@link CniError}s, so skel prints them as CNI
 * error JSON; each also has a static `isInstance` that works across bundled copies.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#error
 */
import { CniError, ErrorCode } from "@cnikit/spec";

function marked(value: unknown, marker: symbol): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
}

const NETNS_NOT_FOUND = Symbol.for("cnikit.NetnsNotFoundError");
const NOT_A_NETNS = Symbol.for("cnikit.NotANetnsError");
const LINK_NOT_FOUND = Symbol.for("cnikit.LinkNotFoundError");
const LINK_EXISTS = Symbol.for("cnikit.LinkExistsError");
const NETLINK = Symbol.for("cnikit.NetlinkError");
const NETNS_CLOSED = Symbol.for("cnikit.NetnsClosedError");

/**
 * The netns path does not exist (Go's `NSPathNotExistErr`). DEL treats it as success.
 *
 * @example
 * try { await Netns.open(path) } catch (e) { if (NetnsNotFoundError.isInstance(e)) return; throw e; }
 */
export class NetnsNotFoundError extends CniError {
  /** @internal marker so `isInstance` works across bundled copies of this class. */
  readonly [NETNS_NOT_FOUND] = true;
  /** The path that was opened. */
  readonly path: string;
  constructor(path: string, options?: { cause?: unknown }) {
    super(ErrorCode.InvalidNetns, `failed to open netns "${path}"`, "no such file or directory", options);
    this.name = "NetnsNotFoundError";
    this.path = path;
  }
  /**
   * True for this error from any copy of @cnikit/ns.
   *
   * @example if (NetnsNotFoundError.isInstance(err)) console.error(err.message);
   */
  static override isInstance(value: unknown): value is NetnsNotFoundError {
    return marked(value, NETNS_NOT_FOUND);
  }
}

/**
 * The path exists but is not a network namespace (Go's `NSPathNotNSErr`).
 *
 * @example
 * await Netns.open("/etc/hostname"); // throws NotANetnsError
 */
export class NotANetnsError extends CniError {
  /** @internal marker so `isInstance` works across bundled copies of this class. */
  readonly [NOT_A_NETNS] = true;
  /** The path that was opened. */
  readonly path: string;
  constructor(path: string, details = "unknown FS magic", options?: { cause?: unknown }) {
    super(ErrorCode.InvalidNetns, `"${path}" is not a valid netns`, details, options);
    this.name = "NotANetnsError";
    this.path = path;
  }
  /**
   * True for this error from any copy of @cnikit/ns.
   *
   * @example if (NotANetnsError.isInstance(err)) console.error(err.message);
   */
  static override isInstance(value: unknown): value is NotANetnsError {
    return marked(value, NOT_A_NETNS);
  }
}

/**
 * The handle was used after `close()` (Go: `"<path>" has already been closed`).
 *
 * @example
 * ns.close(); await ns.listLinks(); // throws NetnsClosedError
 */
export class NetnsClosedError extends CniError {
  /** @internal marker so `isInstance` works across bundled copies of this class. */
  readonly [NETNS_CLOSED] = true;
  constructor(path: string) {
    super(ErrorCode.Internal, `"${path}" has already been closed`);
    this.name = "NetnsClosedError";
  }
  /**
   * True for this error from any copy of @cnikit/ns.
   *
   * @example if (NetnsClosedError.isInstance(err)) console.error(err.message);
   */
  static override isInstance(value: unknown): value is NetnsClosedError {
    return marked(value, NETNS_CLOSED);
  }
}

/**
 * No link with that name or index exists in the netns (Go's `ErrLinkNotFound`).
 *
 * @example
 * await ns.deleteLink("eth0", { missingOk: true }); // never throws this
 */
export class LinkNotFoundError extends CniError {
  /** @internal marker so `isInstance` works across bundled copies of this class. */
  readonly [LINK_NOT_FOUND] = true;
  /** The name or index looked up. */
  readonly link: string | number;
  constructor(link: string | number, options?: { cause?: unknown }) {
    super(ErrorCode.Internal, `link not found`, `failed to find link ${JSON.stringify(link)}`, options);
    this.name = "LinkNotFoundError";
    this.link = link;
  }
  /**
   * True for this error from any copy of @cnikit/ns.
   *
   * @example if (LinkNotFoundError.isInstance(err)) console.error(err.message);
   */
  static override isInstance(value: unknown): value is LinkNotFoundError {
    return marked(value, LINK_NOT_FOUND);
  }
}

/**
 * A link with that name already exists (EEXIST on create or rename).
 *
 * @example
 * await ns.createBridge({ name: "cni0" }); // throws LinkExistsError the second time
 */
export class LinkExistsError extends CniError {
  /** @internal marker so `isInstance` works across bundled copies of this class. */
  readonly [LINK_EXISTS] = true;
  /** The conflicting name. */
  readonly link: string;
  constructor(link: string, msg = `link "${link}" already exists`, options?: { cause?: unknown }) {
    super(ErrorCode.Internal, msg, undefined, options);
    this.name = "LinkExistsError";
    this.link = link;
  }
  /**
   * True for this error from any copy of @cnikit/ns.
   *
   * @example if (LinkExistsError.isInstance(err)) console.error(err.message);
   */
  static override isInstance(value: unknown): value is LinkExistsError {
    return marked(value, LINK_EXISTS);
  }
}

/**
 * The kernel rejected a netlink request. `errno`/`errnoCode` say why (e.g. `EEXIST`, `ENETUNREACH`).
 *
 * @example
 * try { await ns.addRoute(r) } catch (e) { if (NetlinkError.isInstance(e) && e.errnoCode === "EEXIST") ... }
 */
export class NetlinkError extends CniError {
  /** @internal marker so `isInstance` works across bundled copies of this class. */
  readonly [NETLINK] = true;
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
  /**
   * True for this error from any copy of @cnikit/ns.
   *
   * @example if (NetlinkError.isInstance(err)) console.error(err.message);
   */
  static override isInstance(value: unknown): value is NetlinkError {
    return marked(value, NETLINK);
  }
}
