/**
 * `cnikit install <dist-dir>...`: puts what `cnikit-build` wrote into a node's plugin directory
 * (and a conflist into its config directory) the way a runtime needs it:
 *
 * - every file is written to a temporary name in the target directory and renamed over the
 *   target, so a runtime never executes a half-written file and a running plugin keeps its old
 *   inode (nothing is overwritten in place);
 * - a plugin's companions (native addons, code cache, snapshot blob, ...) go first, its
 *   executable last, and the conflist after all plugins: its presence tells the runtime the
 *   network is ready;
 * - what was installed is recorded in `<dir>/.cnikit-installed` (path → sha256), and a file that
 *   cnikit did not install, or that changed since, is not replaced unless `--force`; nothing is
 *   written when one would be refused;
 * - two installs into one directory run one after the other: each holds
 *   `<dir>/.cnikit-installed.lock` (created exclusively, holding its pid; one left by a process
 *   that no longer runs is taken over) from reading the record to writing it.
 *
 * An agent build's directory (`dist/agent`, with `<name>.agent.json`) installs the shim as
 * `<bin>/<name>`, its sidecar beside it, and the one-shot fallback plus the daemon's
 * `<name>.plugin.cjs` in `<bin>/<name>.cnikit/`, with the sidecar's `fallback` pointing there.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/shipping.md
 */
import { createHash, randomBytes } from "node:crypto";
import { constants, type Stats } from "node:fs";
import {
  chmod,
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { CniError } from "@cnikit/spec";
import type { CliIo } from "./cli-main.js";
import { CliUsageError, parseFlags } from "./cli-flags.js";
import { CliValidationError } from "./cli-validate.js";
import { confFromBytes, confListFromBytes } from "./conf.js";
import { findJsonSyntaxError } from "./json-location.js";

/** `cnikit install --help`. */
export const INSTALL_USAGE = `Usage: cnikit install <dist-dir>... [--bin-dir DIR] [--conflist FILE [--conf-dir DIR]] [--force]

Installs plugins built by cnikit-build (each <dist-dir> as written: dist/, dist-bun/,
dist-snapshot/, dist-sea/, or dist/agent/ for agent mode) into the plugin directory, and a
network configuration into the config directory. Each file is written under a temporary name
and renamed into place (a running plugin is never overwritten in place); companions first, the
executable last, the conflist after every plugin. What was installed is recorded in
<dir>/.cnikit-installed; a file cnikit did not install, or that changed since, is left alone
and the install fails before writing anything, unless --force.

Options:
      --bin-dir DIR     plugin directory (default /opt/cni/bin)
      --conflist FILE   a .conflist (or .conf) to install after the plugins
      --conf-dir DIR    config directory for --conflist (default /etc/cni/net.d)
      --force           replace files cnikit did not install
  -h, --help            show this help
`;

/** The record of what cnikit installed in one directory. */
const MANIFEST = ".cnikit-installed";

interface Manifest {
  version: 1;
  files: Record<string, { sha256: string; source: string; installedAt: string }>;
}

/** One file to put in place: `dest` relative to its target dir. */
interface Planned {
  dir: string;
  dest: string;
  /** Source file, or the bytes to write (a rewritten sidecar, a conflist). */
  source: string;
  bytes?: Buffer;
  mode: number;
  sha256: string;
}

async function sha256File(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, files: {} };
    throw err;
  }
  try {
    const m = JSON.parse(text) as Manifest;
    if (m.version === 1 && typeof m.files === "object" && m.files !== null) return m;
  } catch {
    // fall through
  }
  throw new CliValidationError(`${join(dir, MANIFEST)} is not a cnikit install record; move it away or fix it`);
}

function tempName(dir: string, dest: string): string {
  // no .conf/.conflist/.json suffix: a runtime reading the config dir ignores it
  return join(dir, dirname(dest), `.${basename(dest)}.${randomBytes(6).toString("hex")}.cnikit-tmp`);
}

/** Writes `p` under a temporary name in its target directory, fsyncs it, then renames it into place. */
async function putInPlace(p: Planned): Promise<void> {
  const target = join(p.dir, p.dest);
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempName(p.dir, p.dest);
  try {
    if (p.bytes) await writeFile(tmp, p.bytes, { mode: p.mode, flag: "wx" });
    else await copyFile(p.source, tmp, constants.COPYFILE_EXCL);
    await chmod(tmp, p.mode);
    const fh = await open(tmp, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  await putInPlace({ dir, dest: MANIFEST, source: "", bytes, mode: 0o644, sha256: "" });
}

async function regularFiles(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isFile() || (e.isSymbolicLink() && (await stat(join(dir, e.name))).isFile())) names.push(e.name);
  }
  return names.sort();
}

async function planFile(dir: string, dest: string, source: string): Promise<Planned> {
  const st = await stat(source);
  return { dir, dest, source, mode: st.mode & 0o7777, sha256: await sha256File(source) };
}

function planBytes(dir: string, dest: string, source: string, bytes: Buffer, mode: number): Planned {
  return { dir, dest, source, bytes, mode, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** Companions before executables; within each group by name. */
function orderForInstall(files: Planned[]): Planned[] {
  const isExe = (p: Planned) => (p.mode & 0o111) !== 0 && !p.dest.endsWith(".node");
  return [...files.filter((p) => !isExe(p)), ...files.filter(isExe)];
}

/** The files of one plain build output: every regular file but `package.json` (only meaningful in the project). */
async function planPlainDist(distDir: string, binDir: string): Promise<Planned[]> {
  const names = (await regularFiles(distDir)).filter((n) => n !== "package.json");
  if (names.length === 0) {
    throw new CliValidationError(`${distDir}: no files to install (is it a cnikit-build output directory?)`);
  }
  const exes: string[] = [];
  const planned: Planned[] = [];
  for (const n of names) {
    const p = await planFile(binDir, n, join(distDir, n));
    if ((p.mode & 0o111) !== 0 && !n.endsWith(".node")) exes.push(n);
    planned.push(p);
  }
  if (exes.length === 0)
    throw new CliValidationError(`${distDir}: no executable plugin in it (is it a cnikit-build output directory?)`);
  return orderForInstall(planned);
}

/** An agent build: shim + sidecar in the bin dir, the fallback's build and the daemon module in `<name>.cnikit/`. */
async function planAgentDist(distDir: string, binDir: string, sidecars: string[]): Promise<Planned[]> {
  const real = await realpath(distDir);
  const planned: Planned[] = [];
  for (const sidecarName of sidecars) {
    const name = sidecarName.slice(0, -".agent.json".length);
    const shim = join(distDir, name);
    const sidecarPath = join(distDir, sidecarName);
    let sidecar: Record<string, unknown>;
    try {
      sidecar = JSON.parse(await readFile(sidecarPath, "utf8")) as Record<string, unknown>;
    } catch (err) {
      throw new CliValidationError(`${sidecarPath}: ${(err as Error).message}`);
    }
    if (typeof sidecar.fallback !== "string") throw new CliValidationError(`${sidecarPath}: no "fallback"`);
    const fallback = resolve(real, sidecar.fallback);
    const fallbackDir = dirname(fallback);
    const own = `${name}.cnikit`;
    const byDest = new Map<string, Planned>();
    const add = async (source: string) => {
      const p = await planFile(binDir, join(own, basename(source)), source);
      const seen = byDest.get(p.dest);
      if (seen && seen.sha256 !== p.sha256) {
        throw new CliValidationError(`${seen.source} and ${source} differ but would both be installed as ${p.dest}`);
      }
      byDest.set(p.dest, p);
    };
    for (const n of await regularFiles(fallbackDir)) if (n !== "package.json") await add(join(fallbackDir, n));
    for (const n of await regularFiles(distDir)) {
      if (n.endsWith(".plugin.cjs") || n.endsWith(".node")) await add(join(distDir, n));
    }
    if (!byDest.has(join(own, basename(fallback))))
      throw new CliValidationError(`${sidecarPath}: its fallback ${fallback} does not exist`);
    planned.push(...orderForInstall([...byDest.values()]));
    const rewritten = Buffer.from(
      `${JSON.stringify({ ...sidecar, fallback: `${own}/${basename(fallback)}` }, null, 2)}\n`,
    );
    planned.push(planBytes(binDir, sidecarName, sidecarPath, rewritten, 0o644));
    planned.push(await planFile(binDir, name, shim));
  }
  return planned;
}

async function planDist(distArg: string, binDir: string): Promise<Planned[]> {
  const distDir = resolve(distArg);
  let st: Stats;
  try {
    st = await stat(distDir);
  } catch {
    throw new CliValidationError(`${distArg}: no such directory`);
  }
  if (!st.isDirectory())
    throw new CliValidationError(`${distArg}: not a directory (pass the build output directory, e.g. dist)`);
  const sidecars = (await regularFiles(distDir)).filter((n) => n.endsWith(".agent.json"));
  return sidecars.length > 0 ? planAgentDist(distDir, binDir, sidecars) : planPlainDist(distDir, binDir);
}

async function planConflist(fileArg: string, confDir: string): Promise<Planned> {
  const file = resolve(fileArg);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new CliValidationError(`cannot read ${fileArg}: ${(err as Error).message}`);
  }
  const text = bytes.toString("utf8");
  const syntax = findJsonSyntaxError(text);
  if (syntax)
    throw new CliValidationError(`${fileArg}:${syntax.location.line}:${syntax.location.column}: ${syntax.message}`);
  try {
    if (file.endsWith(".conflist")) confListFromBytes(text);
    else confFromBytes(text);
  } catch (err) {
    throw new CliValidationError(`${fileArg}: ${CniError.from(err).msg}`);
  }
  if (!/\.(conflist|conf|json)$/.test(file)) {
    throw new CliValidationError(`${fileArg}: runtimes read only *.conflist, *.conf and *.json from ${confDir}`);
  }
  return planBytes(confDir, basename(file), file, bytes, 0o644);
}

/** Files in the way: present, and not what cnikit recorded there. */
async function conflicts(planned: Planned[], manifests: Map<string, Manifest>): Promise<string[]> {
  const out: string[] = [];
  for (const p of planned) {
    const target = join(p.dir, p.dest);
    let st: Stats;
    try {
      st = await lstat(target);
    } catch {
      continue;
    }
    const rec = manifests.get(p.dir)?.files[p.dest];
    if (!rec) {
      out.push(`${target} (not installed by cnikit)`);
    } else if (!st.isFile() || (await sha256File(target)) !== rec.sha256) {
      out.push(`${target} (changed since cnikit installed it)`);
    }
  }
  return out;
}

/** Runs `cnikit install` and returns the exit code. */
export async function runInstall(argv: readonly string[], io: CliIo): Promise<number> {
  const flags = parseFlags(argv, {
    "--bin-dir": "value",
    "--conf-dir": "value",
    "--conflist": "value",
    "--force": "boolean",
  });
  if (flags === "help") {
    io.stdout.write(INSTALL_USAGE);
    return 0;
  }
  if (flags.positionals.length === 0 && flags.values["--conflist"] === undefined) {
    throw new CliUsageError("install needs at least one build output directory (or --conflist)");
  }
  if (flags.values["--conf-dir"] !== undefined && flags.values["--conflist"] === undefined) {
    throw new CliUsageError("--conf-dir needs --conflist");
  }
  const binDir = resolve(flags.values["--bin-dir"] ?? "/opt/cni/bin");
  const confDir = resolve(flags.values["--conf-dir"] ?? "/etc/cni/net.d");
  const force = flags.booleans.has("--force");

  const plugins: Planned[] = [];
  for (const d of flags.positionals) plugins.push(...(await planDist(d, binDir)));
  const seen = new Map<string, Planned>();
  for (const p of plugins) {
    const prev = seen.get(p.dest);
    if (prev && prev.sha256 !== p.sha256) {
      throw new CliValidationError(
        `${prev.source} and ${p.source} differ but would both be installed as ${join(binDir, p.dest)}`,
      );
    }
    seen.set(p.dest, p);
  }
  const conf =
    flags.values["--conflist"] === undefined ? undefined : await planConflist(flags.values["--conflist"], confDir);
  const all = conf ? [...plugins, conf] : plugins;

  const dirs = [...new Set(all.map((p) => p.dir))].sort();
  const locks: Array<() => Promise<void>> = [];
  try {
    for (const dir of dirs) locks.push(await lockDir(dir, io));
    return await installLocked(all, dirs, force, io);
  } finally {
    for (const release of locks.reverse()) await release();
  }
}

/** The name of the lock beside the record. */
const LOCK = `${MANIFEST}.lock`;
/** How long an install waits for another one into the same directory. */
const LOCK_WAIT_MS = 120_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes `<dir>/.cnikit-installed.lock` (O_EXCL, our pid inside); waits while a running process
 * holds it, takes over one whose pid is gone. Answers the release.
 */
async function lockDir(dir: string, io: CliIo): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK);
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      const fh = await open(path, "wx", 0o644);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const text = await readFile(path, "utf8").catch(() => "");
    const pid = Number.parseInt(text, 10);
    if (text.endsWith("\n") && (!Number.isInteger(pid) || pid <= 0 || !alive(pid))) {
      // left by an install that did not finish (its pid is gone): take it over
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new CliValidationError(
        `${path} is held by another cnikit install (pid ${text.trim() || "?"}); giving up after ${LOCK_WAIT_MS / 1000} s`,
      );
    }
    if (!told) {
      io.stderr.write(`cnikit install: waiting for another install into ${dir} (pid ${text.trim() || "?"})\n`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function installLocked(all: Planned[], dirs: string[], force: boolean, io: CliIo): Promise<number> {
  const manifests = new Map<string, Manifest>();
  for (const dir of dirs) manifests.set(dir, await readManifest(dir));
  const inTheWay = await conflicts(all, manifests);
  if (inTheWay.length > 0 && !force) {
    throw new CliValidationError(
      `refusing to replace files cnikit did not install (nothing was written; --force replaces them):\n${inTheWay.map((f) => `  ${f}`).join("\n")}`,
    );
  }

  const written = new Set<string>();
  for (const p of all) {
    const target = join(p.dir, p.dest);
    if (written.has(target)) continue;
    written.add(target);
    const manifest = manifests.get(p.dir) as Manifest;
    const rec = manifest.files[p.dest];
    if (rec?.sha256 === p.sha256 && (await sha256File(target).catch(() => "")) === p.sha256) {
      io.stdout.write(`unchanged ${target}\n`);
      continue;
    }
    await mkdir(p.dir, { recursive: true });
    await putInPlace(p);
    manifest.files[p.dest] = { sha256: p.sha256, source: p.source, installedAt: new Date().toISOString() };
    // the record follows each file, so an interrupted install still knows what it wrote
    await writeManifest(p.dir, manifest);
    io.stdout.write(`installed ${target}${p.source !== target ? ` (from ${p.source})` : ""}\n`);
  }
  return 0;
}
