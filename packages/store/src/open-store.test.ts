import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { StoreConfigError } from "./errors.js";
import { openStore, parseStoreUrl } from "./open-store.js";

describe("parseStoreUrl", () => {
  it("file: forms", () => {
    expect(parseStoreUrl("file:/var/lib/cnikit/store")).toEqual({ backend: "file", dir: "/var/lib/cnikit/store" });
    expect(parseStoreUrl("file:///var/lib/cnikit/store/")).toEqual({ backend: "file", dir: "/var/lib/cnikit/store" });
    expect(parseStoreUrl("file:/s?timeout=100&poll=20&fsync=false")).toEqual({
      backend: "file",
      dir: "/s",
      lockTimeoutMs: 100,
      pollIntervalMs: 20,
      fsync: false,
    });
    expect(() => parseStoreUrl("file:relative/dir")).toThrow(StoreConfigError);
  });

  it("etcd: endpoints, prefix, TLS", () => {
    expect(parseStoreUrl("etcd://10.0.0.1:2379,10.0.0.2,[::1]:2380?prefix=/cnikit")).toEqual({
      backend: "etcd",
      endpoints: ["http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://[::1]:2380"],
      prefix: "/cnikit/",
      tls: false,
    });
    expect(parseStoreUrl("etcd://h:1/cnikit")).toMatchObject({ prefix: "/cnikit/" });
    expect(parseStoreUrl("etcd://h:1?timeout=300&budget=2000")).toMatchObject({
      callTimeoutMs: 300,
      retryBudgetMs: 2000,
    });
    expect(parseStoreUrl("etcd://h:1?cert=/c&key=/k&cacert=/ca")).toMatchObject({
      endpoints: ["https://h:1"],
      tls: true,
      cert: "/c",
      key: "/k",
      cacert: "/ca",
    });
    expect(parseStoreUrl("etcds://h")).toMatchObject({ endpoints: ["https://h:2379"], tls: true, prefix: "" });
  });

  it("reads query parameters as URLSearchParams does (escapes, +, a bad escape kept as written)", () => {
    for (const q of ["prefix=/a%20b", "prefix=/a+b", "prefix=/100%", "prefix=/%E2%82%AC&timeout=5", "prefix", "&prefix=/x&"]) {
      const want = new URLSearchParams(q).get("prefix") ?? "";
      const prefix = want !== "" && !want.endsWith("/") ? `${want}/` : want;
      expect(parseStoreUrl(`etcd://h:1?${q}`), q).toMatchObject({ prefix });
    }
  });

  it("rejects what it does not know, naming it", () => {
    expect(() => parseStoreUrl("redis://h:6379")).toThrow(/unknown scheme "redis:".*file:\/path, etcd:\/\/host:port/);
    expect(() => parseStoreUrl("/var/lib/x")).toThrow(/unknown scheme \(none\)/);
    expect(() => parseStoreUrl("etcd://h:1?prefx=/a")).toThrow(/unknown parameter "prefx"/);
    expect(() => parseStoreUrl("etcd://h:1?cert=/c")).toThrow(/go together/);
    expect(() => parseStoreUrl("etcd://h:1?ca=/ca")).toThrow(/unknown parameter "ca" \(known: .*cacert/);
    expect(() => parseStoreUrl("etcd://")).toThrow(StoreConfigError);
    expect(() => parseStoreUrl("etcd://h:1?timeout=-5")).toThrow(/not a positive number/);
  });
});

describe("openStore", () => {
  it("names a TLS file it cannot read", async () => {
    await expect(openStore("etcd://127.0.0.1:1?cacert=/nonexistent/ca.pem")).rejects.toThrow(/cacert file \/nonexistent\/ca.pem/);
  });

  it("opens without touching the network or creating the directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cnikit-open-"));
    try {
      writeFileSync(join(dir, "ca.pem"), "not really a CA");
      const etcd = await openStore(`etcd://127.0.0.1:1?cacert=${join(dir, "ca.pem")}`);
      expect(etcd.url).toContain("etcd://");
      await etcd.close();
      const file = await openStore(`file:${join(dir, "store")}`);
      expect(await file.get("a")).toBeUndefined();
      expect(await file.revision()).toBe(1);
      await file.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
