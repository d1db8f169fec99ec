/**
 * IP and CIDR helpers of `@cnikit/ns`: the text helpers of `@cnikit/spec` under the names this
 * package has always exported (`parseCidr` here is spec's `parseCidrText`: lenient, strings in
 * and out, CniError code 7 on bad input), plus a Buffer adapter for netlink attributes.
 */
import { ipToBytes as ipToByteArray } from "@cnikit/spec";

export {
  addToIp,
  broadcastOf,
  bytesToIp,
  cidrContains,
  compareIps,
  gatewayOf,
  ipFamily,
  networkOf,
  nextIp,
  parseCidrText as parseCidr,
  prevIp,
} from "@cnikit/spec";
export type { IpFamily, ParsedCidr } from "@cnikit/spec";

/**
 * The address as 4 or 16 network-order bytes, in a Buffer (for netlink attributes).
 *
 * @example
 * ipToBytes("10.0.0.1") // <Buffer 0a 00 00 01>
 * @throws {CniError} code 7 when `ip` is not an address.
 * @internal
 */
export function ipToBytes(ip: string): Buffer {
  return Buffer.from(ipToByteArray(ip));
}
