/**
 * `demo`: the talk's demo rebuilt on cnikit. Two containers join a network made of CNI plugins,
 * get addresses, ping each other, and leave; `--network` swaps the plugins by config alone.
 *
 *   node examples/demo/dist/demo [--network bridge|go-bridge|ptp|static] [--runtime node|bun]
 */
import { parseArgs } from "node:util";
import { DEMO_RUNTIMES, type DemoRuntime, type Printer, ReportedError, repoRoot, runDemo } from "./demo.js";
import { findNetwork, NETWORKS } from "./networks.js";

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
    "",
    "Creates two containers (network namespaces), attaches them through the cnikit runtime,",
    "prints their addresses, pings one from the other, runs CHECK and DEL, and removes",
    "everything it made. Needs root and a built repository (pnpm build).",
    "",
    "networks:",
    ...rows,
    "",
    "options:",
    "  -n, --network <name>  which plugins make the network",
    "  --runtime node|bun    our plugins as Node bundles (dist/, default) or Bun executables (dist-bun/)",
    "  --agent               our plugins in agent mode: their shims and a private cnikit-agent, per-call times",
    "  -h, --help            show this help",
    "",
  ].join("\n");
}

async function main(): Promise<number> {
  let values: {
    network?: string | undefined;
    runtime?: string | undefined;
    agent?: boolean | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      options: {
        network: { type: "string", short: "n" },
        runtime: { type: "string" },
        agent: { type: "boolean" },
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
    process.stderr.write(`demo: --runtime must be ${DEMO_RUNTIMES.join(" or ")}, not "${values.runtime}"\n\n${usage()}`);
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
    await runDemo({ network, root: repoRoot(process.argv[1] ?? "."), print, signal: controller.signal, runtime, agent: values.agent === true });
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
