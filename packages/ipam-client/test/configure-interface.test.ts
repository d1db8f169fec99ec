// configureInterface against real namespaces: a veth whose two ends live in two namespaces this
// test creates (nothing is touched in the host netns), removed in afterEach.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Netns } from "@cnikit/ns";
import type { Result } from "@cnikit/spec";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { configureInterface, InvalidInterfaceIndexError, validateInterfaceIps, validateRoutes } from "../src/index.js";

let nsA: string;
let nsB: string;
let netns: Netns;

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

beforeEach(async () => {
  const hex = randomBytes(4).toString("hex");
  nsA = `ck${hex}a`;
  nsB = `ck${hex}b`;
  ip("netns", "add", nsA);
  ip("netns", "add", nsB);
  ip("link", "add", "name", "eth0", "netns", nsA, "type", "veth", "peer", "name", "peer0", "netns", nsB);
  ip("-n", nsB, "link", "set", "peer0", "up");
  netns = await Netns.open(`/var/run/netns/${nsA}`);
});

afterEach(() => {
  netns?.close();
  for (const n of [nsA, nsB]) {
    try {
      ip("netns", "delete", n);
    } catch {
      /* already gone */
    }
  }
});

function lease(extra: Partial<Result> = {}): Result {
  return {
    cniVersion: "1.1.0",
    interfaces: [{ name: "eth0", sandbox: `/var/run/netns/${nsA}` }],
    ips: [
      { interface: 0, address: "10.91.0.2/24", gateway: "10.91.0.1" },
      { interface: 0, address: "fd00:91::2/64", gateway: "fd00:91::1" },
    ],
    routes: [
      { dst: "0.0.0.0/0" },
      { dst: "192.168.50.0/24", gw: "10.91.0.254", priority: 20 },
      { dst: "10.200.0.0/16", table: 100 },
      { dst: "::/0" },
    ],
    ...extra,
  };
}

describe("configureInterface", () => {
  it("adds addresses, sets the link up, enables IPv6, adds routes with gateway fallback", async () => {
    ip("netns", "exec", nsA, "sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=1", "net.ipv6.conf.lo.disable_ipv6=1");
    await configureInterface(netns, "eth0", lease(), { settleTimeoutMs: 10_000 });

    const link = await netns.getLink("eth0");
    expect(link.up).toBe(true);
    const addrs = (await netns.listAddresses("eth0")).map((a) => a.cidr);
    expect(addrs).toContain("10.91.0.2/24");
    expect(addrs).toContain("fd00:91::2/64");
    expect(await netns.getSysctl("net/ipv6/conf/eth0/disable_ipv6")).toBe("0");
    expect(await netns.getSysctl("net/ipv6/conf/lo/disable_ipv6")).toBe("0");
    expect(await netns.getSysctl("net/ipv6/conf/eth0/keep_addr_on_down")).toBe("1");

    const v4 = ip("-n", nsA, "-4", "route", "show", "table", "all");
    expect(v4).toMatch(/default via 10\.91\.0\.1 dev eth0/);
    expect(v4).toMatch(/192\.168\.50\.0\/24 via 10\.91\.0\.254 dev eth0 .*metric 20/);
    expect(v4).toMatch(/10\.200\.0\.0\/16 .*dev eth0 .*table 100|10\.200\.0\.0\/16 dev eth0 table 100/);
    const v6 = ip("-n", nsA, "-6", "route", "show");
    expect(v6).toMatch(/default via fd00:91::1 dev eth0/);
  });

  it("skips IPs without an interface index", async () => {
    await configureInterface(netns, "eth0", lease({ ips: [{ address: "10.92.0.2/24", gateway: "10.92.0.1" }], routes: [] }));
    expect((await netns.listAddresses("eth0", { family: 4 })).map((a) => a.cidr)).not.toContain("10.92.0.2/24");
    expect((await netns.getLink("eth0")).up).toBe(true);
  });

  it("refuses results without interfaces", async () => {
    await expect(configureInterface(netns, "eth0", { cniVersion: "1.1.0", ips: [] })).rejects.toThrow("no interfaces to configure");
  });

  it("throws InvalidInterfaceIndexError for a bad index or another interface's index", async () => {
    const outOfRange = configureInterface(netns, "eth0", lease({ ips: [{ interface: 3, address: "10.93.0.2/24" }] }));
    await expect(outOfRange).rejects.toThrow(/failed to add IP addr .* to "eth0": invalid interface index/);
    const other: Result = {
      cniVersion: "1.1.0",
      interfaces: [{ name: "veth-host" }, { name: "eth0", sandbox: "/x" }],
      ips: [{ interface: 0, address: "10.93.0.2/24" }],
    };
    const err = await configureInterface(netns, "eth0", other).catch((e: unknown) => e);
    expect(err instanceof InvalidInterfaceIndexError).toBe(true);
  });

  it("reports a missing link", async () => {
    await expect(configureInterface(netns, "nope0", lease())).rejects.toThrow(/^failed to lookup "nope0"/);
  });

  it("takes a Link: addresses and routes go to its index", async () => {
    const link = await netns.getLink("eth0");
    await configureInterface(netns, link, lease({ ips: [{ interface: 0, address: "10.95.0.2/24", gateway: "10.95.0.1" }], routes: [{ dst: "0.0.0.0/0" }] }));
    expect((await netns.listAddresses(link.index, { family: 4 })).map((a) => a.cidr)).toEqual(["10.95.0.2/24"]);
    expect(ip("-n", nsA, "-4", "route", "show")).toMatch(/default via 10\.95\.0\.1 dev eth0/);
  });

  it("a Link that is gone fails on the first address, naming the interface", async () => {
    const link = { ...(await netns.getLink("eth0")), index: 999_999 };
    await expect(configureInterface(netns, link, lease())).rejects.toThrow(/^failed to add IP addr .* to "eth0"/);
  });
});

describe("configureInterface pointToPoint", () => {
  const ptpLease = (): Result => ({
    cniVersion: "1.1.0",
    interfaces: [{ name: "veth-host" }, { name: "eth0", sandbox: `/var/run/netns/${nsA}` }],
    ips: [
      { interface: 1, address: "10.96.0.2/24", gateway: "10.96.0.1" },
      { interface: 1, address: "10.96.1.2/24", gateway: "10.96.0.1" }, // same gateway: one host route
      { interface: 1, address: "fd00:96::2/64", gateway: "fd00:96::1" },
    ],
    routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }, { dst: "192.168.96.0/24", gw: "10.96.0.1" }],
  });

  it("adds each address without its subnet route, a link route to the gateway and the subnet through it", async () => {
    await configureInterface(netns, "eth0", ptpLease(), { pointToPoint: true, settleTimeoutMs: 10_000 });
    const addrs = (await netns.listAddresses("eth0")).map((a) => a.cidr);
    expect(addrs).toEqual(expect.arrayContaining(["10.96.0.2/24", "10.96.1.2/24", "fd00:96::2/64"]));
    const v4 = ip("-n", nsA, "-4", "route", "show");
    expect(v4).not.toMatch(/proto kernel/); // no on-link subnet route
    expect(v4).toMatch(/^10\.96\.0\.1 dev eth0 .*scope link src 10\.96\.0\.2/m);
    expect(v4.match(/^10\.96\.0\.1 /gm)).toHaveLength(1);
    expect(v4).toMatch(/^10\.96\.0\.0\/24 via 10\.96\.0\.1 dev eth0 .*src 10\.96\.0\.2/m);
    expect(v4).toMatch(/^10\.96\.1\.0\/24 via 10\.96\.0\.1 dev eth0 .*src 10\.96\.1\.2/m);
    expect(v4).toMatch(/^default via 10\.96\.0\.1 dev eth0/m);
    expect(v4).toMatch(/^192\.168\.96\.0\/24 via 10\.96\.0\.1 dev eth0/m);
    const v6 = ip("-n", nsA, "-6", "route", "show");
    expect(v6).not.toMatch(/^fd00:96::\/64 dev eth0 proto kernel/m);
    expect(v6).toMatch(/^fd00:96::1 dev eth0 .*src fd00:96::2/m);
    expect(v6).toMatch(/^fd00:96::\/64 via fd00:96::1 dev eth0/m);
    expect(v6).toMatch(/^default via fd00:96::1 dev eth0/m);

    // CHECK's validators accept what point-to-point mode made
    const r = ptpLease();
    await validateInterfaceIps(netns, "eth0", r.ips ?? []);
    await validateRoutes(netns, r.routes ?? []);

    // traffic: the other end plays the host side as Go's ptp sets it up (gateway /32, host route)
    ip("-n", nsB, "addr", "add", "10.96.0.1/32", "dev", "peer0");
    ip("-n", nsB, "route", "add", "10.96.0.2/32", "dev", "peer0");
    execFileSync("ip", ["netns", "exec", nsA, "ping", "-c1", "-W2", "10.96.0.1"], { stdio: "ignore" });
  });

  it("a /32 address gets the gateway route but no subnet route; an address without gateway gets neither", async () => {
    const r: Result = {
      cniVersion: "1.1.0",
      interfaces: [{ name: "eth0", sandbox: "/x" }],
      ips: [
        { interface: 0, address: "10.97.0.2/32", gateway: "10.97.0.1" },
        { interface: 0, address: "10.98.0.2/24" },
      ],
    };
    await configureInterface(netns, "eth0", r, { pointToPoint: true });
    const v4 = ip("-n", nsA, "-4", "route", "show");
    expect(v4).toMatch(/^10\.97\.0\.1 dev eth0 .*scope link src 10\.97\.0\.2/m);
    expect(v4).not.toMatch(/^10\.97\.0\.2/m);
    expect(v4).not.toMatch(/10\.98\.0\.0/);
  });
});
