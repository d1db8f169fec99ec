// The VERSION prologue: a plugin with a static list of versions answers CNI_COMMAND=VERSION
// before its bundle is evaluated, in the Node (CommonJS with and without the code cache, ES
// module) and Bun builds. The fixtures write a marker to stderr when their modules are
// evaluated; the full path is forced with CNI_LOG_LEVEL (logs go to stderr, the reply must not
// change). Stdout is a real pipe, a FIFO whose reader is gone (EPIPE), or a full non-blocking FIFO.
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildBun, buildPlugin, runBuildCli } from "@cnikit/build";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const STATIC = join(here, "fixtures/version-main.ts");
const DYNAMIC = join(here, "fixtures/version-dynamic-main.ts");
const TWO = join(here, "fixtures/version-two-main.ts");
const OWN = join(here, "fixtures/version-own-main.ts");
const IN_ENTRY = join(here, "fixtures/skel-plugin.ts");
const MARKER = "version-fixture: modules evaluated\n";
const REPLY = '{"cniVersion":"1.1.0","supportedVersions":["0.4.0","1.0.0","1.1.0"]}\n';
const EPIPE_MESSAGE = "version-fixture: could not write the reply to stdout: write EPIPE\n";

const PERL = ["/usr/bin/perl", "/bin/perl"].find((p) => existsSync(p));

let work: string;
/** The builds of the static fixture, by name, and whether each got the prologue. */
const staticBuilds: Record<string, string> = {};
const prologue: Record<string, boolean> = {};
let dynamicNode: string;
let dynamicBun: string;
let noPrologueNode: string;
let noPrologueBun: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ck-version-prologue-"));
  const node = await buildPlugin({ entry: STATIC, outfile: join(work, "cjs/vfix") });
  const plain = await buildPlugin({ entry: STATIC, outfile: join(work, "plain/vfix"), codeCache: false });
  const esm = await buildPlugin({ entry: STATIC, outfile: join(work, "esm/vfix"), format: "esm" });
  const bun = await buildBun({ entry: STATIC, outfile: join(work, "bun/vfix") });
  const shared = await buildBun({ entry: STATIC, outfile: join(work, "shared/vfix"), target: "bun-shared" });
  for (const [name, r] of Object.entries({ node, plain, esm, bun, shared })) {
    staticBuilds[name] = r.outfile;
    prologue[name] = r.versionPrologue;
  }
  const dn = await buildPlugin({ entry: DYNAMIC, outfile: join(work, "dyn/vdyn") });
  const db = await buildBun({ entry: DYNAMIC, outfile: join(work, "dyn-bun/vdyn"), target: "bun-shared" });
  expect([dn.versionPrologue, db.versionPrologue]).toEqual([false, false]);
  dynamicNode = dn.outfile;
  dynamicBun = db.outfile;
  const io = { out: () => {}, err: () => {}, cwd: work };
  expect(await runBuildCli([STATIC, "off/vfix", "--no-version-prologue"], io)).toBe(0);
  noPrologueNode = join(work, "off/vfix");
  const nb = await buildBun({ entry: STATIC, outfile: join(work, "off-bun/vfix"), versionPrologue: false });
  expect(nb.versionPrologue).toBe(false);
  noPrologueBun = nb.outfile;
}, 180_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs `file` with a clean environment (CNI_COMMAND=VERSION unless `env` says otherwise). */
function run(file: string, env: Record<string, string> = {}, input = "") {
  const r = spawnSync(file, [], {
    input,
    cwd: "/",
    env: { PATH: "/usr/local/bin:/usr/bin:/bin", CNI_COMMAND: "VERSION", ...env },
    encoding: "utf8",
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `file` with stdout on the write end of a FIFO whose reader has closed it. */
async function runEpipe(file: string, env: Record<string, string> = {}) {
  const fifo = join(work, `fifo-${Math.random().toString(36).slice(2)}`);
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  closeSync(reader);
  try {
    return await new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(file, [], {
        cwd: "/",
        stdio: ["ignore", writer, "pipe"],
        env: { PATH: "/usr/local/bin:/usr/bin:/bin", CNI_COMMAND: "VERSION", ...env },
      });
      let stderr = "";
      child.stderr?.on("data", (d: Buffer) => (stderr += d));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stderr }));
    });
  } finally {
    closeSync(writer);
    rmSync(fifo, { force: true });
  }
}

/**
 * Runs `file` with stdout on a FIFO in non-blocking mode that is already full (node's spawn
 * makes a child's stdio blocking: perl sets O_NONBLOCK again, then execs it); starts reading it
 * (through a reader of its own: node may turn the child's end blocking) once the child's stderr
 * shows the marker, or after `waitMs`. Returns what the child wrote after the filling.
 */
async function runFullPipe(file: string, waitMs: number) {
  const fifo = join(work, `fifo-${Math.random().toString(36).slice(2)}`);
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  let filled = 0;
  const block = Buffer.alloc(65536, "z");
  try {
    for (;;) filled += writeSync(writer, block);
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe("EAGAIN");
  }
  const chunks: Buffer[] = [];
  const drain = () => {
    const buf = Buffer.alloc(65536);
    try {
      for (;;) {
        const n = readSync(reader, buf);
        if (n === 0) return;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
    } catch {
      // EAGAIN: empty for now
    }
  };
  try {
    const { status, stderr } = await new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
      const setNonBlocking = "fcntl(STDOUT, F_SETFL, fcntl(STDOUT, F_GETFL, 0) | O_NONBLOCK) or die; exec @ARGV or die";
      const child = spawn(PERL as string, ["-MFcntl", "-e", setNonBlocking, file], {
        cwd: "/",
        stdio: ["ignore", writer, "pipe"],
        env: { PATH: "/usr/local/bin:/usr/bin:/bin", CNI_COMMAND: "VERSION" },
      });
      let err = "";
      let timer: NodeJS.Timeout | undefined;
      const start = () => {
        if (timer !== undefined) return;
        drain();
        timer = setInterval(drain, 10);
      };
      const wait = setTimeout(start, waitMs);
      child.stderr?.on("data", (d: Buffer) => {
        err += d;
        if (err.includes(MARKER)) start();
      });
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(wait);
        clearInterval(timer);
        resolve({ status: code, stderr: err });
      });
    });
    closeSync(writer);
    drain();
    const all = Buffer.concat(chunks);
    return {
      status,
      stderr,
      filled: all.length >= filled && all.subarray(0, filled).every((b) => b === 0x7a),
      reply: all.subarray(filled).toString(),
    };
  } finally {
    try {
      closeSync(writer);
    } catch {
      // closed above
    }
    closeSync(reader);
    rmSync(fifo, { force: true });
  }
}

describe("VERSION prologue", () => {
  it("static versions: every Node and Bun build answers VERSION without evaluating the bundle, byte for byte as the full path", () => {
    expect(prologue).toEqual({ node: true, plain: true, esm: true, bun: true, shared: true });
    for (const [name, file] of Object.entries(staticBuilds)) {
      const fast = run(file);
      expect([name, fast.status, fast.stderr, fast.stdout]).toEqual([name, 0, "", REPLY]);
      // logging asked for: the plugin itself answers (its modules are evaluated), same bytes
      const full = run(file, { CNI_LOG_LEVEL: "debug" });
      expect([name, full.status, full.stdout]).toEqual([name, 0, fast.stdout]);
      expect(full.stderr.startsWith(MARKER), `${name}: ${full.stderr}`).toBe(true);
      const logFile = join(work, `${name}.log`);
      const logged = run(file, { CNI_LOG_FILE: logFile });
      expect([name, logged.status, logged.stderr, logged.stdout]).toEqual([name, 0, MARKER, REPLY]);
      // empty means unset, as skel reads them
      const empty = run(file, { CNI_LOG_LEVEL: "", CNI_LOG_FILE: "" });
      expect([name, empty.status, empty.stderr, empty.stdout]).toEqual([name, 0, "", REPLY]);
    }
    // the reply is a string literal in the Node loader, before the code cache is read
    const loader = readFileSync(staticBuilds.node as string, "utf8");
    expect(loader.indexOf("__cnikitVersionReply()")).toBeLessThan(loader.indexOf("cachedData"));
    // the shared Bun form sets its JIT policy first, then answers
    const shared = readFileSync(staticBuilds.shared as string, "utf8");
    expect(shared.indexOf("Bun.unsafe.setJITPolicy(")).toBeGreaterThan(0);
    expect(shared.indexOf("Bun.unsafe.setJITPolicy(")).toBeLessThan(shared.indexOf("CNI_COMMAND"));
  });

  it("other commands are unaffected: ADD runs the plugin", () => {
    for (const [name, file] of Object.entries(staticBuilds)) {
      const add = run(
        file,
        {
          CNI_COMMAND: "ADD",
          CNI_CONTAINERID: "c1",
          CNI_NETNS: "/proc/1/ns/net",
          CNI_NETNS_OVERRIDE: "1",
          CNI_IFNAME: "eth0",
        },
        '{"cniVersion":"1.0.0","name":"n","type":"vfix"}',
      );
      expect([name, add.status, add.stderr]).toEqual([name, 0, MARKER]);
      expect(JSON.parse(add.stdout)).toEqual({ cniVersion: "1.0.0" });
      const unknown = run(file, { CNI_COMMAND: "version" });
      expect([name, unknown.status, unknown.stderr]).toEqual([name, 1, MARKER]);
      expect(JSON.parse(unknown.stdout).msg).toBe("unknown CNI_COMMAND: version");
    }
  });

  it("versions from a function: no prologue, the plugin answers per call", () => {
    for (const file of [dynamicNode, dynamicBun]) {
      const v = run(file);
      expect([v.status, v.stderr, v.stdout]).toEqual([
        0,
        MARKER,
        '{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}\n',
      ]);
      const other = run(file, { VERSIONS: "0.4.0" });
      expect([other.status, other.stdout]).toEqual([0, '{"cniVersion":"1.1.0","supportedVersions":["0.4.0"]}\n']);
    }
  });

  it("no prologue for two plugins, a plugin defined in the entry, or an entry answering VERSION otherwise", async () => {
    for (const [entry, name] of [
      [TWO, "two"],
      [IN_ENTRY, "in-entry"],
      [OWN, "own"],
    ] as const) {
      const r = await buildPlugin({ entry, outfile: join(work, "none", name) });
      expect([name, r.versionPrologue]).toEqual([name, false]);
    }
    const own = run(join(work, "none", "own"));
    expect([own.status, own.stderr, own.stdout]).toEqual([
      0,
      MARKER,
      '{"cniVersion":"1.1.0","supportedVersions":["1.1.0"]}\n',
    ]);
  }, 60_000);

  it("--no-version-prologue / versionPrologue: false: the plugin answers (same reply)", async () => {
    // the prologue's own failure message (skel's is a template of the plugin's name)
    const prologueText = "version-fixture: could not write the reply to stdout: ";
    expect(readFileSync(staticBuilds.node as string).includes(prologueText)).toBe(true);
    expect(readFileSync(staticBuilds.bun as string).includes(prologueText)).toBe(true);
    for (const file of [noPrologueNode, noPrologueBun]) {
      const v = run(file);
      expect([v.status, v.stderr, v.stdout]).toEqual([0, MARKER, REPLY]);
      expect(readFileSync(file).includes(prologueText)).toBe(false);
    }
    // it has nothing to turn off in the other builds
    const io = { out: () => {}, err: () => {}, cwd: work };
    for (const other of ["--snapshot", "--sea", "--agent"]) {
      expect(await runBuildCli([STATIC, "x/vfix", "--no-version-prologue", other], io), other).toBe(2);
    }
  });

  it("a reader gone (EPIPE): the same message and exit 1 as the full path", async () => {
    for (const [name, file] of Object.entries(staticBuilds)) {
      const fast = await runEpipe(file);
      expect([name, fast.status, fast.stderr]).toEqual([name, 1, EPIPE_MESSAGE]);
      // the full path (CNI_LOG_LEVEL=error logs nothing on a VERSION call)
      const full = await runEpipe(file, { CNI_LOG_LEVEL: "error" });
      expect([name, full.status, full.stderr]).toEqual([name, 1, MARKER + EPIPE_MESSAGE]);
    }
  });

  it.skipIf(PERL === undefined)(
    "a full non-blocking pipe: the whole reply once the reader drains it (Node: the plugin itself waits)",
    async () => {
      for (const [name, file] of Object.entries(staticBuilds)) {
        const bun = name === "bun" || name === "shared";
        // Node's prologue writes nothing there (the marker shows the bundle ran): skel writes
        // through the stream, which waits; reading starts only then (or after 3 s: a failure)
        const r = await runFullPipe(file, bun ? 200 : 3000);
        expect([name, r.status, r.filled, r.reply]).toEqual([name, 0, true, REPLY]);
        expect([name, r.stderr], JSON.stringify(r)).toEqual([name, bun ? "" : MARKER]);
      }
    },
  );
});
