/**
 * The bridge plugin's commands. Loaded by `plugin.ts` on the first handler call, not at start-up:
 * a VERSION call (or any call skel answers itself) never evaluates this module, @cnikit/ns,
 * @cnikit/ipam-client nor `node:child_process` (a CommonJS bundle requires them lazily).
 *
 * @see https://www.cni.dev/plugins/current/main/bridge/
 */
import { configureInterface, ipam } from "@cnikit/ipam-client";
import {
  enableIpForward,
  ensureBridge,
  gcIpMasq,
  type Link,
  LinkNotFoundError,
  Netns,
  NetnsNotFoundError,
  randomMac,
  setupIpMasq,
  setupVeth,
  teardownIpMasq,
} from "@cnikit/ns";
import type { AddResult, PluginContext } from "@cnikit/skel";
import { CniError, ErrorCode, type Interface, type Result } from "@cnikit/spec";
import { checkAttachment } from "./check.js";
import { assertAddable, type BridgeConf, containerMac } from "./config.js";
import { calcGateways } from "./gateways.js";

/** Index of the container interface in an ADD result's `interfaces` (bridge, host veth, container). */
const CONTAINER_IF = 2;

/** The smallest MTU of a link that carries IPv6 (RFC 8200); the kernel disables IPv6 below it. */
const IPV6_MIN_MTU = 1280;

/** Waits before re-reading the host end's operational state (the reference plugin waits up to ~2.5 s). */
const PORT_STATE_RETRIES_MS = [0, 10, 50, 200, 500, 1000, 1000];

type Ctx = PluginContext<BridgeConf>;

/** The config skel validated (bridgeConfigSchema), with the MAC that CNI_ARGS may add. */
function confOf(ctx: Ctx): BridgeConf {
  return { ...ctx.config, mac: containerMac(ctx.config, ctx.rawArgs ? ctx.args : {}) };
}

function messageOf(err: unknown): string {
  return err instanceof CniError ? err.msg : err instanceof Error ? err.message : String(err);
}

function trySysctl(ns: Netns, name: string, value: string): void {
  try {
    ns.setSysctlSync(name, value);
  } catch {
    // best effort, like the reference plugin (IPv6 may be disabled)
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Deletes a bridge this ADD created, unless something else got attached to it meanwhile. */
async function removeBridgeIfUnused(name: string): Promise<void> {
  const host = Netns.host();
  const br = await host.findLink(name);
  if (br?.kind !== "bridge") return;
  const links = await host.listLinks();
  if (links.some((l) => l.master === br.index)) return;
  await host.deleteLink(br.index, { missingOk: true });
}

/**
 * Starts the IPAM ADD now, so the delegate (a child process: most of an ADD's wall time) runs
 * while this process creates the bridge and the veth. The lease is released on rollback as soon
 * as it was granted, whatever fails later; the promise is awaited where the result is needed.
 */
function startIpamAdd(ctx: Ctx): Promise<Result> {
  const lease = ipam.add(ctx);
  lease.catch(() => {}); // awaited below; until then a failure must not be an unhandled rejection
  ctx.onRollback(async () => {
    try {
      await lease;
    } catch {
      return; // no lease was granted: nothing to release
    }
    await ipam.del(ctx);
  });
  return lease;
}

/** The bridge plugin's ADD handler. */
export async function add(ctx: Ctx): Promise<AddResult> {
  const conf = confOf(ctx);
  assertAddable(conf);
  const lease = conf.ipam ? startIpamAdd(ctx) : undefined;
  const host = Netns.host();

  // A bridge this ADD creates gets its MAC in the creating request, which pins it (the kernel
  // marks it as set by the user): otherwise it follows the lowest port MAC as containers come and
  // go, and CHECK of earlier attachments fails on a MAC their result no longer matches.
  let created = false;
  let br: Link;
  try {
    br = await ensureBridge({
      name: conf.bridge,
      mtu: conf.mtu,
      promisc: conf.promiscMode,
      mac: randomMac(),
      onCreated: () => {
        created = true;
      },
    });
  } catch (err) {
    throw CniError.wrap(`failed to create bridge "${conf.bridge}"`, err);
  }
  if (created) ctx.onRollback(() => removeBridgeIfUnused(conf.bridge));
  // the bridge's MAC when it cannot change any more (pinned), else undefined (re-read at the end)
  let pinnedMac = created ? br.mac : undefined;
  // we own the routes of this interface
  trySysctl(host, `net/ipv6/conf/${conf.bridge}/accept_ra`, "0");

  let ns: Netns;
  try {
    ns = await Netns.open(ctx.netns);
  } catch (err) {
    throw netnsError(ctx.netns, err);
  }
  try {
    const veth = await setupVeth({
      netns: ns,
      ifName: ctx.ifName,
      master: br.index,
      hairpin: conf.hairpinMode,
      mtu: conf.mtu,
      mac: conf.mac,
    });
    ctx.onRollback(async () => {
      const again = await Netns.openIfExists(ctx.netns);
      try {
        await again?.deleteLink(ctx.ifName, { missingOk: true });
      } finally {
        again?.close();
      }
    });

    const hostIf: Interface = { name: veth.host.name, mac: veth.host.mac };
    const brIf: Interface = { name: br.name, mac: br.mac };
    const result: Result = {
      cniVersion: "1.1.0",
      interfaces: [brIf, hostIf, { name: veth.container.name, mac: veth.container.mac, sandbox: ctx.netns }],
    };

    if (lease) {
      const ipamResult = await lease;
      if (!ipamResult.ips || ipamResult.ips.length === 0) {
        throw new CniError(ErrorCode.Internal, "IPAM plugin returned missing IP config");
      }
      if (conf.mtu !== undefined && conf.mtu < IPV6_MIN_MTU && ipamResult.ips.some((i) => i.address.includes(":"))) {
        // the kernel has no IPv6 on such a link: without this, a sysctl's ENOENT would be the error
        throw new CniError(
          ErrorCode.InvalidNetworkConfig,
          `MTU ${conf.mtu} is below IPv6's minimum of ${IPV6_MIN_MTU}: the kernel disables IPv6 on "${ctx.ifName}", which cannot take the IPv6 address IPAM returned`,
        );
      }
      const gws = calcGateways(ipamResult.ips, ipamResult.routes ?? [], conf, CONTAINER_IF);
      result.ips = gws.ips;
      result.routes = gws.routes;
      if (ipamResult.dns) result.dns = ipamResult.dns;

      // one switch into the container's netns for all its sysctls
      ns.run(() => {
        if (conf.enableDad) {
          trySysctl(ns, `net/ipv6/conf/${ctx.ifName}/enhanced_dad`, "1");
          trySysctl(ns, `net/ipv6/conf/${ctx.ifName}/accept_dad`, "1");
        } else {
          trySysctl(ns, `net/ipv6/conf/${ctx.ifName}/accept_dad`, "0");
        }
        // announce the new address (what the reference plugin's gratuitous ARP does)
        trySysctl(ns, `net/ipv4/conf/${ctx.ifName}/arp_notify`, "1");
      });
      // the Link just created: configureInterface addresses it by index, with no name lookups
      await configureInterface(ns, veth.container, result);

      if (conf.isGateway) {
        for (const gws4or6 of [gws.v4, gws.v6]) {
          if (gws4or6.cidrs.length === 0) continue;
          try {
            const now = await ensureBridge({ name: conf.bridge, addresses: gws4or6.cidrs, forceAddress: conf.forceAddress });
            // pin the bridge's MAC, else it follows the lowest port MAC as ports come and go
            // (a bridge this ADD created is pinned already)
            if (pinnedMac === undefined && now.mac) {
              await host.setMac(now.index, now.mac);
              pinnedMac = now.mac;
            }
          } catch (err) {
            throw CniError.wrap("failed to set bridge addr", err);
          }
          try {
            await enableIpForward([gws4or6.family]);
          } catch (err) {
            throw CniError.wrap("failed to enable forwarding", err);
          }
        }
      }

      if (conf.ipMasq) {
        const masq = {
          network: conf.name,
          containerId: ctx.containerId,
          ifName: ctx.ifName,
          ips: result.ips.map((i) => i.address),
        };
        await setupIpMasq({ ...masq, backend: conf.ipMasqBackend });
        ctx.onRollback(() => teardownIpMasq(masq));
      }
    } else {
      try {
        await ns.setLinkUp(veth.container.index);
      } catch (err) {
        throw CniError.wrap(`failed to set "${ctx.ifName}" up`, err);
      }
    }

    // wait for the bridge port to come up (the reference plugin's retry loop)
    for (let i = 0; ; i++) {
      const retry = PORT_STATE_RETRIES_MS[i];
      if (retry === undefined) {
        const l = await host.getLink(hostIf.name);
        throw new CniError(ErrorCode.Internal, `bridge port in error state: ${l.operState}`);
      }
      if (retry > 0) await sleep(retry);
      const l = await host.getLink(hostIf.name);
      hostIf.mac = l.mac;
      if (l.operState === "up") break;
    }
    brIf.mac = pinnedMac ?? (await host.getLink(conf.bridge)).mac;

    if (conf.dns) result.dns = conf.dns;
    return result;
  } finally {
    ns.close();
  }
}

/** The error of a netns that cannot be opened: NetnsNotFoundError says `failed to open netns "<path>"` itself. */
function netnsError(path: string, err: unknown): CniError {
  return err instanceof NetnsNotFoundError ? err : CniError.wrap(`failed to open netns "${path}"`, err);
}

/** Synchronous `Netns.openIfExists`: `undefined` when the path is empty or gone. */
function openNetnsIfExists(path: string): Netns | undefined {
  if (!path) return undefined;
  try {
    return Netns.openSync(path);
  } catch (err) {
    if (err instanceof NetnsNotFoundError) return undefined;
    throw err;
  }
}

/** Global-scope addresses of `ifName` (what masquerade rules were made for). */
async function globalAddresses(ns: Netns, ifName: string): Promise<string[]> {
  try {
    return (await ns.listAddresses(ifName)).filter((a) => a.scope === 0).map((a) => a.cidr);
  } catch (err) {
    if (err instanceof LinkNotFoundError) return [];
    throw err;
  }
}

/**
 * DEL: the IPAM DEL (a child process) runs while the container's veth is deleted; both are
 * awaited. When both fail, the IPAM error is the one reported (Go runs IPAM DEL first and stops
 * there), with the link error in its details.
 */
/** The bridge plugin's DEL handler. */
export async function del(ctx: Ctx): Promise<void> {
  const conf = confOf(ctx);
  const masq = conf.ipam !== undefined && conf.ipMasq;
  let removed: string[] = [];
  // The link delete is started first: the kernel's part (~20 ms for a veth) runs on a pool thread
  // (Netns.deleteLink), so the IPAM DEL child is spawned and runs meanwhile.
  const linkDel = (async () => {
    const ns = openNetnsIfExists(ctx.netns);
    if (!ns) return;
    try {
      // the addresses only matter for the masquerade teardown
      if (masq) removed = await globalAddresses(ns, ctx.ifName);
      await ns.deleteLink(ctx.ifName, { missingOk: true });
    } finally {
      ns.close();
    }
  })();
  const ipamDel = conf.ipam ? ipam.del(ctx) : undefined;
  ipamDel?.catch(() => {}); // awaited below

  let linkError: unknown;
  try {
    await linkDel;
  } catch (err) {
    linkError = err;
  }
  try {
    await ipamDel;
  } catch (err) {
    if (linkError === undefined) throw err;
    ctx.log.warn("deleting the container interface failed too", { error: messageOf(linkError) });
    const e = CniError.from(err);
    const also = `also failed: deleting "${ctx.ifName}": ${messageOf(linkError)}`;
    throw new CniError(e.code, e.msg, e.details ? `${e.details}; ${also}` : also, { cause: err });
  }
  if (linkError !== undefined) throw linkError;

  if (masq) {
    // the addresses come from the link; when it is already gone, from the cached result
    const ips = removed.length > 0 ? removed : (ctx.prevResult?.ips ?? []).map((i) => i.address);
    await teardownIpMasq({ network: conf.name, containerId: ctx.containerId, ifName: ctx.ifName, ips });
  }
}

/** The bridge plugin's CHECK handler. */
export async function check(ctx: Ctx): Promise<void> {
  const conf = confOf(ctx);
  let ns: Netns;
  try {
    ns = await Netns.open(ctx.netns);
  } catch (err) {
    throw netnsError(ctx.netns, err);
  }
  try {
    if (conf.ipam) await ipam.check(ctx);
    if (!ctx.prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, "Required prevResult missing");
    await checkAttachment({ conf, prevResult: ctx.prevResult, netns: ns, netnsPath: ctx.netns, ifName: ctx.ifName });
  } finally {
    ns.close();
  }
}

/** The bridge plugin's STATUS handler. */
export async function status(ctx: Ctx): Promise<void> {
  const conf = confOf(ctx);
  if (conf.ipam) await ipam.status(ctx);
}

/** The bridge plugin's GC handler. */
export async function gc(ctx: Ctx): Promise<void> {
  const conf = confOf(ctx);
  if (conf.ipMasq) await gcIpMasq({ network: conf.name, validAttachments: ctx.validAttachments });
  if (conf.ipam) await ipam.gc(ctx);
}
