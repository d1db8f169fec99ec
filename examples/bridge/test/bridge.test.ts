/**
 * The bridge plugin against real namespaces (root), run in-process through skel, delegating to
 * our host-local (built fresh into a temp dir) or the Go reference plugins.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createBridgePlugin } from "../src/plugin.js";
import { addressesIn, type Call, hostLinkExists, pingFrom, runInProcess, Scratch, sh, trySh } from "./helpers.js";

const plugin = createBridgePlugin();
const ROOT = new URL("../../../", import.meta.url).pathname;
const GO_DIR = "/usr/lib/cni";
let buildDir = "";
let CNI_PATH: string[] = [GO_DIR];

beforeAll(() => {
  buildDir = mkdtempSync(join(tmpdir(), "ckbuild-"));
  const r = spawnSync(process.execPath, [
    join(ROOT, "tools/build-plugin.mjs"),
    "--entry",
    join(ROOT, "examples/host-local/src/main.ts"),
    "--out",
    join(buildDir, "host-local"),
  ]);
  if (r.status !== 0) throw new Error(`building host-local failed: ${r.stderr}`);
  CNI_PATH = [buildDir, GO_DIR];
}, 120_000);
afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

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

function call(command: string, config: object, netns: string, containerId: string, more: Partial<Call> = {}) {
  return runInProcess(plugin, { command, config, netns, containerId, ifName: "eth0", path: CNI_PATH, ...more });
}

function leases(dataDir: string, network: string): string[] {
  const dir = `${dataDir}/${network}`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"));
}

describe("bridge ADD/DEL", () => {
  it("attaches two containers to one bridge so they can ping each other, then detaches them", async () => {
    s = new Scratch();
    const conf = netConf({ isDefaultGateway: true });
    const a = s.netns("a");
    const b = s.netns("b");
    const ra = await call("ADD", conf, a, `ca${s.id}`);
    expect(ra.code, ra.stdout + ra.stderr).toBe(0);
    const rb = await call("ADD", conf, b, `cb${s.id}`);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);

    const result = ra.json;
    expect(result.cniVersion).toBe("1.0.0");
    expect(result.interfaces).toHaveLength(3);
    expect(result.interfaces[0].name).toBe(conf.bridge);
    expect(result.interfaces[2]).toMatchObject({ name: "eth0", sandbox: a });
    expect(result.ips[0].interface).toBe(2);
    const subnetPrefix = conf.ipam.subnet.split(".").slice(0, 3).join(".");
    expect(result.ips[0].gateway).toBe(`${subnetPrefix}.1`);
    expect(result.routes).toContainEqual({ dst: "0.0.0.0/0", gw: `${subnetPrefix}.1` });
    expect(addressesIn(a, "eth0")).toEqual([result.ips[0].address]);
    expect(sh(["ip", "-br", "addr", "show", "dev", conf.bridge])).toContain(`${subnetPrefix}.1/24`);
    expect(sh(["ip", "-n", a.split("/").pop() as string, "route"])).toContain(`default via ${subnetPrefix}.1`);

    const ipB = (rb.json.ips[0].address as string).split("/")[0] as string;
    expect(pingFrom(a, ipB)).toMatch(/bytes from/);

    for (const [ns, id] of [
      [a, `ca${s.id}`],
      [b, `cb${s.id}`],
    ] as const) {
      const d = await call("DEL", conf, ns, id);
      expect(d.code, d.stdout).toBe(0);
      expect(addressesIn(ns, "eth0")).toEqual([]);
    }
    expect(leases(conf.ipam.dataDir, conf.name)).toEqual([]);
    expect(trySh(["ip", "-n", a.split("/").pop() as string, "link", "show", "eth0"]).status).not.toBe(0);
  });

  it("DEL is idempotent: twice, of a never-added container, and with the netns gone", async () => {
    s = new Scratch();
    const conf = netConf();
    const a = s.netns("a");
    expect((await call("ADD", conf, a, `ca${s.id}`)).code).toBe(0);
    expect((await call("DEL", conf, a, `ca${s.id}`)).code).toBe(0);
    expect((await call("DEL", conf, a, `ca${s.id}`)).code).toBe(0);
    expect((await call("DEL", conf, a, `never${s.id}`)).code).toBe(0);
    expect((await call("DEL", conf, `/var/run/netns/ckgone${s.id}`, `ca${s.id}`)).code).toBe(0);
    expect((await call("DEL", conf, "", `ca${s.id}`)).code).toBe(0);
  });

  it("rolls back a failed ADD: lease released, veth removed", async () => {
    s = new Scratch();
    const conf = netConf();
    // the bridge already carries another address and forceAddress is off: fails after IPAM ADD
    sh(["ip", "link", "add", conf.bridge, "type", "bridge"]);
    sh(["ip", "addr", "add", "10.254.254.1/24", "dev", conf.bridge]);
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.code).toBe(1);
    expect(r.json.msg).toMatch(/failed to set bridge addr: "ck\w+" already has an IP address different from/);
    expect(leases(conf.ipam.dataDir, conf.name)).toEqual([]);
    expect(trySh(["ip", "-n", a.split("/").pop() as string, "link", "show", "eth0"]).status).not.toBe(0);
    expect(hostLinkExists(conf.bridge)).toBe(true);
  });
});

function nsName(path: string): string {
  return path.split("/").pop() as string;
}

function linkJson(args: string[]) {
  return JSON.parse(sh(["ip", "-j", "-d", ...args]))[0];
}

describe("bridge ADD failures leave nothing behind", () => {
  it("an IPAM failure removes the veth and the bridge this ADD created", async () => {
    s = new Scratch();
    const conf = netConf({}, { type: "no-such-ipam" });
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.code).toBe(1);
    expect(r.json.msg).toMatch(/no-such-ipam/);
    expect(trySh(["ip", "-n", nsName(a), "link", "show", "eth0"]).status).not.toBe(0);
    expect(hostLinkExists(conf.bridge)).toBe(false);
  });

  it("an interface name already taken in the container fails cleanly", async () => {
    s = new Scratch();
    const conf = netConf();
    const a = s.netns("a");
    sh(["ip", "-n", nsName(a), "link", "add", "eth0", "type", "veth", "peer", "name", "eth9"]);
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.code).toBe(1);
    expect(r.json.msg).toMatch(/already exists/);
    expect(leases(conf.ipam.dataDir, conf.name)).toEqual([]);
    expect(hostLinkExists(conf.bridge)).toBe(false);
  });
});

describe("IPAM runs in parallel with the link work", () => {
  // ADD starts the IPAM delegate before creating the bridge and the veth, DEL before deleting
  // the veth: whatever fails, a granted lease is released and both errors are accounted for.

  it("a bridge that cannot be created (the name is a veth): the lease started meanwhile is released", async () => {
    s = new Scratch();
    const conf = netConf();
    sh(["ip", "link", "add", conf.bridge, "type", "veth", "peer", "name", s.link("pe")]);
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.code).toBe(1);
    expect(r.json.msg).toMatch(/^failed to create bridge "ck\w+"/);
    expect(leases(conf.ipam.dataDir, conf.name)).toEqual([]);
    expect(linkJson(["link", "show", conf.bridge]).linkinfo.info_kind).toBe("veth");
    expect(trySh(["ip", "-n", nsName(a), "link", "show", "eth0"]).status).not.toBe(0);
  });

  it("a container netns that does not exist: the lease is released, the new bridge removed", async () => {
    s = new Scratch();
    const conf = netConf();
    const r = await call("ADD", conf, `/var/run/netns/ckgone${s.id}`, `ca${s.id}`);
    expect(r.code).toBe(1);
    expect(r.json.msg).toMatch(/^failed to open netns/);
    expect(leases(conf.ipam.dataDir, conf.name)).toEqual([]);
    expect(hostLinkExists(conf.bridge)).toBe(false);
  });

  it("the same ADD twice: the second fails on the taken interface and releases only its own lease", async () => {
    s = new Scratch();
    const conf = netConf();
    const a = s.netns("a");
    const first = await call("ADD", conf, a, `ca${s.id}`);
    expect(first.code, first.stdout).toBe(0);
    const second = await call("ADD", conf, a, `cb${s.id}`);
    expect(second.code).toBe(1);
    expect(second.json.msg).toMatch(/already exists/);
    // the first container keeps its lease and address
    const ip = (first.json.ips[0].address as string).split("/")[0] as string;
    expect(leases(conf.ipam.dataDir, conf.name)).toEqual([ip]);
    expect(addressesIn(a, "eth0")).toEqual([first.json.ips[0].address]);
  });

  it("DEL whose IPAM fails still deletes the interface, and reports the IPAM error", async () => {
    s = new Scratch();
    const conf = netConf();
    const a = s.netns("a");
    expect((await call("ADD", conf, a, `ca${s.id}`)).code).toBe(0);
    const broken = { ...conf, ipam: { ...conf.ipam, type: "no-such-ipam" } };
    const d = await call("DEL", broken, a, `ca${s.id}`);
    expect(d.code).toBe(1);
    expect(d.json.msg).toMatch(/no-such-ipam/);
    expect(trySh(["ip", "-n", nsName(a), "link", "show", "eth0"]).status).not.toBe(0);
    expect((await call("DEL", conf, a, `ca${s.id}`)).code).toBe(0);
    expect(leases(conf.ipam.dataDir, conf.name)).toEqual([]);
  });

  it("DEL where both fail: the IPAM error first, the interface error in its details", async () => {
    s = new Scratch();
    const conf = { ...netConf(), ipam: { type: "no-such-ipam" } };
    const notANetns = join(s.dir("f"), "not-a-netns");
    writeFileSync(notANetns, "");
    const d = await call("DEL", conf, notANetns, `ca${s.id}`);
    expect(d.code).toBe(1);
    expect(d.json.msg).toMatch(/no-such-ipam/);
    expect(d.json.details).toMatch(/also failed: deleting "eth0": /);
  });
});

describe("bridge options", () => {
  it("applies mtu to the bridge and both veth ends, the MAC from runtimeConfig, promiscMode", async () => {
    s = new Scratch();
    const conf = netConf({ mtu: 1400, promiscMode: true, runtimeConfig: { mac: "02:aa:bb:cc:dd:01" } });
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`, { args: "IgnoreUnknown=1;MAC=02:aa:bb:cc:dd:02" });
    expect(r.code, r.stdout).toBe(0);
    const cont = linkJson(["-n", nsName(a), "link", "show", "eth0"]);
    expect(cont.mtu).toBe(1400);
    expect(cont.address).toBe("02:aa:bb:cc:dd:01");
    expect(r.json.interfaces[2].mac).toBe("02:aa:bb:cc:dd:01");
    const host = linkJson(["link", "show", r.json.interfaces[1].name]);
    expect(host.mtu).toBe(1400);
    expect(host.master).toBe(conf.bridge);
    const br = linkJson(["link", "show", conf.bridge]);
    expect(br.flags).toContain("PROMISC");
    expect(br.address).toBe(r.json.interfaces[0].mac);
    expect((await call("DEL", conf, a, `ca${s.id}`)).code).toBe(0);
  });

  it("takes the MAC from CNI_ARGS when nothing else sets it; hairpinMode on the port", async () => {
    s = new Scratch();
    const conf = netConf({ hairpinMode: true });
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`, { args: "MAC=02:aa:bb:cc:dd:02" });
    expect(r.code, r.stdout).toBe(0);
    expect(linkJson(["-n", nsName(a), "link", "show", "eth0"]).address).toBe("02:aa:bb:cc:dd:02");
    expect(linkJson(["link", "show", r.json.interfaces[1].name]).linkinfo.info_slave_data.hairpin).toBe(true);
    expect((await call("DEL", conf, a, `ca${s.id}`)).code).toBe(0);
  });

  it("without IPAM attaches at layer 2 only: link up, no address", async () => {
    s = new Scratch();
    const { ipam: _none, ...conf } = netConf();
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.ips ?? []).toEqual([]);
    expect(linkJson(["-n", nsName(a), "link", "show", "eth0"]).flags).toContain("UP");
    expect(addressesIn(a, "eth0")).toEqual([]);
    expect((await call("DEL", conf, a, `ca${s.id}`)).code).toBe(0);
    expect(trySh(["ip", "-n", nsName(a), "link", "show", "eth0"]).status).not.toBe(0);
  });

  it("passes the config's dns through to the result", async () => {
    s = new Scratch();
    const dns = { nameservers: ["192.0.2.53"], search: ["example.test"] };
    const conf = netConf({ dns });
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.dns).toEqual(dns);
    expect((await call("DEL", conf, a, `ca${s.id}`)).code).toBe(0);
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
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.ips).toHaveLength(2);
    const addrs = JSON.parse(sh(["ip", "-n", nsName(a), "-j", "addr", "show", "eth0"]))[0].addr_info.map(
      (x: { local: string; prefixlen: number }) => `${x.local}/${x.prefixlen}`,
    );
    for (const ip of r.json.ips) expect(addrs).toContain(ip.address);
    expect((await call("DEL", dual, a, `ca${s.id}`)).code).toBe(0);
    expect(leases(conf.ipam.dataDir, conf.name)).toEqual([]);
  });

  it("masquerades with the iptables backend and removes the rules on DEL", async () => {
    s = new Scratch();
    const conf = netConf({ ipMasq: true, ipMasqBackend: "iptables" });
    const a = s.netns("a");
    const r = await call("ADD", conf, a, `ca${s.id}`);
    expect(r.code, r.stdout).toBe(0);
    const ip = (r.json.ips[0].address as string).split("/")[0] as string;
    const nat = () => sh(["iptables", "-t", "nat", "-S"]);
    expect(nat()).toContain(`-s ${ip}/32`);
    expect((await call("DEL", conf, a, `ca${s.id}`)).code).toBe(0);
    expect(nat()).not.toContain(`-s ${ip}/32`);
  });

  it("refuses hairpinMode with promiscMode, and an unsupported cniVersion", async () => {
    s = new Scratch();
    const a = s.netns("a");
    const both = await call("ADD", netConf({ hairpinMode: true, promiscMode: true }), a, `ca${s.id}`);
    expect(both.json).toMatchObject({ code: 7, msg: "cannot set hairpin mode and promiscuous mode at the same time" });
    const bad = await call("ADD", netConf({ cniVersion: "1.2.0" }), a, `ca${s.id}`);
    expect(bad.code).toBe(1);
    expect(bad.json.code).toBe(1);
  });
});

describe("bridge CHECK", () => {
  it("passes on a fresh attachment and names what is wrong when it is not", async () => {
    s = new Scratch();
    const conf = netConf({ isDefaultGateway: true });
    const a = s.netns("a");
    const add = await call("ADD", conf, a, `ca${s.id}`);
    expect(add.code, add.stdout).toBe(0);
    const withPrev = { ...conf, prevResult: add.json };

    expect((await call("CHECK", withPrev, a, `ca${s.id}`)).code).toBe(0);
    expect((await call("CHECK", conf, a, `ca${s.id}`)).json.msg).toBe("Required prevResult missing");

    sh(["ip", "-n", nsName(a), "route", "del", "default"]);
    expect((await call("CHECK", withPrev, a, `ca${s.id}`)).json.msg).toMatch(
      /^Expected Route \{Dst:0\.0\.0\.0\/0 GW:10\.[\d.]+\} not found in routing table$/,
    );

    sh(["ip", "-n", nsName(a), "addr", "del", add.json.ips[0].address, "dev", "eth0"]);
    expect((await call("CHECK", withPrev, a, `ca${s.id}`)).json.msg).toBe(
      `Failed to match addr ${add.json.ips[0].address} on interface eth0`,
    );

    sh(["ip", "link", "set", add.json.interfaces[1].name, "nomaster"]);
    expect((await call("CHECK", withPrev, a, `ca${s.id}`)).json.msg).toBe(
      `CNI veth created for bridge ${conf.bridge} was not found`,
    );

    const otherNs = s.netns("b");
    expect((await call("CHECK", withPrev, otherNs, `ca${s.id}`)).json.msg).toBe(
      `Sandbox in prevResult  doesn't match configured netns: ${otherNs}`,
    );
    expect((await call("DEL", conf, a, `ca${s.id}`)).code).toBe(0);
  });
});

describe("bridge STATUS and GC", () => {
  it("forwards STATUS to the IPAM plugin", async () => {
    s = new Scratch();
    const conf = netConf({ cniVersion: "1.1.0" });
    const ok = await runInProcess(plugin, { command: "STATUS", config: conf, path: CNI_PATH });
    expect(ok.code, ok.stdout).toBe(0);
    const missing = await runInProcess(plugin, {
      command: "STATUS",
      config: { ...conf, ipam: { ...conf.ipam, type: "no-such-ipam" } },
      path: CNI_PATH,
    });
    expect(missing.code).toBe(1);
    expect(missing.json.msg).toMatch(/no-such-ipam/);
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
      expect([ra.code, rb.code]).toEqual([0, 0]);
      const ipA = (ra.json.ips[0].address as string).split("/")[0] as string;
      const ipB = (rb.json.ips[0].address as string).split("/")[0] as string;
      const gc = await runInProcess(plugin, {
        command: "GC",
        path: CNI_PATH,
        config: { ...conf, "cni.dev/valid-attachments": [{ containerID: `ca${s.id}`, ifname: "eth0" }] },
      });
      expect(gc.code, gc.stdout).toBe(0);
      expect(leases(conf.ipam.dataDir, conf.name)).toEqual([ipA]);
      const rules = () => `${trySh(["nft", "list", "ruleset"]).stdout}${trySh(["iptables", "-t", "nat", "-S"]).stdout}`;
      const mentions = (ip: string) => rules().includes(`${ip} `) || rules().includes(`${ip}/32`);
      expect(mentions(ipA)).toBe(true);
      expect(mentions(ipB)).toBe(false);
      for (const [ns, id] of [
        [a, `ca${s.id}`],
        [b, `cb${s.id}`],
      ] as const) {
        expect((await call("DEL", conf, ns, id)).code).toBe(0);
      }
      expect(mentions(ipA)).toBe(false);
      expect(leases(conf.ipam.dataDir, conf.name)).toEqual([]);
    },
  );
});
