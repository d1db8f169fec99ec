/**
 * Assertions on the links, addresses and routes of a namespace.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#check-check-containers-networking-is-as-expected
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { type NetnsRef, netnsLabel } from "./netns-ref.js";
import {
  type ObservedAddress,
  type ObservedLink,
  type ObservedRoute,
  findLink,
  listAddresses,
  listLinks,
  listRoutes,
  normalizeDst,
} from "./observe.js";

const NETWORK_ASSERTION_ERROR = Symbol.for("cnikit.testing.NetworkAssertionError");

/**
 * A failed network assertion. Named `AssertionError` with `expected`/`actual`, so
 * test runners (vitest, node:test) show it like their own assertion failures.
 *
 * @example
 * ```ts
 * await expect(expectLink(ns, "eth9")).rejects.toBeInstanceOf(NetworkAssertionError);
 * ```
 */
export class NetworkAssertionError extends Error {
  /** `"AssertionError"`, so test runners treat it as an assertion failure. */
  override name = "AssertionError";

  /**
   * True for a `NetworkAssertionError`, also one thrown by another bundled copy of this package.
   *
   * @example
   * ```ts
   * if (err instanceof NetworkAssertionError) console.error(err.expected, err.actual);
   * ```
   */
  static override [Symbol.hasInstance](value: unknown): value is NetworkAssertionError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[NETWORK_ASSERTION_ERROR] === true;
  }

  constructor(
    message: string,
    readonly expected?: unknown,
    readonly actual?: unknown,
  ) {
    super(message);
    Object.defineProperty(this, NETWORK_ASSERTION_ERROR, { value: true });
  }
}

/**
 * Link properties {@link expectLink} can check; unset ones are not checked.
 *
 * @example
 * ```ts
 * const hostEnd: LinkExpectation = { kind: "veth", up: true, master: bridgeName };
 * await expectLink(HOST_NETNS, hostIfName, hostEnd);
 * ```
 */
export interface LinkExpectation {
  up?: boolean | undefined;
  mtu?: number | undefined;
  /** Case-insensitive. */
  mac?: string | undefined;
  /** `veth`, `bridge`, ... */
  kind?: string | undefined;
  /** Name of the master (bridge); `null` = must have none. */
  master?: string | null | undefined;
}

/**
 * Asserts that a link exists in `ns` (and has the given properties); returns it.
 *
 * @throws {NetworkAssertionError} naming the links that do exist, or each property that differs.
 * @example
 * ```ts
 * await expectLink(ns, "eth0", { up: true, mtu: 1400 });
 * await expectLink(HOST_NETNS, bridge, { kind: "bridge" });
 * ```
 */
export async function expectLink(ns: NetnsRef, name: string, expected: LinkExpectation = {}): Promise<ObservedLink> {
  const link = await findLink(ns, name);
  if (!link) {
    const names = (await listLinks(ns)).map((l) => l.name);
    throw new NetworkAssertionError(
      `expected link "${name}" in netns ${netnsLabel(ns)}, but it has only: ${names.join(", ") || "(none)"}`,
      name,
      names,
    );
  }
  const diffs: string[] = [];
  if (expected.up !== undefined && link.up !== expected.up) diffs.push(`up: expected ${expected.up}, got ${link.up}`);
  if (expected.mtu !== undefined && link.mtu !== expected.mtu) diffs.push(`mtu: expected ${expected.mtu}, got ${link.mtu}`);
  if (expected.mac !== undefined && link.mac !== expected.mac.toLowerCase()) diffs.push(`mac: expected ${expected.mac}, got ${link.mac}`);
  if (expected.kind !== undefined && link.kind !== expected.kind) diffs.push(`kind: expected ${expected.kind}, got ${link.kind ?? "(none)"}`);
  if (expected.master !== undefined && (link.master ?? null) !== expected.master) {
    diffs.push(`master: expected ${expected.master ?? "(none)"}, got ${link.master ?? "(none)"}`);
  }
  if (diffs.length) {
    throw new NetworkAssertionError(`link "${name}" in netns ${netnsLabel(ns)}: ${diffs.join("; ")}`, expected, link);
  }
  return link;
}

/**
 * Asserts that no link of that name exists in `ns` (e.g. after DEL).
 *
 * @throws {NetworkAssertionError} when it does.
 * @example
 * ```ts
 * await expectNoLink(ns, "eth0");
 * ```
 */
export async function expectNoLink(ns: NetnsRef, name: string): Promise<void> {
  const link = await findLink(ns, name);
  if (link) throw new NetworkAssertionError(`expected no link "${name}" in netns ${netnsLabel(ns)}, but it exists (index ${link.index})`, undefined, link);
}

function matchesAddress(a: ObservedAddress, want: string): boolean {
  return want.includes("/") ? a.cidr === want : a.address === want;
}

/**
 * Asserts that `ifName` in `ns` has an address: `"10.1.0.2/24"` matches address and prefix,
 * `"10.1.0.2"` the address alone. Returns the match.
 *
 * @throws {NetworkAssertionError} listing the link's addresses.
 * @example
 * ```ts
 * await expectAddress(ns, "eth0", result.ips[0].address);
 * ```
 */
export async function expectAddress(ns: NetnsRef, ifName: string, address: string): Promise<ObservedAddress> {
  await expectLink(ns, ifName);
  const addrs = await listAddresses(ns, ifName);
  const found = addrs.find((a) => matchesAddress(a, address));
  if (!found) {
    const have = addrs.map((a) => a.cidr);
    throw new NetworkAssertionError(
      `expected address ${address} on "${ifName}" in netns ${netnsLabel(ns)}, but it has: ${have.join(", ") || "(none)"}`,
      address,
      have,
    );
  }
  return found;
}

/**
 * Asserts that no link in `ns` (or `ifName` only) has the address.
 *
 * @throws {NetworkAssertionError} when one does.
 * @example
 * ```ts
 * await expectNoAddress(ns, "10.1.0.2");
 * ```
 */
export async function expectNoAddress(ns: NetnsRef, address: string, ifName?: string): Promise<void> {
  const addrs = ifName && !(await findLink(ns, ifName)) ? [] : await listAddresses(ns, ifName);
  const found = addrs.find((a) => matchesAddress(a, address));
  if (found) throw new NetworkAssertionError(`expected no address ${address} in netns ${netnsLabel(ns)}, but found ${found.cidr}`, undefined, found);
}

/**
 * What {@link expectRoute} matches; unset fields are not compared.
 *
 * @example
 * ```ts
 * const defaultRoute: RouteExpectation = { dst: "default", gw: "10.1.0.1", dev: "eth0" };
 * await expectRoute(ns, defaultRoute);
 * // the subnet route the kernel adds with an address: on-link, no gateway
 * await expectRoute(ns, { dst: "10.1.0.0/24", dev: "eth0", gw: null, scope: "link" });
 * ```
 */
export interface RouteExpectation {
  /** `10.2.0.0/16`, `default`, `0.0.0.0/0`, `::/0`, or a bare address (host route). */
  dst: string;
  /** The gateway (`via`); `null` = must have none (an on-link route). */
  gw?: string | null | undefined;
  dev?: string | undefined;
  metric?: number | undefined;
  /** `global` (what iproute2 omits), `link`, `host`, ... */
  scope?: string | undefined;
  /** Routing table (default: main). */
  table?: string | undefined;
}

function familyOf(s: string): 4 | 6 {
  return s.includes(":") ? 6 : 4;
}

/**
 * Asserts that a route exists in `ns`; returns it.
 *
 * @throws {NetworkAssertionError} listing the namespace's routes.
 * @example
 * ```ts
 * await expectRoute(ns, { dst: "default", gw: "10.1.0.1", dev: "eth0" });
 * ```
 */
export async function expectRoute(ns: NetnsRef, expected: RouteExpectation): Promise<ObservedRoute> {
  const routes = await listRoutes(ns, expected.table ? { table: expected.table } : {});
  const found = routes.find((r) => routeMatches(r, expected));
  if (!found) {
    const have = routes.map(formatRoute);
    throw new NetworkAssertionError(
      `expected route ${formatRoute(expected)} in netns ${netnsLabel(ns)}, but it has:\n${have.map((r) => `  ${r}`).join("\n") || "  (none)"}`,
      expected,
      have,
    );
  }
  return found;
}

/**
 * Asserts that no route matches (e.g. after DEL).
 *
 * @throws {NetworkAssertionError} when one does.
 * @example
 * ```ts
 * await expectNoRoute(ns, { dst: "default" });
 * ```
 */
export async function expectNoRoute(ns: NetnsRef, expected: RouteExpectation): Promise<void> {
  const routes = await listRoutes(ns, expected.table ? { table: expected.table } : {});
  const found = routes.find((r) => routeMatches(r, expected));
  if (found) throw new NetworkAssertionError(`expected no route ${formatRoute(expected)} in netns ${netnsLabel(ns)}, found ${formatRoute(found)}`, undefined, found);
}

function routeMatches(r: ObservedRoute, want: RouteExpectation): boolean {
  const family = want.dst === "default" ? (want.gw ? familyOf(want.gw) : r.family) : familyOf(want.dst);
  if (r.family !== family) return false;
  if (r.dst !== normalizeDst(want.dst, family)) return false;
  if (want.gw !== undefined && (r.gw ?? null) !== want.gw) return false;
  if (want.dev !== undefined && r.dev !== want.dev) return false;
  if (want.metric !== undefined && r.metric !== want.metric) return false;
  if (want.scope !== undefined && (r.scope ?? "global") !== want.scope) return false;
  return true;
}

function formatRoute(r: RouteExpectation | ObservedRoute): string {
  let s = r.dst;
  if (r.gw) s += ` via ${r.gw}`;
  else if (r.gw === null) s += " (no gateway)";
  if (r.dev) s += ` dev ${r.dev}`;
  if (r.metric !== undefined) s += ` metric ${r.metric}`;
  if (r.scope !== undefined && r.scope !== "global") s += ` scope ${r.scope}`;
  return s;
}
