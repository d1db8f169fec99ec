/**
 * The daemon's periodic full GC (gcEveryCalls): garbage of earlier calls is collected once
 * enough calls were answered and none is in flight.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { definePlugin } from "@cnikit/skel";
import { afterEach, describe, expect, it } from "vitest";
import { requestAgent } from "./client.js";
import { AGENT_PROTOCOL } from "./protocol.js";
import { type AgentServer, serveAgent } from "./serve.js";

let dir: string;
let server: AgentServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const refs: WeakRef<object>[] = [];
const plugin = definePlugin({
  name: "garbage",
  version: "1.0.0",
  cniVersions: ["1.1.0"],
  add: () => ({}),
  del: () => {
    // an object nothing keeps once the call is over (old enough to be promoted if it survives)
    refs.push(new WeakRef({ payload: new Array(1000).fill(refs.length) }));
  },
});

const del = (socket: string, i: number) =>
  requestAgent(socket, {
    type: AGENT_PROTOCOL.call,
    env: { CNI_COMMAND: "DEL", CNI_CONTAINERID: `c${i}`, CNI_IFNAME: "eth0", CNI_PATH: "/nonexistent" },
    stdin: Buffer.from('{"cniVersion":"1.1.0","name":"n","type":"garbage"}'),
  });

describe("serveAgent's periodic GC", () => {
  it("collects the garbage of earlier calls after gcEveryCalls answered calls, once idle", async () => {
    dir = mkdtempSync(join(tmpdir(), "cka-gc-"));
    server = await serveAgent({
      socketDir: join(dir, "run"),
      plugins: [{ name: "garbage", module: "garbage", plugin }],
      gcEveryCalls: 3,
    });
    const socket = server.sockets[0] as string;
    for (let i = 0; i < 2; i++) expect((await del(socket, i)).exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    const beforeThird = refs.filter((r) => r.deref() === undefined).length;
    expect((await del(socket, 2)).exitCode).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    // the third answered call triggered a full GC: every earlier call's object is gone
    expect(refs).toHaveLength(3);
    expect(refs.every((r) => r.deref() === undefined)).toBe(true);
    expect(beforeThird).toBeLessThanOrEqual(2);
  });
});
