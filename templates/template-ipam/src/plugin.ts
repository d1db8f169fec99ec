import { CniError, ErrorCode, definePlugin } from "@cnikit/skel";
import { HostLocalStore } from "@cnikit/host-local";
import { broadcastOf, cidrContains, formatIp, isCidr, networkAddress, nextIp, parseCidr } from "@cnikit/spec";
// zod/mini: the same schemas as classic zod with a smaller, faster-loading bundle (start-up
// time is paid on every call). Classic `import * as z from "zod"` works too, ~10 ms slower.
import * as z from "zod/mini";

/** The plugin reads its settings from the network config's `ipam` section. */
const Config = z.object({
  ipam: z.object({
    type: z.string(),
    /** The subnet to hand addresses out of, e.g. "10.22.0.0/24". */
    subnet: z.string("is required").check(z.refine(isCidr, "must be a CIDR such as 10.22.0.0/24")),
    /** Gateway reported in the result (default: the subnet's first address); never handed out. */
    gateway: z.optional(z.string()),
    /** Routes reported in the result, e.g. [{ "dst": "0.0.0.0/0" }]. */
    routes: z.optional(z.array(z.object({ dst: z.string().check(z.refine(isCidr, "must be a CIDR")), gw: z.optional(z.string()) }))),
    /** Where leases live (default /var/lib/cni/networks, shared with Go's host-local). */
    dataDir: z.optional(z.string()),
  }),
});
type Ipam = z.infer<typeof Config>["ipam"];

/** Opens the lease store of a network and always closes it. */
async function withStore<T>(network: string, ipam: Ipam, fn: (store: HostLocalStore) => T | Promise<T>): Promise<T> {
  const store = await HostLocalStore.open(network, { dataDir: ipam.dataDir });
  try {
    return await store.withLock(() => fn(store));
  } finally {
    store.close();
  }
}

export default definePlugin({
  name: "__PLUGIN_NAME__",
  version: "0.1.0",
  cniVersions: ["0.4.0", "1.0.0", "1.1.0"],
  config: Config,

  async add({ config, containerId, ifName, log }) {
    const subnet = parseCidr(config.ipam.subnet); // { ip, prefix }
    const network = networkAddress(subnet.ip, subnet.prefix);
    const gateway = config.ipam.gateway ?? formatIp(nextIp(network));
    const broadcast = broadcastOf(config.ipam.subnet); // undefined for IPv6

    const ip = await withStore(config.name, config.ipam, (store) => {
      // an ADD retried for the same attachment gets the same address
      const existing = store.getById(containerId, ifName)[0];
      if (existing) return existing;
      // first free address, skipping the network address, the gateway and the broadcast
      for (let next = nextIp(network); cidrContains(subnet, next); next = nextIp(next)) {
        const ip = formatIp(next);
        if (ip !== gateway && ip !== broadcast && store.reserve(containerId, ifName, ip, "0")) return ip;
      }
      throw new CniError(ErrorCode.Internal, `no IP addresses available in ${config.ipam.subnet}`);
    });

    log.info("allocated", { containerId, ifName, ip });
    return {
      cniVersion: "1.1.0",
      ips: [{ address: `${ip}/${subnet.prefix}`, gateway }],
      routes: config.ipam.routes ?? [],
    };
  },

  async del({ config, containerId, ifName }) {
    // releasing a lease that does not exist is fine: DEL must be idempotent
    await withStore(config.name, config.ipam, (store) => store.releaseById(containerId, ifName));
  },

  async check({ config, containerId, ifName }) {
    const found = await withStore(config.name, config.ipam, (store) => store.findById(containerId, ifName));
    if (!found) throw new CniError(ErrorCode.Internal, `no IP address leased to ${containerId}/${ifName}`);
  },

  async gc({ config, validAttachments, log }) {
    const released = await withStore(config.name, config.ipam, (store) => store.releaseStale(validAttachments));
    if (released.length) log.info("released stale leases", { released });
  },
});
