/**
 * `buildFixture()`: the one way the repository's tests get a built plugin (an example's
 * `dist/<name>`, noop included, or a test fixture). It calls `cnikit-build` (the
 * `buildPlugin` of packages/build, from its sources) and skips the build only when the output
 * is newer than every file the last build bundled.
 *
 * Test-only and repository-internal on purpose: packages below `@cnikit/testing` (ns, skel,
 * invoke, runtime) need fixtures too and cannot depend on it without a cycle, and the published
 * `@cnikit/testing` should not depend on the bundler.
 *
 * @example
 * ```ts
 * import { buildFixture } from "../../../tools/build-fixture.js";
 * const noop = await buildFixture("examples/noop"); // what `pnpm build` writes: examples/noop/dist/noop
 * const bunBridge = await buildFixture("examples/bridge", "build:bun"); // examples/bridge/dist-bun/bridge
 * const shim = await buildFixture("examples/bridge", "build:agent"); // examples/bridge/dist/agent/bridge (+ .agent.json, .plugin.cjs)
 * const vethtest = await buildFixture({ entry: "packages/ns/test/fixtures/bundle-veth.ts", outfile: join(dir, "vethtest") });
 * ```
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { basename } from "node:path";
import { type BuildPluginOptions, buildAgent, buildBun, buildPlugin } from "../packages/build/src/index.js";

/**
 * What to build: `cnikit-build`'s options, and which runtime the output is for (default node).
 * `agent`: `cnikit-build --agent`, where `entry` is the plugin module and `outfile` the shim
 * (`dist/agent/<name>`).
 */
export interface FixtureOptions extends BuildPluginOptions {
  readonly target?: "node" | "bun" | "bun-shared" | "agent" | undefined;
}

/** The repository root. */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const CACHE_DIR = join(REPO_ROOT, "node_modules/.cache/cnikit-fixtures");

/**
 * A stable output path for a test-only fixture (not a package's dist/), in a directory of its
 * own (its native addon and package.json beside it), so a current build is reused by later runs.
 *
 * @example
 * ```ts
 * const bin = await buildFixture({ entry: join(here, "fixtures/big-result-plugin.ts"), outfile: fixtureOutfile("big-result") });
 * ```
 */
export function fixtureOutfile(name: string): string {
  return join(CACHE_DIR, "bin", name, name);
}
const BUILD_SRC = join(REPO_ROOT, "packages/build/src");

/** What the last build of one output bundled, to decide whether it is still current. */
interface BuildRecord {
  readonly options: string;
  readonly inputs: readonly string[];
}

/**
 * Builds a plugin with `cnikit-build` unless its output is current; returns the absolute path
 * of the executable.
 *
 * - A string is a workspace package directory (relative to the repository root or absolute):
 *   its `build` script `cnikit-build <entry> <outfile>` is run as `pnpm build` runs it, so the
 *   output is the same file at the same place.
 * - An object is `buildPlugin`'s options (`cnikit-build`'s library form); relative paths are
 *   relative to `cwd`, default the repository root.
 *
 * The output is current when it exists, was built with the same options, and is newer than every
 * file its last build bundled, than packages/build's sources, and than the entry. A workspace
 * package bundled from its `dist/` whose `src/` is newer fails with "run pnpm build" instead of
 * giving a stale fixture. Concurrent test files building the same output wait for each other.
 *
 * @throws Error when the package has no `cnikit-build` build script, when the build fails, or
 *   when a bundled workspace package's dist is older than its sources.
 * @example
 * ```ts
 * const bridge = await buildFixture("examples/bridge"); // <repo>/examples/bridge/dist/bridge
 * ```
 */
export async function buildFixture(what: string | FixtureOptions, script = "build"): Promise<string> {
  const options = typeof what === "string" ? optionsFromPackage(resolve(REPO_ROOT, what), script) : what;
  const cwd = options.cwd ?? REPO_ROOT;
  const outfile = resolve(cwd, options.outfile);
  const full: FixtureOptions = { ...options, cwd, outfile, entry: resolve(cwd, options.entry) };
  const key = JSON.stringify({ ...full, afterBundle: undefined });
  const recordFile = join(CACHE_DIR, `${createHash("sha256").update(outfile).digest("hex").slice(0, 20)}.json`);
  if (isCurrent(outfile, recordFile, key, full.entry)) return outfile;
  mkdirSync(CACHE_DIR, { recursive: true });
  const release = await lock(`${recordFile}.lock`);
  try {
    if (isCurrent(outfile, recordFile, key, full.entry)) return outfile;
    rmSync(recordFile, { force: true });
    const startedAt = Date.now();
    const { target, ...plugin } = full;
    const { metafile } =
      target === "bun" || target === "bun-shared"
        ? await buildBun({ entry: plugin.entry, outfile, cwd, target })
        : target === "agent"
          ? await buildAgent({ plugin: plugin.entry, name: basename(outfile), outdir: dirname(outfile), cwd })
          : await buildPlugin(plugin);
    const inputs = Object.keys(metafile.inputs)
      .filter((i) => !i.startsWith("<") && !i.includes(":"))
      .map((i) => resolve(process.cwd(), i));
    checkWorkspaceDists(inputs);
    // the shim copied into an agent build is an input too (built from shim.c, not src/)
    if (target === "agent") inputs.push(join(REPO_ROOT, "packages/agent/dist/shim"));
    // inputs changed during the build: leave no record, so the next call builds again
    if (newest(inputs) <= startedAt) {
      const record: BuildRecord = { options: key, inputs };
      writeFileSync(recordFile, JSON.stringify(record));
    }
    return outfile;
  } finally {
    release();
  }
}

function optionsFromPackage(dir: string, script: string): FixtureOptions {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  const text = pkg.scripts?.[script] ?? "";
  // the first command of the script (`build` runs `build:bun` after it)
  const words = (text.split("&&")[0] ?? "").trim().split(/\s+/);
  const [bin, entry, outfile, ...rest] = words;
  if (bin === "cnikit-build" && entry && outfile && rest.length === 1 && rest[0] === "--agent") {
    // `cnikit-build <entry> dist/<name> --agent`: plugin.ts beside the entry → dist/agent/<name>
    const plugin = join(dirname(entry), "plugin.ts");
    const shim = join(dirname(outfile), "agent", basename(outfile));
    return { entry: plugin, outfile: shim, cwd: dir, target: "agent" };
  }
  const target = rest[0] === "--target" && rest.length === 2 ? rest[1] : undefined;
  if (bin !== "cnikit-build" || !entry || !outfile || (rest.length && !(target === "bun" || target === "bun-shared"))) {
    throw new Error(
      `${relative(REPO_ROOT, dir) || dir}: buildFixture needs a "${script}" script "cnikit-build <entry> <outfile> [--target bun|bun-shared | --agent]", not ${JSON.stringify(text)}`,
    );
  }
  // the same defaults as the cnikit-build command line
  return {
    entry,
    outfile,
    cwd: dir,
    minify: false,
    external: [],
    snapshot: false,
    snapshotRehash: false,
    codeCache: true,
    target: target as FixtureOptions["target"],
  };
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY; // gone: not current
  }
}

function newest(files: readonly string[]): number {
  let n = 0;
  for (const f of files) n = Math.max(n, mtime(f));
  return n;
}

function newestIn(dir: string, skip: (name: string) => boolean = () => false): number {
  let n = 0;
  if (!existsSync(dir)) return n;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (skip(e.name)) continue;
    const p = join(dir, e.name);
    n = Math.max(n, e.isDirectory() ? newestIn(p, skip) : statSync(p).mtimeMs);
  }
  return n;
}

function isCurrent(outfile: string, recordFile: string, key: string, entry: string): boolean {
  if (!existsSync(outfile) || !existsSync(recordFile)) return false;
  let record: BuildRecord;
  try {
    record = JSON.parse(readFileSync(recordFile, "utf8")) as BuildRecord;
  } catch {
    return false;
  }
  if (record.options !== key) return false;
  const built = statSync(outfile).mtimeMs;
  return newest([...record.inputs, entry]) <= built && newestIn(BUILD_SRC, isTestFile) <= built;
}

const isTestFile = (name: string): boolean => name.endsWith(".test.ts");

/** Refuses to bundle a workspace package's dist/ that is older than its src/. */
function checkWorkspaceDists(inputs: readonly string[]): void {
  const stale = new Set<string>();
  const packages = join(REPO_ROOT, "packages");
  for (const input of inputs) {
    const rel = relative(packages, input).split("/");
    if (rel.length < 3 || rel[0] === ".." || rel[1] !== "dist") continue;
    const pkgDir = join(packages, rel[0] as string);
    if (newestIn(join(pkgDir, "src"), isTestFile) > mtime(input)) stale.add(relative(REPO_ROOT, pkgDir));
  }
  if (stale.size) {
    throw new Error(`the built ${[...stale].join(", ")} (dist/) is older than its sources: run \`pnpm build\` first`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An exclusive lock file shared by the test processes; a lock older than 5 minutes is stale. */
async function lock(file: string): Promise<() => void> {
  for (;;) {
    try {
      closeSync(openSync(file, "wx"));
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (Date.now() - mtime(file) > 300_000) rmSync(file, { force: true });
      await sleep(100);
    }
  }
}
