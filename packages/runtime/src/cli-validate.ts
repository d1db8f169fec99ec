/**
 * `cnikit validate <conflist>`: is this network config usable on this node? The file is parsed
 * (a syntax error names `file:line:column`), checked against `ConfListSchema` and libcni's rules,
 * and every plugin it names (each `type`, and each `ipam.type`) is looked up in the bin dirs and
 * asked with VERSION whether it supports the list's `cniVersion`. Loaded by `cli-main.ts` only for
 * this command (zod is not on the other commands' path).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#version
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { findInPath, getVersionInfo } from "@cnikit/invoke";
import { CniError, formatIssuePath } from "@cnikit/spec";
import { ConfListSchema, NetConfSchema } from "@cnikit/spec/schemas";
import type { CliIo } from "./cli-main.js";
import { confFromBytes, confListFromBytes, confListFromConf } from "./conf.js";
import type { NetworkConfigList } from "./conf.js";
import { CliUsageError, parseFlags } from "./cli-flags.js";
import { findJsonSyntaxError } from "./json-location.js";

/** `cnikit validate --help`. */
export const VALIDATE_USAGE = `Usage: cnikit validate <conflist> [--bin-dir DIR]...

Checks a network configuration file (.conflist, or a single-plugin .conf) before a runtime uses it:
its JSON syntax (errors name file:line:column), the conflist schema and libcni's rules, and that
every plugin it names (each "type" and "ipam.type") is an executable in the bin dirs that supports
the list's cniVersion, asking each with VERSION. Exits 1 naming each plugin that does not.

Options:
      --bin-dir DIR    a plugin directory to search (repeatable, or ':'-separated;
                       default: $CNI_PATH, else /opt/cni/bin)
  -h, --help           show this help
`;

interface PluginRef {
  /** How the report names it: `plugins[0] bridge` or `plugins[0].ipam host-local`. */
  where: string;
  type: string;
}

function pluginRefs(list: NetworkConfigList): PluginRef[] {
  const refs: PluginRef[] = [];
  list.plugins.forEach((p, i) => {
    refs.push({ where: `plugins[${i}]`, type: p.network.type });
    const ipam = (p.network as { ipam?: unknown }).ipam;
    if (typeof ipam === "object" && ipam !== null && typeof (ipam as { type?: unknown }).type === "string") {
      const type = (ipam as { type: string }).type;
      if (type !== "") refs.push({ where: `plugins[${i}].ipam`, type });
    }
  });
  return refs;
}

/** Parses and checks the file; throws a CliValidationError with `file[:line:col]: message`. */
function parseConfig(file: string, text: string): NetworkConfigList {
  const syntax = findJsonSyntaxError(text);
  if (syntax)
    throw new CliValidationError(`${file}:${syntax.location.line}:${syntax.location.column}: ${syntax.message}`);
  const raw = JSON.parse(text) as unknown;
  const isList = typeof raw === "object" && raw !== null && !Array.isArray(raw) && !("type" in raw);
  const checked = (isList ? ConfListSchema : NetConfSchema).safeParse(raw);
  if (!checked.success) {
    const lines = checked.error.issues.map((i) => `  ${formatIssuePath(i.path)}: ${i.message}`);
    throw new CliValidationError(
      `${file}: not a valid ${isList ? "network configuration list" : "network configuration"}:\n${lines.join("\n")}`,
    );
  }
  try {
    if (!isList) return confListFromConf(confFromBytes(text));
    const list = confListFromBytes(text);
    if (list.plugins.length === 0)
      throw new CliValidationError(`${file}: no "plugins" (cnikit validate checks inlined plugins only)`);
    return list;
  } catch (err) {
    if (err instanceof CliValidationError) throw err;
    throw new CliValidationError(`${file}: ${CniError.from(err).msg}`);
  }
}

/** A problem with the file itself (exit 1, printed as is). */
export class CliValidationError extends Error {}

/** Runs `cnikit validate` and returns the exit code. */
export async function runValidate(argv: readonly string[], io: CliIo): Promise<number> {
  const flags = parseFlags(argv, { "--bin-dir": "list" });
  if (flags === "help") {
    io.stdout.write(VALIDATE_USAGE);
    return 0;
  }
  const [fileArg, ...rest] = flags.positionals;
  if (fileArg === undefined) throw new CliUsageError("validate needs a conflist file");
  if (rest.length > 0) throw new CliUsageError(`validate takes one file, got ${flags.positionals.length}`);
  const binDirs = (flags.lists["--bin-dir"] ?? []).flatMap((d) => d.split(":")).filter((d) => d !== "");
  const path = binDirs.length > 0 ? binDirs : (io.env.CNI_PATH ?? "").split(":").filter((d) => d !== "");
  if (path.length === 0) path.push("/opt/cni/bin");

  const file = resolve(fileArg);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new CliValidationError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const list = parseConfig(fileArg, text);
  const version = list.cniVersion === "" ? "0.1.0" : list.cniVersion;
  io.stdout.write(`${fileArg}: network "${list.name}", cniVersion ${version}, plugins from ${path.join(":")}\n`);

  const failed: string[] = [];
  for (const ref of pluginRefs(list)) {
    const label = `${ref.where} ${ref.type}`;
    let pluginPath: string;
    try {
      pluginPath = await findInPath(ref.type, path);
    } catch (err) {
      failed.push(ref.type);
      io.stdout.write(`  FAIL ${label}: ${CniError.from(err).msg}\n`);
      continue;
    }
    try {
      const info = await getVersionInfo(pluginPath, { env: io.env, stderr: io.stderr, timeoutMs: 10_000 });
      const supported = info.supportedVersions;
      if (supported.includes(version)) {
        io.stdout.write(`  ok   ${label} (${pluginPath}): supports ${version}\n`);
      } else {
        failed.push(ref.type);
        io.stdout.write(
          `  FAIL ${label} (${pluginPath}) does not support cniVersion ${version}; it supports ${supported.join(", ")}\n`,
        );
      }
    } catch (err) {
      failed.push(ref.type);
      io.stdout.write(`  FAIL ${label} (${pluginPath}): VERSION failed: ${CniError.from(err).msg}\n`);
    }
  }
  if (failed.length > 0) {
    io.stderr.write(
      `cnikit validate: ${fileArg}: not usable with cniVersion ${version}: ${[...new Set(failed)].join(", ")}\n`,
    );
    return 1;
  }
  io.stdout.write(`${fileArg}: ok\n`);
  return 0;
}
