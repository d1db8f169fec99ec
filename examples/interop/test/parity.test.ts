/**
 * Parity: our bridge + host-local and the Go reference pair go through the same scenario list
 * under our runtime, and must give the same observable outcome.
 */
import { CniRuntime, confListFromBytes } from "@cnikit/runtime";
import {
  findLink,
  listAddresses,
  listHostLocalLeases,
  listRoutes,
  HOST_NETNS,
  ping,
  runCommandOrThrow,
  runPlugin,
  Scratch,
} from "@cnikit/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { bridgePorts, buildOurPlugins, cacheFiles, GO_DIR, ipOf, masqRulesMentioning, purgeIptablesMasq } from "./interop.js";

interface Outcome {
  addresses: string[];
  routesInA: string[];
  resultShape: { interfaces: number; gateway: string | undefined; routes: unknown };
  bridgeAddress: string[];
  masqWhileAttached: boolean;
  ping: boolean;
  checkPasses: boolean;
  checkFailsWithoutAddress: boolean;
  delTwice: boolean;
  delNeverAdded: boolean;
  badVersionCode: number | undefined;
  leftLeases: string[];
  leftCache: string[];
  leftPorts: string[];
  leftLinks: boolean;
  leftMasq: string[];
}

let built: Awaited<ReturnType<typeof buildOurPlugins>>;
const outcomes: Record<string, Outcome> = {};
// the same subnet for both pairs, so addresses and routes compare equal (runs are sequential)
const subnet = new Scratch().subnet();

beforeAll(async () => {
  built = await buildOurPlugins(["bridge", "host-local"]);
}, 120_000);

function gatewayOf(cidr: string): string {
  return cidr.replace(/\.0\/24$/, ".1");
}

async function scenario(pair: "go" | "ours"): Promise<Outcome> {
  const s = new Scratch();
  let delAll: (() => Promise<void>) | undefined;
  try {
    const bin = pair === "go" ? { bridge: `${GO_DIR}/bridge`, "host-local": `${GO_DIR}/host-local` } : built.paths;
    const pathDir = s.pluginDir({ bridge: bin.bridge as string, "host-local": bin["host-local"] as string });
    const cacheDir = s.dir("cache");
    const dataDir = s.dir("ipam");
    const bridge = s.link("br");
    const network = `ckpar${s.id}`;
    const conf = {
      cniVersion: "1.0.0",
      name: network,
      plugins: [
        {
          type: "bridge",
          bridge,
          isGateway: true,
          ipMasq: true,
          // the gw is explicit: Go's CHECK (1.1.1) cannot find a route whose result entry has
          // no gw, even though it installed it via the gateway; ours matches on dst then
          ipam: {
            type: "host-local",
            ranges: [[{ subnet }]],
            routes: [{ dst: "192.0.2.0/24", gw: gatewayOf(subnet) }],
            dataDir,
          },
        },
      ],
    };
    const list = confListFromBytes(JSON.stringify(conf));
    const cni = new CniRuntime({ path: [pathDir], cacheDir, stderr: null, timeoutMs: 30_000 });
    const a = s.netns("a");
    const b = s.netns("b");
    const rtA = { containerId: `ctr-a-${s.id}`, netns: a, ifName: "eth0" };
    const rtB = { containerId: `ctr-b-${s.id}`, netns: b, ifName: "eth0" };
    delAll = async () => {
      for (const rt of [rtA, rtB]) await cni.delNetworkList(list, rt).catch(() => {});
    };

    const ra: any = await cni.addNetworkList(list, rtA);
    const rb: any = await cni.addNetworkList(list, rtB);
    const ipA = ipOf(ra);
    const ipB = ipOf(rb);
    const masqWhileAttached = (await masqRulesMentioning([ipA])).length > 0;
    const out: Partial<Outcome> = {
      addresses: [ra.ips[0].address, rb.ips[0].address],
      routesInA: (await listRoutes(a))
        .filter((r) => r.family === 4)
        .map((r) => `${r.dst}${r.gw ? ` via ${r.gw}` : ""} dev ${r.dev}`)
        .sort(),
      resultShape: { interfaces: ra.interfaces.length, gateway: ra.ips[0].gateway, routes: ra.routes },
      bridgeAddress: (await listAddresses(HOST_NETNS, bridge)).filter((x) => x.family === 4).map((x) => x.cidr),
      masqWhileAttached,
      ping: (await ping(a, ipB, { timeoutSec: 2 })).ok,
    };

    out.checkPasses = await cni.checkNetworkList(list, rtA).then(
      () => true,
      () => false,
    );
    await runCommandOrThrow(["ip", "-n", b.split("/").pop() as string, "addr", "del", rb.ips[0].address, "dev", "eth0"]);
    out.checkFailsWithoutAddress = await cni.checkNetworkList(list, rtB).then(
      () => false,
      () => true,
    );

    let delTwice = true;
    for (const rt of [rtA, rtA, rtB, rtB]) {
      delTwice &&= await cni.delNetworkList(list, rt).then(
        () => true,
        () => false,
      );
    }
    out.delTwice = delTwice;
    out.delNeverAdded = await cni.delNetworkList(list, { containerId: `never-${s.id}`, netns: a, ifName: "eth1" }).then(
      () => true,
      () => false,
    );

    const bad = await runPlugin(`${pathDir}/bridge`, {
      command: "ADD",
      config: { ...conf.plugins[0], cniVersion: "9.9.9", name: network },
      containerId: `ctr-c-${s.id}`,
      netns: a,
      ifName: "eth0",
      path: [pathDir],
    });
    out.badVersionCode = bad.error?.code;

    out.leftLeases = listHostLocalLeases(dataDir, network);
    out.leftCache = cacheFiles(cacheDir);
    out.leftPorts = await bridgePorts(bridge);
    out.leftLinks = (await findLink(a, "eth0")) !== undefined || (await findLink(b, "eth0")) !== undefined;
    out.leftMasq = await masqRulesMentioning([ipA, ipB, `name: "${network}"`]);
    return out as Outcome;
  } finally {
    // DEL is idempotent: makes sure a failed step leaves no masquerade rules behind
    await delAll?.();
    await purgeIptablesMasq(`ckpar${s.id}`);
    s.cleanup();
  }
}

describe("our bridge + host-local behave like the Go pair", () => {
  it("Go bridge + Go host-local: the reference outcome", async () => {
    outcomes.go = await scenario("go");
    expect(outcomes.go.ping).toBe(true);
  });

  it("our bridge + our host-local: the same scenario", async () => {
    outcomes.ours = await scenario("ours");
    expect(outcomes.ours.ping).toBe(true);
  });

  it("gives the same observable outcome, and leaves nothing behind", () => {
    const go = outcomes.go as Outcome;
    const ours = outcomes.ours as Outcome;
    // Go's bridge leaves the masquerade rules of a container whose address vanished before DEL
    // (it tears down only the addresses it finds on the link); ours falls back to prevResult
    const { leftMasq: _goMasq, ...goRest } = go;
    const { leftMasq: _ourMasq, ...ourRest } = ours;
    expect(ourRest).toEqual(goRest);
    expect(ours.checkPasses).toBe(true);
    expect(ours.checkFailsWithoutAddress).toBe(true);
    expect(ours.delTwice).toBe(true);
    expect(ours.delNeverAdded).toBe(true);
    expect(ours.badVersionCode).toBe(1);
    expect(ours.masqWhileAttached).toBe(true);
    expect(ours.leftLeases).toEqual([]);
    expect(ours.leftCache).toEqual([]);
    expect(ours.leftPorts).toEqual([]);
    expect(ours.leftLinks).toBe(false);
    expect(ours.leftMasq).toEqual([]);
  });
});
