/**
 * static-ipam: the simplest IPAM plugin. ADD returns the addresses, routes and dns written in
 * the config (or passed as runtimeConfig `ips`, `args.cni.ips`, CNI_ARGS `IP=`/`GATEWAY=`);
 * DEL has nothing to free; CHECK compares prevResult with the config. The talk's demo.
 */
import { type AddResult, CniError, ErrorCode, type Plugin, definePlugin } from "@cnikit/skel";
import { ALL_VERSIONS, type Result } from "@cnikit/spec";
import { loadStaticConfig } from "./config.js";

/** The plugin version reported by VERSION/about. */
export const STATIC_IPAM_VERSION = "0.1.0";

/**
 * Builds the static-ipam plugin.
 * @example await createStaticIpamPlugin().main();
 */
export function createStaticIpamPlugin(): Plugin {
  return definePlugin({
    name: "static-ipam",
    version: STATIC_IPAM_VERSION,
    cniVersions: ALL_VERSIONS,

    add({ config, rawArgs }): AddResult {
      const conf = loadStaticConfig(config, rawArgs);
      const result: Omit<Result, "cniVersion"> = {
        ips: conf.addresses.map((a) => (a.gateway ? { address: a.address, gateway: a.gateway } : { address: a.address })),
      };
      if (conf.routes) result.routes = conf.routes;
      if (conf.dns) result.dns = conf.dns;
      return result;
    },

    del({ config, rawArgs }) {
      loadStaticConfig(config, rawArgs);
    },

    check({ config, rawArgs, prevResult, ifName }) {
      const conf = loadStaticConfig(config, rawArgs);
      if (!prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, "Required prevResult missing");
      for (const want of conf.addresses) {
        const ip = want.address.split("/")[0];
        const got = prevResult.ips?.find((i) => i.address.split("/")[0] === ip);
        if (!got) continue;
        if (want.gateway !== undefined && want.gateway !== got.gateway) {
          throw new CniError(ErrorCode.Internal, `static: Failed to match addr ${ip} on interface ${ifName}`);
        }
      }
    },
  });
}

/** The plugin the executable runs (defined here, not in main.ts, so the build can answer VERSION before evaluating the bundle). */
export default createStaticIpamPlugin();
