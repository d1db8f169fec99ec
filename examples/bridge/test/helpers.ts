/**
 * Test scaffolding for the bridge tests: uniquely named namespaces, bridges and temp dirs that
 * are always removed, and a way to call the plugin in-process or as a binary.
 */
import { spawnSync } from "node:child_process";
import type { Plugin } from "@cnikit/skel";

/** Uniquely named namespaces, bridges and temp dirs, removed by `cleanup()`. */
export { Scratch } from "@cnikit/testing";

/** Runs a command; throws with its stderr when it fails. */
export function sh(argv: readonly string[]): string {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} → ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Runs a command, ignoring failure; returns its exit status and output. */
export function trySh(argv: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** One call to a plugin. */
export interface Call {
  command: string;
  config: object | string;
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  path?: string[];
}

/** What the plugin answered. */
export interface Answer {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

function envOf(call: Call): Record<string, string> {
  const env: Record<string, string> = { CNI_COMMAND: call.command };
  if (call.containerId !== undefined) env.CNI_CONTAINERID = call.containerId;
  if (call.netns !== undefined) env.CNI_NETNS = call.netns;
  if (call.ifName !== undefined) env.CNI_IFNAME = call.ifName;
  if (call.args !== undefined) env.CNI_ARGS = call.args;
  if (call.path !== undefined) env.CNI_PATH = call.path.join(":");
  return env;
}

function parse(stdout: string): unknown {
  const t = stdout.trim();
  return t ? JSON.parse(t) : undefined;
}

/** Calls a plugin in-process. */
export async function runInProcess(plugin: Plugin, call: Call): Promise<Answer> {
  const stdin = typeof call.config === "string" ? call.config : JSON.stringify(call.config);
  const out = await plugin.run({ env: envOf(call), readStdin: async () => stdin });
  return { code: out.exitCode, stdout: out.stdout, stderr: out.stderr, json: parse(out.stdout) };
}

/** Global addresses of an interface inside a netns. */
export function addressesIn(netnsPath: string, ifName: string): string[] {
  const out = trySh(["ip", "-n", netnsPath.split("/").pop() as string, "-j", "addr", "show", "dev", ifName]);
  if (out.status !== 0) return [];
  const parsed = JSON.parse(out.stdout) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  return (parsed[0]?.addr_info ?? []).filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`);
}

/** Whether a link exists on the host. */
export function hostLinkExists(name: string): boolean {
  return trySh(["ip", "link", "show", "dev", name]).status === 0;
}

/** Pings `ip` once from inside a netns; returns the reply line or undefined. */
export function pingFrom(netnsPath: string, ip: string): string | undefined {
  const r = trySh(["ip", "netns", "exec", netnsPath.split("/").pop() as string, "ping", "-c", "1", "-W", "2", ip]);
  if (r.status !== 0) return undefined;
  return r.stdout.split("\n").find((l) => l.includes("bytes from"));
}
