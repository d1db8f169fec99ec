import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseIp } from "@cnikit/spec";
import { HostLocalAllocator, iterateRangeSet } from "./allocator.js";
import { loadHostLocalConfig } from "./config.js";
import { HostLocalStore } from "./store.js";
import { canonicalizeRangeSet } from "./range.js";

let root: string;
const stores: HostLocalStore[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ck-hl-alloc-"));
});
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  rmSync(root, { recursive: true, force: true });
});

async function allocatorFor(ipam: Record<string, unknown>, extra: Record<string, unknown> = {}, envArgs = "") {
  const config = loadHostLocalConfig(
    { cniVersion: "1.0.0", name: "net1", type: "bridge", ipam: { type: "host-local", dataDir: root, ...ipam }, ...extra },
    envArgs,
  );
  const store = await HostLocalStore.open(config.name, { dataDir: config.dataDir });
  stores.push(store);
  return new HostLocalAllocator(config, store);
}

const dir = () => join(root, "net1");
const subnets = (...s: string[]) => ({ ranges: [s.map((subnet) => ({ subnet }))] });

describe("round-robin iteration (Go RangeIter cases)", () => {
  const set = canonicalizeRangeSet([{ subnet: "192.168.1.0/29" }]);
  it("loops from the beginning, skipping the gateway", () => {
    expect(iterateRangeSet(set)).toEqual(["192.168.1.2", "192.168.1.3", "192.168.1.4", "192.168.1.5", "192.168.1.6"]);
  });
  it("loops from the end and from the middle", () => {
    expect(iterateRangeSet(set, parseIp("192.168.1.6"))).toEqual([
      "192.168.1.2",
      "192.168.1.3",
      "192.168.1.4",
      "192.168.1.5",
      "192.168.1.6",
    ]);
    expect(iterateRangeSet(set, parseIp("192.168.1.3"))).toEqual([
      "192.168.1.4",
      "192.168.1.5",
      "192.168.1.6",
      "192.168.1.2",
      "192.168.1.3",
    ]);
  });
});

describe("HostLocalAllocator.allocate", () => {
  const cases: { subnets: string[]; taken?: string[]; lastIp?: string; expected: string }[] = [
    { subnets: ["10.0.0.0/29"], expected: "10.0.0.2" },
    { subnets: ["2001:db8:1::0/64"], expected: "2001:db8:1::2" },
    { subnets: ["10.0.0.0/30"], expected: "10.0.0.2" },
    { subnets: ["10.0.0.0/29"], taken: ["10.0.0.2"], expected: "10.0.0.3" },
    { subnets: ["10.0.0.0/29"], lastIp: "10.0.0.5", expected: "10.0.0.6" },
    { subnets: ["10.0.0.0/29"], taken: ["10.0.0.4", "10.0.0.5"], lastIp: "10.0.0.3", expected: "10.0.0.6" },
    { subnets: ["10.0.0.0/29"], taken: ["10.0.0.6"], lastIp: "10.0.0.5", expected: "10.0.0.2" },
    { subnets: ["10.0.0.0/29"], taken: ["10.0.0.2"], lastIp: "10.0.0.128", expected: "10.0.0.3" },
    { subnets: ["10.0.0.0/29"], taken: ["10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"], lastIp: "10.0.0.3", expected: "10.0.0.3" },
    { subnets: ["10.0.0.0/30", "10.0.1.0/30"], expected: "10.0.0.2" },
    { subnets: ["10.0.0.0/30", "10.0.1.0/30"], lastIp: "10.0.0.2", expected: "10.0.1.2" },
    { subnets: ["10.0.0.0/30", "10.0.1.0/30", "10.0.2.0/30"], lastIp: "10.0.2.2", expected: "10.0.0.2" },
  ];
  for (const [i, c] of cases.entries()) {
    it(`picks like Go (case ${i}: ${c.subnets.join(",")} last=${c.lastIp ?? "-"})`, async () => {
      const alloc = await allocatorFor(subnets(...c.subnets));
      for (const ip of c.taken ?? []) writeFileSync(join(dir(), ip), "id");
      if (c.lastIp) writeFileSync(join(dir(), "last_reserved_ip.0"), c.lastIp);
      const result = await alloc.allocate("ID", "eth0");
      expect(result.ips?.[0]?.address.split("/")[0]).toBe(c.expected);
    });
  }

  it("returns mask, gateway, routes and a 1.1.0 result; never the broadcast", async () => {
    const alloc = await allocatorFor({ ...subnets("192.168.1.0/29"), routes: [{ dst: "0.0.0.0/0" }] });
    const first = await alloc.allocate("ID2", "eth0");
    expect(first).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "192.168.1.2/29", gateway: "192.168.1.1" }],
      routes: [{ dst: "0.0.0.0/0" }],
    });
    for (let i = 3; i < 7; i++) {
      expect((await alloc.allocate(`ID${i}`, "eth0")).ips?.[0]?.address).toBe(`192.168.1.${i}/29`);
    }
    await expect(alloc.allocate("ID8", "eth0")).rejects.toThrow(
      "failed to allocate for range 0: no IP addresses available in range set: 192.168.1.1-192.168.1.6",
    );
  });

  it("refuses a duplicate allocation for the same (id, ifname)", async () => {
    const alloc = await allocatorFor(subnets("10.0.0.0/24"));
    await alloc.allocate("ctr", "eth0");
    await expect(alloc.allocate("ctr", "eth0")).rejects.toThrow(
      "failed to allocate for range 0: 10.0.0.2 has been allocated to ctr, duplicate allocation is not allowed",
    );
    expect((await alloc.allocate("ctr", "eth1")).ips?.[0]?.address).toBe("10.0.0.3/24");
  });

  it("round-robins after a release", async () => {
    const alloc = await allocatorFor(subnets("192.168.1.0/29"));
    expect((await alloc.allocate("ID", "eth0")).ips?.[0]?.address).toBe("192.168.1.2/29");
    expect(await alloc.release("ID", "eth0")).toEqual(["192.168.1.2"]);
    expect((await alloc.allocate("ID", "eth0")).ips?.[0]?.address).toBe("192.168.1.3/29");
  });

  it("gives requested IPs and checks them", async () => {
    const alloc = await allocatorFor(subnets("192.168.1.0/29"), {}, "IP=192.168.1.5");
    expect((await alloc.allocate("A", "eth0")).ips?.[0]?.address).toBe("192.168.1.5/29");
    await expect(alloc.allocate("B", "eth0")).rejects.toThrow(
      "failed to allocate for range 0: requested IP address 192.168.1.5 is not available in range set 192.168.1.1-192.168.1.6",
    );
    const gw = await allocatorFor(subnets("192.168.1.0/29"), { args: { cni: { ips: ["192.168.1.1"] } } });
    await expect(gw.allocate("C", "eth0")).rejects.toThrow("requested ip 192.168.1.1 is subnet's gateway");
    const outside = await allocatorFor(subnets("192.168.1.0/29"), { runtimeConfig: { ips: ["10.9.9.9"] } });
    await expect(outside.allocate("D", "eth0")).rejects.toThrow("failed to allocate all requested IPs: 10.9.9.9");
    expect(readdirSync(dir()).filter((f) => f.startsWith("192."))).toEqual(["192.168.1.5"]);
  });

  it("allocates one IP per range set and rolls back on failure", async () => {
    const alloc = await allocatorFor({
      ranges: [[{ subnet: "10.0.0.0/30" }], [{ subnet: "2001:db8::/64" }]],
    });
    const r = await alloc.allocate("A", "eth0");
    expect(r.ips).toEqual([
      { address: "10.0.0.2/30", gateway: "10.0.0.1" },
      { address: "2001:db8::2/64", gateway: "2001:db8::1" },
    ]);
    // The v4 set is now full: B gets nothing and leaves nothing behind.
    await expect(alloc.allocate("B", "eth0")).rejects.toThrow("failed to allocate for range 0: no IP addresses available");
    const before = readdirSync(dir()).sort();
    const c = await allocatorFor({ ranges: [[{ subnet: "10.1.0.0/24" }], [{ subnet: "10.0.0.0/30" }]] });
    await expect(c.allocate("C", "eth0")).rejects.toThrow("failed to allocate for range 1");
    expect(readdirSync(dir()).sort()).toEqual([...before].sort().concat().sort());
  });

  it("CHECK, release and GC", async () => {
    const alloc = await allocatorFor(subnets("10.0.0.0/24"));
    await alloc.allocate("A", "eth0");
    await alloc.allocate("B", "eth0");
    await alloc.check("A", "eth0");
    await expect(alloc.check("Z", "eth0")).rejects.toThrow("host-local: Failed to find address added by container Z");
    expect(await alloc.gc([{ containerID: "A", ifname: "eth0" }])).toEqual(["10.0.0.3"]);
    expect(await alloc.release("A", "eth0")).toEqual(["10.0.0.2"]);
    expect(await alloc.release("A", "eth0")).toEqual([]);
    expect(readdirSync(dir()).sort()).toEqual(["last_reserved_ip.0", "lock"]);
  });

  it("puts resolvConf into dns", async () => {
    const resolv = join(root, "resolv.conf");
    writeFileSync(resolv, "# c\n; c\nnameserver 10.0.0.10\nnameserver 10.0.0.11\ndomain example.com\nsearch a b\noptions ndots:5\nbogus\n");
    const alloc = await allocatorFor({ ...subnets("10.0.0.0/24"), resolvConf: resolv });
    expect((await alloc.allocate("A", "eth0")).dns).toEqual({
      nameservers: ["10.0.0.10", "10.0.0.11"],
      domain: "example.com",
      search: ["a", "b"],
      options: ["ndots:5"],
    });
    const missing = await allocatorFor({ ...subnets("10.0.0.0/24"), resolvConf: join(root, "nope") });
    await expect(missing.allocate("B", "eth0")).rejects.toThrow(`open ${join(root, "nope")}: no such file or directory`);
  });
});

describe("HostLocalAllocator.open", () => {
  it("loads the config, opens the store, dedupes requested IPs", async () => {
    const alloc = await HostLocalAllocator.open(
      {
        cniVersion: "1.0.0",
        name: "net1",
        ipam: { type: "host-local", dataDir: root, ranges: [[{ subnet: "10.5.0.0/24" }]] },
        runtimeConfig: { ips: ["10.5.0.9"] },
      },
      "IP=10.5.0.9",
    );
    try {
      expect((await alloc.allocate("A", "eth0")).ips).toEqual([{ address: "10.5.0.9/24", gateway: "10.5.0.1" }]);
    } finally {
      alloc.close();
    }
  });
});
