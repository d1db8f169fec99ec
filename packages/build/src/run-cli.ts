/**
 * The `cnikit-build` command line (the bin in cli.ts calls {@link runBuildCli}).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol — a plugin is an executable the runtime execs
 */
import { existsSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildAgent } from "./agent.js";
import { BUILD_FORMATS, type BuildFormat, buildPlugin, DEFAULT_FORMAT } from "./build-plugin.js";
import { BUN_TARGETS, type BunTarget, buildBun } from "./bun.js";
import { BuildError } from "./errors.js";
import { buildSea } from "./sea.js";

/** The `--target` values: node (the default) or one of the Bun forms. */
const TARGETS = ["node", ...BUN_TARGETS] as const;

/**
 * The text of `cnikit-build --help`.
 *
 * @example
 * ```ts
 * process.stdout.write(BUILD_USAGE);
 * ```
 */
export const BUILD_USAGE = `usage: cnikit-build <entry> <outfile> [options]

Bundles a CNI plugin into ONE executable file (#!/usr/bin/env node, chmod 755) with V8's
code cache for it beside it (<outfile>.v8cache); when the plugin loads koffi (through
@cnikit/native: @cnikit/ns, flock, delegation), its addon (koffi.node) is copied beside it too
(not for --target bun|bun-shared: under Bun @cnikit/native calls libc through bun:ffi).
Installing the plugin = copying the output directory.

  cnikit-build src/main.ts dist/my-plugin              CommonJS bundle (default)
  cnikit-build src/main.ts dist/my-plugin --snapshot   start-up snapshot: sh launcher + .blob
  cnikit-build src/main.ts dist-sea/my-plugin --sea    single executable, node embedded
  cnikit-build src/main.ts dist-sea/my-plugin --sea --snapshot
                                                       the same with a start-up snapshot
                                                       inside: the fastest Node start
  cnikit-build src/main.ts dist-bun/my-plugin --target bun
                                                       one Bun executable (bytecode), ~110 MB:
                                                       the fastest one-shot start
  cnikit-build src/main.ts dist-bun/my-plugin --target bun-shared
                                                       bytecode bundle + .jsc, run by one bun
                                                       copied beside it for all plugins
  cnikit-build src/main.ts dist/my-plugin --agent      agent mode: dist/agent/my-plugin (the
                                                       native shim), .agent.json (its sidecar,
                                                       fallback ../my-plugin) and .plugin.cjs
                                                       (what cnikit-agent serve loads)

options:
  --target node|bun|bun-shared
                       what runs the plugin (default node); Bun comes from the npm package
                       @oven/bun-linux-x64 (-baseline without AVX2), pinned
  --format cjs|esm     module format of the bundle (default ${DEFAULT_FORMAT})
  --snapshot           evaluate the plugin at build time into a start-up snapshot; the
                       launcher falls back to <outfile>.cjs under another node version
                       (with --sea: the snapshot goes into the executable)
  --snapshot-rehash    with --snapshot: keep V8's per-start heap rehash (slower start)
  --sea                Node single executable application (needs postject installed)
  --shebang <line>     first line of the bundle (default #!/usr/bin/env node),
                       e.g. '#!/opt/cni/bin/node' to ship node beside the plugin;
                       with --target bun-shared default #!<outdir>/bun, e.g. '#!/opt/cni/bin/bun'
  --bun <path>         with --target bun*: the bun binary to build with (and to copy)
  --no-code-cache      CommonJS: no <outfile>.v8cache (V8's code cache, used by the node
                       that built it; without it every call compiles the bundle)
  --no-version-prologue
                       plain and Bun builds: no VERSION answer before the bundle is
                       evaluated (by default, when the entry's modules define one plugin
                       whose cniVersions is a list, its VERSION reply is captured at build
                       time and written by a few lines that run first)
  --agent              write the agent-mode files into <outdir>/agent/ (see @cnikit/agent);
                       the plugin module (default export: the Plugin) is --plugin, by
                       default plugin.ts beside the entry; the plain build stays the fallback
  --plugin <module>    with --agent: the module that default-exports the plugin
  --socket <path>      with --agent: the daemon's socket (default /run/cnikit/<name>.sock)
  --timeout-ms <n>     with --agent: the shim's hard deadline (default 30000)
  --minify             minify the bundle
  --external <module>  leave <module> out of the bundle (repeatable)
  -h, --help           this help
`;

/**
 * Where the CLI writes (process.stdout / process.stderr by default).
 *
 * @example
 * ```ts
 * let log = "";
 * await runBuildCli(["--help"], { out: (s) => (log += s), err: (s) => (log += s), cwd: process.cwd() });
 * ```
 */
export interface BuildCliIo {
  /** Writes to stdout. */
  readonly out: (s: string) => void;
  /** Writes to stderr. */
  readonly err: (s: string) => void;
  /** Directory paths are relative to. */
  readonly cwd: string;
}

const defaultIo: BuildCliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  cwd: process.cwd(),
};

/**
 * Runs `cnikit-build` with `argv` (without node and the script); returns the exit code:
 * 0 built, 1 build failed, 2 usage error.
 *
 * @example
 * ```ts
 * process.exitCode = await runBuildCli(["src/main.ts", "dist/my-plugin", "--snapshot"]);
 * ```
 */
export async function runBuildCli(argv: readonly string[], io: BuildCliIo = defaultIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`cnikit-build: ${(err as Error).message}\n\n${BUILD_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(BUILD_USAGE);
    return 0;
  }
  const [entry, outfile, ...extra] = positionals;
  const usageError = (msg: string) => {
    io.err(`cnikit-build: ${msg}\n\n${BUILD_USAGE}`);
    return 2;
  };
  if (!entry || !outfile) return usageError("an entry and an outfile are required");
  if (extra.length) return usageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  if (values["no-version-prologue"] && (values.agent || values.sea || values.snapshot))
    return usageError("--no-version-prologue applies to plain and Bun builds only (not --agent, --sea, --snapshot)");
  if (values.agent) return runAgentBuild(entry, outfile, values, io, usageError);
  if (values.plugin !== undefined || values.socket !== undefined || values["timeout-ms"] !== undefined)
    return usageError("--plugin, --socket and --timeout-ms need --agent");
  const format = values.format as BuildFormat | undefined;
  if (format !== undefined && !(BUILD_FORMATS as readonly string[]).includes(format)) {
    return usageError(`--format must be ${BUILD_FORMATS.join(" or ")}, not ${JSON.stringify(format)}`);
  }
  const target = (values.target ?? "node") as (typeof TARGETS)[number];
  if (!(TARGETS as readonly string[]).includes(target)) {
    return usageError(`--target must be ${TARGETS.join(", ")}, not ${JSON.stringify(values.target)}`);
  }
  const isBun = target !== "node";
  if (isBun && (values.sea || values.snapshot || format || values["no-code-cache"] || values["snapshot-rehash"]))
    return usageError(`--target ${target} cannot be combined with --sea, --snapshot, --format or --no-code-cache`);
  if (values.bun !== undefined && !isBun) return usageError("--bun needs --target bun or bun-shared");
  if (target === "bun" && values.shebang !== undefined) return usageError("--shebang does not apply to --target bun");
  if (values.sea && format) return usageError("--sea cannot be combined with --format");
  if (values["snapshot-rehash"] && !values.snapshot) return usageError("--snapshot-rehash needs --snapshot");
  if (values["snapshot-rehash"] && values.sea) return usageError("--snapshot-rehash does not apply to --sea");
  if (values.snapshot && format) return usageError("--snapshot cannot be combined with --format");
  if (values.shebang !== undefined && (values.snapshot || values.sea))
    return usageError("--shebang applies to plain bundles only");
  const common = { entry, outfile, cwd: io.cwd, minify: values.minify ?? false, external: values.external ?? [] };
  const versionPrologue = !values["no-version-prologue"];
  try {
    const r: {
      outfile: string;
      nativeAddons: readonly string[];
      blob?: string | undefined;
      fallback?: string | undefined;
      scopeFile?: string | undefined;
      codeCache?: string | undefined;
      bytecode?: string | undefined;
      runtime?: string | undefined;
    } = isBun
      ? await buildBun({
          ...common,
          target: target as BunTarget,
          minify: true, // Bun builds are always minified
          versionPrologue,
          ...(values.shebang !== undefined ? { shebang: values.shebang } : {}),
          ...(values.bun !== undefined ? { bunBinary: values.bun } : {}),
        })
      : values.sea
        ? await buildSea({ ...common, snapshot: values.snapshot ?? false })
        : await buildPlugin({
            ...common,
            ...(format ? { format } : {}),
            ...(values.shebang !== undefined ? { shebang: values.shebang } : {}),
            snapshot: values.snapshot ?? false,
            snapshotRehash: values["snapshot-rehash"] ?? false,
            codeCache: !values["no-code-cache"],
            versionPrologue,
          });
    const rel = (p: string) => {
      const r = relative(io.cwd, p);
      return r && !r.startsWith("..") ? r : p;
    };
    const extras: string[] = [
      ...(r.codeCache ? [r.codeCache] : []),
      ...(r.bytecode ? [r.bytecode] : []),
      ...(r.runtime ? [r.runtime] : []),
      ...r.nativeAddons,
      ...(r.scopeFile ? [r.scopeFile] : []),
    ];
    if (r.blob) extras.unshift(r.blob, ...(r.fallback ? [r.fallback] : []));
    io.err(`built ${rel(r.outfile)}${extras.length ? ` (+ ${extras.map(rel).join(", ")})` : ""}\n`);
    return 0;
  } catch (err) {
    const msg = err instanceof BuildError ? err.message : String((err as Error)?.stack ?? err);
    io.err(`cnikit-build: ${msg}\n`);
    return 1;
  }
}

type ParsedValues = ReturnType<typeof parse>["values"];

/** `--agent`: the shim, its sidecar and the served module in `<outdir>/agent/`. */
async function runAgentBuild(
  entry: string,
  outfile: string,
  values: ParsedValues,
  io: BuildCliIo,
  usageError: (msg: string) => number,
): Promise<number> {
  if (values.sea || values.snapshot || values.format || values.target || values.bun || values.shebang)
    return usageError("--agent cannot be combined with --sea, --snapshot, --format, --target, --bun or --shebang");
  const timeout = values["timeout-ms"];
  const timeoutMs = timeout === undefined ? undefined : Number(timeout);
  if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0))
    return usageError(`--timeout-ms must be a positive integer, not ${JSON.stringify(timeout)}`);
  const plugin = values.plugin ?? join(dirname(entry), "plugin.ts");
  if (values.plugin === undefined && !existsSync(resolve(io.cwd, plugin)))
    return usageError(`--agent needs --plugin <module> (no ${plugin} beside the entry)`);
  const name = basename(outfile);
  try {
    const r = await buildAgent({
      plugin,
      name,
      outdir: join(dirname(outfile), "agent"),
      cwd: io.cwd,
      socket: values.socket,
      timeoutMs,
      minify: values.minify ?? false,
      external: values.external ?? [],
    });
    const rel = (p: string) => {
      const x = relative(io.cwd, p);
      return x && !x.startsWith("..") ? x : p;
    };
    io.err(`built ${rel(r.shim)} (+ ${[r.sidecar, r.module, ...r.nativeAddons].map(rel).join(", ")})\n`);
    return 0;
  } catch (err) {
    const msg = err instanceof BuildError ? err.message : String((err as Error)?.stack ?? err);
    io.err(`cnikit-build: ${msg}\n`);
    return 1;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: "string" },
      target: { type: "string" },
      bun: { type: "string" },
      snapshot: { type: "boolean" },
      "no-code-cache": { type: "boolean" },
      "no-version-prologue": { type: "boolean" },
      "snapshot-rehash": { type: "boolean" },
      sea: { type: "boolean" },
      minify: { type: "boolean" },
      agent: { type: "boolean" },
      plugin: { type: "string" },
      socket: { type: "string" },
      "timeout-ms": { type: "string" },
      shebang: { type: "string" },
      external: { type: "string", multiple: true },
      help: { type: "boolean", short: "h" },
    },
  });
}
