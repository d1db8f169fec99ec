import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildPluginEnv, createRawExec, execPlugin, nodeSpawn, type RawExec, rawExec } from "../src/index.js";
import { buildFixture } from "../../../tools/build-fixture.js";
import { sink, writeScript } from "./helpers.js";

// Every case runs with both ways of starting a process: the outcome must be the same.
describe.each([
  ["rawExec (@cnikit/native's posixSpawn, one at a time)", rawExec],
  ["createRawExec(nodeSpawn) (child_process)", createRawExec(nodeSpawn)],
] as [string, RawExec][])("%s / execPlugin with the real noop plugin", (_name, exec) => {
  let dir: string;
  let noop: string;
  let debugFile: string;
  const stdin = '{"cniVersion":"1.0.0","name":"ckraw","type":"noop","some":"stdin"}';
  const debug = (d: Record<string, unknown>) => writeFileSync(debugFile, JSON.stringify(d));
  const call = (extra: Partial<Parameters<typeof execPlugin>[0]> = {}) =>
    execPlugin({
      pluginPath: noop,
      command: "ADD",
      stdin,
      containerId: "some-container-id",
      netns: "/some/netns/path",
      ifName: "eth0",
      args: `DEBUG=${debugFile}`,
      path: "/some/bin/path",
      stderr: null,
      exec,
      ...extra,
    });

  beforeAll(async () => {
    noop = await buildFixture("examples/noop");
    dir = mkdtempSync(join(tmpdir(), "cnikit-rawexec-"));
    debugFile = join(dir, "debug.json");
  }, 120_000);
  beforeEach(() => debug({}));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives the plugin the stdin and environment", async () => {
    debug({ reportResult: '{ "some": "result" }' });
    await call();
    const recorded = JSON.parse(readFileSync(debugFile, "utf8"));
    expect(recorded.command).toBe("ADD");
    expect(recorded.cmdArgs).toMatchObject({
      stdin,
      netns: "/some/netns/path",
      containerId: "some-container-id",
      ifName: "eth0",
      path: "/some/bin/path",
    });
  });

  it("returns the plugin's stdout verbatim", async () => {
    debug({ reportResult: '{ "some": "result" }' });
    await expect(call()).resolves.toBe('{ "some": "result" }');
  });

  it("forwards the plugin's stderr to the given writer", async () => {
    debug({ reportResult: '{ "some": "result" }', reportStderr: "some stderr message" });
    const err = sink();
    await call({ stderr: err });
    expect(err.text()).toBe("some stderr message");
  });

  it("turns the plugin's error JSON into a CniError with its code", async () => {
    debug({ reportError: "banana" });
    await expect(call()).rejects.toMatchObject({ name: "CniError", message: "banana", msg: "banana", code: 999 });
    debug({ reportError: "bad config", reportErrorCode: 7 });
    await expect(call()).rejects.toMatchObject({ msg: "bad config", code: 7 });
  });

  it("includes stderr when the plugin fails without output", async () => {
    debug({ exitWithCode: 1, reportStderr: "some stderr message" });
    await expect(call()).rejects.toThrow('netplugin failed: "some stderr message": exit status 1');
  });

  it("says so when the plugin fails with neither stdout nor stderr", async () => {
    debug({ exitWithCode: 1 });
    await expect(call()).rejects.toThrow("netplugin failed with no error message: exit status 1");
  });

  it("reports a binary that does not exist by its path", async () => {
    const missing = join(dir, "does-not-exist");
    await expect(call({ pluginPath: missing })).rejects.toThrow(
      `netplugin failed with no error message: fork/exec ${missing}: no such file or directory`,
    );
  });

  it("includes malformed diagnostic output in the error", async () => {
    const bad = writeScript(join(dir, "bad"), "echo 'this is not json'; exit 1");
    await expect(call({ pluginPath: bad })).rejects.toThrow(
      /^netplugin failed but error parsing its diagnostic message "this is not json\\n": /,
    );
  });

  it("keeps code, msg and details of a failing plugin; forwards stderr too", async () => {
    const p = writeScript(
      join(dir, "detailed"),
      `echo '{"cniVersion":"1.0.0","code":11,"msg":"busy","details":"try later"}'; echo oops >&2; exit 1`,
    );
    const err = sink();
    await expect(call({ pluginPath: p, stderr: err })).rejects.toMatchObject({
      code: 11,
      msg: "busy",
      details: "try later",
      message: "busy; try later",
    });
    expect(err.text()).toBe("oops\n");
  });

  it("reports death by signal like Go", async () => {
    const p = writeScript(join(dir, "killed"), "kill -9 $$");
    await expect(call({ pluginPath: p })).rejects.toThrow("netplugin failed with no error message: signal: killed");
  });

  it("names the signal, not a JSON parse error, when a plugin is killed halfway through its output", async () => {
    const p = writeScript(join(dir, "halfway"), `printf '{"cniVersion":"1.1.0","ips":[{"addr'; kill -KILL $$`);
    const err = await call({ pluginPath: p }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 999, msg: "netplugin failed: signal: killed" });
    expect((err as { details: string }).details).toBe(`partial output before the signal: ${JSON.stringify('{"cniVersion":"1.1.0","ips":[{"addr')}`);
  });

  it("kills a plugin that outlives the timeout", async () => {
    const p = writeScript(join(dir, "slow"), "exec sleep 30");
    const t0 = Date.now();
    await expect(call({ pluginPath: p, timeoutMs: 200 })).rejects.toThrow(`netplugin ${p} timed out after 200 ms`);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("kills a plugin when the signal aborts", async () => {
    const p = writeScript(join(dir, "slow2"), "exec sleep 30");
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error("runtime shutting down")), 100);
    await expect(call({ pluginPath: p, signal: ac.signal })).rejects.toThrow(/aborted: runtime shutting down/);
    await expect(call({ pluginPath: p, signal: AbortSignal.abort() })).rejects.toThrow(/aborted/);
  });

  it("reports a file that is not executable like Go", async () => {
    const plain = join(dir, "plain");
    writeFileSync(plain, "#!/bin/sh\n");
    await expect(call({ pluginPath: plain })).rejects.toThrow(
      `netplugin failed with no error message: fork/exec ${plain}: permission denied`,
    );
  });

  it("does not fail when the plugin ignores stdin", async () => {
    const p = writeScript(join(dir, "nostdin"), "echo '{}'");
    await expect(call({ pluginPath: p, stdin: "x".repeat(1 << 20) })).resolves.toBe("{}\n");
  });

  it("retries while the binary is busy being written (ETXTBSY)", async () => {
    const p = join(dir, "busy");
    copyFileSync(noop, p);
    const fd = openSync(p, "r+");
    setTimeout(() => closeSync(fd), 1200);
    debug({ reportResult: '{"cniVersion":"1.0.0"}' });
    const t0 = Date.now();
    await expect(
      exec({
        pluginPath: p,
        stdin,
        env: buildPluginEnv({
          command: "ADD",
          containerId: "c",
          netns: "/n",
          ifName: "eth0",
          args: `DEBUG=${debugFile}`,
          path: "/x",
        }),
        stderr: null,
      }),
    ).resolves.toBeDefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });
});

describe("rawExec's spawner", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "cnikit-rawexec-many-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs ten plugins at once (posix_spawn for one, child_process for the others), each with its own stdin and env", async () => {
    const p = writeScript(join(dir, "echo"), 'printf "%s %s" "$(cat)" "$CNI_CONTAINERID"');
    const outs = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        rawExec({ pluginPath: p, stdin: `in${i}`, env: { PATH: "/usr/bin:/bin", CNI_CONTAINERID: `c${i}` }, stderr: null }),
      ),
    );
    expect(outs.map((o) => Buffer.from(o).toString())).toEqual(Array.from({ length: 10 }, (_, i) => `in${i} c${i}`));
  });

  it("passes args after argv[0] with child_process too (nodeSpawn)", async () => {
    const out = await createRawExec(nodeSpawn)({
      pluginPath: "/bin/sh",
      args: ["-c", 'printf "%s,%s" "$0" "$1"', "zero", "one"],
      stdin: "",
      env: {},
      stderr: null,
    });
    expect(Buffer.from(out).toString()).toBe("zero,one");
  });
});
