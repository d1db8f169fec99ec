/**
 * Mixed chains: our plugins and the Go reference plugins in one network, in both directions,
 * under our runtime; and host-local leases shared through one data dir.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CniRuntime, confListFromBytes } from "@cnikit/runtime";
import {
  expectPing,
  expectPluginSuccess,
  findLink,
  listHostLocalLeases,
  runCommandOrThrow,
  runPlugin,
  Scratch,
} from "@cnikit/testing";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { bridgePorts, buildOurPlugins, cacheFiles, GO_DIR, ipOf, masqRulesMentioning } from "./interop.js";

let built: Awaited<ReturnType<typeof buildOurPlugins>>;
let s: Scratch;

beforeAll(async () => {
  built = await buildOurPlugins(["bridge", "host-local"]);
}, 120_000);
afterEach(() => s?.cleanup());

const PORTMAP_CHAINS = ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"];

function portmapChainsExist(): boolean {
  return spawnSync("iptables", ["-t", "nat", "-S", "CNI-HOSTPORT-DNAT"], { stdio: "ignore" }).status === 0;
}

function removePortmapChains(): void {
  for (const tool of ["iptables", "ip6tables"]) {
    const rules = spawnSync(tool, ["-t", "nat", "-S"], { encoding: "utf8" }).stdout ?? "";
    for (const line of rules.split("\n")) {
      const m = /^-A (PREROUTING|OUTPUT|POSTROUTING) (.*-j CNI-HOSTPORT-\S+.*)$/.exec(line);
      if (!m) continue;
      // the rule text as iptables -S prints it, re-split respecting the quoted comment
      const args = (m[2] as string).match(/"[^"]*"|\S+/g)?.map((a) => a.replace(/^"|"$/g, "")) ?? [];
      spawnSync(tool, ["-t", "nat", "-D", m[1] as string, ...args], { stdio: "ignore" });
    }
    for (const chain of PORTMAP_CHAINS) spawnSync(tool, ["-t", "nat", "-F", chain], { stdio: "ignore" });
    for (const chain of PORTMAP_CHAINS) spawnSync(tool, ["-t", "nat", "-X", chain], { stdio: "ignore" });
  }
}

function ours(name: string): string {
  return built.paths[name] as string;
}

/** Two containers on one conflist: ADD, ping, CHECK, DEL; returns what was observed. */
async function twoContainers(
  plugins: Record<string, string>,
  extraPlugins: Record<string, unknown>[] = [],
  caps?: Record<string, unknown>,
) {
  const pathDir = s.pluginDir(plugins);
  const cacheDir = s.dir("cache");
  const dataDir = s.dir("ipam");
  const bridge = s.link("br");
  const network = `ckchn${s.id}`;
  const conf = {
    cniVersion: "1.0.0",
    name: network,
    plugins: [
      {
        type: "bridge",
        bridge,
        isGateway: true,
        ipam: { type: "host-local", ranges: [[{ subnet: s.subnet() }]], dataDir },
      },
      ...extraPlugins,
    ],
  };
  const list = confListFromBytes(JSON.stringify(conf));
  const cni = new CniRuntime({ path: [pathDir], cacheDir, stderr: null, timeoutMs: 30_000 });
  const a = s.netns("a");
  const b = s.netns("b");
  const rtA = { containerId: `ctr-a-${s.id}`, netns: a, ifName: "eth0", ...(caps ? { capabilityArgs: caps } : {}) };
  const rtB = { containerId: `ctr-b-${s.id}`, netns: b, ifName: "eth0" };
  const attached = new Set<typeof rtA>();
  try {
    const ra: any = await cni.addNetworkList(list, rtA);
    attached.add(rtA);
    const rb: any = await cni.addNetworkList(list, rtB);
    attached.add(rtB);
    const ipA = ipOf(ra);
    const ipB = ipOf(rb);
    await expectPing(a, ipB);
    // CHECK runs the chain in order; a failure names the plugin that failed
    const checkA = await cni.checkNetworkList(list, rtA).then(
      () => "ok",
      (err: Error) => err.message,
    );
    await cni.checkNetworkList(list, rtB);
    const natWhileAttached = await masqRulesMentioning([ipA]);
    const sysctlInA = async (name: string) => (await runCommandOrThrow(["nsenter", `--net=${a}`, "sysctl", "-n", name])).trim();
    const observedSysctl = extraPlugins.length > 0 ? await sysctlInA("net.ipv4.conf.eth0.arp_ignore") : undefined;
    for (const rt of [rtA, rtB]) {
      await cni.delNetworkList(list, rt);
      attached.delete(rt);
    }
    return {
      ra,
      rb,
      checkA,
      natWhileAttached,
      observedSysctl,
      left: {
        leases: listHostLocalLeases(dataDir, network),
        cache: cacheFiles(cacheDir),
        ports: await bridgePorts(bridge),
        links: (await findLink(a, "eth0")) !== undefined || (await findLink(b, "eth0")) !== undefined,
        nat: await masqRulesMentioning([ipA, ipB]),
      },
    };
  } finally {
    // a failed step must not leave portmap/masquerade rules behind: DEL what is still attached
    for (const rt of attached) await cni.delNetworkList(list, rt).catch(() => {});
  }
}

const NOTHING_LEFT = { leases: [], cache: [], ports: [], links: false, nat: [] };

describe("mixed chains under our runtime", () => {
  it("our bridge + Go host-local", async () => {
    s = new Scratch();
    const out = await twoContainers({ bridge: ours("bridge"), "host-local": `${GO_DIR}/host-local` });
    expect(out.ra.cniVersion).toBe("1.0.0");
    expect(out.checkA).toBe("ok");
    expect(out.left).toEqual(NOTHING_LEFT);
  });

  it("Go bridge + our host-local", async () => {
    s = new Scratch();
    const out = await twoContainers({ bridge: `${GO_DIR}/bridge`, "host-local": ours("host-local") });
    expect(out.ra.ips[0].address).toMatch(/\.2\/24$/);
    expect(out.rb.ips[0].address).toMatch(/\.3\/24$/);
    expect(out.checkA).toBe("ok");
    expect(out.left).toEqual(NOTHING_LEFT);
  });

  it("our bridge → Go tuning → Go portmap", async () => {
    s = new Scratch();
    // Go portmap creates shared nat chains (CNI-HOSTPORT-*) and never removes them: remove them
    // afterwards if this test is what created them (never when they were there before).
    if (!portmapChainsExist()) s.onCleanup(removePortmapChains);
    const hostPort = 20000 + Math.floor(Math.random() * 30000);
    const out = await twoContainers(
      {
        bridge: ours("bridge"),
        "host-local": ours("host-local"),
        tuning: `${GO_DIR}/tuning`,
        portmap: `${GO_DIR}/portmap`,
      },
      [
        { type: "tuning", sysctl: { "net.ipv4.conf.eth0.arp_ignore": "1" } },
        { type: "portmap", capabilities: { portMappings: true }, snat: true },
      ],
      { portMappings: [{ hostPort, containerPort: 8080, protocol: "tcp" }] },
    );
    expect(out.observedSysctl).toBe("1");
    // bridge and tuning pass CHECK; Debian's portmap 1.1.1 then fails its own CHECK of any
    // IPv4 mapping ("could not check ipv6 dnat: chain CNI-DN-... not found"), even when a Go
    // plugin made the prevResult, so only that known failure is accepted here
    expect(out.checkA === "ok" || /could not check ipv\d dnat/.test(out.checkA), out.checkA).toBe(true);
    // portmap's DNAT for container a, made from our bridge's result
    expect(out.natWhileAttached.some((l) => l.includes(`${ipOf(out.ra)}:8080`))).toBe(true);
    expect(out.left).toEqual(NOTHING_LEFT);
  });
});

describe("host-local leases shared between Go and cnikit on one data dir", () => {
  function ipamConf(dataDir: string, network: string, subnet: string) {
    return { cniVersion: "1.0.0", name: network, type: "host-local", ipam: { type: "host-local", subnet, dataDir } };
  }

  for (const [allocator, releaser] of [
    ["go", "ours"],
    ["ours", "go"],
  ] as const) {
    it(`${allocator} allocates, ${releaser} sees and releases`, async () => {
      s = new Scratch();
      const bin = { go: `${GO_DIR}/host-local`, ours: ours("host-local") };
      const dataDir = s.dir("ipam");
      const network = `ckhl${s.id}`;
      const conf = ipamConf(dataDir, network, s.subnet());
      const ns = s.netns("a");
      const id = `ctr-${s.id}`;
      const call = { config: conf, containerId: id, netns: ns, ifName: "eth0", path: [GO_DIR] };

      const add = await runPlugin(bin[allocator], { ...call, command: "ADD" });
      expectPluginSuccess(add);
      const ip = ipOf(add.result);
      expect(listHostLocalLeases(dataDir, network)).toEqual([ip]);
      expect(readFileSync(join(dataDir, network, ip), "utf8")).toBe(`${id}\r\neth0`);

      // the other implementation allocates next to it, not on top of it
      const other = await runPlugin(bin[releaser], { ...call, containerId: `${id}-2`, command: "ADD" });
      expectPluginSuccess(other);
      expect(ipOf(other.result)).not.toBe(ip);

      // and CHECK/DEL of the first lease work across implementations
      expectPluginSuccess(
        await runPlugin(bin[releaser], { ...call, command: "CHECK", config: { ...conf, prevResult: add.result } }),
      );
      expectPluginSuccess(await runPlugin(bin[releaser], { ...call, command: "DEL" }));
      expect(listHostLocalLeases(dataDir, network)).toEqual([ipOf(other.result)]);

      expectPluginSuccess(await runPlugin(bin[allocator], { ...call, containerId: `${id}-2`, command: "DEL" }));
      expect(listHostLocalLeases(dataDir, network)).toEqual([]);
    });
  }
});
