/**
 * `@cnikit/ipam-client`: the client side of IPAM in a CNI plugin — delegation to
 * `config.ipam.type` with the handler's context, applying an IPAM result to an interface (also
 * point-to-point) and CHECK validators with Go's messages. The host-local allocator and lease
 * store (for writing an IPAM plugin) are `@cnikit/host-local`.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugins-ipam
 */
export { ipam } from "./exec.js";
export type { ConfigWithIpam, IpamContext } from "./exec.js";
export { configureInterface, InvalidInterfaceIndexError } from "./configure-interface.js";
export type { ConfigureInterfaceOptions } from "./configure-interface.js";
export { validateInterfaceIps, validateLinkInNetns, validateRoutes } from "./validate-interface.js";
export type { ValidateLinkOptions } from "./validate-interface.js";
