/**
 * Test fixtures: a real etcd (Debian's `etcd-server`) started on 127.0.0.1 with random free
 * ports and a temporary data directory, one member or a cluster. Every member is stopped by pid
 * and its data removed by `stop()`, and also when the process exits. Throwaway TLS material
 * (a CA, a server and a client certificate) made with `openssl`.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * One member of a test cluster.
 *
 * @example const [first] = (await startEtcd()).members; console.log(first?.clientUrl);
 */
export interface EtcdMember {
  /** `m0`, `m1`, ... */
  readonly name: string;
  /** `http://127.0.0.1:<port>` (`https:` with TLS) */
  readonly clientUrl: string;
  /** `http://127.0.0.1:<port>` */
  readonly peerUrl: string;
  /** The member's data directory (inside the cluster's temporary directory). */
  readonly dataDir: string;
  /** The running process's pid, or undefined while stopped. */
  readonly pid: number | undefined;
}

/**
 * A running test cluster.
 *
 * @example
 * const etcd = await startEtcd();
 * try { const store = await openStore(etcd.url("/test")); } finally { await etcd.stop(); }
 */
export interface EtcdCluster {
  /** The members, in `--initial-cluster` order. */
  readonly members: readonly EtcdMember[];
  /** The client URLs of every member. */
  readonly endpoints: readonly string[];
  /** An `etcd://` store URL naming every member (with `?prefix=` when given). */
  url(prefix?: string): string;
  /** Sends `signal` (default SIGKILL) to member `i` and waits until it has exited. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts member `i` again on its data directory and waits until it is healthy. */
  start(i: number): Promise<void>;
  /** The index of the current leader (asks the running members). */
  leader(): Promise<number>;
  /** Stops every member and removes the data. */
  stop(): Promise<void>;
}

/**
 * Options of {@link startEtcd}.
 *
 * @example await startEtcd({ members: 3, electionTimeoutMs: 600 })
 */
export interface StartEtcdOptions {
  /** How many members (default 1). */
  members?: number;
  /** `--heartbeat-interval` (default 100 ms). */
  heartbeatMs?: number;
  /** `--election-timeout` (default 1000 ms; a shorter one makes elections in tests faster). */
  electionTimeoutMs?: number;
  /** How long to wait for the cluster to become healthy (default 20 s). */
  readyTimeoutMs?: number;
  /**
   * Serve clients over HTTPS and require a client certificate signed by `ca` (PEM file paths).
   * `url()` then names the client certificate, key and CA.
   */
  tls?: EtcdTlsFiles;
}

/**
 * PEM files for a TLS test cluster: the server's certificate (valid for 127.0.0.1) and key,
 * the CA that signed both certificates, and the client's certificate and key.
 *
 * @example const tls: EtcdTlsFiles = { serverCert: "s.pem", serverKey: "s-key.pem", ca: "ca.pem", clientCert: "c.pem", clientKey: "c-key.pem" };
 */
export interface EtcdTlsFiles {
  /** The server's certificate (valid for 127.0.0.1). */
  serverCert: string;
  /** Its key. */
  serverKey: string;
  /** The CA that signed both certificates. */
  ca: string;
  /** The client's certificate. */
  clientCert: string;
  /** Its key. */
  clientKey: string;
}

/**
 * True when an `openssl` binary is on PATH (Debian: `apt-get install openssl`).
 *
 * @example describe.skipIf(!opensslAvailable())("etcd over TLS", () => { ... });
 */
export function opensslAvailable(): boolean {
  return spawnSync("openssl", ["version"], { stdio: "ignore" }).status === 0;
}

/**
 * Makes, with `openssl` in `dir`, a throwaway CA (valid one day, EC P-256) and a server
 * certificate for 127.0.0.1 and a client certificate signed by it; files are named after `name`,
 * so two calls with different names give two CAs that do not trust each other.
 *
 * @throws Error when openssl fails (with its stderr).
 * @example
 * const good = makeTestCertificates(dir, "good");
 * const etcd = await startEtcd({ tls: good });
 */
export function makeTestCertificates(dir: string, name = "test"): EtcdTlsFiles {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const ca = join(dir, `${name}-ca.pem`);
  const caKey = join(dir, `${name}-ca-key.pem`);
  ssl("req", "-x509", ...newKey, "-days", "1", "-subj", `/CN=${name} test CA`, "-keyout", caKey, "-out", ca);
  const cert = (who: string, san?: string): [string, string] => {
    const key = join(dir, `${name}-${who}-key.pem`);
    const csr = join(dir, `${name}-${who}.csr`);
    const crt = join(dir, `${name}-${who}.pem`);
    const ext = join(dir, `${name}-${who}.ext`);
    writeFileSync(ext, `${san ? `subjectAltName=${san}\n` : ""}extendedKeyUsage=serverAuth,clientAuth\n`);
    ssl("req", ...newKey, "-subj", `/CN=${who}`, "-keyout", key, "-out", csr);
    ssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", crt);
    return [crt, key];
  };
  const [serverCert, serverKey] = cert("server", "IP:127.0.0.1");
  const [clientCert, clientKey] = cert("client");
  return { serverCert, serverKey, ca, clientCert, clientKey };
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * True when an `etcd` binary is on PATH (Debian: `apt-get install etcd-server etcd-client`).
 *
 * @example describe.skipIf(!etcdAvailable())("etcd", () => { ... });
 */
export function etcdAvailable(): boolean {
  return spawnSync("etcd", ["--version"], { stdio: "ignore" }).status === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

interface ClientTls {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

function httpJson(url: string, method: "GET" | "POST", body?: unknown, tls?: ClientTls): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? "" : JSON.stringify(body);
    const send = url.startsWith("https:") ? httpsRequest : request;
    const req = send(
      url,
      { method, timeout: 1000, headers: { "content-length": Buffer.byteLength(text) }, ...(tls ?? {}) },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          data += c;
        });
        res.on("end", () => {
          try {
            resolve(JSON.parse(data));
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${url}: timeout`)));
    req.on("error", reject);
    req.end(text);
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface MemberState extends EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  pid: number | undefined;
  child: ChildProcess | undefined;
  log: string;
}

/**
 * Starts etcd on 127.0.0.1 (random free ports, a temporary data directory) and waits until it is
 * healthy. Call `stop()` in a `finally`/`afterAll`; the members are also killed at process exit.
 *
 * @throws Error when `etcd` is not installed or does not become healthy in time (with its log).
 * @example
 * const etcd = await startEtcd({ members: 3 });
 * try {
 *   const store = await openStore(etcd.url());
 *   await etcd.kill(await etcd.leader());
 * } finally {
 *   await etcd.stop();
 * }
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdCluster> {
  if (!etcdAvailable()) throw new Error("etcd is not installed (Debian: apt-get install etcd-server etcd-client)");
  installExitHook();
  const n = options.members ?? 1;
  const root = mkdtempSync(join(tmpdir(), "cnikit-etcd-"));
  dirs.add(root);
  const token = `cnikit-${process.pid}-${Date.now()}`;
  const members: MemberState[] = [];
  for (let i = 0; i < n; i++) {
    const dataDir = join(root, `m${i}`);
    mkdirSync(dataDir, { mode: 0o700 });
    members.push({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${await freePort()}`,
      peerUrl: `http://127.0.0.1:${await freePort()}`,
      dataDir,
      pid: undefined,
      child: undefined,
      log: "",
    });
  }
  const tls = options.tls;
  const clientTls: ClientTls | undefined = tls && {
    cert: readFileSync(tls.clientCert),
    key: readFileSync(tls.clientKey),
    ca: readFileSync(tls.ca),
  };
  if (tls) for (const m of members) m.clientUrl = m.clientUrl.replace(/^http:/, "https:");
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");

  const launch = (m: MemberState) => {
    const child = spawn(
      "etcd",
      [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=${m.clientUrl}`,
        `--advertise-client-urls=${m.clientUrl}`,
        `--listen-peer-urls=${m.peerUrl}`,
        `--initial-advertise-peer-urls=${m.peerUrl}`,
        `--initial-cluster=${initialCluster}`,
        "--initial-cluster-state=new",
        `--initial-cluster-token=${token}`,
        `--heartbeat-interval=${options.heartbeatMs ?? 100}`,
        `--election-timeout=${options.electionTimeoutMs ?? 1000}`,
        "--logger=zap",
        "--log-outputs=stderr",
        "--log-level=warn",
        ...(tls
          ? [
              `--cert-file=${tls.serverCert}`,
              `--key-file=${tls.serverKey}`,
              `--trusted-ca-file=${tls.ca}`,
              "--client-cert-auth",
            ]
          : []),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    m.child = child;
    m.pid = child.pid;
    live.add(child);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (c: string) => {
      m.log = (m.log + c).slice(-4000);
    });
    child.once("exit", () => {
      live.delete(child);
      if (m.child === child) {
        m.child = undefined;
        m.pid = undefined;
      }
    });
  };

  const waitHealthy = async (list: MemberState[]) => {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
    for (const m of list) {
      for (;;) {
        const health = (await httpJson(`${m.clientUrl}/health`, "GET", undefined, clientTls).catch(() => undefined)) as
          | { health?: string }
          | undefined;
        if (health?.health === "true") break;
        if (!m.child || Date.now() > deadline)
          throw new Error(`etcd ${m.name} did not become healthy (${m.child ? "timeout" : "exited"}):\n${m.log}`);
        await sleep(50);
      }
    }
  };

  const killMember = async (m: MemberState, signal: NodeJS.Signals) => {
    const child = m.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    url(prefix?: string) {
      const hosts = members.map((m) => m.clientUrl.replace(/^https?:\/\//, "")).join(",");
      const q = new URLSearchParams();
      if (prefix) q.set("prefix", prefix);
      if (tls)
        for (const [k, v] of [
          ["cert", tls.clientCert],
          ["key", tls.clientKey],
          ["cacert", tls.ca],
        ])
          q.set(k as string, v as string);
      const query = q.toString();
      return `etcd://${hosts}${query ? `?${query}` : ""}`;
    },
    async kill(i, signal = "SIGKILL") {
      await killMember(members[i] as MemberState, signal);
    },
    async start(i) {
      const m = members[i] as MemberState;
      if (m.child) return;
      launch(m);
      await waitHealthy([m]);
    },
    async leader() {
      for (const m of members) {
        if (!m.child) continue;
        const s = (await httpJson(`${m.clientUrl}/v3/maintenance/status`, "POST", {}, clientTls).catch(
          () => undefined,
        )) as { header?: { member_id?: string }; leader?: string } | undefined;
        if (!s?.leader) continue;
        const ids = await Promise.all(
          members.map(async (x) =>
            x.child
              ? ((await httpJson(`${x.clientUrl}/v3/maintenance/status`, "POST", {}, clientTls).catch(
                  () => undefined,
                )) as { header?: { member_id?: string } } | undefined)
              : undefined,
          ),
        );
        const idx = ids.findIndex((x) => x?.header?.member_id === s.leader);
        if (idx >= 0) return idx;
      }
      throw new Error("etcd: no member knows a leader");
    },
    async stop() {
      await Promise.all(members.map((m) => killMember(m, "SIGTERM")));
      rmSync(root, { recursive: true, force: true });
      dirs.delete(root);
    },
  };

  try {
    for (const m of members) launch(m);
    await waitHealthy(members);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/**
 * Starts a 3-member etcd cluster with a short election timeout (elections take well under a
 * second), for failover tests.
 *
 * @throws Error when `etcd` is not installed or the cluster does not become healthy in time.
 * @example
 * const etcd = await startEtcdCluster();
 * try { await etcd.kill(await etcd.leader()); } finally { await etcd.stop(); }
 */
export function startEtcdCluster(options: Omit<StartEtcdOptions, "members"> = {}): Promise<EtcdCluster> {
  return startEtcd({ heartbeatMs: 50, electionTimeoutMs: 500, ...options, members: 3 });
}
