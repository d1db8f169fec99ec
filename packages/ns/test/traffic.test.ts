import { describe, expect, it } from "vitest";
import { gatewayOf } from "@cnikit/spec";
import { enableIpForward, ensureBridge, setupVeth } from "../src/index.js";
import { ping, withNetns } from "./helpers.js";

// 10.<a>.<b>.x with random a/b so parallel runs do not collide (addresses only live in our netns)
const a = 100 + Math.floor(Math.random() * 100);
const h = a.toString(16);

describe("traffic between namespaces", () => {
  it("two containers on a bridge ping each other; a third, routed via the 'host', too", async () => {
    await withNetns(4, async (host, c1, c2, c3) => {
      const br = await ensureBridge({ name: "br0", netns: host, addresses: [gatewayOf(`10.${a}.1.0/24`)] });
      expect(br.up).toBe(true);
      for (const [ns, ip] of [
        [c1, `10.${a}.1.2/24`],
        [c2, `10.${a}.1.3/24`],
      ] as const) {
        await setupVeth({ netns: ns, ifName: "eth0", hostNetns: host, master: br });
        await ns.setLinkUp("lo");
        await ns.addAddress("eth0", ip);
        await ns.setLinkUp("eth0");
        await ns.addRoute({ dst: "0.0.0.0/0", gw: `10.${a}.1.1`, dev: "eth0" });
      }
      // c3: point-to-point veth to the host, no bridge; a /32 with an onlink default route
      const p = await setupVeth({ netns: c3, ifName: "eth0", hostNetns: host });
      await c3.addAddress("eth0", `10.${a}.2.2/32`);
      await c3.setLinkUp("eth0");
      await host.addAddress(p.host.name, `10.${a}.2.1/32`);
      await host.addRoute({ dst: `10.${a}.2.2/32`, dev: p.host.name, scope: "link" });
      await c3.addRoute({ dst: "default", gw: `10.${a}.2.1`, dev: "eth0", onlink: true });
      await host.setSysctl("net.ipv4.ip_forward", 0); // a new netns may inherit the host's value
      expect(await enableIpForward([4], { netns: host })).toEqual([4]);
      expect(await enableIpForward([4], { netns: host })).toEqual([]);

      const routes = await c1.listRoutes({ family: 4 });
      expect(routes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ dst: "0.0.0.0/0", gw: `10.${a}.1.1`, scope: 0 }),
          expect.objectContaining({ dst: `10.${a}.1.0/24`, scope: 253, src: `10.${a}.1.2` }),
        ]),
      );
      const r3 = await c3.listRoutes({ dev: "eth0" });
      expect(r3.filter((r) => r.family === 4)).toEqual([
        expect.objectContaining({ dst: "0.0.0.0/0", gw: `10.${a}.2.1`, onlink: true }),
      ]);

      expect(ping(c1, `10.${a}.1.3`)).toBe(true);
      expect(ping(c2, `10.${a}.1.2`)).toBe(true);
      expect(ping(c1, `10.${a}.2.2`)).toBe(true); // routed through "host"
      expect(ping(c3, `10.${a}.1.3`)).toBe(true);

      // delete the route: c3 can no longer reach c1's subnet
      await host.deleteRoute({ dst: `10.${a}.2.2/32` });
      expect(ping(c1, `10.${a}.2.2`, 1)).toBe(false);
    });
  });

  it("IPv6 addresses and routes, replace and delete", async () => {
    await withNetns(2, async (n1, n2) => {
      await n1.createVeth({ name: "e1", peer: { name: "e2", netnsFd: n2.fd } });
      await n1.addAddress("e1", `fd${h}::1/64`, { noDad: true });
      await n2.addAddress("e2", `fd${h}::2/64`, { noDad: true });
      await n1.setLinkUp("e1");
      await n2.setLinkUp("e2");
      const addrs = await n1.listAddresses("e1", { family: 6 });
      expect(addrs.find((x) => x.cidr === `fd${h}::1/64`)).toMatchObject({ tentative: false, family: 6 });
      await n1.addRoute({ dst: `fd${h}:99::/64`, gw: `fd${h}::2`, metric: 50 });
      await n1.replaceRoute({ dst: `fd${h}:99::/64`, gw: `fd${h}::2`, metric: 50, mtu: 1300 });
      const r = (await n1.listRoutes({ family: 6 })).find((x) => x.dst === `fd${h}:99::/64`);
      expect(r).toMatchObject({ gw: `fd${h}::2`, metric: 50, mtu: 1300 });
      await expect(n1.addRoute({ dst: `fd${h}:99::/64`, gw: `fd${h}::2`, metric: 50 })).rejects.toThrow(/EEXIST/);
      await n1.addRoute({ dst: `10.${a}.9.0/24`, dev: "e1", table: 100 });
      expect(await n1.listRoutes({ table: 100 })).toEqual([
        expect.objectContaining({ dst: `10.${a}.9.0/24`, table: 100 }),
      ]);
      await n1.deleteRoute({ dst: `10.${a}.9.0/24`, table: 100 });
      expect(await n1.listRoutes({ table: 100 })).toEqual([]);
      await n1.deleteRoute({ dst: `fd${h}:99::/64` });
      await expect(n1.deleteRoute({ dst: `fd${h}:99::/64` })).rejects.toThrow(/ESRCH|ENOENT/);
      expect(ping(n1, `fd${h}::2`)).toBe(true);
      await n1.deleteAddress("e1", `fd${h}::1/64`);
      expect((await n1.listAddresses("e1", { family: 6 })).map((x) => x.cidr)).not.toContain(`fd${h}::1/64`);
      await expect(n1.deleteAddress("e1", `fd${h}::1/64`)).rejects.toThrow(/EADDRNOTAVAIL/);
    });
  });

  it("vxlan between two netns acting as hosts", async () => {
    await withNetns(2, async (h1, h2) => {
      await h1.createVeth({ name: "under", peer: { name: "under", netnsFd: h2.fd } });
      for (const [ns, ip] of [
        [h1, `192.168.${a}.1/24`],
        [h2, `192.168.${a}.2/24`],
      ] as const) {
        await ns.addAddress("under", ip);
        await ns.setLinkUp("under");
      }
      await h1.createVxlan({
        name: "vx0",
        id: 4000 + a,
        local: `192.168.${a}.1`,
        remote: `192.168.${a}.2`,
        port: 4789,
        dev: "under",
        learning: true,
      });
      await h2.createVxlan({
        name: "vx0",
        id: 4000 + a,
        local: `192.168.${a}.2`,
        remote: `192.168.${a}.1`,
        port: 4789,
        dev: "under",
        learning: true,
      });
      for (const [ns, ip] of [
        [h1, `10.${a}.50.1/24`],
        [h2, `10.${a}.50.2/24`],
      ] as const) {
        await ns.addAddress("vx0", ip);
        await ns.setLinkUp("vx0");
      }
      expect(ping(h1, `10.${a}.50.2`)).toBe(true);
      expect(ping(h2, `10.${a}.50.1`)).toBe(true);
    });
  });
});
