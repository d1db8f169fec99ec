#!/usr/bin/env node
// A private npm registry (verdaccio) on loopback that serves this checkout's packages, for trying
// unreleased code the way a user installs it, and for the scaffolder's end-to-end test.
//
//   pnpm run local-registry            # build, start, publish every package, wait for Ctrl-C
//   pnpm run local-registry --no-build # the same without `pnpm build` first
//
// The registry keeps its storage, config and an npm cache in a temporary directory, removed on
// exit. @cnikit/* and create-cni-plugin are served only from what was published to it (they are
// never fetched from anywhere else); every other package is fetched from registry.npmjs.org.
// It publishes the versions written in the package.json files, bumping nothing.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is scripts/local-registry.mjs). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const OWN = ["@cnikit/*", "create-cni-plugin"];

function config(dir) {
  const own = OWN.map((p) => `  '${p}':\n    access: $all\n    publish: $authenticated\n`).join("");
  return `# written by scripts/local-registry.mjs
storage: ${join(dir, "storage")}
auth:
  htpasswd:
    file: ${join(dir, "htpasswd")}
uplinks:
  npmjs:
    url: https://registry.npmjs.org/
    timeout: 60s
    # metadata fetched once per session: the installs of one session agree, and no re-fetch
    maxage: 60m
packages:
  # ours: served only from what was published here (no proxy)
${own}  '**':
    access: $all
    proxy: npmjs
web:
  enable: false
log: { type: stdout, format: pretty, level: warn }
`;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolvePort(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(file, chars = 3000) {
  try {
    return readFileSync(file, "utf8").slice(-chars);
  } catch {
    return "";
  }
}

async function waitUp(url, child, log, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`verdaccio exited (${child.exitCode ?? child.signalCode}) before it answered:\n${tail(log)}`);
    }
    try {
      const res = await fetch(`${url}-/ping`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(150);
  }
  throw new Error(`verdaccio did not answer on ${url} within ${timeoutMs} ms:\n${tail(log)}`);
}

function stopChild(child) {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return done();
    const kill = setTimeout(() => {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, 5000);
    child.once("exit", () => {
      clearTimeout(kill);
      done();
    });
    try {
      process.kill(child.pid, "SIGTERM");
    } catch {
      clearTimeout(kill);
      done();
    }
  });
}

/**
 * Starts verdaccio on 127.0.0.1 at a free port with its storage in `dir` (a new temporary
 * directory when not given), creates a user for publishing, and writes two npm config files:
 * `npmrc` (the consumer's: `registry` and an npm `cache` inside `dir`) and `publish.npmrc`
 * (`registry` and the publishing token). `stop()` ends verdaccio by its pid and, when `dir` was
 * created here, removes it.
 */
export async function startRegistry(options = {}) {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "cnikit-registry-"));
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, "config.yaml");
  writeFileSync(cfg, config(dir));
  const bin = join(REPO, "node_modules", "verdaccio", "bin", "verdaccio");
  const log = join(dir, "verdaccio.log");
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    const fd = openSync(log, "a");
    const child = spawn(process.execPath, [bin, "--config", cfg, "--listen", `127.0.0.1:${port}`], {
      stdio: ["ignore", fd, fd],
      env: { ...process.env, NODE_ENV: "production" },
    });
    closeSync(fd);
    try {
      await waitUp(url, child, log, options.timeoutMs ?? 30_000);
    } catch (err) {
      lastError = err;
      await stopChild(child);
      continue; // most likely the port was taken between freePort() and the listen
    }
    const stop = async () => {
      await stopChild(child);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    };
    try {
      const user = `cnikit-${process.pid}`;
      const res = await fetch(`${url}-/user/org.couchdb.user:${user}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: user, password: `pw-${Math.random().toString(36).slice(2)}` }),
      });
      const body = await res.json();
      if (!res.ok || typeof body.token !== "string") throw new Error(`creating a publishing user failed: ${res.status} ${JSON.stringify(body)}`);
      const host = url.replace(/^http:/, "");
      const npmrc = join(dir, "npmrc");
      // a cache of its own (new per registry: nothing of the same version from an earlier run is
      // reused), trusted for the session (nothing is ever republished to this registry)
      writeFileSync(npmrc, `registry=${url}\ncache=${join(dir, "npm-cache")}\nprefer-offline=true\n`);
      const publishNpmrc = join(dir, "publish.npmrc");
      writeFileSync(publishNpmrc, `registry=${url}\n${host}:_authToken=${body.token}\n`);
      const exited = new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode ?? child.signalCode);
        else child.once("exit", (code, signal) => done(code ?? signal));
      });
      return { url, pid: child.pid, dir, npmrc, publishNpmrc, log, exited, stop };
    } catch (err) {
      await stop();
      throw err;
    }
  }
  if (ownDir) rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

function run(cmd, args, cwd) {
  return new Promise((done, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) done(out);
      else reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${out.slice(-6000)}`));
    });
  });
}

/** The workspace's publishable packages: every packages/* whose package.json is not private. */
export function workspacePackages(repo = REPO) {
  const out = [];
  for (const entry of readdirSync(join(repo, "packages"), { withFileTypes: true })) {
    const file = join(repo, "packages", entry.name, "package.json");
    if (!entry.isDirectory() || !existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8"));
    if (pkg.private !== true) out.push({ name: pkg.name, version: pkg.version, dir: join(repo, "packages", entry.name) });
  }
  return out;
}

/**
 * Publishes every non-private workspace package (its built `dist/`, as `pnpm publish` packs it)
 * to the registry with `pnpm -r publish`, and returns the published `name@version`s as the
 * registry lists them.
 */
export async function publishWorkspace(registry, repo = REPO) {
  await run("pnpm", ["-r", "publish", "--registry", registry.url, "--userconfig", registry.publishNpmrc, "--no-git-checks"], repo);
  const published = [];
  for (const pkg of workspacePackages(repo)) {
    const res = await fetch(`${registry.url}${pkg.name.replace("/", "%2f")}`);
    const doc = res.ok ? await res.json() : undefined;
    if (!doc?.versions?.[pkg.version]) throw new Error(`${pkg.name}@${pkg.version} is not on ${registry.url} after pnpm publish (${res.status})`);
    published.push(`${pkg.name}@${pkg.version}`);
  }
  return published;
}

async function main(argv) {
  const build = !argv.includes("--no-build");
  const unknown = argv.filter((a) => a !== "--no-build");
  if (unknown.length > 0) {
    process.stderr.write(`local-registry: unknown argument ${unknown[0]}\nusage: pnpm run local-registry [--no-build]\n`);
    return 2;
  }
  if (build) {
    process.stdout.write("building the packages (pnpm build)...\n");
    await run("pnpm", ["build"], REPO);
  }
  const registry = await startRegistry();
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    await registry.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  void registry.exited.then((how) => {
    if (stopping) return;
    process.stderr.write(`local-registry: verdaccio exited (${how}); its log:\n${tail(registry.log)}\n`);
    void stop(1);
  });
  try {
    const published = await publishWorkspace(registry);
    process.stdout.write(
      [
        `registry: ${registry.url} (verdaccio pid ${registry.pid}, storage ${registry.dir})`,
        `published: ${published.join(" ")}`,
        "",
        "In another shell, point npm at it and follow docs/getting-started.md:",
        "",
        `  export NPM_CONFIG_USERCONFIG=${registry.npmrc}`,
        "  npm create cni-plugin@latest my-plugin",
        "",
        `(${registry.npmrc} sets registry=${registry.url} and a fresh npm cache, so npm never`,
        "reuses a scaffolder or package of the same version from an earlier run.)",
        "Ctrl-C stops the registry and removes its storage.",
        "",
      ].join("\n"),
    );
  } catch (err) {
    process.stderr.write(`local-registry: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
  }
  return undefined;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== undefined) process.exit(code);
    },
    (err) => {
      process.stderr.write(`local-registry: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
