/**
 * CHECK validators: compare what a previous ADD result says with what a namespace holds, with
 * the messages of Go's `ip.ValidateExpectedInterfaceIPs` / `ip.ValidateExpectedRoute` and of the
 * reference plugins' interface checks, so a runtime sees the same text from a TypeScript plugin
 * as from a Go one.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#check-check-containers-networking-is-as-expected
 */
import type { Link, Netns } from "@cnikit/ns";
import { CniError, ErrorCode, formatCidr, formatIp, type Interface, type IPConfig, type IpFamily, networkOf, parseCidr, parseIp, type Route } from "@cnikit/spec";

function fail(msg: string, cause?: unknown): CniError {
  return new CniError(ErrorCode.Internal, msg, undefined, cause === undefined ? undefined : { cause });
}

/** A CIDR's parts as canonical text, the forms the kernel's answers are compared with. */
interface CidrParts {
  ip: string;
  prefixLength: number;
  family: IpFamily;
  network: string;
  cidr: string;
}

function cidrParts(text: string): CidrParts {
  const c = parseCidr(text);
  const ip = formatIp(c.ip);
  return { ip, prefixLength: c.prefix, family: c.ip.family, network: networkOf(text), cidr: formatCidr(c.ip, c.prefix) };
}

function parseOrFail(text: string, what: string): CidrParts {
  try {
    return cidrParts(text);
  } catch (err) {
    throw fail(`${what} ${JSON.stringify(text)} is not an IP address or CIDR`, err);
  }
}

/**
 * Options of {@link validateLinkInNetns}.
 *
 * @example
 * const opts: ValidateLinkOptions = { kind: "veth", netnsPath: ctx.netns };
 * const link = await validateLinkInNetns(ns, containerIf, opts);
 */
export interface ValidateLinkOptions {
  /**
   * Whether the interface belongs to a sandbox (the container's netns: its `sandbox` must be
   * set) or to the host (its `sandbox` must be absent). Default true.
   */
  inSandbox?: boolean | undefined;
  /** The netns path the interface's `sandbox` must equal (CNI_NETNS), checked first. */
  netnsPath?: string | undefined;
  /** The link kind it must have (`"veth"`, `"bridge"`, ...). */
  kind?: string | undefined;
}

/**
 * Checks that an interface of a previous result exists in `ns` as the result describes it, in
 * this order, with the reference plugins' messages: its sandbox is `netnsPath` (`Sandbox in
 * prevResult <s> doesn't match configured netns: <p>`), it has a name (`Interface name missing `),
 * the link exists (`Interface name <n> not found`), its sandbox is set or not as `inSandbox`
 * says (`Interface <n> is expected to be in a sandbox` / `... should not be in sandbox`), its kind
 * (`Error: Container interface <n> not of type <k>` / `Interface <n> does not have link type of
 * <k>`) and its MAC when the result has one (`Interface <n> Mac <m> doesn't match container Mac:
 * <m'>` / `Interface <n> Mac doesn't match: <m> not found`). Resolves with the link.
 *
 * @example
 * const intf = prevResult.interfaces?.find((i) => i.name === ctx.ifName && i.sandbox === ctx.netns);
 * const link = await validateLinkInNetns(ns, intf, { kind: "veth", netnsPath: ctx.netns });
 * @throws {CniError} code 999 with the message of the first mismatch.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#check-check-containers-networking-is-as-expected
 */
export async function validateLinkInNetns(
  ns: Netns,
  intf: Interface | undefined,
  options: ValidateLinkOptions = {},
): Promise<Link> {
  const inSandbox = options.inSandbox ?? true;
  if (options.netnsPath !== undefined && (intf?.sandbox ?? "") !== options.netnsPath) {
    throw fail(`Sandbox in prevResult ${intf?.sandbox ?? ""} doesn't match configured netns: ${options.netnsPath}`);
  }
  if (!intf?.name) throw fail("Interface name missing ");
  const link = await ns.findLink(intf.name);
  if (!link) throw fail(`Interface name ${intf.name} not found`);
  if (inSandbox && !intf.sandbox) throw fail(`Interface ${intf.name} is expected to be in a sandbox`);
  if (!inSandbox && intf.sandbox) throw fail(`Interface ${intf.name} should not be in sandbox`);
  if (options.kind !== undefined && link.kind !== options.kind) {
    throw fail(
      inSandbox
        ? `Error: Container interface ${link.name} not of type ${options.kind}`
        : `Interface ${link.name} does not have link type of ${options.kind}`,
    );
  }
  if (intf.mac && intf.mac !== link.mac) {
    throw fail(
      inSandbox
        ? `Interface ${intf.name} Mac ${intf.mac} doesn't match container Mac: ${link.mac}`
        : `Interface ${intf.name} Mac doesn't match: ${intf.mac} not found`,
    );
  }
  return link;
}

/**
 * Checks, as Go's `ip.ValidateExpectedInterfaceIPs`, that `link` (a name or a Link) carries each
 * of `ips` with its prefix length, and that the main table has a route to each address's subnet
 * (the on-link subnet route, or the subnet through the gateway in point-to-point mode). Pass the
 * IPs of this interface (Go passes all of a result's IPs). Messages: `Cannot find container link
 * <n>`, `Cannot obtain List of IP Addresses`, `Failed to match addr <cidr> on interface <n>`,
 * `Failed to find Gateway <gw|<nil>> for interface <n>`.
 *
 * @example
 * const index = prevResult.interfaces?.findIndex((i) => i.name === ctx.ifName && i.sandbox === ctx.netns);
 * await validateInterfaceIps(ns, ctx.ifName, (prevResult.ips ?? []).filter((ip) => ip.interface === index));
 * @throws {CniError} code 999 with the message of the first mismatch.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#check-check-containers-networking-is-as-expected
 */
export async function validateInterfaceIps(ns: Netns, link: string | Link, ips: readonly IPConfig[]): Promise<void> {
  if (ips.length === 0) return;
  const ifName = typeof link === "string" ? link : link.name;
  const found = await ns.findLink(typeof link === "string" ? link : link.index);
  if (!found) throw fail(`Cannot find container link ${ifName}`);
  let addrs: Awaited<ReturnType<Netns["listAddresses"]>>;
  try {
    addrs = await ns.listAddresses(found.index);
  } catch (err) {
    throw fail("Cannot obtain List of IP Addresses", err);
  }
  for (const ipc of ips) {
    const want = parseOrFail(ipc.address, "address");
    if (!addrs.some((a) => a.family === want.family && a.ip === want.ip && a.prefixLength === want.prefixLength)) {
      throw fail(`Failed to match addr ${want.cidr} on interface ${ifName}`);
    }
    let routes: Awaited<ReturnType<Netns["listRoutes"]>>;
    try {
      routes = await ns.listRoutes({ family: want.family });
    } catch (err) {
      const msg = err instanceof CniError ? err.msg : String(err);
      throw fail(`Error ${msg} trying to find Gateway ${ipc.gateway ?? "<nil>"} for interface ${ifName}`, err);
    }
    if (!routes.some((r) => r.dst === want.network)) {
      throw fail(`Failed to find Gateway ${ipc.gateway ?? "<nil>"} for interface ${ifName}`);
    }
  }
}

/** A result route as a message shows it: `{Dst:10.0.0.0/8 GW:10.1.0.1}` (`GW:<nil>` without one). */
function describeRoute(r: Route): string {
  return `{Dst:${r.dst} GW:${r.gw ?? "<nil>"}}`;
}

/**
 * Checks, as Go's `ip.ValidateExpectedRoute`, that the main table of `ns` holds each of `routes`:
 * a route to the same destination, through the same gateway when the route names one (a default
 * route matches on its destination alone, as in Go). Messages: `Invalid static route found
 * <route>`, `Expected Route <route> not found in routing table`, the route written
 * `{Dst:<cidr> GW:<ip|<nil>>}`.
 *
 * @example
 * await validateRoutes(ns, prevResult.routes ?? []);
 * @throws {CniError} code 999 with the message of the first route not found.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#check-check-containers-networking-is-as-expected
 */
export async function validateRoutes(ns: Netns, routes: readonly Route[]): Promise<void> {
  const byFamily = new Map<4 | 6, Awaited<ReturnType<Netns["listRoutes"]>>>();
  for (const route of routes) {
    let want: CidrParts;
    let gw: string | undefined;
    try {
      want = cidrParts(route.dst);
      gw = route.gw === undefined ? undefined : formatIp(parseIp(route.gw));
    } catch (err) {
      throw fail(`Invalid static route found ${describeRoute(route)}`, err);
    }
    let have = byFamily.get(want.family);
    if (!have) {
      try {
        have = await ns.listRoutes({ family: want.family });
      } catch (err) {
        const msg = err instanceof CniError ? err.msg : String(err);
        throw fail(`Expected Route ${describeRoute(route)} not route table lookup error ${msg}`, err);
      }
      byFamily.set(want.family, have);
    }
    const isDefault = want.prefixLength === 0;
    const found = have.some((r) => r.dst === want.network && (isDefault || gw === undefined || r.gw === gw));
    if (!found) throw fail(`Expected Route ${describeRoute(route)} not found in routing table`);
  }
}
