/**
 * In-process delegation inside one daemon process (this test process serves the plugins): what
 * a delegate run in process gives back is what an executed one gives back.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { delegateAdd, delegateDel } from "@cnikit/invoke";
import { definePlugin } from "@cnikit/skel";
import { CniError } from "@cnikit/spec";
import { afterEach, describe, expect, it } from "vitest";
import { type AgentServer, serveAgent } from "./serve.js";

let dir: string;
let server: AgentServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A served plugin whose ADD waits for its abort signal, DEL fails, and CHECK echoes its env. */
const seen: { aborted: unknown[]; env: Record<string, string | undefined>[] } = { aborted: [], env: [] };
const slow = definePlugin({
  name: "slow",
  version: "1.0.0",
  cniVersions: ["1.0.0", "1.1.0"],
  add: (ctx) =>
    new Promise((_, reject) => {
      const stop = () => {
        seen.aborted.push(ctx.signal.reason);
        reject(ctx.signal.reason);
      };
      if (ctx.signal.aborted) stop();
      else ctx.signal.addEventListener("abort", stop);
    }),
  del: (ctx) => {
    seen.env.push({ ...ctx.env });
    throw new CniError(7, "no such thing", "in the details");
  },
});

/** The built shim (`pnpm build` of this package). */
const SHIM = fileURLToPath(new URL("../dist/shim", import.meta.url));

/**
 * A CNI bin dir: `slow` is the real shim, its sidecar naming our socket (fallback: a script
 * exiting 99); `slow-sh` a script that is no shim, with the same sidecar beside it.
 */
function binDir(): string {
  expect(existsSync(SHIM), `${SHIM} is missing: run pnpm build`).toBe(true);
  const bin = join(dir, "bin");
  mkdirSync(bin);
  copyFileSync(SHIM, join(bin, "slow"));
  chmodSync(join(bin, "slow"), 0o755);
  writeFileSync(join(bin, "fallback-99"), "#!/bin/sh\nexit 99\n");
  chmodSync(join(bin, "fallback-99"), 0o755);
  // relative to the shim's directory, as cnikit-build --agent writes it
  const sidecar = JSON.stringify({ socket: "../run/slow.sock", fallback: "fallback-99" });
  writeFileSync(join(bin, "slow.agent.json"), sidecar);
  writeFileSync(
    join(bin, "slow-sh"),
    `#!/bin/sh\nif [ "$CNI_COMMAND" = ADD ]; then exec sleep 5; fi\necho '{"code":7,"msg":"no such thing","details":"in the details"}'\nexit 1\n`,
  );
  chmodSync(join(bin, "slow-sh"), 0o755);
  writeFileSync(join(bin, "slow-sh.agent.json"), sidecar);
  return bin;
}

const conf = '{"cniVersion":"1.1.0","name":"n","type":"caller"}';

describe("in-process delegation", () => {
  it("runs a delegate whose sidecar names a served socket here, with the same errors and timeouts as an executed one", async () => {
    dir = mkdtempSync(join(tmpdir(), "cka-inproc-"));
    const sockDir = join(dir, "run");
    server = await serveAgent({
      socketDir: sockDir,
      plugins: [{ name: "slow", module: "slow", plugin: slow }],
      path: "/usr/bin:/bin",
    });
    const bin = binDir();
    const ctx = {
      stdin: conf,
      env: {
        CNI_PATH: bin,
        CNI_CONTAINERID: "c1",
        CNI_NETNS: "/var/run/netns/x",
        CNI_IFNAME: "eth0",
        NODE_OPTIONS: "--inspect",
      },
    };

    // DEL: the plugin's own error, code/msg/details kept and wrapped, as from the executed script
    const inProc = await delegateDel("slow", ctx, { errorPrefix: "IPAM plugin slow" }).catch((e: CniError) => e);
    const executed = await delegateDel("slow-sh", ctx, { errorPrefix: "IPAM plugin slow" }).catch((e: CniError) => e);
    expect(inProc).toBeInstanceOf(CniError);
    expect((inProc as CniError).toJSON()).toEqual((executed as CniError).toJSON());
    expect((inProc as CniError).toJSON()).toMatchObject({
      code: 7,
      msg: "IPAM plugin slow: no such thing",
      details: "in the details",
    });
    // slow-sh has the same sidecar beside it but is no shim: it was executed
    expect(server.stats.slow).toMatchObject({ requests: 1, inProcess: 1, failures: 1 });
    // the delegate got the CNI_* variables and the daemon's PATH, nothing else
    expect(seen.env.at(-1)).toMatchObject({
      CNI_COMMAND: "DEL",
      CNI_CONTAINERID: "c1",
      CNI_PATH: bin,
      PATH: "/usr/bin:/bin",
    });
    expect(seen.env.at(-1)?.NODE_OPTIONS).toBeUndefined();

    // ADD with a timeout: the same error as a killed process, and the plugin's signal aborts
    const t = await delegateAdd("slow", ctx, { timeoutMs: 100 }).catch((e: CniError) => e);
    const te = await delegateAdd("slow-sh", ctx, { timeoutMs: 100 }).catch((e: CniError) => e);
    expect((t as CniError).code).toBe(999);
    expect((t as CniError).message).toBe(`plugin slow: netplugin ${join(bin, "slow")} timed out after 100 ms`);
    expect((te as CniError).message).toBe(`plugin slow-sh: netplugin ${join(bin, "slow-sh")} timed out after 100 ms`);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.aborted).toHaveLength(1);

    // the caller's abort signal
    const controller = new AbortController();
    const pending = delegateAdd("slow", { ...ctx, signal: controller.signal }).catch((e: CniError) => e);
    controller.abort(new Error("stop"));
    expect(((await pending) as CniError).message).toBe(`plugin slow: netplugin ${join(bin, "slow")} aborted: stop`);

    // once the daemon is closed, the shim is executed again: no socket, so its fallback (exit 99)
    await server.close();
    server = undefined;
    const after = await delegateDel("slow", ctx).catch((e: CniError) => e);
    expect((after as CniError).message).toBe("plugin slow: netplugin failed with no error message: exit status 99");
  });

  it("executes the shim when in-process delegation is off or its sidecar names another socket", async () => {
    dir = mkdtempSync(join(tmpdir(), "cka-inproc-"));
    const sockDir = join(dir, "run");
    server = await serveAgent({
      socketDir: sockDir,
      plugins: [{ name: "slow", module: "slow", plugin: slow }],
      inProcessDelegates: false,
    });
    const bin = binDir();
    const ctx = { stdin: conf, env: { CNI_PATH: bin, CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_IFNAME: "eth0" } };
    // off: the shim is executed and comes back over the socket
    const off = await delegateDel("slow", ctx).catch((e: CniError) => e);
    expect((off as CniError).toJSON()).toMatchObject({ code: 7, msg: "plugin slow: no such thing" });
    expect(server.stats.slow).toMatchObject({ requests: 1, inProcess: 0 });
    await server.close();
    server = await serveAgent({ socketDir: sockDir, plugins: [{ name: "slow", module: "slow", plugin: slow }] });
    writeFileSync(
      join(bin, "slow.agent.json"),
      JSON.stringify({ socket: "/run/elsewhere/slow.sock", fallback: "fallback-99" }),
    );
    const other = await delegateDel("slow", ctx).catch((e: CniError) => e);
    expect((other as CniError).message).toBe("plugin slow: netplugin failed with no error message: exit status 99");
    expect(server.stats.slow?.requests).toBe(0);
  });
});
