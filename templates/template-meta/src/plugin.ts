import { CniError, ErrorCode, definePlugin } from "@cnikit/skel";
import { Netns } from "@cnikit/ns";
// zod/mini: the same schemas as classic zod with a smaller, faster-loading bundle (start-up
// time is paid on every call). Classic `import * as z from "zod"` works too, ~10 ms slower.
import * as z from "zod/mini";

/** Only `net.*` sysctls belong to a network namespace; anything else would change the host. */
const SysctlName = z.string().check(z.regex(/^net[./][\w./-]+$/, "must be a net.* sysctl, e.g. net.ipv4.conf.eth0.arp_notify"));

const Config = z.object({
  /** MTU to set on the container interface. */
  mtu: z.optional(z.int("must be an integer").check(z.minimum(68, "must be at least 68"), z.maximum(65535, "must be at most 65535"))),
  /** Sysctls to set inside the container's netns; `IFNAME` in a name is replaced by the interface name. */
  sysctl: z.optional(z.record(SysctlName, z.string("must be a string"))),
});

/** The sysctls of a config with `IFNAME` replaced. */
const sysctlsFor = (sysctl: Record<string, string> | undefined, ifName: string) =>
  Object.entries(sysctl ?? {}).map(([name, value]) => [name.replaceAll("IFNAME", ifName), value] as const);

export default definePlugin({
  name: "__PLUGIN_NAME__",
  version: "0.1.0",
  cniVersions: ["0.4.0", "1.0.0", "1.1.0"],
  config: Config,

  async add({ config, prevResult, netns, ifName, log }) {
    // a chained plugin runs after the interface plugin and receives its result
    if (!prevResult) {
      throw new CniError(ErrorCode.InvalidNetworkConfig, "__PLUGIN_NAME__ must be chained after an interface plugin (no prevResult)");
    }
    const ns = await Netns.open(netns);
    try {
      if (!(await ns.findLink(ifName))) {
        throw new CniError(ErrorCode.Internal, `interface ${ifName} not found in ${netns}`);
      }
      if (config.mtu !== undefined) await ns.setMtu(ifName, config.mtu);
      for (const [name, value] of sysctlsFor(config.sysctl, ifName)) await ns.setSysctl(name, value);
      log.info("tuned", { ifName, mtu: config.mtu, sysctl: config.sysctl });
    } finally {
      ns.close();
    }
    // pass the previous result on, with the new MTU on the container interface
    const mtu = config.mtu;
    return {
      ...prevResult,
      interfaces: (prevResult.interfaces ?? []).map((i) =>
        i.name === ifName && i.sandbox && mtu !== undefined ? { ...i, mtu } : i,
      ),
    };
  },

  // nothing to undo: the interface and its netns sysctls go away with the interface plugin's DEL
  del() {},

  async check({ config, prevResult, netns, ifName }) {
    if (!prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, "CHECK needs prevResult");
    const ns = await Netns.open(netns);
    try {
      const link = await ns.getLink(ifName);
      if (config.mtu !== undefined && link.mtu !== config.mtu) {
        throw new CniError(ErrorCode.Internal, `${ifName}: MTU is ${link.mtu}, expected ${config.mtu}`);
      }
      for (const [name, value] of sysctlsFor(config.sysctl, ifName)) {
        const actual = (await ns.getSysctl(name)).trim();
        if (actual !== value) throw new CniError(ErrorCode.Internal, `sysctl ${name} is ${actual}, expected ${value}`);
      }
    } finally {
      ns.close();
    }
  },
});
