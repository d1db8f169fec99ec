import { CniError, ErrorCode, definePlugin, type Result } from "@cnikit/skel";
import { Netns, ensureBridge, setupVeth } from "@cnikit/ns";
import { configureInterface, ipam, validateInterfaceIps, validateLinkInNetns, validateRoutes } from "@cnikit/ipam-client";
// zod/mini: the same schemas as classic zod with a smaller, faster-loading bundle (start-up
// time is paid on every call). Classic `import * as z from "zod"` works too, ~10 ms slower.
import * as z from "zod/mini";

/**
 * The plugin's own config keys (cniVersion, name, type, prevResult... come from the spec).
 * A bad config fails with CNI error 7 and a message naming the field.
 */
const Config = z.object({
  /** Host bridge the containers are attached to (default cni0); created if missing. */
  bridge: z.optional(z.string().check(z.minLength(1, "must not be empty"), z.maxLength(15, "must be at most 15 characters"))),
  /** MTU of the bridge and both veth ends (default: the kernel's, 1500). */
  mtu: z.optional(z.int("must be an integer").check(z.minimum(68, "must be at least 68"), z.maximum(65535, "must be at most 65535"))),
  /** The IPAM plugin to delegate to (e.g. host-local) and its own settings. */
  ipam: z.looseObject({ type: z.string("must be a string").check(z.minLength(1, "must not be empty")) }),
});

export default definePlugin({
  name: "__PLUGIN_NAME__",
  version: "0.1.0",
  cniVersions: ["0.4.0", "1.0.0", "1.1.0"],
  config: Config,

  async add(ctx) {
    const { config, netns, ifName, containerId, log, onRollback } = ctx;
    // 1. the container's netns first: one that is gone fails here, before any address is taken
    const ns = await Netns.open(netns);
    try {
      // 2. addresses: delegated to the IPAM plugin with this call's stdin, env and signal;
      //    released again if anything below fails
      const lease = await ipam.add(ctx);
      onRollback(() => ipam.del(ctx));

      // 3. host side: the bridge (idempotent)
      const bridge = await ensureBridge({ name: config.bridge ?? "cni0", mtu: config.mtu });

      // 4. the veth pair: the container end is born inside the container's netns
      const veth = await setupVeth({ netns: ns, ifName, master: bridge, mtu: config.mtu });
      onRollback(async () => {
        const again = await Netns.openIfExists(netns);
        await again?.deleteLink(ifName, { missingOk: true });
        again?.close();
      });

      // 5. the result: interfaces, then the lease's IPs pointing at the container interface
      const result: Result = {
        cniVersion: "1.1.0",
        interfaces: [
          { name: bridge.name, mac: bridge.mac },
          { name: veth.host.name, mac: veth.host.mac },
          { name: veth.container.name, mac: veth.container.mac, sandbox: netns },
        ],
        ips: (lease.ips ?? []).map((ip) => ({ ...ip, interface: 2 })),
        routes: lease.routes ?? [],
        dns: lease.dns ?? {},
      };

      // 5. addresses and routes inside the container
      await configureInterface(ns, veth.container, result);
      log.info("attached", { containerId, ifName, ips: result.ips?.map((ip) => ip.address) });
      return result; // skel converts it to the config's cniVersion
    } finally {
      ns.close();
    }
  },

  async del(ctx) {
    const { netns, ifName } = ctx;
    await ipam.del(ctx); // a missing lease is not an error
    const ns = await Netns.openIfExists(netns); // a vanished (or absent) netns is not an error on DEL
    if (!ns) return;
    try {
      await ns.deleteLink(ifName, { missingOk: true }); // deleting one veth end removes both
    } finally {
      ns.close();
    }
  },

  async check(ctx) {
    const { prevResult, netns, ifName } = ctx;
    if (!prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, "CHECK needs prevResult");
    await ipam.check(ctx);
    const ns = await Netns.open(netns);
    try {
      // the interface, its addresses and the routes are still as ADD made them (Go's messages)
      const idx = prevResult.interfaces?.findIndex((i) => i.name === ifName && i.sandbox === netns) ?? -1;
      const link = await validateLinkInNetns(ns, prevResult.interfaces?.[idx], { kind: "veth", netnsPath: netns });
      await validateInterfaceIps(ns, link, (prevResult.ips ?? []).filter((ip) => ip.interface === idx));
      await validateRoutes(ns, prevResult.routes ?? []);
    } finally {
      ns.close();
    }
  },

  status: (ctx) => ipam.status(ctx),
  gc: (ctx) => ipam.gc(ctx),
});
