// What `pnpm publish` would upload, checked for every publishable package: each is packed with
// `pnpm pack` (the tarball `pnpm publish` sends, publishConfig applied), then
//   - its metadata: description, license, engines, repository (with directory), files, README,
//     CHANGELOG, the root LICENSE packed in;
//   - its exports: publishConfig.exports is `exports` without the workspace-only `@cnikit/source`
//     condition, and every target of the packed exports is in the tarball (no src/);
//   - publint (every level, suggestions included): 0 messages;
//   - are-the-types-wrong with the ESM-only profile: 0 problems for node16 (from ESM) and bundler.
//     The packages are ESM only ("type": "module", import-only exports), so the node10 resolution
//     (no exports support) and require() from CommonJS are out of scope, which is what
//     `--profile esm-only` leaves out. @cnikit/agent's `./shim` and `./shim.c` are files, not
//     modules (the compiled C shim and its source, found with require.resolve by @cnikit/build),
//     so they are excluded from the type analysis. create-cni-plugin is a command (bin) with no
//     module: its exports map holds only ./package.json.
// Needs the packages built (`pnpm build`), as the rest of the suite does.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, workspacePackages } from "../../scripts/local-registry.mjs";

type Exports = string | { [key: string]: Exports };
interface Manifest {
  name: string;
  version: string;
  description?: string;
  license?: string;
  engines?: { node?: string };
  repository?: { type?: string; url?: string; directory?: string };
  files?: string[];
  exports?: Exports;
  bin?: Record<string, string>;
  publishConfig?: { access?: string; exports?: Exports };
}
interface Packed {
  manifest: Manifest;
  tarball: string;
  files: string[];
}

const packages = workspacePackages(REPO);
const packed = new Map<string, Packed>();
const attw = new Map<string, Promise<AttwProblem[]>>();
let work: string;

/** Drops the `@cnikit/source` condition, recursively. */
function withoutSource(exports: Exports): Exports {
  if (typeof exports === "string") return exports;
  return Object.fromEntries(Object.entries(exports).filter(([k]) => k !== "@cnikit/source").map(([k, v]) => [k, withoutSource(v)]));
}

/** Every path an exports map points at. */
function targets(exports: Exports): string[] {
  return typeof exports === "string" ? [exports] : Object.values(exports).flatMap(targets);
}

interface AttwProblem {
  kind: string;
  entrypoint?: string;
  resolutionKind?: string;
}

/** attw on one tarball, ESM-only profile: the problems left once node10 and node16-cjs are set aside. */
function runAttw(tarball: string, exclude: string[]): Promise<AttwProblem[]> {
  const args = [tarball, "--format", "json", "--profile", "esm-only", ...(exclude.length ? ["--exclude-entrypoints", ...exclude] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(join(REPO, "node_modules", ".bin", "attw"), args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", reject);
    child.on("close", () => {
      try {
        const json = JSON.parse(out) as { problems: Record<string, AttwProblem[]> };
        const all = Object.values(json.problems).flat();
        resolve(all.filter((p) => p.resolutionKind !== "node10" && p.resolutionKind !== "node16-cjs"));
      } catch {
        reject(new Error(`attw ${args.join(" ")} printed no JSON:\n${out}\n${err}`));
      }
    });
  });
}

/** Runs `fn` over `items`, at most `limit` at a time. */
function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R>[] {
  let running = 0;
  const queue: (() => void)[] = [];
  return items.map(
    (item) =>
      new Promise<R>((resolve, reject) => {
        const start = () => {
          running++;
          fn(item)
            .then(resolve, reject)
            .finally(() => {
              running--;
              queue.shift()?.();
            });
        };
        if (running < limit) start();
        else queue.push(start);
      }),
  );
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "ck-publish-"));
  for (const p of packages) {
    const r = spawnSync("pnpm", ["pack", "--pack-destination", work, "--json"], { cwd: p.dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`pnpm pack in ${p.dir} failed:\n${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] };
    const files = out.files.map((f) => f.path);
    const manifest = JSON.parse(
      spawnSync("tar", ["xzf", out.filename, "-O", "package/package.json"], { encoding: "utf8" }).stdout,
    ) as Manifest;
    packed.set(p.name, { manifest, tarball: out.filename, files });
  }
  const jobs = packages.map((p) => {
    const { manifest, tarball } = packed.get(p.name) as Packed;
    // file exports (not modules): left out of the type analysis, see the header
    const exclude =
      typeof manifest.exports === "object"
        ? Object.entries(manifest.exports).filter(([, v]) => typeof v === "string" && !/\.[cm]?js$/.test(v)).map(([k]) => k)
        : [];
    return { name: p.name, tarball, exclude };
  });
  const results = pool(jobs, 3, (j) => runAttw(j.tarball, j.exclude));
  jobs.forEach((j, i) => {
    const r = results[i] as Promise<AttwProblem[]>;
    r.catch(() => {}); // awaited by its test
    attw.set(j.name, r);
  });
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("published packages", () => {
  it("are every packages/* (none private), 13 of them", () => {
    expect(packages.map((p) => p.name).sort()).toEqual([
      "@cnikit/agent",
      "@cnikit/build",
      "@cnikit/host-local",
      "@cnikit/invoke",
      "@cnikit/ipam-client",
      "@cnikit/native",
      "@cnikit/ns",
      "@cnikit/runtime",
      "@cnikit/skel",
      "@cnikit/spec",
      "@cnikit/store",
      "@cnikit/testing",
      "create-cni-plugin",
    ]);
  });

  describe.each(packages)("$name", (p) => {
    const source = JSON.parse(readFileSync(join(p.dir, "package.json"), "utf8")) as Manifest;
    const dir = p.dir.slice(REPO.length + 1);

    it("metadata: description, license, engines, repository, files, README, CHANGELOG, LICENSE", () => {
      const { manifest, files } = packed.get(p.name) as Packed;
      expect(manifest.description?.length).toBeGreaterThan(20);
      expect(manifest.license).toBe("Apache-2.0");
      expect(manifest.engines?.node).toBe(">=20");
      expect(manifest.repository).toEqual({ type: "git", url: "git+https://github.com/cnikit/cnikit.git", directory: dir });
      expect(manifest.files).toContain("dist");
      expect(manifest.files).toContain("CHANGELOG.md");
      expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "CHANGELOG.md", "LICENSE"]));
      expect(files.filter((f) => /^(src|test)\//.test(f))).toEqual([]);
      expect(readFileSync(join(p.dir, "CHANGELOG.md"), "utf8").startsWith(`# ${p.name}\n`)).toBe(true);
      if (p.name.startsWith("@")) expect(source.publishConfig?.access).toBe("public");
    });

    it("exports: publishConfig.exports is exports without @cnikit/source; every target is packed", () => {
      const { manifest, files } = packed.get(p.name) as Packed;
      expect(source.exports).toBeDefined();
      const published = withoutSource(source.exports ?? {});
      if (JSON.stringify(source.exports).includes("@cnikit/source")) expect(source.publishConfig?.exports).toEqual(published);
      else expect(source.publishConfig?.exports).toBeUndefined();
      expect(manifest.exports).toEqual(published);
      expect(JSON.stringify(manifest)).not.toContain("@cnikit/source");
      expect(JSON.stringify(manifest)).not.toContain("workspace:");
      const wanted = [...targets(manifest.exports ?? {}), ...Object.values(manifest.bin ?? {})].map((t) => t.replace(/^\.\//, ""));
      expect(wanted.filter((t) => !files.includes(t)), "not in the tarball (pnpm build first?)").toEqual([]);
    });

    it("publint: no message at any level", async () => {
      const { tarball } = packed.get(p.name) as Packed;
      expect(existsSync(tarball)).toBe(true);
      const buf = readFileSync(tarball);
      const { messages, pkg } = await publint({
        pack: { tarball: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer },
        level: "suggestion",
        strict: true,
      });
      expect(messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`)).toEqual([]);
    });

    it("are-the-types-wrong (ESM-only profile): no problem", async () => {
      expect(await attw.get(p.name)).toEqual([]);
    });
  });
});
