/**
 * `@cnikit/ipam-client`: the client side of IPAM in a CNI plugin — delegation to
 * `config.ipam.type` and applying an IPAM result to an interface. The host-local allocator and
 * lease store (for writing an IPAM plugin) are `@cnikit/host-local`.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#delegated-plugins-ipam
 */
export { execAdd, execCheck, execDel, execGC, execStatus, ipam } from "./exec.js";
export type { ConfigWithIpam, IpamExecOptions } from "./exec.js";
export { configureInterface, InvalidInterfaceIndexError } from "./configure-interface.js";
export type { ConfigureInterfaceOptions, InterfaceNetns } from "./configure-interface.js";
