/**
 * `demo`: the talk's demo rebuilt on cnikit. Two containers join a network made of CNI plugins,
 * get addresses, ping each other, and leave; `--network` swaps the plugins by config alone.
 *
 *   node examples/demo/dist/demo [--network bridge|go-bridge|ptp|static] [--runtime node|bun]
 *   node examples/demo/dist/demo --network overlay [--hosts 3] [--store file|etcd]
 */
import { parseArgs } from "node:util";
import { DEMO_RUNTIMES, type DemoRuntime, type Printer, ReportedError, repoRoot, runDemo } from "./demo.js";
import { findNetwork, NETWORKS } from "./networks.js";
import { OVERLAY_STORES, type OverlayStore, runOverlayDemo } from "./overlay.js";

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const LABEL_WIDTH = 12;

const print: Printer = {
  step: (label, text) =>
    process.stdout.write(`  ${paint("32", "✓")} ${paint("1", label.padEnd(LABEL_WIDTH))} ${text}\n`),
  fail: (label, text) =>
    process.stdout.write(`  ${paint("31", "✗")} ${paint("1", label.padEnd(LABEL_WIDTH))} ${text}\n`),
  note: (text) => process.stdout.write(`${text}\n`),
};

function usage(): string {
  const rows = NETWORKS.map((n, i) => `  ${n.id.padEnd(10)} ${n.summary}${i === 0 ? " (default)" : ""}`);
  return [
    "usage: demo [--network <name>] [--runtime node|bun] [--agent]",
    "       demo --network overlay [--hosts 3] [--store file|etcd]",
    "",
    "Creates two containers (network namespaces), attaches them through the cnikit runtime,",
    "prints their addresses, pings one from the other, runs CHECK and DEL, and removes",
    "everything it made. Needs root and a built repository (pnpm build).",
    "With --network overlay: an underlay bridge, N hosts (netns) with an overlay-agent each,",
    "two containers per host, a ping matrix of every pair, a host leaving, CHECK and DEL.",
    "",
    "networks:",
    ...rows,
    "",
    "options:",
    "  -n, --network <name>  which plugins make the network",
    "  --runtime node|bun    our plugins as Node bundles (dist/, default) or Bun executables (dist-bun/)",
    "  --agent               our plugins in agent mode: their shims and a private cnikit-agent, per-call times",
    "  --hosts <n>           overlay: how many hosts (default 3, at most 20)",
    "  --store file|etcd     overlay: the embedded file: store (default) or a private etcd for the run",
    "  -h, --help            show this help",
    "",
  ].join("\n");
}

async function main(): Promise<number> {
  let values: {
    network?: string | undefined;
    runtime?: string | undefined;
    agent?: boolean | undefined;
    hosts?: string | undefined;
    store?: string | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      options: {
        network: { type: "string", short: "n" },
        runtime: { type: "string" },
        agent: { type: "boolean" },
        hosts: { type: "string" },
        store: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  const network = findNetwork(values.network ?? "bridge");
  if (!network) {
    process.stderr.write(`demo: unknown network "${values.network}"\n\n${usage()}`);
    return 2;
  }
  const runtime = (values.runtime ?? "node") as DemoRuntime;
  if (!DEMO_RUNTIMES.includes(runtime)) {
    process.stderr.write(
      `demo: --runtime must be ${DEMO_RUNTIMES.join(" or ")}, not "${values.runtime}"\n\n${usage()}`,
    );
    return 2;
  }
  const hosts = Number(values.hosts ?? "3");
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 20) {
    process.stderr.write(`demo: --hosts must be an integer from 1 to 20, not "${values.hosts}"\n\n${usage()}`);
    return 2;
  }
  const store = (values.store ?? "file") as OverlayStore;
  if (!OVERLAY_STORES.includes(store)) {
    process.stderr.write(`demo: --store must be ${OVERLAY_STORES.join(" or ")}, not "${values.store}"\n\n${usage()}`);
    return 2;
  }
  if ((values.hosts !== undefined || values.store !== undefined) && !network.multiHost) {
    process.stderr.write(`demo: --hosts and --store are for --network overlay\n\n${usage()}`);
    return 2;
  }
  if (network.multiHost && (values.agent || values.runtime !== undefined)) {
    process.stderr.write(
      `demo: --agent and --runtime are for the single-host networks, not --network ${network.id}\n\n${usage()}`,
    );
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write("demo: needs root (it creates network namespaces and links)\n");
    return 1;
  }

  const controller = new AbortController();
  let exitOnSignal = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (exitOnSignal) return; // already cleaning up
    exitOnSignal = sig === "SIGINT" ? 130 : 143;
    controller.abort(new Error(sig));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  print.note(
    `${paint("1", "cnikit demo")} · network ${paint("36", network.id)}: ${network.summary}${runtime === "bun" ? " · our plugins on Bun" : ""}${values.agent ? " · agent mode" : ""}`,
  );
  try {
    const root = repoRoot(process.argv[1] ?? ".");
    if (network.multiHost) {
      await runOverlayDemo({ network, root, print, signal: controller.signal, hosts, store });
      if (exitOnSignal) return exitOnSignal;
      print.note(
        paint(
          "32",
          `done: containers on ${hosts} host(s) talked over a VXLAN overlay made of a CNI plugin and an agent.`,
        ),
      );
      return 0;
    }
    await runDemo({ network, root, print, signal: controller.signal, runtime, agent: values.agent === true });
    if (exitOnSignal) return exitOnSignal;
    print.note(paint("32", "done: two containers talked over a network made of CNI plugins."));
    return 0;
  } catch (err) {
    if (exitOnSignal) return exitOnSignal;
    if (!(err instanceof ReportedError)) print.fail("failed", err instanceof Error ? err.message : String(err));
    return 1;
  }
}

const code = await main();
process.stdout.write("", () => process.exit(code));
