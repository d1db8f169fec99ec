import { describe, expect, it } from "vitest";
import { CniError } from "@cnikit/spec";
import {
  LinkExistsError,
  LinkNotFoundError,
  Netns,
  NetlinkError,
  ensureBridge,
  randomMac,
  setupVeth,
} from "../src/index.js";
import { sh, nsName, uniq, withNetns } from "./helpers.js";

describe("links", () => {
  it("veth with the peer born in another netns; get/set/rename/delete", async () => {
    await withNetns(2, async (a, b) => {
      await a.createVeth({ name: "va", mtu: 1400, peer: { name: "vb", netnsFd: b.fd } });
      const va = await a.getLink("va");
      const vb = await b.getLink("vb");
      expect(va).toMatchObject({ name: "va", kind: "veth", mtu: 1400, up: false, parentIndex: vb.index });
      expect(vb).toMatchObject({ kind: "veth", mtu: 1400, parentIndex: va.index });
      expect(await a.getLink(va.index)).toMatchObject({ name: "va" });
      expect(await a.findLink("vb")).toBeUndefined();

      await a.setLinkUp("va");
      expect((await a.getLink("va")).up).toBe(true);
      await a.setLinkDown("va");
      expect((await a.getLink("va")).up).toBe(false);
      await a.setMtu("va", 1280);
      const mac = randomMac();
      await a.setMac("va", mac);
      expect(await a.getLink("va")).toMatchObject({ mtu: 1280, mac });
      await a.renameLink("va", "eth7");
      expect(await a.findLink("va")).toBeUndefined();
      expect((await a.getLink("eth7")).index).toBe(va.index);
      expect(sh("ip", ["-n", nsName(a), "-o", "link", "show", "eth7"])).toContain("mtu 1280");

      expect(await a.deleteLink("eth7")).toBe(true);
      expect(await b.findLink("vb")).toBeUndefined(); // the peer goes with it
      expect(await a.deleteLink("eth7", { missingOk: true })).toBe(false);
    });
  });

  it("missing links and name clashes are typed errors", async () => {
    await withNetns(1, async (ns) => {
      for (const op of [
        () => ns.getLink("nope0"),
        () => ns.getLink(9999),
        () => ns.setLinkUp("nope0"),
        () => ns.setMtu("nope0", 1400),
        () => ns.setMac("nope0", randomMac()),
        () => ns.setMaster("nope0", null),
        () => ns.renameLink("nope0", "x"),
        () => ns.deleteLink("nope0"),
        () => ns.addAddress("nope0", "10.1.1.1/24"),
        () => ns.addRoute({ dst: "10.9.0.0/16", dev: "nope0" }),
        () => ns.setBridgePort("nope0", { hairpin: true }),
      ]) {
        const err = await op().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err instanceof LinkNotFoundError, String(err)).toBe(true);
        expect(err instanceof CniError).toBe(true);
      }
      await ns.createVeth({ name: "x0", peer: { name: "x1" } });
      const e1 = await ns.createVeth({ name: "x0", peer: { name: "x2" } }).catch((e: unknown) => e);
      expect(e1 instanceof LinkExistsError).toBe(true);
      const e2 = await ns.createBridge({ name: "x1" }).catch((e: unknown) => e);
      expect(e2 instanceof LinkExistsError).toBe(true);
      const e3 = await ns.renameLink("x0", "x1").catch((e: unknown) => e);
      expect(e3 instanceof LinkExistsError).toBe(true);
      await expect(ns.setMac("x0", "zz:00")).rejects.toThrow(/invalid MAC/);
    });
  });

  it("bridge: create, enslave, hairpin and other port flags, nomaster", async () => {
    await withNetns(1, async (ns) => {
      const br = await ensureBridge({ name: "br0", mtu: 1450, netns: ns, addresses: ["10.77.0.1/24", "fd77::1/64"] });
      expect(br).toMatchObject({ name: "br0", kind: "bridge", up: true, mtu: 1450 });
      const addrs = (await ns.listAddresses("br0")).map((a) => a.cidr);
      expect(addrs).toEqual(expect.arrayContaining(["10.77.0.1/24", "fd77::1/64"]));
      // idempotent
      const again = await ensureBridge({ name: "br0", netns: ns, addresses: ["10.77.0.1/24"] });
      expect(again.index).toBe(br.index);
      await expect(ensureBridge({ name: "br0", netns: ns, addresses: ["10.78.0.1/24"] })).rejects.toThrow(
        /already has an IP address/,
      );
      await ensureBridge({ name: "br0", netns: ns, addresses: ["10.78.0.1/24"], forceAddress: true });
      expect((await ns.listAddresses("br0", { family: 4 })).map((a) => a.cidr)).toEqual(["10.78.0.1/24"]);

      await ns.createVeth({ name: "p0", peer: { name: "p1" } });
      await expect(ensureBridge({ name: "p0", netns: ns })).rejects.toThrow(/already exists but is not a bridge/);
      await ns.setMaster("p0", "br0");
      expect((await ns.getLink("p0")).master).toBe(br.index);
      expect((await ns.getLink("p0")).slaveKind).toBe("bridge");
      await ns.setBridgePort("p0", { hairpin: true, learning: false, isolated: true });
      const detail = sh("ip", ["-n", nsName(ns), "-d", "link", "show", "p0"]);
      expect(detail).toMatch(/hairpin on/);
      expect(detail).toMatch(/learning off/);
      expect(detail).toMatch(/isolated on/);
      await ns.setBridgePort("p0", { hairpin: false });
      expect(sh("ip", ["-n", nsName(ns), "-d", "link", "show", "p0"])).toMatch(/hairpin off/);
      await ns.setMaster("p0", null);
      expect((await ns.getLink("p0")).master).toBeUndefined();
      await ns.setPromisc("br0", true);
      expect((await ns.getLink("br0")).promisc).toBe(true);
    });
  });

  it("vxlan: id, local, remote, port, learning are set", async () => {
    await withNetns(1, async (ns) => {
      await ns.createVeth({ name: "u0", peer: { name: "u1" } });
      await ns.createVxlan({
        name: "vx0",
        id: 4242,
        local: "192.0.2.1",
        remote: "192.0.2.2",
        port: 4790,
        learning: false,
        dev: "u0",
      });
      const l = await ns.getLink("vx0");
      expect(l.kind).toBe("vxlan");
      const d = sh("ip", ["-n", nsName(ns), "-d", "link", "show", "vx0"]);
      expect(d).toMatch(/vxlan id 4242 remote 192\.0\.2\.2 local 192\.0\.2\.1 dev u0/);
      expect(d).toMatch(/dstport 4790/);
      expect(d).toMatch(/nolearning/);
      await ns.createVxlan({ name: "vx6", id: 7, local: "fd00::1", group: "ff05::100", dev: "u0" });
      expect(sh("ip", ["-n", nsName(ns), "-d", "link", "show", "vx6"])).toMatch(
        /vxlan id 7 group ff05::100 local fd00::1 dev u0.*dstport 4789/s,
      );
      await expect(ns.createVxlan({ name: "vx1", id: 1 << 24 })).rejects.toThrow(/invalid VXLAN id/);
    });
  });

  it("ensureBridge: onCreated only when it creates; a MAC given at creation stays (pinned)", async () => {
    await withNetns(1, async (ns) => {
      const mac = randomMac();
      let created = 0;
      const br = await ensureBridge({ name: "br1", netns: ns, mac, onCreated: () => created++ });
      expect(created).toBe(1);
      expect(br).toMatchObject({ name: "br1", mac, up: true });
      // a port with a lower MAC does not move a bridge MAC set at creation
      await ns.createVeth({ name: "q0", mac: "02:00:00:00:00:01", peer: { name: "q1" } });
      await ns.setMaster("q0", br.index);
      await ns.setLinkUp("q0");
      const again = await ensureBridge({ name: "br1", netns: ns, mac: randomMac(), onCreated: () => created++ });
      expect(created).toBe(1);
      expect(again).toMatchObject({ index: br.index, mac });
    });
  });

  it("deleteLink (sent from a pool thread) by index; a second delete is LinkNotFoundError", async () => {
    await withNetns(1, async (ns) => {
      await ns.createVeth({ name: "d0", peer: { name: "d1" } });
      const link = await ns.getLink("d0");
      expect(await ns.deleteLink(link.index)).toBe(true);
      expect(await ns.findLink("d1")).toBeUndefined();
      await expect(ns.deleteLink(link.index)).rejects.toBeInstanceOf(LinkNotFoundError);
      expect(await ns.deleteLink(link.index, { missingOk: true })).toBe(false);
    });
  });

  it("setupVeth: container end in the netns, host end up with a random name, EEXIST handling", async () => {
    await withNetns(2, async (ctr, host) => {
      await ensureBridge({ name: "cni0", netns: host });
      const mac = randomMac();
      const pair = await setupVeth({
        netns: ctr,
        ifName: "eth0",
        mtu: 1400,
        mac,
        master: "cni0",
        hostNetns: host,
        hairpin: true,
      });
      expect(pair.container).toMatchObject({ name: "eth0", mtu: 1400, mac, up: false, kind: "veth" });
      expect(pair.host.name).toMatch(/^veth[0-9a-f]{8}$/);
      expect(pair.host).toMatchObject({ up: true, mtu: 1400, master: (await host.getLink("cni0")).index });
      expect(pair.container.parentIndex).toBe(pair.host.index);
      expect(sh("ip", ["-n", nsName(host), "-d", "link", "show", pair.host.name])).toMatch(/hairpin on/);
      expect(await host.getSysctl(`net.ipv6.conf.${pair.host.name}.accept_ra`)).toBe("0");

      // container name taken
      const e1 = await setupVeth({ netns: ctr, ifName: "eth0", hostNetns: host }).catch((e: unknown) => e);
      expect(e1 instanceof LinkExistsError).toBe(true);
      expect((e1 as Error).message).toMatch(/container veth name \("eth0"\) peer provided/);
      // given host name taken
      const e2 = await setupVeth({ netns: ctr, ifName: "eth1", hostIfName: pair.host.name, hostNetns: host }).catch(
        (e: unknown) => e,
      );
      expect(e2 instanceof LinkExistsError).toBe(true);
      expect(await ctr.findLink("eth1")).toBeUndefined();
      // given host name free
      const name = uniq("ckh");
      const p2 = await setupVeth({ netns: ctr, ifName: "eth1", hostIfName: name, hostNetns: host });
      expect(p2.host.name).toBe(name);
      // missing master: nothing left behind
      const e3 = await setupVeth({ netns: ctr, ifName: "eth2", master: "nobr0", hostNetns: host }).catch(
        (e: unknown) => e,
      );
      expect(e3 instanceof LinkNotFoundError).toBe(true);
      expect(await ctr.findLink("eth2")).toBeUndefined();
      expect((await host.listLinks()).filter((l) => l.kind === "veth")).toHaveLength(2);
    });
  });

  it("netlink errors carry errno", async () => {
    await withNetns(1, async (ns) => {
      await ns.setLinkUp("lo");
      const e = await ns.addAddress("lo", "127.0.0.1/8").catch((x: unknown) => x);
      expect(e instanceof NetlinkError).toBe(true);
      expect((e as NetlinkError).errnoCode).toBe("EEXIST");
      await ns.addAddress("lo", "127.0.0.1/8", { replace: true });
    });
  });
});

void Netns;
