/**
 * The etcd backend over HTTPS with client certificates: a throwaway CA, server and client
 * certificates made with openssl, etcd requiring client certificates.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, StoreAuthError } from "../src/index.js";
import { type EtcdCluster, type EtcdTlsFiles, etcdAvailable, startEtcd } from "../src/testing.js";

const haveOpenssl = spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;

/** A CA and two certificates signed by it (the server's valid for 127.0.0.1). */
function makeCerts(
  dir: string,
  name: string,
): { ca: string; caKey: string; cert: (who: string, san?: string) => [string, string] } {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ca = join(dir, `${name}-ca.pem`);
  const caKey = join(dir, `${name}-ca-key.pem`);
  ssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    `/CN=${name} test CA`,
    "-keyout",
    caKey,
    "-out",
    ca,
  );
  const cert = (who: string, san?: string): [string, string] => {
    const key = join(dir, `${name}-${who}-key.pem`);
    const csr = join(dir, `${name}-${who}.csr`);
    const crt = join(dir, `${name}-${who}.pem`);
    const ext = join(dir, `${name}-${who}.ext`);
    writeFileSync(ext, `${san ? `subjectAltName=${san}\n` : ""}extendedKeyUsage=serverAuth,clientAuth\n`);
    ssl(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      `/CN=${who}`,
      "-keyout",
      key,
      "-out",
      csr,
    );
    ssl(
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca,
      "-CAkey",
      caKey,
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      ext,
      "-out",
      crt,
    );
    return [crt, key];
  };
  return { ca, caKey, cert };
}

describe.skipIf(!etcdAvailable() || !haveOpenssl)("etcd backend over TLS (client certificates)", () => {
  const dir = mkdtempSync(join(tmpdir(), "cnikit-etcd-tls-"));
  let etcd: EtcdCluster;
  let files: EtcdTlsFiles;
  let other: { ca: string; cert: (who: string) => [string, string] };
  beforeAll(async () => {
    const good = makeCerts(dir, "good");
    const [serverCert, serverKey] = good.cert("server", "IP:127.0.0.1");
    const [clientCert, clientKey] = good.cert("client");
    files = { serverCert, serverKey, ca: good.ca, clientCert, clientKey };
    other = makeCerts(dir, "other");
    etcd = await startEtcd({ tls: files });
  });
  afterAll(async () => {
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("puts, reads and watches over HTTPS", async () => {
    expect(etcd.url()).toMatch(/^etcd:\/\/127\.0\.0\.1:\d+\?cert=/);
    const store = await openStore(etcd.url("/tls"));
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
    const [cert, key] = other.cert("stranger");
    const host = etcd.endpoints[0]!.replace(/^https:\/\//, "");
    const store = await openStore(`etcd://${host}?cert=${cert}&key=${key}&cacert=${files.ca}`, { retryBudgetMs: 2000 });
    const err = await store.get("k").catch((e: unknown) => e);
    expect(err, String(err)).toBeInstanceOf(StoreAuthError);
    await store.close();
  });
});
