import { chmod, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Files stored under another name in the templates (npm drops dotfiles such as `.gitignore` on publish). */
export const RENAME_FILES: Readonly<Record<string, string>> = {
  _gitignore: ".gitignore",
  _npmrc: ".npmrc",
};

/** Placeholder replaced by the plugin name in every template file. */
export const NAME_PLACEHOLDER = "__PLUGIN_NAME__";

/** What {@link scaffold} needs to write a project. */
export interface ScaffoldOptions {
  /** The template folder to copy (e.g. `dist/templates/template-main`). */
  templateDir: string;
  /** Where the project goes; created if missing. */
  targetDir: string;
  /** Validated plugin name. */
  name: string;
  /** Versions to write for `@cnikit/*` dependencies, e.g. `{ "@cnikit/skel": "0.1.0" }`. */
  versions: Readonly<Record<string, string>>;
  /** Version for an `@cnikit/*` package missing from `versions`. */
  fallbackVersion: string;
}

const SKIP = new Set(["node_modules", "dist", "dist-sea", "dist-snapshot", ".vitest"]);

/**
 * Copies a template into `targetDir`: renames stored dotfiles, replaces the
 * name placeholder, and rewrites package.json (name, `@cnikit/*` versions as `^x.y.z`).
 *
 * @returns the relative paths written.
 * @throws the file system's error when the template cannot be read or the target not written.
 * @example
 * ```ts
 * await scaffold({ templateDir, targetDir: "my-plugin", name: "my-plugin", versions, fallbackVersion: "0.1.0" });
 * ```
 */
export async function scaffold(opts: ScaffoldOptions): Promise<string[]> {
  const written: string[] = [];
  await mkdir(opts.targetDir, { recursive: true });
  await copyTree(opts.templateDir, opts.targetDir, "", opts, written);
  return written.sort();
}

async function copyTree(src: string, dest: string, rel: string, opts: ScaffoldOptions, written: string[]): Promise<void> {
  for (const entry of await readdir(src, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const outName = (RENAME_FILES[entry.name] ?? entry.name).replaceAll(NAME_PLACEHOLDER, opts.name);
    const from = join(src, entry.name);
    const to = join(dest, outName);
    const relOut = rel ? `${rel}/${outName}` : outName;
    if (entry.isDirectory()) {
      await mkdir(to, { recursive: true });
      await copyTree(from, to, relOut, opts, written);
      continue;
    }
    if (!entry.isFile()) continue;
    if (relOut === "package.json") {
      const pkg = JSON.parse(await readFile(from, "utf8")) as Record<string, unknown>;
      await writeFile(to, `${JSON.stringify(rewritePackageJson(pkg, opts), null, 2)}\n`);
    } else {
      const bytes = await readFile(from);
      if (isText(bytes)) {
        await writeFile(to, bytes.toString("utf8").replaceAll(NAME_PLACEHOLDER, opts.name));
      } else {
        await copyFile(from, to);
      }
    }
    const mode = (await stat(from)).mode;
    if (mode & 0o111) await chmod(to, mode & 0o777);
    written.push(relOut);
  }
}

/**
 * Sets the package name and pins every `@cnikit/*` dependency to `^<version>`.
 *
 * @example
 * ```ts
 * rewritePackageJson({ name: "x", dependencies: { "@cnikit/skel": "^0.0.0" } }, { name: "p", versions: { "@cnikit/skel": "0.1.0" }, fallbackVersion: "0.1.0" });
 * // { name: "p", dependencies: { "@cnikit/skel": "^0.1.0" } }
 * ```
 */
export function rewritePackageJson(
  pkg: Record<string, unknown>,
  opts: Pick<ScaffoldOptions, "name" | "versions" | "fallbackVersion">,
): Record<string, unknown> {
  const text = JSON.stringify(pkg).replaceAll(NAME_PLACEHOLDER, opts.name);
  const out = JSON.parse(text) as Record<string, unknown>;
  out.name = opts.name;
  for (const field of ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"]) {
    const deps = out[field];
    if (!deps || typeof deps !== "object") continue;
    for (const dep of Object.keys(deps)) {
      if (dep.startsWith("@cnikit/")) {
        (deps as Record<string, string>)[dep] = `^${opts.versions[dep] ?? opts.fallbackVersion}`;
      }
    }
  }
  return out;
}

function isText(bytes: Buffer): boolean {
  return !bytes.subarray(0, 8000).includes(0);
}

/**
 * Whether a directory is missing, empty, or holds only `.git`.
 *
 * @example
 * ```ts
 * if (!(await isEmptyDir("my-plugin"))) console.error("not empty");
 * ```
 */
export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    const entries = await readdir(dir);
    return entries.length === 0 || (entries.length === 1 && entries[0] === ".git");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw err;
  }
}

/**
 * Removes everything in a directory except `.git`.
 *
 * @example
 * ```ts
 * await emptyDir("my-plugin");
 * ```
 */
export async function emptyDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  for (const entry of entries) {
    if (entry === ".git") continue;
    await rm(join(dir, entry), { recursive: true, force: true });
  }
}
