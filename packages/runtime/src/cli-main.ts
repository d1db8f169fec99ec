/**
 * The `cnikit` command line: a drop-in for Go's `cnitool` (same env, same container IDs, same
 * cache) with a few extra flags. `runCli` is the testable core; `cli.ts` binds it to the process.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-3-execution-of-network-configurations
 * @see https://github.com/cnikit/cnikit/blob/main/docs/runtime.md
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { splitPath } from "@cnikit/invoke";
import { CniError, ErrorCode } from "@cnikit/spec";
import type { Attachment } from "@cnikit/spec";
import { confFromBytes, confListFromConf, confListFromFile, loadConfList } from "./conf.js";
import type { NetworkConfigList } from "./conf.js";
import { CliUsageError, parseFlags } from "./cli-flags.js";
import { cnitoolContainerId, goAbsPath } from "./container-id.js";
import { CniRuntime } from "./runtime.js";
import type { RuntimeConf } from "./runtime.js";
import { formatResultSummary } from "./summary.js";

/**
 * The process-facing parts the CLI uses (injectable for tests).
 *
 * @example
 * let out = "";
 * const io: CliIo = { env: { ...process.env, NETCONFPATH: "/etc/cni/net.d" }, stdout: { write: (s) => (out += s) }, stderr: process.stderr };
 * const code = await runCli(["status", "mynet"], io);
 * @see https://github.com/cnikit/cnikit/blob/main/docs/runtime.md
 */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: { write(s: string): unknown; isTTY?: boolean | undefined };
  stderr: { write(s: string | Uint8Array): unknown };
}

const COMMANDS = ["add", "check", "del", "status", "gc"] as const;
type Command = (typeof COMMANDS)[number];

const ERROR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ErrorCode).map(([k, v]) => [v, k]));

/**
 * `cnikit --help`.
 * @example process.stdout.write(USAGE);
 */
export const USAGE = `Usage: cnikit <command> [options] <network> <netns>
       cnikit install <dist-dir>... [--bin-dir DIR] [--conflist FILE [--conf-dir DIR]] [--force]
       cnikit validate <conflist> [--bin-dir DIR]...

Executes a CNI network configuration against a network namespace (a drop-in for cnitool),
installs plugins built with cnikit-build, and checks a config against the installed plugins.

Commands:
  add       add an interface to <netns> and print the result
  check     check the interface against the cached result
  del       delete the interface (idempotent)
  status    ask every plugin of the network whether it is ready (<netns> optional)
  gc        delete stale cached attachments of the network and run GC (<netns> optional)
  install   copy build outputs into the plugin dir atomically (cnikit install --help)
  validate  check a conflist and that its plugins support its cniVersion (cnikit validate --help)

Options:
  -i, --ifname NAME         interface name (default: $CNI_IFNAME or eth0)
      --conflist FILE       use this .conflist/.conf file instead of searching $NETCONFPATH
                            (<network> may then be omitted)
      --cache-dir DIR       result cache directory (default: /var/lib/cni, as libcni)
      --container-id ID     container ID (default: cnitool's, derived from the netns path)
      --valid ID/IFNAME     gc: an attachment to keep (repeatable)
      --json                print the result as JSON even on a terminal
  -h, --help                show this help

Environment:
  NETCONFPATH   directory of network configs (default /etc/cni/net.d)
  CNI_PATH      plugin directories, ':'-separated
  CNI_IFNAME    interface name (default eth0)
  CNI_ARGS      K=V;K=V passed to the plugins
  CAP_ARGS      JSON object of capability arguments (runtimeConfig)
`;

interface Parsed {
  command: Command;
  positionals: string[];
  ifName?: string;
  conflist?: string;
  cacheDir?: string;
  containerId?: string;
  valid: Attachment[];
  json: boolean;
}

function parseArgv(argv: readonly string[]): Parsed | "help" {
  const flags = parseFlags(
    argv,
    {
      "--ifname": "value",
      "--conflist": "value",
      "--cache-dir": "value",
      "--container-id": "value",
      "--valid": "list",
      "--json": "boolean",
    },
    { "-i": "--ifname" },
  );
  if (flags === "help") return "help";
  const valid = (flags.lists["--valid"] ?? []).map((v): Attachment => {
    const slash = v.lastIndexOf("/");
    if (slash <= 0 || slash === v.length - 1) throw new CliUsageError(`--valid wants CONTAINERID/IFNAME, got "${v}"`);
    return { containerID: v.slice(0, slash), ifname: v.slice(slash + 1) };
  });
  const positionals = flags.positionals;
  const command = positionals.shift();
  if (command === undefined) return "help";
  if (!(COMMANDS as readonly string[]).includes(command)) throw new CliUsageError(`unknown command "${command}"`);
  const v = flags.values;
  return {
    command: command as Command,
    positionals,
    ...(v["--ifname"] !== undefined ? { ifName: v["--ifname"] } : {}),
    ...(v["--conflist"] !== undefined ? { conflist: v["--conflist"] } : {}),
    ...(v["--cache-dir"] !== undefined ? { cacheDir: v["--cache-dir"] } : {}),
    ...(v["--container-id"] !== undefined ? { containerId: v["--container-id"] } : {}),
    valid,
    json: flags.booleans.has("--json"),
  };
}

/** `install` and `validate`: loaded on demand, so add/del/check never load their modules (zod among them). */
async function runNodeCommand(command: "install" | "validate", argv: readonly string[], io: CliIo): Promise<number> {
  const { CliValidationError } = await import("./cli-validate.js");
  try {
    if (command === "install") return await (await import("./cli-install.js")).runInstall(argv, io);
    return await (await import("./cli-validate.js")).runValidate(argv, io);
  } catch (err) {
    if (err instanceof CliUsageError) {
      io.stderr.write(`cnikit ${command}: ${err.message}\nRun 'cnikit ${command} --help' for usage.\n`);
      return 2;
    }
    if (err instanceof CliValidationError) {
      io.stderr.write(`cnikit ${command}: ${err.message}\n`);
      return 1;
    }
    printError(io, command, err);
    return 1;
  }
}

/** cnitool's strict CNI_ARGS parsing: `K=V;K=V`, every pair with a non-empty key and value. */
function parseCnitoolArgs(value: string): [string, string][] {
  return value.split(";").map((pair) => {
    const kv = pair.split("=");
    if (kv.length !== 2 || kv[0] === "" || kv[1] === "") {
      throw new CniError(ErrorCode.InvalidEnvironmentVariables, `invalid CNI_ARGS pair "${pair}"`);
    }
    return [kv[0] as string, kv[1] as string];
  });
}

async function loadList(p: Parsed, env: CliIo["env"]): Promise<{ list: NetworkConfigList; netns: string | undefined }> {
  const needsNetns = p.command === "add" || p.command === "check" || p.command === "del";
  if (p.conflist !== undefined) {
    const file = resolve(p.conflist);
    let list: NetworkConfigList;
    if (file.endsWith(".conflist")) {
      list = await confListFromFile(file);
    } else {
      const text = await readFile(file, "utf8").catch((err: Error) => {
        throw new CniError(ErrorCode.IoFailure, `error reading ${file}: ${err.message}`);
      });
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (err) {
        throw new CniError(ErrorCode.DecodingFailure, `error parsing configuration: ${(err as Error).message}`);
      }
      const isList = typeof raw === "object" && raw !== null && "plugins" in raw;
      list = isList ? await confListFromFile(file) : confListFromConf(confFromBytes(text));
    }
    // positionals: [<network>] <netns>
    let [a, b] = p.positionals;
    if (p.positionals.length > 2) throw new CliUsageError("too many arguments");
    if (b === undefined && a !== undefined && (needsNetns || a !== list.name)) {
      b = a;
      a = undefined;
    }
    if (a !== undefined && a !== list.name) {
      throw new CliUsageError(`network "${a}" does not match the name "${list.name}" in ${p.conflist}`);
    }
    if (needsNetns && b === undefined) throw new CliUsageError("network namespace is required");
    return { list, netns: b };
  }
  const [name, netns] = p.positionals;
  if (p.positionals.length > 2) throw new CliUsageError("too many arguments");
  if (name === undefined || (needsNetns && netns === undefined)) {
    throw new CliUsageError("network name and namespace are required");
  }
  const dir = env.NETCONFPATH || "/etc/cni/net.d";
  return { list: await loadConfList(dir, name), netns };
}

function printError(io: CliIo, command: string, err: unknown): void {
  if (err instanceof CliUsageError) {
    io.stderr.write(`cnikit: ${err.message}\nRun 'cnikit --help' for usage.\n`);
    return;
  }
  const e = CniError.from(err);
  const codeName = ERROR_NAMES[e.code];
  io.stderr.write(`cnikit ${command}: ${e.msg}\n`);
  if (e.details !== undefined) io.stderr.write(`  details: ${e.details}\n`);
  io.stderr.write(`  CNI error code ${e.code}${codeName ? ` (${codeName})` : ""}\n`);
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code.
 *
 * @example process.exitCode = await runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr });
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv[0] === "install" || argv[0] === "validate") return runNodeCommand(argv[0], argv.slice(1), io);
  let parsed: Parsed | "help";
  try {
    parsed = parseArgv(argv);
  } catch (err) {
    printError(io, "", err);
    return 2;
  }
  if (parsed === "help") {
    io.stdout.write(USAGE);
    return 0;
  }
  const p = parsed;
  const env = io.env;
  try {
    const { list, netns } = await loadList(p, env);
    let capabilityArgs: Record<string, unknown> | undefined;
    if (env.CAP_ARGS) {
      try {
        capabilityArgs = JSON.parse(env.CAP_ARGS) as Record<string, unknown>;
      } catch (err) {
        throw new CniError(ErrorCode.InvalidEnvironmentVariables, `invalid CAP_ARGS: ${(err as Error).message}`);
      }
      if (capabilityArgs === null || typeof capabilityArgs !== "object" || Array.isArray(capabilityArgs)) {
        throw new CniError(ErrorCode.InvalidEnvironmentVariables, "invalid CAP_ARGS: not a JSON object");
      }
    }
    const cniArgs = env.CNI_ARGS ? parseCnitoolArgs(env.CNI_ARGS) : undefined;
    const ifName = p.ifName || env.CNI_IFNAME || "eth0";
    const absNetns = netns === undefined ? "" : goAbsPath(netns, env);
    const rt: RuntimeConf = {
      containerId: p.containerId ?? (netns === undefined ? "" : cnitoolContainerId(absNetns)),
      netns: absNetns,
      ifName,
      args: cniArgs,
      capabilityArgs,
    };
    const cni = new CniRuntime({ path: splitPath(env.CNI_PATH), cacheDir: p.cacheDir, env });
    switch (p.command) {
      case "add": {
        const result = await cni.addNetworkList(list, rt);
        if (result !== undefined) {
          if (io.stdout.isTTY && !p.json) io.stdout.write(formatResultSummary(result));
          else io.stdout.write(`${JSON.stringify(result, null, 4)}\n`);
        }
        break;
      }
      case "check":
        await cni.checkNetworkList(list, rt);
        break;
      case "del":
        await cni.delNetworkList(list, rt);
        break;
      case "status":
        await cni.getStatusNetworkList(list);
        break;
      case "gc":
        await cni.gcNetworkList(list, p.valid.length > 0 ? { validAttachments: p.valid } : undefined);
        break;
    }
    return 0;
  } catch (err) {
    printError(io, p.command, err);
    return err instanceof CliUsageError ? 2 : 1;
  }
}
