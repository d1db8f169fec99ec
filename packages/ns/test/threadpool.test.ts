import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { Netns, setupVeth } from "../src/index.js";
import { uniq, withNetns } from "./helpers.js";

/** Interface names in a /proc/<...>/net/dev text. */
function devNames(text: string): string[] {
  return text
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0]?.trim() ?? "")
    .filter(Boolean)
    .sort();
}

describe("thread-pool rule", () => {
  it("after many in-netns operations, async fs reads still see the host", async () => {
    const hostDevs = devNames(readFileSync("/proc/thread-self/net/dev", "utf8"));
    const hostSet = new Set((await Netns.host().listLinks()).map((l) => l.name));
    await withNetns(2, async (a, b) => {
      for (let i = 0; i < 25; i++) {
        const ns = i % 2 ? a : b;
        // synchronous work in the window, including (wrongly) starting async fs work inside it
        ns.run(() => {
          readFileSync("/proc/thread-self/net/dev");
          void readFile("/proc/thread-self/net/dev").catch(() => {});
        });
        await ns.setSysctl("net.ipv4.conf.lo.arp_notify", i % 2);
        await ns.setLinkUp("lo");
        await ns.listLinks();
      }
      const inner = uniq("ckp");
      await setupVeth({ netns: a, ifName: inner, hostNetns: b });
      // every pool thread, hit with many concurrent reads, reports the host's interfaces
      const reads = await Promise.all(Array.from({ length: 64 }, () => readFile("/proc/thread-self/net/dev", "utf8")));
      for (const r of reads) {
        const names = devNames(r);
        expect(names).not.toContain(inner);
        // other tests may add/remove host links concurrently: compare on the stable ones
        for (const n of [
          "lo",
          ...hostDevs.filter((d) => hostSet.has(d) && !d.startsWith("ck") && !d.startsWith("veth")),
        ]) {
          expect(names).toContain(n);
        }
      }
      // and the main thread is back too
      expect(devNames(readFileSync("/proc/thread-self/net/dev", "utf8"))).not.toContain(inner);
    });
  });
});
