// The BUILT etcd-ipam against a private etcd that serves HTTPS and requires client certificates
// (a throwaway CA, server and client certificates made with openssl in a temp dir): ADD, CHECK,
// DEL over TLS; a CA that did not sign etcd's certificate, or a client certificate etcd does not
// trust, is a clear CNI error (code 7) at once, not a retry loop.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "@cnikit/store";
import {
  type EtcdCluster,
  type EtcdTlsFiles,
  etcdAvailable,
  makeTestCertificates,
  opensslAvailable,
  startEtcd,
} from "@cnikit/store/testing";
import { runPlugin, Scratch } from "@cnikit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../../tools/build-fixture.js";

describe.skipIf(!etcdAvailable() || !opensslAvailable())("etcd-ipam over TLS (client certificates)", () => {
  const dir = mkdtempSync(join(tmpdir(), "cnikit-ipam-tls-"));
  let BIN: string;
  let etcd: EtcdCluster;
  let good: EtcdTlsFiles;
  let other: EtcdTlsFiles;
  let s: Scratch;
  let netns: string;
  let runDir: string;

  beforeAll(async () => {
    s = new Scratch({ prefix: "ckt" });
    netns = s.netns("n");
    runDir = s.dir("run");
    good = makeTestCertificates(dir, "good");
    other = makeTestCertificates(dir, "other");
    [BIN, etcd] = await Promise.all([buildFixture("examples/etcd-ipam"), startEtcd({ tls: good })]);
  }, 120_000);

  afterAll(async () => {
    await etcd?.stop();
    s?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const host = () => (etcd.endpoints[0] as string).replace(/^https:\/\//, "");
  const conf = (store: string, name: string) => ({
    cniVersion: "1.1.0",
    name,
    ipam: { type: "etcd-ipam", store, subnet: "10.215.0.0/16", nodeName: "tls-node", runDir },
  });
  const call = (command: string, config: object, containerId = "tls1") =>
    runPlugin(BIN, {
      command,
      config,
      netns: command === "DEL" ? undefined : netns,
      containerId,
      ifName: "eth0",
      path: ["/usr/lib/cni"],
    });

  it("ADD, CHECK, DEL over HTTPS with a client certificate; the keys are etcd's", async () => {
    const url = `etcd://${host()}?prefix=/tls${s.id}&cert=${good.clientCert}&key=${good.clientKey}&cacert=${good.ca}`;
    const name = `tls${s.id}`;
    const add = await call("ADD", conf(url, name));
    expect(add.exitCode, add.stdout + add.stderr).toBe(0);
    expect((add.result as { ips: { address: string }[] }).ips[0]?.address).toMatch(/^10\.215\.\d+\.\d+\/16$/);
    expect((await call("CHECK", conf(url, name))).exitCode).toBe(0);
    const store = await openStore(url);
    try {
      expect((await store.range(`ipam/${name}/owners/`)).kvs.map((kv) => kv.key)).toEqual([`ipam/${name}/owners/tls1/eth0`]);
      expect((await call("DEL", conf(url, name))).exitCode).toBe(0);
      expect((await store.range(`ipam/${name}/owners/`)).kvs).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it("a CA that did not sign etcd's certificate: code 7 naming the TLS problem, without retrying", async () => {
    const url = `etcd://${host()}?prefix=/tls${s.id}&cert=${good.clientCert}&key=${good.clientKey}&cacert=${other.ca}`;
    const add = await call("ADD", conf(url, `tlsbad${s.id}`), "tls2");
    expect(add.exitCode).toBe(1);
    expect(add.error?.code, add.stdout).toBe(7);
    expect(add.error?.msg).toMatch(/^etcd-ipam: ADD: etcd 127\.0\.0\.1:\d+\/v3\/kv\/txn: .*\[UNABLE_TO_VERIFY_LEAF_SIGNATURE\] \(TLS refused: cacert= must name the CA/);
    expect(add.durationMs).toBeLessThan(3000); // the retry budget is 5 s: an auth error is final
    expect(add.stdout.trim().split("\n")).toHaveLength(1);
  });

  it("a client certificate etcd does not trust: code 7", async () => {
    const url = `etcd://${host()}?prefix=/tls${s.id}&cert=${other.clientCert}&key=${other.clientKey}&cacert=${good.ca}`;
    const add = await call("ADD", conf(url, `tlsbad2${s.id}`), "tls3");
    expect(add.error?.code, add.stdout).toBe(7);
    expect(add.error?.msg).toMatch(/TLS refused/);
  });

  it("a TLS file that cannot be read: code 7 naming the file", async () => {
    const url = `etcd://${host()}?cert=${good.clientCert}&key=${good.clientKey}&cacert=${join(dir, "missing.pem")}`;
    const add = await call("ADD", conf(url, `tlsmissing${s.id}`), "tls4");
    expect(add.error?.code, add.stdout).toBe(7);
    expect(add.error?.msg).toContain(`store TLS cacert file ${join(dir, "missing.pem")}`);
  });
});
