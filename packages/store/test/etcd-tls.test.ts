/**
 * The etcd backend over HTTPS with client certificates: a throwaway CA, server and client
 * certificates made with openssl, etcd requiring client certificates.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcLink } from "../src/etcd-grpc.js";
import type { EtcdStore } from "../src/etcd-store.js";
import { requestFailure } from "../src/etcd-transport.js";
import type { HttpRequestError } from "../src/http-client.js";
import { openStore, StoreAuthError } from "../src/index.js";
import {
  type EtcdCluster,
  type EtcdTlsFiles,
  etcdAvailable,
  makeTestCertificates,
  opensslAvailable,
  startEtcd,
} from "../src/testing.js";

describe.skipIf(!etcdAvailable() || !opensslAvailable())("etcd backend over TLS (client certificates)", () => {
  const dir = mkdtempSync(join(tmpdir(), "cnikit-etcd-tls-"));
  let etcd: EtcdCluster;
  let files: EtcdTlsFiles;
  let other: EtcdTlsFiles;
  beforeAll(async () => {
    files = makeTestCertificates(dir, "good");
    other = makeTestCertificates(dir, "other");
    etcd = await startEtcd({ tls: files });
  });
  afterAll(async () => {
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const wire of ["gateway", "grpc"] as const)
    it(`${wire}: puts, reads and watches over HTTPS`, async () => {
      expect(etcd.url()).toMatch(/^etcd:\/\/127\.0\.0\.1:\d+\?cert=/);
      const store = (await openStore(etcd.url(`/tls-${wire}`))) as EtcdStore;
      expect(await store.setWire(wire)).toBe(true);
      const events: string[] = [];
      const w = store.watch("", {}, (e) => events.push(e.kv.key));
      await w.ready;
      await store.put("k", "v");
      expect((await store.get("k"))?.value).toBe("v");
      for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(events).toEqual(["k"]);
      await store.close();
    });

  it("a server certificate from another CA: StoreAuthError, not retried", async () => {
    const host = etcd.endpoints[0]!.replace(/^https:\/\//, "");
    const store = await openStore(`etcd://${host}?cert=${files.clientCert}&key=${files.clientKey}&cacert=${other.ca}`, {
      retryBudgetMs: 3000,
    });
    const t0 = Date.now();
    await expect(store.get("k")).rejects.toBeInstanceOf(StoreAuthError);
    expect(Date.now() - t0).toBeLessThan(1000);
    await store.close();
  });

  it("a client certificate the server does not trust: StoreAuthError", async () => {
    const { clientCert: cert, clientKey: key } = other;
    const host = etcd.endpoints[0]!.replace(/^https:\/\//, "");
    const store = await openStore(`etcd://${host}?cert=${cert}&key=${key}&cacert=${files.ca}`, { retryBudgetMs: 2000 });
    const err = await store.get("k").catch((e: unknown) => e);
    expect(err, String(err)).toBeInstanceOf(StoreAuthError);
    await store.close();
  });

  it("gRPC: a server certificate from another CA or an untrusted client certificate is an auth error", async () => {
    const http2 = await import("node:http2");
    const url = new URL(etcd.endpoints[0]!);
    const range = { key: "AA==", count_only: true };
    for (const tls of [
      { cert: readFileSync(files.clientCert), key: readFileSync(files.clientKey), ca: readFileSync(other.ca) },
      { cert: readFileSync(other.clientCert), key: readFileSync(other.clientKey), ca: readFileSync(files.ca) },
    ]) {
      const link = grpcLink(http2, tls);
      const method = link.methods["/v3/kv/range"]!;
      const err = await link
        .unary(url, method.path, link.encode(method, range), { timeoutMs: 2000 })
        .catch((e: unknown) => e);
      link.close();
      expect(link.isStatus(err), String(err)).toBe(false);
      expect(requestFailure(err as HttpRequestError).error, String(err)).toBeInstanceOf(StoreAuthError);
    }
  });
});
