import { describe, expect, it } from "vitest";
import { CniError } from "@cnikit/spec";
import { LinkNotFoundError, type Netns, NetlinkError, randomMac } from "../src/index.js";
import { nsName, ping, sh, withNetns } from "./helpers.js";

/** The entries the kernel makes for a device's own multicast addresses. */
const multicast = (mac: string | undefined): boolean =>
  mac?.startsWith("33:33:") === true || mac?.startsWith("01:00:5e:") === true;

const errorOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

/** `ip -j neigh show` (and `show proxy`) in the netns: "ip mac state" lines, sorted. */
function ipNeigh(ns: Netns, dev: string): string[] {
  type Row = { dst: string; lladdr?: string; state?: string[] };
  const rows = JSON.parse(sh("ip", ["-j", "-n", nsName(ns), "neigh", "show", "nud", "all", "dev", dev])) as Row[];
  const proxies = JSON.parse(sh("ip", ["-j", "-n", nsName(ns), "neigh", "show", "proxy", "dev", dev])) as Row[];
  return [
    ...rows
      .filter((r) => !multicast(r.lladdr))
      .map((r) => `${r.dst} ${r.lladdr ?? "-"} ${(r.state ?? []).join(",").toLowerCase()}`),
    ...proxies.map((r) => `${r.dst} - proxy`),
  ].sort();
}

/** `bridge -j fdb show dev X` in the netns: "mac dst port vni flags state" lines, sorted. */
function bridgeFdb(ns: Netns, dev: string): string[] {
  type Row = {
    mac: string;
    dst?: string;
    port?: number;
    vni?: number;
    flags?: string[];
    master?: string;
    state?: string;
  };
  const rows = JSON.parse(sh("bridge", ["-j", "-n", nsName(ns), "fdb", "show", "dev", dev])) as Row[];
  return rows
    .filter((r) => !multicast(r.mac))
    .map((r) => {
      const flags = [...(r.flags ?? []), ...(r.master ? ["master"] : [])].sort().join(",");
      return `${r.mac} ${r.dst ?? "-"} ${r.port ?? "-"} ${r.vni ?? "-"} ${flags} ${r.state || "dynamic"}`;
    })
    .sort();
}

/** The same lines from our listing. */
async function ourFdb(ns: Netns, dev: string): Promise<string[]> {
  return (await ns.listFdbEntries({ link: dev }))
    .filter((e) => !multicast(e.mac))
    .map((e) => {
      const flags = [...(e.self ? ["self"] : []), ...(e.master ? ["master"] : [])].sort().join(",");
      return `${e.mac} ${e.dst ?? "-"} ${e.port ?? "-"} ${e.vni ?? "-"} ${flags} ${e.state}`;
    })
    .sort();
}

async function ourNeigh(ns: Netns, dev: string): Promise<string[]> {
  return (await ns.listNeighbours({ link: dev }))
    .filter((n) => !multicast(n.mac))
    .map((n) => `${n.ip} ${n.mac ?? "-"} ${n.proxy ? "proxy" : n.state}`)
    .sort();
}

/** An underlay veth with `192.168.<x>.1/24` and a vxlan device on it, as the overlay makes them. */
async function vxlanHost(ns: Netns, opts: { gbp?: boolean; ttl?: number } = {}): Promise<{ local: string }> {
  const local = "192.168.77.1";
  await ns.createVeth({ name: "u0", peer: { name: "u1" } });
  await ns.addAddress("u0", `${local}/24`);
  await ns.setLinkUp("u0");
  await ns.setLinkUp("u1");
  await ns.createVxlan({
    name: "vx.1",
    id: 1,
    local,
    dev: "u0",
    port: 8472,
    learning: false,
    mtu: 1450,
    gbp: opts.gbp,
    ttl: opts.ttl,
    up: true,
  });
  return { local };
}

describe("neighbours", () => {
  it("IPv4 and IPv6: add, replace, list, delete; proxy entries; cross-checked with ip neigh", async () => {
    await withNetns(1, async (ns) => {
      await ns.createVeth({ name: "e0", peer: { name: "e1" } });
      await ns.setLinkUp("e0");
      const [m1, m2, m3] = [randomMac(), randomMac(), randomMac()];
      await ns.addNeighbour({ link: "e0", ip: "10.9.0.2", mac: m1 });
      await ns.addNeighbour({ link: "e0", ip: "fd09::2", mac: m3, state: "noarp" });
      await ns.addNeighbour({ link: "e0", ip: "10.9.0.9", proxy: true });
      await ns.addNeighbour({ link: "e0", ip: "fd09::9", proxy: true });
      const e0 = await ns.getLink("e0");

      const v4 = await ns.listNeighbours({ link: "e0", family: 4 });
      expect(v4).toContainEqual({
        ip: "10.9.0.2",
        mac: m1,
        link: "e0",
        linkIndex: e0.index,
        state: "permanent",
        proxy: false,
        router: false,
      });
      expect(v4).toContainEqual({
        ip: "10.9.0.9",
        link: "e0",
        linkIndex: e0.index,
        state: "none",
        proxy: true,
        router: false,
      });
      expect(v4.every((n) => !n.ip.includes(":"))).toBe(true);
      const v6 = await ns.listNeighbours({ family: 6 });
      expect(v6.map((n) => n.ip).sort()).toEqual(expect.arrayContaining(["fd09::2", "fd09::9"]));
      expect(v6.every((n) => n.ip.includes(":"))).toBe(true);
      expect(await ns.listNeighbours({ link: "e1" })).toEqual([]);

      const expected = [`10.9.0.2 ${m1} permanent`, "10.9.0.9 - proxy", `fd09::2 ${m3} noarp`, "fd09::9 - proxy"];
      expect(await ourNeigh(ns, "e0")).toEqual(expected);
      expect(ipNeigh(ns, "e0")).toEqual(expected);

      const dup = await errorOf(ns.addNeighbour({ link: "e0", ip: "10.9.0.2", mac: m2 }));
      expect(dup instanceof NetlinkError && dup.errnoCode).toBe("EEXIST");
      expect((dup as CniError).msg).toBe("add neighbour 10.9.0.2 dev e0: EEXIST");

      await ns.replaceNeighbour({ link: "e0", ip: "10.9.0.2", mac: m2, state: "stale" });
      await ns.replaceNeighbour({ link: e0.index, ip: "10.9.0.3", mac: m1 }); // replace creates, and takes an index
      expect(ipNeigh(ns, "e0")).toEqual(
        [
          `10.9.0.2 ${m2} stale`,
          `10.9.0.3 ${m1} permanent`,
          "10.9.0.9 - proxy",
          `fd09::2 ${m3} noarp`,
          "fd09::9 - proxy",
        ].sort(),
      );
      expect(await ourNeigh(ns, "e0")).toEqual(ipNeigh(ns, "e0"));

      expect(await ns.deleteNeighbour({ link: "e0", ip: "10.9.0.2" })).toBe(true);
      expect(await ns.deleteNeighbour({ link: "e0", ip: "10.9.0.3", mac: m1 })).toBe(true);
      expect(await ns.deleteNeighbour({ link: "e0", ip: "fd09::2" })).toBe(true);
      expect(await ns.deleteNeighbour({ link: "e0", ip: "10.9.0.9", proxy: true })).toBe(true);
      expect(await ns.deleteNeighbour({ link: "e0", ip: "fd09::9", proxy: true })).toBe(true);
      const gone = await errorOf(ns.deleteNeighbour({ link: "e0", ip: "10.9.0.2" }));
      expect(gone instanceof NetlinkError && gone.errnoCode).toBe("ENOENT");
      expect((gone as CniError).msg).toBe("delete neighbour 10.9.0.2 dev e0: ENOENT");
      expect(await ns.deleteNeighbour({ link: "e0", ip: "10.9.0.2" }, { missingOk: true })).toBe(false);
      expect(await ns.deleteNeighbour({ link: "e0", ip: "10.9.0.9", proxy: true }, { missingOk: true })).toBe(false);
      expect(ipNeigh(ns, "e0")).toEqual([]);
      expect(await ourNeigh(ns, "e0")).toEqual([]);

      // NTF_ROUTER, set here by `ip neigh add ... router`, reads back as router
      sh("ip", ["-n", nsName(ns), "-6", "neigh", "add", "fd09::5", "lladdr", m1, "dev", "e0", "router"]);
      expect((await ns.listNeighbours({ link: "e0" })).find((n) => n.ip === "fd09::5")).toMatchObject({
        mac: m1,
        router: true,
        state: "permanent",
      });
    });
  });

  it("bad IP, MAC, state and missing links are CniErrors that say what failed", async () => {
    await withNetns(1, async (ns) => {
      await ns.createVeth({ name: "e0", peer: { name: "e1" } });
      const cases: [() => Promise<unknown>, RegExp][] = [
        [
          () => ns.addNeighbour({ link: "e0", ip: "10.9.0.2", mac: "zz:00" }),
          /^add neighbour 10\.9\.0\.2 dev e0: invalid MAC address "zz:00"$/,
        ],
        [
          () => ns.addNeighbour({ link: "e0", ip: "10.9.0.300", mac: randomMac() }),
          /^add neighbour 10\.9\.0\.300 dev e0: invalid IP address "10\.9\.0\.300"$/,
        ],
        [
          () => ns.addNeighbour({ link: "e0", ip: "10.9.0.0/24", mac: randomMac() }),
          /invalid IP address "10\.9\.0\.0\/24"/,
        ],
        [
          () => ns.addNeighbour({ link: "e0", ip: "10.9.0.2" }),
          /^add neighbour 10\.9\.0\.2 dev e0: a MAC address is needed for state permanent$/,
        ],
        [
          () => ns.replaceNeighbour({ link: "e0", ip: "10.9.0.2", mac: randomMac(), state: "bogus" as "stale" }),
          /^replace neighbour 10\.9\.0\.2 dev e0: invalid neighbour state "bogus"$/,
        ],
        [
          () => ns.addNeighbour({ link: "e0", ip: "10.9.0.2", mac: randomMac(), proxy: true }),
          /a proxy entry takes no MAC address/,
        ],
        [
          () => ns.deleteNeighbour({ link: "e0", ip: "nope" }),
          /^delete neighbour nope dev e0: invalid IP address "nope"$/,
        ],
        [
          () => ns.addFdbEntry({ link: "e0", mac: "01:02:03" }),
          /^add fdb entry 01:02:03 dev e0: invalid MAC address "01:02:03"$/,
        ],
        [
          () => ns.addFdbEntry({ link: "e0", mac: randomMac(), dst: "300.1.1.1" }),
          /dev e0: invalid IP address "300\.1\.1\.1"$/,
        ],
        [() => ns.addFdbEntry({ link: "e0", mac: randomMac(), port: 70000 }), /invalid port 70000 \(1\.\.65535\)/],
        [() => ns.addFdbEntry({ link: "e0", mac: randomMac(), vni: 1 << 24 }), /invalid VNI 16777216/],
        [() => ns.addFdbEntry({ link: "e0", mac: randomMac(), self: false }), /needs self or master/],
        [
          () => ns.addFdbEntry({ link: "e0", mac: randomMac(), state: "stale" as "static" }),
          /invalid FDB entry state "stale"/,
        ],
      ];
      for (const [p, re] of cases) {
        const err = await errorOf(p());
        expect(err instanceof CniError, String(err)).toBe(true);
        expect((err as CniError).code).toBe(7);
        expect((err as CniError).msg).toMatch(re);
      }
      for (const p of [
        () => ns.addNeighbour({ link: "nope0", ip: "10.9.0.2", mac: randomMac() }),
        () => ns.addNeighbour({ link: 9999, ip: "10.9.0.2", mac: randomMac() }),
        () => ns.deleteNeighbour({ link: "nope0", ip: "10.9.0.2" }, { missingOk: true }),
        () => ns.deleteNeighbour({ link: 9999, ip: "10.9.0.2" }, { missingOk: true }),
        () => ns.listNeighbours({ link: "nope0" }),
        () => ns.addFdbEntry({ link: "nope0", mac: randomMac() }),
        () => ns.replaceFdbEntry({ link: 9999, mac: randomMac(), dst: "192.168.77.2" }),
        () => ns.deleteFdbEntry({ link: 9999, mac: randomMac() }),
        () => ns.listFdbEntries({ link: "nope0" }),
      ]) {
        const err = await errorOf(p());
        expect(err instanceof LinkNotFoundError, String(err)).toBe(true);
        expect((err as LinkNotFoundError).details).toMatch(/failed to find link (9999|"nope0")/);
      }
      expect(ipNeigh(ns, "e0")).toEqual([]);
    });
  });
});

describe("fdb", () => {
  it("vxlan: add, append, replace, list, delete; cross-checked with bridge fdb show", async () => {
    await withNetns(1, async (ns) => {
      await vxlanHost(ns);
      const zero = "00:00:00:00:00:00";
      const [m1, m2] = [randomMac(), randomMac()];
      await ns.addFdbEntry({ link: "vx.1", mac: m1, dst: "192.168.77.2" });
      await ns.addFdbEntry({ link: "vx.1", mac: zero, dst: "192.168.77.3" });
      await ns.addFdbEntry({ link: "vx.1", mac: zero, dst: "192.168.77.4" }, { append: true });
      await ns.addFdbEntry({ link: "vx.1", mac: m2, dst: "192.168.77.6", port: 4790, vni: 7, state: "static" });
      const vx = await ns.getLink("vx.1");

      const listed = await ns.listFdbEntries({ link: "vx.1" });
      expect(listed).toContainEqual({
        mac: m1,
        link: "vx.1",
        linkIndex: vx.index,
        dst: "192.168.77.2",
        self: true,
        master: false,
        state: "permanent",
      });
      expect(
        listed
          .filter((e) => e.mac === zero)
          .map((e) => e.dst)
          .sort(),
      ).toEqual(["192.168.77.3", "192.168.77.4"]);
      expect(listed.find((e) => e.mac === m2)).toMatchObject({
        dst: "192.168.77.6",
        port: 4790,
        vni: 7,
        state: "static",
      });
      expect(await ourFdb(ns, "vx.1")).toEqual(
        [
          `${m1} 192.168.77.2 - - self permanent`,
          `${zero} 192.168.77.3 - - self permanent`,
          `${zero} 192.168.77.4 - - self permanent`,
          `${m2} 192.168.77.6 4790 7 self static`,
        ].sort(),
      );
      expect(bridgeFdb(ns, "vx.1")).toEqual(await ourFdb(ns, "vx.1"));
      // the whole table: the vxlan's entries are in it, with the link's name
      expect((await ns.listFdbEntries()).filter((e) => e.link === "vx.1")).toEqual(listed);

      const dup = await errorOf(ns.addFdbEntry({ link: "vx.1", mac: m1, dst: "192.168.77.9" }));
      expect(dup instanceof NetlinkError && dup.msg).toBe(`add fdb entry ${m1} dst 192.168.77.9 dev vx.1: EEXIST`);
      const zeroReplace = await errorOf(ns.replaceFdbEntry({ link: "vx.1", mac: zero, dst: "192.168.77.9" }));
      expect(zeroReplace instanceof NetlinkError && zeroReplace.errno).toBe(95); // EOPNOTSUPP

      await ns.replaceFdbEntry({ link: "vx.1", mac: m1, dst: "192.168.77.5" });
      expect((await ns.listFdbEntries({ link: "vx.1" })).filter((e) => e.mac === m1).map((e) => e.dst)).toEqual([
        "192.168.77.5",
      ]);

      expect(await ns.deleteFdbEntry({ link: "vx.1", mac: zero, dst: "192.168.77.3" })).toBe(true);
      expect(await ns.deleteFdbEntry({ link: "vx.1", mac: m1 })).toBe(true);
      // the vxlan driver matches a destination on dst, port and VNI, and answers success when
      // the MAC exists but no destination matches
      expect(await ns.deleteFdbEntry({ link: "vx.1", mac: m2, dst: "192.168.77.6" })).toBe(true);
      expect((await ns.listFdbEntries({ link: "vx.1" })).some((e) => e.mac === m2)).toBe(true);
      expect(await ns.deleteFdbEntry({ link: "vx.1", mac: m2, dst: "192.168.77.6", port: 4790, vni: 7 })).toBe(true);
      const gone = await errorOf(ns.deleteFdbEntry({ link: "vx.1", mac: m1 }));
      expect(gone instanceof NetlinkError && gone.errnoCode).toBe("ENOENT");
      expect(await ns.deleteFdbEntry({ link: "vx.1", mac: m1 }, { missingOk: true })).toBe(false);
      expect(await ourFdb(ns, "vx.1")).toEqual([`${zero} 192.168.77.4 - - self permanent`]);
      expect(bridgeFdb(ns, "vx.1")).toEqual(await ourFdb(ns, "vx.1"));

      // without dst, a delete takes the entry with every destination
      await ns.addFdbEntry({ link: "vx.1", mac: zero, dst: "192.168.77.7" }, { append: true });
      expect((await ourFdb(ns, "vx.1")).length).toBe(2);
      expect(await ns.deleteFdbEntry({ link: "vx.1", mac: zero })).toBe(true);
      expect(await ourFdb(ns, "vx.1")).toEqual([]);
      expect(bridgeFdb(ns, "vx.1")).toEqual([]);
    });
  });

  it("a bridge port's entry in its master's table (master, static)", async () => {
    await withNetns(1, async (ns) => {
      await ns.createBridge({ name: "br0", up: true });
      await ns.createVeth({ name: "p0", peer: { name: "p1" } });
      await ns.setMaster("p0", "br0");
      const m = randomMac();
      await ns.addFdbEntry({ link: "p0", mac: m, master: true, state: "static" });
      const entry = (await ns.listFdbEntries({ link: "p0" })).find((e) => e.mac === m);
      expect(entry).toMatchObject({ link: "p0", self: false, master: true, state: "static" });
      expect(bridgeFdb(ns, "p0")).toContain(`${m} - - - master static`);
      expect(await ns.deleteFdbEntry({ link: "p0", mac: m, master: true })).toBe(true);
      expect((await ns.listFdbEntries({ link: "p0" })).some((e) => e.mac === m)).toBe(false);
    });
  });
});

describe("vxlan for an overlay", () => {
  it("reads back id, port, local, dev, learning, gbp, ttl, mac; cross-checked with ip -d link", async () => {
    await withNetns(1, async (ns) => {
      const { local } = await vxlanHost(ns, { gbp: true, ttl: 64 });
      const vx = await ns.getLink("vx.1");
      const u0 = await ns.getLink("u0");
      expect(vx).toMatchObject({ kind: "vxlan", mtu: 1450 });
      expect(vx.vxlan).toEqual({ id: 1, local, dev: u0.index, port: 8472, learning: false, gbp: true, ttl: 64 });
      const d = sh("ip", ["-n", nsName(ns), "-d", "link", "show", "vx.1"]);
      expect(d).toContain(`link/ether ${vx.mac} `);
      expect(d).toMatch(
        new RegExp(
          `vxlan id 1 local ${local.replaceAll(".", "\\.")} dev u0 .*dstport 8472 .*nolearning .*ttl 64 .*gbp`,
          "s",
        ),
      );
      expect(vx.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect((await ns.listLinks()).find((l) => l.name === "vx.1")?.vxlan).toEqual(vx.vxlan);

      await ns.createVxlan({ name: "vx6", id: 7, local: "fd00::1", group: "ff05::100", dev: "u0" });
      expect((await ns.getLink("vx6")).vxlan).toEqual({
        id: 7,
        local: "fd00::1",
        group: "ff05::100",
        dev: u0.index,
        port: 4789,
        learning: true,
        gbp: false,
        ttl: 0,
      });
      await ns.createVxlan({ name: "vx9", id: 9, remote: "192.168.77.9" });
      expect((await ns.getLink("vx9")).vxlan).toMatchObject({ id: 9, group: "192.168.77.9", gbp: false });
      expect((await ns.getLink("u0")).vxlan).toBeUndefined();
      await expect(ns.createVxlan({ name: "vx2", id: 2, port: 0 })).rejects.toThrow(/invalid VXLAN port 0/);
      await expect(ns.createVxlan({ name: "vx2", id: 2, ttl: 256 })).rejects.toThrow(/invalid VXLAN ttl 256/);
      expect(await ns.findLink("vx2")).toBeUndefined();
    });
  });

  it("one remote host: neighbour, FDB entry, onlink route; removing the last IPv4 address flushes neighbours, not FDB", async () => {
    await withNetns(1, async (ns) => {
      await vxlanHost(ns);
      const vtep = randomMac();
      const program = async () => {
        await ns.addNeighbour({ link: "vx.1", ip: "10.244.1.0", mac: vtep });
        await ns.replaceFdbEntry({ link: "vx.1", mac: vtep, dst: "192.168.77.2" });
        await ns.addRoute({ dst: "10.244.1.0/24", gw: "10.244.1.0", dev: "vx.1", onlink: true });
      };
      await ns.addAddress("vx.1", "10.244.0.0/32");
      // without onlink the gateway is not on any connected network
      const noOnlink = await errorOf(ns.addRoute({ dst: "10.244.1.0/24", gw: "10.244.1.0", dev: "vx.1" }));
      expect(noOnlink instanceof NetlinkError && noOnlink.msg).toMatch(
        /^add route 10\.244\.1\.0\/24 via 10\.244\.1\.0 dev vx\.1: E/,
      );
      await program();

      const vx = await ns.getLink("vx.1");
      expect(await ns.listRoutes({ dev: "vx.1", family: 4 })).toContainEqual(
        expect.objectContaining({ dst: "10.244.1.0/24", gw: "10.244.1.0", dev: vx.index, onlink: true }),
      );
      expect(sh("ip", ["-n", nsName(ns), "route", "show", "10.244.1.0/24"])).toMatch(
        /via 10\.244\.1\.0 dev vx\.1 onlink/,
      );
      expect(ipNeigh(ns, "vx.1")).toEqual([`10.244.1.0 ${vtep} permanent`]);
      expect(bridgeFdb(ns, "vx.1")).toEqual([`${vtep} 192.168.77.2 - - self permanent`]);

      await ns.deleteAddress("vx.1", "10.244.0.0/32");
      expect(await ns.listNeighbours({ link: "vx.1", family: 4 })).toEqual([]);
      expect(await ns.listRoutes({ dev: "vx.1", family: 4 })).toEqual([]);
      expect(await ourFdb(ns, "vx.1")).toEqual([`${vtep} 192.168.77.2 - - self permanent`]);
      expect(ipNeigh(ns, "vx.1")).toEqual([]);

      // re-programming after the address comes back restores all three (the FDB replace is a no-op)
      await ns.addAddress("vx.1", "10.244.0.0/32");
      await program();
      expect(await ourNeigh(ns, "vx.1")).toEqual([`10.244.1.0 ${vtep} permanent`]);
      expect((await ns.listRoutes({ dev: "vx.1", family: 4 })).map((r) => r.dst)).toContain("10.244.1.0/24");
    });
  });

  it("two hosts reach each other through the three objects alone (nolearning); without the FDB entry, silence", async () => {
    await withNetns(2, async (h1, h2) => {
      await h1.createVeth({ name: "eth0", peer: { name: "eth0", netnsFd: h2.fd } });
      const one = { ns: h1, under: "192.168.78.1", subnet: 0, mac: randomMac() };
      const two = { ns: h2, under: "192.168.78.2", subnet: 1, mac: randomMac() };
      for (const h of [one, two]) {
        await h.ns.addAddress("eth0", `${h.under}/24`);
        await h.ns.setLinkUp("eth0");
        await h.ns.createVxlan({
          name: "vx.1",
          id: 1,
          local: h.under,
          dev: "eth0",
          port: 8472,
          learning: false,
          mac: h.mac,
          mtu: 1450,
          up: true,
        });
        await h.ns.addAddress("vx.1", `10.244.${h.subnet}.0/32`);
      }
      for (const [me, peer] of [
        [one, two],
        [two, one],
      ] as const) {
        await me.ns.addNeighbour({ link: "vx.1", ip: `10.244.${peer.subnet}.0`, mac: peer.mac });
        await me.ns.addFdbEntry({ link: "vx.1", mac: peer.mac, dst: peer.under });
        await me.ns.addRoute({
          dst: `10.244.${peer.subnet}.0/24`,
          gw: `10.244.${peer.subnet}.0`,
          dev: "vx.1",
          onlink: true,
        });
      }
      expect(ping(h1, "10.244.1.0")).toBe(true);
      expect(ping(h2, "10.244.0.0")).toBe(true);
      await h1.deleteFdbEntry({ link: "vx.1", mac: two.mac, dst: "192.168.78.2" });
      expect(ping(h1, "10.244.1.0", 1)).toBe(false);
      await h1.addFdbEntry({ link: "vx.1", mac: two.mac, dst: "192.168.78.2" });
      expect(ping(h1, "10.244.1.0")).toBe(true);
    });
  });
});
