/**
 * IP masquerade per (network, container), compatible with Go's `ip.SetupIPMasqForNetworks`
 * (same nftables table/chain/comment hashes and iptables chain names/comments, so Go and
 * TypeScript plugins can clean up after each other). Uses the `nft`/`iptables` binaries;
 * prefers nftables, falls back to iptables.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#gc-clean-up-any-stale-resources (gcIpMasq)
 * @see https://github.com/cnikit/cnikit/blob/main/docs/netns.md
 */
import { CniError, ErrorCode, formatCidr, formatIp, type IpFamily, networkAddress, parseCidr } from "@cnikit/spec";
import type { Attachment } from "@cnikit/spec";
import { builtin } from "./builtin.js";
import { fileOps, posixSpawn, posixSpawnAvailable } from "@cnikit/native";
import { Netns, type NetnsOption } from "./netns.js";

/**
 * nftables table (family inet) shared with Go plugins.
 *
 * @example
 * execFileSync("nft", ["list", "chain", "inet", IPMASQ_NFT_TABLE, IPMASQ_NFT_CHAIN]);
 */
export const IPMASQ_NFT_TABLE = "cni_plugins_masquerade";
/**
 * nftables chain holding one rule per masqueraded address.
 *
 * @example
 * execFileSync("nft", ["-j", "list", "chain", "inet", IPMASQ_NFT_TABLE, IPMASQ_NFT_CHAIN]);
 */
export const IPMASQ_NFT_CHAIN = "masq_checks";
const COMMENT_MAX = 128;

/**
 * Which firewall tool to use.
 *
 * @example
 * const backend: IpMasqBackend = await setupIpMasq({ network: "mynet", containerId, ifName: "eth0", ips: ["10.22.0.5/16"] });
 */
export type IpMasqBackend = "nftables" | "iptables";

/**
 * Identifies one attachment's masquerade rules, and the netns whose firewall holds them (default
 * the process's own).
 *
 * @example
 * const opts: IpMasqOptions = { network: "mynet", containerId: ctx.containerId, ifName: ctx.ifName, ips: ["10.22.0.5/16"], backend: conf.ipMasqBackend };
 * await setupIpMasq(opts);
 */
export interface IpMasqOptions extends NetnsOption {
  /** CNI network name. */
  network: string;
  containerId: string;
  /** Container interface name (the iptables backend ignores it, like Go). */
  ifName: string;
  /** The container's addresses with prefix (`10.22.0.5/16`). */
  ips: readonly string[];
  /** Force a backend; default nftables when `nft` is installed, else iptables. */
  backend?: IpMasqBackend | undefined;
}

/**
 * What {@link gcIpMasq} keeps: the network's valid attachments (CNI GC's
 * `cni.dev/valid-attachments`).
 *
 * @example
 * const opts: GcIpMasqOptions = { network: conf.name, validAttachments: ctx.validAttachments };
 * await gcIpMasq(opts);
 */
export interface GcIpMasqOptions extends NetnsOption {
  /** CNI network name. */
  network: string;
  /** The attachments whose rules stay; every other rule of `network` is removed. */
  validAttachments: readonly Attachment[];
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = `${d}/${name}`;
    try {
      fileOps.accessSync(p, fileOps.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Runs the firewall tools of one netns: `run(cmd, args, input?)`. */
type Runner = (cmd: string, args: string[], input?: string) => Promise<RunResult>;

function runnerFor(netns: Netns | undefined): Runner {
  const ns = netns === undefined || netns === Netns.host() ? undefined : netns;
  return (cmd, args, input) => spawnTool(cmd, args, input, ns);
}

async function spawnTool(cmd: string, args: string[], input: string | undefined, netns: Netns | undefined): Promise<RunResult> {
  // posix_spawn: no fork of this process (see spawn.ts), which an ADD with ipMasq pays 2–4 times.
  // It spawns from a pool thread (in the process's own netns), so another netns takes child_process.
  if (netns === undefined && posixSpawnAvailable()) {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    const r = await posixSpawn({ pluginPath: cmd, args, env, stdin: input ?? "" });
    return { code: r.code ?? 1, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
  }
  // loaded on first use: keeps child_process off the start-up path of plugins that never masquerade
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const start = () => spawn(cmd, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    // the child is forked inside spawn(), synchronously: inside the window it is born in `netns`
    const child = netns === undefined ? start() : netns.run(start);
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (input !== undefined && child.stdin) {
      child.stdin.on("error", () => {}); // the exit code tells what happened
      child.stdin.end(input);
    }
  });
}

function fail(what: string, r: RunResult): never {
  throw new CniError(ErrorCode.Internal, what, r.stderr.trim() || `exit code ${r.code}`);
}

/** sha512 hex of `s`, truncated to `len` chars, after `prefix` (Go's `MustFormatHashWithPrefix`). */
function hashWithPrefix(len: number, prefix: string, s: string): string {
  // node:crypto is loaded here, not at start-up: most plugin calls never masquerade
  const { createHash } = builtin<typeof import("node:crypto")>("node:crypto");
  return (prefix + createHash("sha512").update(s).digest("hex")).slice(0, len);
}

/**
 * The iptables chain Go uses for a (network, container): `CNI-` + sha512 hex, 28 chars.
 *
 * @example
 * ipMasqChainName("mynet", "ctr1") // "CNI-…" (28 chars)
 */
export function ipMasqChainName(network: string, containerId: string): string {
  return hashWithPrefix(28, "CNI-", network + containerId);
}

function iptablesComment(network: string, containerId: string): string {
  return `name: ${JSON.stringify(network)} id: ${JSON.stringify(containerId)}`;
}

function hashForNetwork(network: string): string {
  return hashWithPrefix(16, "", network);
}

function hashForInstance(network: string, ifName: string, containerId: string): string {
  return `${hashForNetwork(network)}-${hashWithPrefix(16, "", `${ifName}:${containerId}`)}`;
}

function commentForInstance(network: string, ifName: string, containerId: string): string {
  const clean = (s: string) => s.replaceAll('"', "");
  const c = `${hashForInstance(network, ifName, containerId)}, net: ${clean(network)}, if: ${clean(ifName)}, id: ${clean(containerId)}`;
  return c.length > COMMENT_MAX ? c.slice(0, COMMENT_MAX) : c;
}

interface NftRule {
  handle: number;
  comment?: string;
}

async function nftRules(run: Runner, nft: string): Promise<NftRule[]> {
  const r = await run(nft, ["-j", "list", "chain", "inet", IPMASQ_NFT_TABLE, IPMASQ_NFT_CHAIN]);
  if (r.code !== 0) {
    if (/No such file or directory|does not exist/i.test(r.stderr)) return [];
    fail("failed to list nftables masquerade rules", r);
  }
  const doc = JSON.parse(r.stdout) as { nftables?: Array<{ rule?: { handle: number; comment?: string } }> };
  const out: NftRule[] = [];
  for (const item of doc.nftables ?? []) {
    if (item.rule) {
      const rule: NftRule = { handle: item.rule.handle };
      if (item.rule.comment !== undefined) rule.comment = item.rule.comment;
      out.push(rule);
    }
  }
  return out;
}

function nftDelete(handles: number[]): string {
  return handles.map((h) => `delete rule inet ${IPMASQ_NFT_TABLE} ${IPMASQ_NFT_CHAIN} handle ${h}\n`).join("");
}

async function setupNft(run: Runner, nft: string, o: IpMasqOptions): Promise<void> {
  const prefix = hashForInstance(o.network, o.ifName, o.containerId);
  const stale = (await nftRules(run, nft)).filter((r) => r.comment?.startsWith(prefix)).map((r) => r.handle);
  const comment = commentForInstance(o.network, o.ifName, o.containerId);
  const t = `inet ${IPMASQ_NFT_TABLE}`;
  let script =
    `add table ${t} { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }\n` +
    `add chain ${t} ${IPMASQ_NFT_CHAIN} { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }\n` +
    `add chain ${t} postrouting { type nat hook postrouting priority 100 ; }\n` +
    `flush chain ${t} postrouting\n` +
    `add rule ${t} postrouting ip daddr == 224.0.0.0/4 return\n` +
    `add rule ${t} postrouting ip6 daddr == ff00::/8 return\n` +
    `add rule ${t} postrouting goto ${IPMASQ_NFT_CHAIN}\n` +
    nftDelete(stale);
  for (const cidr of o.ips) {
    const p = masqParts(cidr);
    const ip = p.family === 4 ? "ip" : "ip6";
    script += `add rule ${t} ${IPMASQ_NFT_CHAIN} ${ip} saddr == ${p.ip} ${ip} daddr != ${p.network} masquerade comment ${JSON.stringify(comment)}\n`;
  }
  const r = await run(nft, ["-f", "-"], script);
  if (r.code !== 0) fail("failed to set up nftables masquerade", r);
}

async function teardownNft(run: Runner, nft: string, network: string, ifName: string, containerId: string): Promise<void> {
  const prefix = hashForInstance(network, ifName, containerId);
  const handles = (await nftRules(run, nft)).filter((r) => r.comment?.startsWith(prefix)).map((r) => r.handle);
  if (handles.length === 0) return;
  const r = await run(nft, ["-f", "-"], nftDelete(handles));
  if (r.code !== 0) fail("failed to tear down nftables masquerade", r);
}

/** The parts of an address CIDR (`10.1.2.3/24`) the masquerade rules name, as Go prints them. */
function masqParts(cidr: string): { family: IpFamily; ip: string; network: string; cidr: string } {
  const p = parseCidr(cidr);
  return {
    family: p.ip.family,
    ip: formatIp(p.ip),
    network: formatCidr(networkAddress(p.ip, p.prefix), p.prefix),
    cidr: formatCidr(p.ip, p.prefix),
  };
}

function iptablesFor(family: 4 | 6): string | undefined {
  return findBinary(family === 4 ? "iptables" : "ip6tables");
}

async function setupIptables(run: Runner, o: IpMasqOptions): Promise<void> {
  const chain = ipMasqChainName(o.network, o.containerId);
  const comment = iptablesComment(o.network, o.containerId);
  for (const cidr of o.ips) {
    const p = masqParts(cidr);
    const ipt = iptablesFor(p.family);
    if (!ipt) throw new CniError(ErrorCode.Internal, "failed to locate iptables");
    const multicast = p.family === 4 ? "224.0.0.0/4" : "ff00::/8";
    const base = ["-w", "-t", "nat"];
    if ((await run(ipt, [...base, "-S", chain])).code !== 0) {
      const r = await run(ipt, [...base, "-N", chain]);
      if (r.code !== 0) fail(`failed to create iptables chain ${chain}`, r);
    }
    const rules: [string, string[]][] = [
      [chain, ["-d", p.network, "-j", "ACCEPT", "-m", "comment", "--comment", comment]],
      [chain, ["!", "-d", multicast, "-j", "MASQUERADE", "-m", "comment", "--comment", comment]],
      ["POSTROUTING", ["-s", p.ip, "-j", chain, "-m", "comment", "--comment", comment]],
    ];
    for (const [c, spec] of rules) {
      if ((await run(ipt, [...base, "-C", c, ...spec])).code === 0) continue;
      const r = await run(ipt, [...base, "-A", c, ...spec]);
      if (r.code !== 0) fail(`failed to add iptables rule to ${c}`, r);
    }
  }
}

async function teardownIptables(run: Runner, network: string, containerId: string, ips: readonly string[]): Promise<void> {
  const chain = ipMasqChainName(network, containerId);
  const comment = iptablesComment(network, containerId);
  const families = new Set(ips.map((c) => masqParts(c).family));
  for (const family of families) {
    const ipt = iptablesFor(family);
    if (!ipt) continue;
    const base = ["-w", "-t", "nat"];
    if ((await run(ipt, [...base, "-S", chain])).code !== 0) continue; // no chain: nothing of ours
    for (const cidr of ips) {
      const p = masqParts(cidr);
      if (p.family !== family) continue;
      for (const src of [p.ip, p.cidr]) {
        await run(ipt, [...base, "-D", "POSTROUTING", "-s", src, "-j", chain, "-m", "comment", "--comment", comment]);
      }
    }
    await run(ipt, [...base, "-F", chain]);
    const r = await run(ipt, [...base, "-X", chain]);
    if (r.code !== 0 && !/No chain|does not exist/i.test(r.stderr)) fail(`failed to delete iptables chain ${chain}`, r);
  }
}

/**
 * Masquerades traffic from the container's addresses to anything outside their subnets
 * (multicast excluded), in the firewall of the process's own netns (or `options.netns`).
 * Idempotent per (network, ifName, containerId).
 *
 * @example
 * await setupIpMasq({ network: "mynet", containerId, ifName: "eth0", ips: ["10.22.0.5/16"] });
 * @throws {CniError} when neither nft nor iptables works, or a rule cannot be added.
 */
export async function setupIpMasq(options: IpMasqOptions): Promise<IpMasqBackend> {
  const run = runnerFor(options.netns);
  const nft = findBinary("nft");
  const backend = options.backend ?? (nft ? "nftables" : "iptables");
  if (backend === "nftables") {
    if (!nft) throw new CniError(ErrorCode.Internal, "failed to locate nft");
    await setupNft(run, nft, options);
  } else {
    await setupIptables(run, options);
  }
  return backend;
}

/**
 * Removes what {@link setupIpMasq} (or Go's plugins) set up for this attachment, in both
 * backends. Missing rules are not an error (DEL is idempotent).
 *
 * @example
 * await teardownIpMasq({ network: "mynet", containerId, ifName: "eth0", ips: ["10.22.0.5/16"] });
 * @throws {CniError} when an existing rule cannot be removed.
 */
export async function teardownIpMasq(options: Omit<IpMasqOptions, "backend">): Promise<void> {
  const run = runnerFor(options.netns);
  const errors: string[] = [];
  try {
    await teardownIptables(run, options.network, options.containerId, options.ips);
  } catch (err) {
    errors.push((err as Error).message);
  }
  const nft = findBinary("nft");
  if (nft) {
    try {
      await teardownNft(run, nft, options.network, options.ifName, options.containerId);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length) throw new CniError(ErrorCode.Internal, "failed to tear down ip masquerade", errors.join("; "));
}

/** One container's iptables masquerade rule as listed by `iptables -S POSTROUTING`. */
export interface IptablesMasqRule {
  containerId: string;
  /** The rule's `-s` source as iptables prints it (`10.22.0.5/32`). */
  source: string;
}

/**
 * Parses `iptables -t nat -S POSTROUTING` output for `network`'s per-container masquerade
 * rules (Go's comment `name: "<network>" id: "<containerID>"`). Internal to @cnikit/ns.
 *
 * @example
 * parseIptablesMasq(out, "mynet") // [{ containerId: "c1", source: "10.22.0.5/32" }]
 */
export function parseIptablesMasq(listing: string, network: string): IptablesMasqRule[] {
  const out: IptablesMasqRule[] = [];
  const quotedNet = JSON.stringify(network).replace(/"/g, '\\"');
  for (const line of listing.split("\n")) {
    if (!line.startsWith("-A POSTROUTING ") || !line.includes(`name: ${quotedNet} id: `)) continue;
    const source = /\s-s (\S+)/.exec(line)?.[1];
    const id = /id: \\"((?:[^\\]|\\[^"])*)\\""/.exec(line)?.[1];
    if (source && id !== undefined) out.push({ containerId: id, source });
  }
  return out;
}

async function gcIptables(run: Runner, network: string, attachments: readonly Attachment[]): Promise<number> {
  const keep = new Set(attachments.map((a) => a.containerID));
  const stale = new Map<string, string[]>();
  let removed = 0;
  for (const family of [4, 6] as const) {
    const ipt = iptablesFor(family);
    if (!ipt) continue; // no iptables: nothing to collect
    const r = await run(ipt, ["-w", "-t", "nat", "-S", "POSTROUTING"]);
    if (r.code !== 0) continue;
    for (const rule of parseIptablesMasq(r.stdout, network)) {
      if (keep.has(rule.containerId)) continue;
      stale.set(rule.containerId, [...(stale.get(rule.containerId) ?? []), rule.source]);
      removed++;
    }
  }
  for (const [containerId, ips] of stale) await teardownIptables(run, network, containerId, ips);
  return removed;
}

/**
 * Garbage-collects the masquerade rules of `network` whose attachment is not in
 * `validAttachments` (CNI GC), in the process's own netns (or `options.netns`): nftables rules per (container, interface) like Go's
 * `GCIPMasqForNetwork`, and iptables chains per container (chain `CNI-<hash>`, comment
 * `name: "<network>" id: "<containerID>"`; Go leaves these as a FIXME).
 *
 * @example
 * await gcIpMasq({ network: conf.name, validAttachments: ctx.validAttachments });
 * @returns the number of rules removed: nftables rules plus iptables `POSTROUTING` masquerade
 *   rules (one per container address; each stale container's chain goes with them).
 * @throws {CniError} when nft fails or a stale iptables chain cannot be removed.
 */
export async function gcIpMasq(options: GcIpMasqOptions): Promise<number> {
  const { network, validAttachments: attachments } = options;
  const run = runnerFor(options.netns);
  let removed = 0;
  const nft = findBinary("nft");
  if (nft) {
    const prefix = hashForNetwork(network);
    const valid = new Set(attachments.map((a) => commentForInstance(network, a.ifname, a.containerID)));
    const stale = (await nftRules(run, nft))
      .filter((r) => r.comment?.startsWith(prefix) && !valid.has(r.comment))
      .map((r) => r.handle);
    if (stale.length > 0) {
      const r = await run(nft, ["-f", "-"], nftDelete(stale));
      if (r.code !== 0) fail("failed to garbage-collect nftables masquerade rules", r);
      removed += stale.length;
    }
  }
  return removed + (await gcIptables(run, network, attachments));
}
