/**
 * The networks the demo can build. One table drives the conflist, the plugin directory and
 * `--help`: swapping the network is swapping a row, which is the talk's point.
 */

/** Where a plugin binary comes from. */
export type PluginSource = "cnikit" | "go";

/** What one run of the demo needs to know about its network. */
export interface DemoContext {
  /** Network name (`cnikit-demo-<hex>`). */
  network: string;
  /** Bridge name (`ckdemo<hex>`). */
  bridge: string;
  /** `10.x.y.0/24`. */
  subnet: string;
  /** host-local's data dir (inside the run's temp dir). */
  dataDir: string;
  /** overlay: the host's agent run directory for this network. */
  runDir?: string;
}

/** One row of the table. */
export interface DemoNetwork {
  /** The `--network` value. */
  id: string;
  /** One line for `--help` and the banner. */
  summary: string;
  /** cniVersion of the conflist (the Go plugins here stop at 1.0.0). */
  cniVersion: string;
  /** Plugin type → where its binary comes from. */
  plugins: Record<string, PluginSource>;
  /** The plugin configs of the conflist. */
  pluginConfigs(ctx: DemoContext): Record<string, unknown>[];
  /** Capability args per container (index 0 = a, 1 = b), e.g. the static addresses. */
  capabilityArgs?(ctx: DemoContext, index: number): Record<string, unknown>;
  /** Several simulated hosts with an agent each (overlay.ts runs it, not the two-container run). */
  multiHost?: boolean;
}

function hostLocal(ctx: DemoContext): Record<string, unknown> {
  return { type: "host-local", ranges: [[{ subnet: ctx.subnet }]], dataDir: ctx.dataDir };
}

/** The address the `static` network hard-codes for container `index` (.10, .11, ...). */
export function staticAddress(subnet: string, index: number): string {
  const [a, b, c] = subnet.split(".");
  return `${a}.${b}.${c}.${10 + index}/24`;
}

/** Every network the demo knows, default first. */
export const NETWORKS: readonly DemoNetwork[] = [
  {
    id: "bridge",
    summary: "cnikit bridge + cnikit host-local",
    cniVersion: "1.1.0",
    plugins: { bridge: "cnikit", "host-local": "cnikit" },
    pluginConfigs: (ctx) => [{ type: "bridge", bridge: ctx.bridge, isGateway: true, ipam: hostLocal(ctx) }],
  },
  {
    id: "go-bridge",
    summary: "Go reference bridge + Go host-local (same config)",
    cniVersion: "1.0.0",
    plugins: { bridge: "go", "host-local": "go" },
    pluginConfigs: (ctx) => [{ type: "bridge", bridge: ctx.bridge, isGateway: true, ipam: hostLocal(ctx) }],
  },
  {
    id: "ptp",
    summary: "Go ptp (routed veth pairs, no bridge) + cnikit host-local",
    cniVersion: "1.0.0",
    plugins: { ptp: "go", "host-local": "cnikit" },
    pluginConfigs: (ctx) => [{ type: "ptp", ipam: hostLocal(ctx) }],
  },
  {
    id: "static",
    summary: "cnikit bridge + cnikit static-ipam: hard-coded addresses (the talk's story)",
    cniVersion: "1.1.0",
    plugins: { bridge: "cnikit", "static-ipam": "cnikit" },
    pluginConfigs: (ctx) => [
      {
        type: "bridge",
        bridge: ctx.bridge,
        isGateway: true,
        capabilities: { ips: true },
        ipam: { type: "static-ipam" },
      },
    ],
    capabilityArgs: (ctx, index) => ({ ips: [staticAddress(ctx.subnet, index)] }),
  },
  {
    id: "overlay",
    summary: "VXLAN overlay across hosts: overlay-agent per host + cnikit overlay + cnikit host-local",
    cniVersion: "1.1.0",
    plugins: { overlay: "cnikit", "host-local": "cnikit" },
    // one conflist per host: each names its agent's run directory; no subnet (the agent's lease)
    pluginConfigs: (ctx) => [
      { type: "overlay", runDir: ctx.runDir, ipam: { type: "host-local", dataDir: ctx.dataDir } },
    ],
    multiHost: true,
  },
];

/** The row for `--network id`, or undefined. */
export function findNetwork(id: string): DemoNetwork | undefined {
  return NETWORKS.find((n) => n.id === id);
}
