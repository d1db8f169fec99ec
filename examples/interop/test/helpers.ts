/**
 * Interop test scaffolding: fresh builds of our plugins in a temp dir, plugin directories that
 * mix them with the Go reference plugins, uniquely named namespaces/bridges/dirs that are always
 * removed, a runtime-free way to exec a plugin, and observations of what is left on the host.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** Uniquely named namespaces, bridges, temp and plugin dirs, removed by `cleanup()`. */
export { Scratch } from "@cnikit/testing";

/** The repository root. */
export const ROOT = resolve(new URL(".", import.meta.url).pathname, "..", "..", "..");
/** Where Debian's containernetworking-plugins put the Go reference plugins. */
export const GO_DIR = "/usr/lib/cni";

/** Runs a command; throws with its output when it fails. */
export function sh(argv: readonly string[]): string {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} → ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Runs a command, ignoring failure. */
export function trySh(argv: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Builds our example plugins (fresh, from source) into one temp dir; returns their paths. */
export function buildOurs(names: readonly string[]): { dir: string; paths: Record<string, string>; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "ckbuild-"));
  const paths: Record<string, string> = {};
  for (const name of names) {
    const out = join(dir, name);
    sh([
      process.execPath,
      join(ROOT, "tools/build-plugin.mjs"),
      "--entry",
      join(ROOT, "examples", name, "src/main.ts"),
      "--out",
      out,
    ]);
    paths[name] = out;
  }
  return { dir, paths, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** One plugin call as a runtime makes it. */
export interface Call {
  command: string;
  config: object | string;
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  path?: string;
}

/** What the plugin answered. */
export interface Answer {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/**
 * Executes a plugin binary the way Go's libcni does: a fresh environment holding only PATH and
 * the CNI_* variables, the config on stdin, the reply on stdout.
 */
export function execPlugin(bin: string, call: Call): Promise<Answer> {
  const env: Record<string, string> = {
    PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: call.command,
  };
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined) env.CNI_NETNS = call.netns;
  if (call.ifName !== undefined) env.CNI_IFNAME = call.ifName;
  if (call.args !== undefined) env.CNI_ARGS = call.args;
  if (call.path !== undefined) env.CNI_PATH = call.path;
  const stdin = typeof call.config === "string" ? call.config : JSON.stringify(call.config);
  return new Promise((res, rej) => {
    const child = spawn(bin, [], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", rej);
    child.on("close", (code) => {
      let json: unknown;
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      res({ code: code ?? -1, stdout, stderr, json });
    });
    child.stdin.end(stdin);
  });
}

function nsName(netnsPath: string): string {
  return netnsPath.split("/").pop() as string;
}

/** Global addresses of a link inside a netns (`10.1.2.3/24`), sorted. */
export function addressesIn(netnsPath: string, ifName: string): string[] {
  const out = trySh(["ip", "-n", nsName(netnsPath), "-j", "addr", "show", "dev", ifName]);
  if (out.status !== 0) return [];
  const parsed = JSON.parse(out.stdout) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  return (parsed[0]?.addr_info ?? [])
    .filter((a) => a.scope === "global")
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort();
}

/** IPv4 routes inside a netns as `dst[ via gw] dev`, sorted (kernel-made ones included). */
export function routesIn(netnsPath: string): string[] {
  const out = sh(["ip", "-n", nsName(netnsPath), "-4", "-j", "route", "show"]);
  const parsed = JSON.parse(out) as { dst: string; gateway?: string; dev: string }[];
  return parsed.map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ""} dev ${r.dev}`).sort();
}

/** Whether a link exists inside a netns. */
export function linkExistsIn(netnsPath: string, ifName: string): boolean {
  return trySh(["ip", "-n", nsName(netnsPath), "link", "show", "dev", ifName]).status === 0;
}

/** Host links enslaved to `bridge`. */
export function bridgePorts(bridge: string): string[] {
  const r = trySh(["ip", "-j", "link", "show", "master", bridge]);
  if (r.status !== 0 || !r.stdout.trim()) return [];
  return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
}

/** Pings `ip` once from inside a netns; the reply line or undefined. */
export function pingFrom(netnsPath: string, ip: string): string | undefined {
  const r = trySh(["ip", "netns", "exec", nsName(netnsPath), "ping", "-c", "1", "-W", "2", ip]);
  if (r.status !== 0) return undefined;
  return r.stdout.split("\n").find((l) => l.includes("bytes from"));
}

/** host-local lease files (IPs) of a network in a data dir. */
export function leases(dataDir: string, network: string): string[] {
  const dir = join(dataDir, network);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"))
    .sort();
}

/** Files under a libcni-style cache dir (`results/*`). */
export function cacheFiles(cacheDir: string): string[] {
  const dir = join(cacheDir, "results");
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** NAT rules (iptables and nftables) that mention any of `needles` (addresses, chain names). */
export function masqRulesMentioning(needles: readonly string[]): string[] {
  const lines = [
    ...trySh(["iptables", "-t", "nat", "-S"]).stdout.split("\n"),
    ...trySh(["nft", "list", "ruleset"]).stdout.split("\n"),
  ];
  return lines.filter((l) => needles.some((n) => l.includes(n)));
}

/**
 * Removes iptables masquerade rules a plugin left for `network` (Go's bridge leaves them when the
 * container's address vanished before DEL): POSTROUTING rules with its comment, and their chains.
 */
export function purgeIptablesMasq(network: string): void {
  const listing = trySh(["iptables", "-t", "nat", "-L", "POSTROUTING", "-n", "--line-numbers"]).stdout.split("\n");
  const mine = listing
    .filter((l) => l.includes(`name: "${network}"`))
    .map((l) => l.trim().split(/\s+/))
    .map(([num, target]) => ({ num: Number(num), target: target ?? "" }))
    .sort((x, y) => y.num - x.num);
  for (const r of mine) trySh(["iptables", "-t", "nat", "-D", "POSTROUTING", String(r.num)]);
  for (const chain of new Set(mine.map((r) => r.target).filter((t) => t.startsWith("CNI-")))) {
    trySh(["iptables", "-t", "nat", "-F", chain]);
    trySh(["iptables", "-t", "nat", "-X", chain]);
  }
}

/** The first address of a result without its prefix. */
export function ipOf(result: any): string {
  const ips = result?.ips ?? (result?.ip4 ? [{ address: result.ip4.ip }] : []);
  return String(ips[0]?.address ?? "").split("/")[0] as string;
}

/** Makes `dir` if missing. */
export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
