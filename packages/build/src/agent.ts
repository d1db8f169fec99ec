/**
 * `buildAgent`: the agent-mode files of a plugin (`cnikit-build --agent`): the native shim, its
 * sidecar and the module `cnikit-agent` serves, in `dist/agent/` beside the usual `dist/<name>`.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol — the shim is the executable the runtime execs
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Metafile } from "esbuild";
import { bundleAgentModule } from "./bundle.js";
import { bundleOptions, resolveEntry } from "./build-plugin.js";
import { BuildError } from "./errors.js";
import { copyNativeAddons } from "./native-addons.js";

/**
 * Options of {@link buildAgent}.
 *
 * @example
 * ```ts
 * const options: BuildAgentOptions = { plugin: "src/plugin.ts", name: "bridge", outdir: "dist/agent" };
 * ```
 */
export interface BuildAgentOptions {
  /** The module whose default export is the plugin (`definePlugin(...)`), relative to `cwd`. */
  readonly plugin: string;
  /** The plugin's executable name (the shim's name, the socket's `<name>.sock`). */
  readonly name: string;
  /** Output directory (e.g. `dist/agent`), relative to `cwd`. */
  readonly outdir: string;
  /** Directory paths are relative to; default `process.cwd()`. */
  readonly cwd?: string | undefined;
  /** The sidecar's socket (default `/run/cnikit/<name>.sock`). */
  readonly socket?: string | undefined;
  /** The sidecar's fallback, relative to outdir (default `../<name>`, i.e. the usual `dist/<name>`). */
  readonly fallback?: string | undefined;
  /** The shim's hard deadline in ms (default 30000). */
  readonly timeoutMs?: number | undefined;
  /** Minify the module. */
  readonly minify?: boolean | undefined;
  /** Module names left out of the bundle. */
  readonly external?: readonly string[] | undefined;
  /** The shim executable to copy (default `@cnikit/agent`'s built `dist/shim`). */
  readonly shim?: string | undefined;
}

/**
 * What {@link buildAgent} wrote.
 *
 * @example
 * ```ts
 * const { shim, sidecar, module }: BuildAgentResult = await buildAgent({ plugin: "src/plugin.ts", name: "bridge", outdir: "dist/agent" });
 * ```
 */
export interface BuildAgentResult {
  /** `<outdir>/<name>`: the shim. */
  readonly shim: string;
  /** `<outdir>/<name>.agent.json`: the shim's sidecar. */
  readonly sidecar: string;
  /** `<outdir>/<name>.plugin.cjs`: the module `cnikit-agent serve` loads. */
  readonly module: string;
  /** Native addons copied beside the module. */
  readonly nativeAddons: readonly string[];
  /** esbuild's metafile of the module. */
  readonly metafile: Metafile;
}

/** The shim built by `@cnikit/agent` (`pnpm build` compiles it with the system's C compiler). */
function defaultShim(): string {
  let path: string;
  try {
    path = createRequire(import.meta.url).resolve("@cnikit/agent/shim");
  } catch (err) {
    throw new BuildError(
      `--agent needs @cnikit/agent (the shim and the daemon): npm install --save-dev @cnikit/agent (${(err as Error).message})`,
    );
  }
  if (!existsSync(path))
    throw new BuildError(`${path} is missing: build @cnikit/agent first (it needs musl-tools, or gcc and libc6-dev)`);
  return path;
}

/** The plugin's cniVersions, read by loading the built module in a child node. */
function cniVersionsOf(module: string): string[] {
  const script =
    "const m = require(process.argv[1]); const p = m.default ?? m;" +
    "process.stdout.write(JSON.stringify(p.cniVersions));";
  try {
    const out = execFileSync(process.execPath, ["-e", script, module], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const versions = JSON.parse(out) as unknown;
    if (!Array.isArray(versions) || !versions.every((v) => typeof v === "string")) throw new Error("no cniVersions");
    return versions;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new BuildError(
      `${module}: its default export is not a cnikit plugin with cniVersions (${stderr.trim().split("\n")[0] || (err as Error).message})`,
    );
  }
}

/**
 * Writes the agent-mode files of a plugin into `outdir` (usually `dist/agent`): `<name>` (the
 * static shim, copied), `<name>.agent.json` (`socket`, `fallback`, `timeoutMs`, `cniVersions`)
 * and `<name>.plugin.cjs` (the plugin module's default export, bundled, with `koffi.node` beside
 * it when it uses it). Install the shim in CNI_PATH under the plugin's name and serve the module
 * with `cnikit-agent serve`; without a daemon the shim execs the fallback.
 *
 * @example
 * ```ts
 * await buildPlugin({ entry: "src/main.ts", outfile: "dist/bridge" });
 * await buildAgent({ plugin: "src/plugin.ts", name: "bridge", outdir: "dist/agent" });
 * ```
 * @throws {BuildError} when the plugin module is missing, does not default-export a plugin, or
 *   the shim is not built.
 */
export async function buildAgent(options: BuildAgentOptions): Promise<BuildAgentResult> {
  const cwd = options.cwd ?? process.cwd();
  if (!/^[A-Za-z0-9._-]+$/.test(options.name))
    throw new BuildError(`${JSON.stringify(options.name)} is not a plugin name`);
  const pluginAbs = resolveEntry(options.plugin, cwd);
  const outdir = resolve(cwd, options.outdir);
  const shimSource = options.shim ? resolve(cwd, options.shim) : defaultShim();
  mkdirSync(outdir, { recursive: true });
  const module = join(outdir, `${options.name}.plugin.cjs`);
  const work = mkdtempSync(join(tmpdir(), "cnikit-build-agent-"));
  try {
    const metafile = await bundleAgentModule(
      bundleOptions(pluginAbs, { minify: options.minify ?? false, external: options.external ?? [] }),
      module,
      work,
    );
    const nativeAddons = copyNativeAddons({ outdir, metafile, workingDir: process.cwd() });
    const cniVersions = cniVersionsOf(module);
    const shim = join(outdir, options.name);
    rmSync(shim, { force: true });
    copyFileSync(shimSource, shim);
    chmodSync(shim, 0o755);
    const sidecar = `${shim}.agent.json`;
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new BuildError(`timeoutMs must be a positive integer`);
    writeFileSync(
      sidecar,
      `${JSON.stringify(
        {
          socket: options.socket ?? `/run/cnikit/${options.name}.sock`,
          fallback: options.fallback ?? `../${options.name}`,
          timeoutMs,
          cniVersions,
        },
        null,
        2,
      )}\n`,
    );
    return { shim, sidecar, module, nativeAddons, metafile };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
