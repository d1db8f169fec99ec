/**
 * The bridge plugin against real namespaces (root), run in-process through skel's invoke(),
 * delegating to our host-local (examples/host-local, built by buildFixture) or the Go
 * reference plugins.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type InvokeOptions, type InvokeOutput, invoke } from "@cnikit/skel/testing";
import {
  expectLink,
  expectNoLink,
  expectPing,
  expectPluginSuccess,
  HOST_NETNS,
  listAddresses,
  listHostLocalLeases,
  runCommand,
  runCommandOrThrow,
  Scratch,
} from "@cnikit/testing";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";
import { createBridgePlugin } from "../src/plugin.js";

const plugin = createBridgePlugin();
const GO_DIR = "/usr/lib/cni";
let CNI_PATH: string[] = [GO_DIR];

beforeAll(async () => {
  CNI_PATH = [dirname(await buildFixture("examples/host-local")), GO_DIR];
}, 120_000);

let s: Scratch;
afterEach(() => s?.cleanup());

function netConf(extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) {
  return {
    cniVersion: "1.0.0",
    name: `cknet${s.id}`,
    type: "bridge",
    bridge: s.link("br"),
    isGateway: true,
    ipam: { type: "host-local", subnet: s.subnet(), dataDir: s.dir("ipam"), ...ipam },
    ...extra,
  };
}

function call(command: string, config: object, netns: string, containerId: string, more: Partial<InvokeOptions> = {}) {
  return invoke(plugin, { command, config, netns, containerId, ifName: "eth0", path: CNI_PATH, ...more });
}

/** The result ADD printed (at the config's cniVersion). */
const res = (o: InvokeOutput): any => o.result;

/** Global addresses of a link in a namespace (none when the link is gone). */
async function globalAddresses(netns: string, ifName: string): Promise<string[]> {
  return (await listAddresses(netns, ifName)).filter((a) => a.scope === "global").map((a) => a.cidr);
}

describe("bridge ADD/DEL", () => {
  it("attaches two containers to one bridge so they can ping each other, then detaches them", async () => {
    s = new Scratch();
    const conf = netConf({ isDefaultGateway: true });
    const a = s.netns("a");
    const b = s.netns("b");
    const ra = await call("ADD", conf, a, `ca${s.id}`);
    expectPluginSuccess(ra);
    const rb = await call("ADD", conf, b, `cb${s.id}`);
    expectPluginSuccess(rb);

    const result = res(ra);
    expect(result.cniVersion).toBe("1.0.0");
    expect(result.interfaces).toHaveLength(3);
    expect(result.interfaces[0].name).toBe(conf.bridge);
    expect(result.interfaces[2]).toMatchObject({ name: "eth0", sandbox: a });
    expect(result.ips[0].interface).toBe(2);
    const subnetPrefix = conf.ipam.subnet.split(".").slice(0, 3).join(".");
    expect(result.ips[0].gateway).toBe(`${subnetPrefix}.1`);
    expect(result.routes).toContainEqual({ dst: "0.0.0.0/0", gw: `${subnetPrefix}.1` });
    expect(await globalAddresses(a, "eth0")).toEqual([result.ips[0].address]);
    expect(await runCommandOrThrow(["ip", "-br", "addr", "show", "dev", conf.bridge])).toContain(`${subnetPrefix}.1/24`);
    expect(await runCommandOrThrow(["ip", "-n", a.split("/").pop() as string, "route"])).toContain(`default via ${subnetPrefix}.1`);

    const ipB = (res(rb).ips[0].address as string).split("/")[0] as string;
    await expectPing(a, ipB);

    for (const [ns, id] of [
      [a, `ca${s.id}`],
      [b, `cb${s.id}`],
    ] as const) {
      const d = await call("DEL", conf, ns, id);
      expect(d.exitCode, d.stdout).toBe(0);
      expect(await globalAddresses(ns, "eth0")).toEqual([]);
    }
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
    await expectNoLink(a, "eth0");
  });

  it("DEL is idempotent: twice, of a never-added container, and with the netns gone", async () => {
    s = new Scratch();
    const conf = netConf();
    const a = s.netns("a");
    expect((await call("ADD", conf, a, `ca${s.id}`)).exitCode).toBe(0);
    expect((await call("DEL", conf, a, `ca${s.id}`)).exitCode).toBe(0);
    expect((await call("DEL", conf, a, `ca${s.id}`)).exitCode).toBe(0);
    expect((await call("DEL", conf, a, `never${s.id}`)).exitCode).toBe(0);
    expect((await call("DEL", conf, `/var/run/netns/ckgone${s.id}`, `ca${s.id}`)).exitCode).toBe(0);
    expect((await call("DEL", conf, "", `ca${s.id}`)).exitCode).toBe(0);
  });

  it("rolls back a failed ADD: lease released, veth removed", async () => {
    s = new Scratch();
    const conf = netConf();
    // the bridge already carries another address and forceAddress is off: fails after IPAM ADD
    await runCommandOrThrow(["ip", "link", "add", conf.bridge, "type", "bridge"]);
    await runCommandOrThrow(["ip", "addr", "add", "10.254.254.1/24", "dev", conf.bridge]);
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.exitCode).toBe(1);
    expect(r.error?.msg).toMatch(/failed to set bridge addr: "ck\w+" already has an IP address different from/);
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
    await expectNoLink(a, "eth0");
    await expectLink(HOST_NETNS, conf.bridge);
  });
});

function nsName(path: string): string {
  return path.split("/").pop() as string;
}

/** `ip -j -d <args>`'s first entry: flags, linkinfo and port data that ObservedLink does not carry. */
async function linkJson(args: string[]) {
  return JSON.parse(await runCommandOrThrow(["ip", "-j", "-d", ...args]))[0];
}

describe("bridge ADD failures leave nothing behind", () => {
  it("an IPAM failure removes the veth and the bridge this ADD created", async () => {
    s = new Scratch();
    const conf = netConf({}, { type: "no-such-ipam" });
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.exitCode).toBe(1);
    expect(r.error?.msg).toMatch(/no-such-ipam/);
    await expectNoLink(a, "eth0");
    await expectNoLink(HOST_NETNS, conf.bridge);
  });

  it("an interface name already taken in the container fails cleanly", async () => {
    s = new Scratch();
    const conf = netConf();
    const a = s.netns("a");
    await runCommandOrThrow(["ip", "-n", nsName(a), "link", "add", "eth0", "type", "veth", "peer", "name", "eth9"]);
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.exitCode).toBe(1);
    expect(r.error?.msg).toMatch(/already exists/);
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
    await expectNoLink(HOST_NETNS, conf.bridge);
  });
});

describe("IPAM runs in parallel with the link work", () => {
  // ADD starts the IPAM delegate before creating the bridge and the veth, DEL before deleting
  // the veth: whatever fails, a granted lease is released and both errors are accounted for.

  it("a bridge that cannot be created (the name is a veth): the lease started meanwhile is released", async () => {
    s = new Scratch();
    const conf = netConf();
    await runCommandOrThrow(["ip", "link", "add", conf.bridge, "type", "veth", "peer", "name", s.link("pe")]);
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.exitCode).toBe(1);
    expect(r.error?.msg).toMatch(/^failed to create bridge "ck\w+"/);
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
    expect((await linkJson(["link", "show", conf.bridge])).linkinfo.info_kind).toBe("veth");
    await expectNoLink(a, "eth0");
  });

  it("a container netns that does not exist: the lease is released, the new bridge removed", async () => {
    s = new Scratch();
    const conf = netConf();
    const r = await call("ADD", conf, `/var/run/netns/ckgone${s.id}`, `ca${s.id}`);
    expect(r.exitCode).toBe(1);
    expect(r.error?.msg).toMatch(/^failed to open netns/);
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
    await expectNoLink(HOST_NETNS, conf.bridge);
  });

  it("the same ADD twice: the second fails on the taken interface and releases only its own lease", async () => {
    s = new Scratch();
    const conf = netConf();
    const a = s.netns("a");
    const first = await call("ADD", conf, a, `ca${s.id}`);
    expect(first.exitCode, first.stdout).toBe(0);
    const second = await call("ADD", conf, a, `cb${s.id}`);
    expect(second.exitCode).toBe(1);
    expect(second.error?.msg).toMatch(/already exists/);
    // the first container keeps its lease and address
    const ip = (res(first).ips[0].address as string).split("/")[0] as string;
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([ip]);
    expect(await globalAddresses(a, "eth0")).toEqual([res(first).ips[0].address]);
  });

  it("DEL whose IPAM fails still deletes the interface, and reports the IPAM error", async () => {
    s = new Scratch();
    const conf = netConf();
    const a = s.netns("a");
    expect((await call("ADD", conf, a, `ca${s.id}`)).exitCode).toBe(0);
    const broken = { ...conf, ipam: { ...conf.ipam, type: "no-such-ipam" } };
    const d = await call("DEL", broken, a, `ca${s.id}`);
    expect(d.exitCode).toBe(1);
    expect(d.error?.msg).toMatch(/no-such-ipam/);
    await expectNoLink(a, "eth0");
    expect((await call("DEL", conf, a, `ca${s.id}`)).exitCode).toBe(0);
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
  });

  it("DEL where both fail: the IPAM error first, the interface error in its details", async () => {
    s = new Scratch();
    const conf = { ...netConf(), ipam: { type: "no-such-ipam" } };
    const notANetns = join(s.dir("f"), "not-a-netns");
    writeFileSync(notANetns, "");
    const d = await call("DEL", conf, notANetns, `ca${s.id}`);
    expect(d.exitCode).toBe(1);
    expect(d.error?.msg).toMatch(/no-such-ipam/);
    expect(d.error?.details).toMatch(/also failed: deleting "eth0": /);
  });
});

describe("bridge options", () => {
  it("applies mtu to the bridge and both veth ends, the MAC from runtimeConfig, promiscMode", async () => {
    s = new Scratch();
    const conf = netConf({ mtu: 1400, promiscMode: true, runtimeConfig: { mac: "02:aa:bb:cc:dd:01" } });
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`, { args: "IgnoreUnknown=1;MAC=02:aa:bb:cc:dd:02" });
    expect(r.exitCode, r.stdout).toBe(0);
    const cont = await linkJson(["-n", nsName(a), "link", "show", "eth0"]);
    expect(cont.mtu).toBe(1400);
    expect(cont.address).toBe("02:aa:bb:cc:dd:01");
    expect(res(r).interfaces[2].mac).toBe("02:aa:bb:cc:dd:01");
    const host = await linkJson(["link", "show", res(r).interfaces[1].name]);
    expect(host.mtu).toBe(1400);
    expect(host.master).toBe(conf.bridge);
    const br = await linkJson(["link", "show", conf.bridge]);
    expect(br.flags).toContain("PROMISC");
    expect(br.address).toBe(res(r).interfaces[0].mac);
    expect((await call("DEL", conf, a, `ca${s.id}`)).exitCode).toBe(0);
  });

  it("takes the MAC from CNI_ARGS when nothing else sets it; hairpinMode on the port", async () => {
    s = new Scratch();
    const conf = netConf({ hairpinMode: true });
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`, { args: "MAC=02:aa:bb:cc:dd:02" });
    expect(r.exitCode, r.stdout).toBe(0);
    expect((await linkJson(["-n", nsName(a), "link", "show", "eth0"])).address).toBe("02:aa:bb:cc:dd:02");
    expect((await linkJson(["link", "show", res(r).interfaces[1].name])).linkinfo.info_slave_data.hairpin).toBe(true);
    expect((await call("DEL", conf, a, `ca${s.id}`)).exitCode).toBe(0);
  });

  it("without IPAM attaches at layer 2 only: link up, no address", async () => {
    s = new Scratch();
    const { ipam: _none, ...conf } = netConf();
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(res(r).ips ?? []).toEqual([]);
    expect((await linkJson(["-n", nsName(a), "link", "show", "eth0"])).flags).toContain("UP");
    expect(await globalAddresses(a, "eth0")).toEqual([]);
    expect((await call("DEL", conf, a, `ca${s.id}`)).exitCode).toBe(0);
    await expectNoLink(a, "eth0");
  });

  it("passes the config's dns through to the result", async () => {
    s = new Scratch();
    const dns = { nameservers: ["192.0.2.53"], search: ["example.test"] };
    const conf = netConf({ dns });
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(res(r).dns).toEqual(dns);
    expect((await call("DEL", conf, a, `ca${s.id}`)).exitCode).toBe(0);
  });

  it("gives a container IPv4 and IPv6 addresses from two ranges", async () => {
    s = new Scratch();
    const v6 = `fd00:${s.id.slice(0, 4)}:${s.id.slice(4)}::/64`;
    const conf = netConf({ isGateway: false }, {});
    const dual = {
      ...conf,
      ipam: {
        type: "host-local",
        ranges: [[{ subnet: conf.ipam.subnet }], [{ subnet: v6 }]],
        dataDir: conf.ipam.dataDir,
      },
    };
    const a = s.netns("a");
    const r = await call("ADD", dual, a, `ca${s.id}`);
    expect(r.exitCode, r.stdout).toBe(0);
    expect(res(r).ips).toHaveLength(2);
    const addrs = (await listAddresses(a, "eth0")).map((x) => x.cidr);
    for (const ip of res(r).ips) expect(addrs).toContain(ip.address);
    expect((await call("DEL", dual, a, `ca${s.id}`)).exitCode).toBe(0);
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
  });

  it("masquerades with the iptables backend and removes the rules on DEL", async () => {
    s = new Scratch();
    const conf = netConf({ ipMasq: true, ipMasqBackend: "iptables" });
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.exitCode, r.stdout).toBe(0);
    const ip = (res(r).ips[0].address as string).split("/")[0] as string;
    const nat = () => runCommandOrThrow(["iptables", "-t", "nat", "-S"]);
    expect(await nat()).toContain(`-s ${ip}/32`);
    expect((await call("DEL", conf, a, `ca${s.id}`)).exitCode).toBe(0);
    expect(await nat()).not.toContain(`-s ${ip}/32`);
  });

  it("refuses hairpinMode with promiscMode, and an unsupported cniVersion", async () => {
    s = new Scratch();
    const a = s.netns("a");
    const both = await call("ADD", netConf({ hairpinMode: true, promiscMode: true }), a, `ca${s.id}`);
    expect(both.error).toMatchObject({ code: 7, msg: "cannot set hairpin mode and promiscuous mode at the same time" });
    const bad = await call("ADD", netConf({ cniVersion: "1.2.0" }), a, `ca${s.id}`);
    expect(bad.exitCode).toBe(1);
    expect(bad.error?.code).toBe(1);
  });
});

describe("bridge CHECK", () => {
  it("passes on a fresh attachment and names what is wrong when it is not", async () => {
    s = new Scratch();
    const conf = netConf({ isDefaultGateway: true });
    const a = s.netns("a");
    const add = await call("ADD", conf, a, `ca${s.id}`);
    expect(add.exitCode, add.stdout).toBe(0);
    const withPrev = { ...conf, prevResult: res(add) };

    expect((await call("CHECK", withPrev, a, `ca${s.id}`)).exitCode).toBe(0);
    expect((await call("CHECK", conf, a, `ca${s.id}`)).error?.msg).toBe("Required prevResult missing");

    await runCommandOrThrow(["ip", "-n", nsName(a), "route", "del", "default"]);
    expect((await call("CHECK", withPrev, a, `ca${s.id}`)).error?.msg).toMatch(
      /^Expected Route \{Dst:0\.0\.0\.0\/0 GW:10\.[\d.]+\} not found in routing table$/,
    );

    await runCommandOrThrow(["ip", "-n", nsName(a), "addr", "del", res(add).ips[0].address, "dev", "eth0"]);
    expect((await call("CHECK", withPrev, a, `ca${s.id}`)).error?.msg).toBe(
      `Failed to match addr ${res(add).ips[0].address} on interface eth0`,
    );

    await runCommandOrThrow(["ip", "link", "set", res(add).interfaces[1].name, "nomaster"]);
    expect((await call("CHECK", withPrev, a, `ca${s.id}`)).error?.msg).toBe(
      `CNI veth created for bridge ${conf.bridge} was not found`,
    );

    const otherNs = s.netns("b");
    expect((await call("CHECK", withPrev, otherNs, `ca${s.id}`)).error?.msg).toBe(
      `Sandbox in prevResult  doesn't match configured netns: ${otherNs}`,
    );
    expect((await call("DEL", conf, a, `ca${s.id}`)).exitCode).toBe(0);
  });
});

describe("bridge STATUS and GC", () => {
  it("forwards STATUS to the IPAM plugin", async () => {
    s = new Scratch();
    const conf = netConf({ cniVersion: "1.1.0" });
    const ok = await invoke(plugin, { command: "STATUS", config: conf, path: CNI_PATH });
    expect(ok.exitCode, ok.stdout).toBe(0);
    const missing = await invoke(plugin, {
      command: "STATUS",
      config: { ...conf, ipam: { ...conf.ipam, type: "no-such-ipam" } },
      path: CNI_PATH,
    });
    expect(missing.exitCode).toBe(1);
    expect(missing.error?.msg).toMatch(/no-such-ipam/);
  });

  it.each(["nftables", "iptables"])(
    "GC releases the leases and %s masquerade rules of attachments no longer valid",
    async (backend) => {
      s = new Scratch();
      const conf = netConf({ cniVersion: "1.1.0", ipMasq: true, ipMasqBackend: backend });
      const a = s.netns("a");
      const b = s.netns("b");
      const ra = await call("ADD", conf, a, `ca${s.id}`);
      const rb = await call("ADD", conf, b, `cb${s.id}`);
      expect([ra.exitCode, rb.exitCode]).toEqual([0, 0]);
      const ipA = (res(ra).ips[0].address as string).split("/")[0] as string;
      const ipB = (res(rb).ips[0].address as string).split("/")[0] as string;
      const gc = await invoke(plugin, {
        command: "GC",
        path: CNI_PATH,
        config: { ...conf, "cni.dev/valid-attachments": [{ containerID: `ca${s.id}`, ifname: "eth0" }] },
      });
      expect(gc.exitCode, gc.stdout).toBe(0);
      expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([ipA]);
      const rules = async () =>
        `${(await runCommand(["nft", "list", "ruleset"])).stdout}${(await runCommand(["iptables", "-t", "nat", "-S"])).stdout}`;
      const mentions = async (ip: string) => {
        const text = await rules();
        return text.includes(`${ip} `) || text.includes(`${ip}/32`);
      };
      expect(await mentions(ipA)).toBe(true);
      expect(await mentions(ipB)).toBe(false);
      for (const [ns, id] of [
        [a, `ca${s.id}`],
        [b, `cb${s.id}`],
      ] as const) {
        expect((await call("DEL", conf, ns, id)).exitCode).toBe(0);
      }
      expect(await mentions(ipA)).toBe(false);
      expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
    },
  );
});
