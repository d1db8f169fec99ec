/**
 * In-process delegation in the real daemon (root): the example bridge served by cnikit-agent
 * delegates to host-local, whose shim in CNI_PATH names a socket of the same daemon, so
 * host-local runs inside the daemon. Same results and errors as with the delegate executed, and
 * its flock still serialises allocations with Go's host-local on the same data dir.
 */
import { join } from "node:path";
import {
  expectPluginError,
  expectPluginSuccess,
  findPlugin,
  listHostLocalLeases,
  runPlugin,
  Scratch,
} from "@cnikit/testing";
import { describe, expect, it } from "vitest";
import { queryAgentStatus } from "../src/status.js";
import { agentTestFile, bridgeNetConf, installShims } from "./harness.js";

const t = agentTestFile();
let s: Scratch;

function call(bin: string, command: string, config: object, netns: string, containerId: string) {
  return runPlugin(join(bin, "bridge"), { command, config, netns, containerId, path: [bin], timeoutMs: 30_000 });
}

/** requests / inProcess counters of each served plugin. */
async function counters(sockDir: string): Promise<Record<string, { requests: number; inProcess: number }>> {
  const out: Record<string, { requests: number; inProcess: number }> = {};
  for (const st of await queryAgentStatus(sockDir)) {
    const v = st.status as { name: string; requests: number; inProcess: number };
    out[v.name] = { requests: v.requests, inProcess: v.inProcess };
  }
  return out;
}

/** A result with what differs between two attachments masked. */
function shape(result: unknown): unknown {
  return JSON.parse(
    JSON.stringify(result)
      .replace(/"mac":"[0-9a-f:]+"/g, '"mac":"M"')
      .replace(/"veth[0-9a-f]+"/g, '"VETH"')
      .replace(/"sandbox":"[^"]+"/g, '"sandbox":"NS"')
      .replace(/"address":"[0-9.]+\/\d+"/g, '"address":"A"'),
  );
}

describe("cnikit-agent: in-process delegation (bridge → host-local in one daemon)", () => {
  it("runs host-local inside the daemon with the same result and errors as with it executed (--exec-delegates)", async () => {
    s = t.track(new Scratch({ prefix: "cki" }));
    const sockDir = join(s.dir("run"), "cnikit");
    const bin = installShims(s, t.f, sockDir);
    const conf = bridgeNetConf(s, s.dir("ipam"));
    const [ns1, ns2, ns3] = [s.netns("a"), s.netns("b"), s.netns("c")];

    const d = await t.daemon(sockDir);
    const inProc = expectPluginSuccess(await call(bin, "ADD", conf, ns1, `c1${s.id}`));
    expect(await counters(sockDir)).toEqual({
      bridge: { requests: 1, inProcess: 0 },
      "host-local": { requests: 1, inProcess: 1 },
    });
    expect(d.log()).toMatch(/"msg":"call","plugin":"host-local","command":"ADD"[^}]*"inProcess":true/);
    // a failing IPAM config: the IPAM error wrapped as bridge wraps it
    const bad = bridgeNetConf(s, s.dir("ipam"), { rangeStart: "not-an-ip" });
    const badInProc = expectPluginError(await call(bin, "ADD", bad, ns3, `cx${s.id}`));
    expect(badInProc.msg).toMatch(/^IPAM plugin host-local: /);
    await d.stop();

    const execDaemon = await t.daemon(sockDir, ["--exec-delegates"]);
    const executed = expectPluginSuccess(await call(bin, "ADD", conf, ns2, `c2${s.id}`));
    expect(await counters(sockDir)).toEqual({
      bridge: { requests: 1, inProcess: 0 },
      "host-local": { requests: 1, inProcess: 0 },
    });
    const badExecuted = expectPluginError(await call(bin, "ADD", bad, ns3, `cy${s.id}`));
    expect(shape(inProc)).toEqual(shape(executed));
    expect(badInProc).toEqual(badExecuted);
    await execDaemon.stop();

    // and the DELs in process again: no lease left
    await t.daemon(sockDir);
    expectPluginSuccess(await call(bin, "DEL", conf, ns1, `c1${s.id}`));
    expectPluginSuccess(await call(bin, "DEL", conf, ns2, `c2${s.id}`));
    expect((await counters(sockDir))["host-local"]).toEqual({ requests: 2, inProcess: 2 });
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
  });

  it("Go host-local allocating on the same data dir at the same time: every address distinct (flock)", async () => {
    s = t.track(new Scratch({ prefix: "cki" }));
    const sockDir = join(s.dir("run"), "cnikit");
    const bin = installShims(s, t.f, sockDir);
    const conf = bridgeNetConf(s, s.dir("ipam"));
    const goHostLocal = findPlugin("host-local");
    expect(goHostLocal, "Go's host-local (containernetworking-plugins) is needed").toBeDefined();
    await t.daemon(sockDir);
    const n = 20;
    const nss = Array.from({ length: n }, (_, i) => s.netns(`n${i}`));
    const ours = Array.from({ length: n }, (_, i) => call(bin, "ADD", conf, nss[i] as string, `a${i}x${s.id}`));
    const go = Array.from({ length: n }, (_, i) =>
      runPlugin(goHostLocal as string, {
        command: "ADD",
        config: conf,
        netns: nss[i] as string,
        containerId: `g${i}x${s.id}`,
        ifName: "eth1",
      }),
    );
    const all = await Promise.all([...ours, ...go]);
    const addresses = all.map((r) => (expectPluginSuccess(r) as { ips: Array<{ address: string }> }).ips[0]?.address);
    expect(new Set(addresses).size).toBe(2 * n);
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toHaveLength(2 * n);
    expect((await counters(sockDir))["host-local"]?.inProcess).toBe(n);
    await Promise.all([
      ...nss.map((ns, i) => call(bin, "DEL", conf, ns, `a${i}x${s.id}`).then(expectPluginSuccess)),
      ...nss.map((ns, i) =>
        runPlugin(goHostLocal as string, {
          command: "DEL",
          config: conf,
          netns: ns,
          containerId: `g${i}x${s.id}`,
          ifName: "eth1",
        }).then(expectPluginSuccess),
      ),
    ]);
    expect(listHostLocalLeases(conf.ipam.dataDir, conf.name)).toEqual([]);
  });
});
