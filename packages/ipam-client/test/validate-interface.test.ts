// The CHECK validators against real namespaces: a veth whose two ends live in two namespaces this
// test creates, with a bridge in the second (nothing is touched in the host netns).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Netns } from "@cnikit/ns";
import type { Interface } from "@cnikit/spec";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validateInterfaceIps, validateLinkInNetns, validateRoutes } from "../src/index.js";

let nsA: string;
let nsB: string;
let ctr: Netns;
let host: Netns;
let ctrPath: string;

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

beforeEach(async () => {
  const hex = randomBytes(4).toString("hex");
  nsA = `ckv${hex}a`;
  nsB = `ckv${hex}b`;
  ip("netns", "add", nsA);
  ip("netns", "add", nsB);
  ip("link", "add", "name", "eth0", "netns", nsA, "type", "veth", "peer", "name", "peer0", "netns", nsB);
  ip("-n", nsB, "link", "add", "br0", "type", "bridge");
  ip("-n", nsA, "link", "set", "eth0", "up");
  ip("-n", nsA, "addr", "add", "10.99.0.2/24", "dev", "eth0");
  ip("-n", nsA, "addr", "add", "fd00:99::2/64", "dev", "eth0", "nodad");
  ip("-n", nsA, "route", "add", "default", "via", "10.99.0.1");
  ip("-n", nsA, "route", "add", "192.168.99.0/24", "via", "10.99.0.254");
  ctrPath = `/var/run/netns/${nsA}`;
  ctr = await Netns.open(ctrPath);
  host = await Netns.open(`/var/run/netns/${nsB}`);
});

afterEach(() => {
  ctr?.close();
  host?.close();
  for (const n of [nsA, nsB]) {
    try {
      ip("netns", "delete", n);
    } catch {
      /* already gone */
    }
  }
});

const fails = (p: Promise<unknown>, msg: string) => expect(p).rejects.toThrow(expect.objectContaining({ code: 999, msg }));

describe("validateLinkInNetns", () => {
  it("resolves with the link when the interface is as the result says", async () => {
    const { mac } = await ctr.getLink("eth0");
    const link = await validateLinkInNetns(ctr, { name: "eth0", mac, sandbox: ctrPath }, { kind: "veth", netnsPath: ctrPath });
    expect(link.name).toBe("eth0");
    expect((await validateLinkInNetns(host, { name: "br0" }, { inSandbox: false, kind: "bridge" })).kind).toBe("bridge");
    expect((await validateLinkInNetns(ctr, { name: "eth0", sandbox: "/x" })).name).toBe("eth0");
  });

  it("fails with the reference plugins' messages", async () => {
    const eth0: Interface = { name: "eth0", sandbox: ctrPath };
    await fails(
      validateLinkInNetns(ctr, { name: "eth0", sandbox: "/other" }, { netnsPath: ctrPath }),
      `Sandbox in prevResult /other doesn't match configured netns: ${ctrPath}`,
    );
    await fails(validateLinkInNetns(ctr, undefined, { netnsPath: ctrPath }), `Sandbox in prevResult  doesn't match configured netns: ${ctrPath}`);
    await fails(validateLinkInNetns(ctr, undefined), "Interface name missing ");
    await fails(validateLinkInNetns(ctr, { name: "eth9", sandbox: ctrPath }), "Interface name eth9 not found");
    await fails(validateLinkInNetns(ctr, { name: "eth0" }), "Interface eth0 is expected to be in a sandbox");
    await fails(validateLinkInNetns(host, { name: "br0", sandbox: ctrPath }, { inSandbox: false }), "Interface br0 should not be in sandbox");
    await fails(validateLinkInNetns(ctr, eth0, { kind: "macvlan" }), "Error: Container interface eth0 not of type macvlan");
    await fails(validateLinkInNetns(host, { name: "peer0" }, { inSandbox: false, kind: "bridge" }), "Interface peer0 does not have link type of bridge");
    const { mac } = await ctr.getLink("eth0");
    await fails(
      validateLinkInNetns(ctr, { ...eth0, mac: "02:00:00:00:00:01" }),
      `Interface eth0 Mac 02:00:00:00:00:01 doesn't match container Mac: ${mac}`,
    );
    await fails(
      validateLinkInNetns(host, { name: "peer0", mac: "02:00:00:00:00:01" }, { inSandbox: false }),
      "Interface peer0 Mac doesn't match: 02:00:00:00:00:01 not found",
    );
  });
});

describe("validateInterfaceIps", () => {
  it("passes when every address is there with its prefix and a route to its subnet", async () => {
    const ips = [
      { address: "10.99.0.2/24", gateway: "10.99.0.1" },
      { address: "fd00:99:0::0002/64" }, // compared in canonical form
    ];
    await validateInterfaceIps(ctr, "eth0", ips);
    await validateInterfaceIps(ctr, await ctr.getLink("eth0"), ips);
    await validateInterfaceIps(ctr, "eth9", []); // nothing to check: the link is not even looked up
  });

  it("fails as Go's ValidateExpectedInterfaceIPs", async () => {
    await fails(validateInterfaceIps(ctr, "eth9", [{ address: "10.99.0.2/24" }]), "Cannot find container link eth9");
    await fails(validateInterfaceIps(ctr, "eth0", [{ address: "10.99.0.3/24" }]), "Failed to match addr 10.99.0.3/24 on interface eth0");
    await fails(validateInterfaceIps(ctr, "eth0", [{ address: "10.99.0.2/16" }]), "Failed to match addr 10.99.0.2/16 on interface eth0");
    // the address stays, its subnet route goes
    ip("-n", nsA, "addr", "add", "10.100.0.2/24", "dev", "eth0", "noprefixroute");
    await fails(
      validateInterfaceIps(ctr, "eth0", [{ address: "10.100.0.2/24", gateway: "10.100.0.1" }]),
      "Failed to find Gateway 10.100.0.1 for interface eth0",
    );
    await fails(validateInterfaceIps(ctr, "eth0", [{ address: "10.100.0.2/24" }]), "Failed to find Gateway <nil> for interface eth0");
  });
});

describe("validateRoutes", () => {
  it("passes when each route is in the main table (a default route matches on its destination)", async () => {
    await validateRoutes(ctr, [
      { dst: "0.0.0.0/0", gw: "10.99.0.1" },
      { dst: "0.0.0.0/0", gw: "10.99.0.77" }, // as Go: the gateway of a default route is not compared
      { dst: "192.168.99.0/24", gw: "10.99.0.254" },
      { dst: "192.168.99.0/24" },
      { dst: "10.99.0.0/24" },
      { dst: "fd00:99::/64" },
    ]);
  });

  it("fails as Go's ValidateExpectedRoute", async () => {
    await fails(
      validateRoutes(ctr, [{ dst: "192.168.99.0/24", gw: "10.99.0.253" }]),
      "Expected Route {Dst:192.168.99.0/24 GW:10.99.0.253} not found in routing table",
    );
    await fails(validateRoutes(ctr, [{ dst: "172.16.0.0/12" }]), "Expected Route {Dst:172.16.0.0/12 GW:<nil>} not found in routing table");
    await fails(validateRoutes(ctr, [{ dst: "::/0", gw: "fd00:99::1" }]), "Expected Route {Dst:::/0 GW:fd00:99::1} not found in routing table");
    await fails(validateRoutes(ctr, [{ dst: "nope" }]), "Invalid static route found {Dst:nope GW:<nil>}");
  });
});
