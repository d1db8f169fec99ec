// posixSpawn (from @cnikit/native) after netns work: the child starts in the host netns, because
// the pool thread posix_spawn runs on was never inside a container netns (see Netns).
import { readlinkSync } from "node:fs";
import { posixSpawn } from "@cnikit/native";
import { describe, expect, it } from "vitest";
import { Netns } from "../src/index.js";

describe("posixSpawn and Netns", () => {
  it("starts the child in the host netns even right after work inside a container netns", async () => {
    const name = `ck${Math.random().toString(16).slice(2, 10)}`;
    const ns = await Netns.create(name);
    try {
      const hostNs = readlinkSync("/proc/self/ns/net");
      const inside = ns.run(() => readlinkSync("/proc/thread-self/ns/net"));
      expect(inside).not.toBe(hostNs);
      await ns.listLinks(); // a request on the container's socket
      const r = await posixSpawn({
        pluginPath: "/bin/sh",
        args: ["-c", "readlink /proc/self/ns/net"],
        stdin: "",
        env: {},
      });
      expect(r.stdout.toString().trim()).toBe(hostNs);
    } finally {
      ns.close();
      await Netns.remove(name);
    }
  });
});
