/**
 * For the Go libcni interop tests: builds ../go-libcni (offline, cached by source hash) and
 * the private cnikit CLI comes from tools/bundle-cli.ts.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../../tools/build-fixture.js";

/** examples/interop/go-libcni: the Go runtime's sources, beside these tests. */
export const GO_LIBCNI_DIR = join(REPO_ROOT, "examples/interop/go-libcni");
const CACHE_ROOT = join(REPO_ROOT, "node_modules/.cache/cnikit-golibcni");

function sourcesOf(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== "out") out.push(...sourcesOf(p));
    } else if (/\.(go|mod|sh)$/.test(e.name)) {
      out.push(p);
    }
  }
  return out.sort();
}

/**
 * Builds golibcni with examples/interop/go-libcni/build.sh unless a binary built from the same sources is
 * cached under node_modules/.cache; returns its path.
 *
 * @throws Error with build.sh's message when Go or the libcni sources are missing, or the build fails.
 */
export function buildGolibcni(): string {
  const hash = createHash("sha256");
  for (const f of sourcesOf(GO_LIBCNI_DIR))
    hash.update(f.slice(GO_LIBCNI_DIR.length)).update("\0").update(readFileSync(f));
  const dir = join(CACHE_ROOT, hash.digest("hex").slice(0, 16));
  const bin = join(dir, "golibcni");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.tmp-${process.pid}`;
  const r = spawnSync(join(GO_LIBCNI_DIR, "build.sh"), [tmp], {
    env: {
      ...process.env,
      GOLIBCNI_GOCACHE: join(CACHE_ROOT, "gocache"),
      GOLIBCNI_GOPATH: join(CACHE_ROOT, "gopath"),
    },
    encoding: "utf8",
    timeout: 300_000,
  });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`building golibcni failed (exit ${r.status ?? r.signal}):\n${r.stderr}${r.stdout}`);
  }
  renameSync(tmp, bin);
  return bin;
}
