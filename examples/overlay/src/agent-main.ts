/**
 * `overlay-agent`: the per-host process of the overlay, run in the host's netns.
 *
 *   overlay-agent --store <url> --network <name> --underlay <ifname> [--pool 10.244.0.0/16]
 *     [--subnet-len 24] [--vni 1] [--port 8472] [--lease-ttl 60s] [--run-dir /run/cnikit/overlay]
 *     [--vxlan <ifname>] [--bridge <ifname>] [--resync 500ms] [--leave]
 *
 * SIGTERM/SIGINT: stop and leave kernel state and lease in place (a restart picks them up).
 * `--leave`: stop a running agent of the network, release the lease, remove the devices.
 */
import { parseArgs } from "node:util";
import { type AgentOptions, leave, OverlayAgent } from "./agent.js";

const USAGE = `usage: overlay-agent --store <url> --network <name> --underlay <ifname> [options]

Leases a subnet of the pool for this host in the store, creates the vxlan device and the host
bridge, writes <run-dir>/<network>/state.json for the overlay plugin, and keeps a neighbour, an
FDB entry and a route per other host in line with the store's leases. Run it in the host's netns.

options:
  --store <url>         file:/var/lib/cnikit/store or etcd://host:2379[,host:2379]?prefix=/cnikit
  --network <name>      network name (the plugin config's "name")
  --underlay <ifname>   interface whose IPv4 address the other hosts reach this one at
  --pool <cidr>         cluster pool (default 10.244.0.0/16)
  --subnet-len <n>      prefix length of a host's subnet (default 24)
  --vni <n>             VXLAN network identifier (default 1)
  --port <n>            VXLAN UDP port (default 8472); every host must use the same
  --lease-ttl <dur>     store lease TTL, e.g. 60s, 2m (default 60s)
  --run-dir <dir>       base run directory (default /run/cnikit/overlay)
  --vxlan <ifname>      vxlan device name (default <network>.<vni>)
  --bridge <ifname>     bridge name (default <network>-br)
  --resync <dur>        how often the kernel state is checked and repaired (default 500ms)
  --leave               stop the running agent, release the lease, remove the devices, exit
  -h, --help            show this help
`;

/** `60s`, `2m`, `500ms`, `60` (seconds) → milliseconds. */
function duration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`${flag}: invalid duration "${text}" (e.g. 60s, 2m, 500ms)`);
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as "ms" | "s" | "m" | "h"];
}

function int(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${flag}: must be an integer from ${min} to ${max}, not "${text}"`);
  return n;
}

function parse(argv: string[]): { options: AgentOptions; leave: boolean } | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      store: { type: "string" },
      network: { type: "string" },
      underlay: { type: "string" },
      pool: { type: "string" },
      "subnet-len": { type: "string" },
      vni: { type: "string" },
      port: { type: "string" },
      "lease-ttl": { type: "string" },
      "run-dir": { type: "string" },
      vxlan: { type: "string" },
      bridge: { type: "string" },
      resync: { type: "string" },
      leave: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  for (const f of ["store", "network", "underlay"] as const) if (!values[f]) throw new Error(`--${f} is required`);
  const pool = values.pool ?? "10.244.0.0/16";
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(pool)) throw new Error(`--pool: "${pool}" is not an IPv4 CIDR`);
  const ttlMs = values["lease-ttl"] === undefined ? 60_000 : duration(values["lease-ttl"], "--lease-ttl");
  if (ttlMs < 3000) throw new Error("--lease-ttl: at least 3s");
  return {
    leave: values.leave === true,
    options: {
      store: values.store as string,
      network: values.network as string,
      underlay: values.underlay as string,
      pool,
      subnetLen: int(values["subnet-len"], "--subnet-len", 8, 30),
      vni: int(values.vni, "--vni", 0, 0xffffff),
      port: int(values.port, "--port", 1, 65535),
      leaseTtl: Math.round(ttlMs / 1000),
      runDir: values["run-dir"],
      vxlanName: values.vxlan,
      bridgeName: values.bridge,
      resyncMs: values.resync === undefined ? undefined : Math.max(50, duration(values.resync, "--resync")),
    },
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`overlay-agent: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const { options } = parsed;
  const tag = `overlay-agent[${options.network}]`;
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${tag} ${line}\n`);
  options.log = log;

  if (parsed.leave) {
    try {
      const r = await leave(options);
      log(
        `left: ${r.subnet ? `lease ${r.subnet} released` : "no lease held"}; ` +
          `${r.devices.length ? `removed ${r.devices.join(", ")}` : "no device removed"}` +
          `${r.stoppedPid ? `; stopped agent pid ${r.stoppedPid}` : ""}`,
      );
      return 0;
    } catch (err) {
      log(`--leave failed: ${(err as Error).message}`);
      return 1;
    }
  }

  let agent: OverlayAgent | undefined;
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping (lease and kernel state kept)`);
    void (agent?.stop() ?? Promise.resolve()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  try {
    agent = await OverlayAgent.start(options);
  } catch (err) {
    log(`cannot start: ${(err as Error).message}`);
    return 1;
  }
  if (stopping) await agent.stop();
  return await new Promise<number>(() => {}); // runs until a signal
}

const code = await main();
process.exit(code);
