// The libuv TCP handles against real node:net servers on loopback (IPv4 and IPv6): bytes both
// ways in order, EOF, errno names, a write after the close, and a connection that keeps nothing
// alive once unreferenced. (The HTTP client's tests run over these handles too.)
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { loadRawTcp, type Wire, type WireEvents } from "./raw-tcp.js";

const raw = loadRawTcp();
let servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  servers = [];
});

/** An echo server that ends the connection after `endAfter` bytes. */
async function echoServer(host: string, endAfter: number): Promise<number> {
  const server = net.createServer((socket) => {
    let seen = 0;
    socket.on("data", (chunk) => {
      seen += chunk.length;
      socket.write(chunk);
      if (seen >= endAfter) socket.end();
    });
    socket.on("error", () => undefined);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, r));
  return (server.address() as net.AddressInfo).port;
}

/** Connects and records what the wire reports. */
function connect(host: string, port: number) {
  const log: string[] = [];
  let received = "";
  let closed!: () => void;
  const done = new Promise<void>((r) => {
    closed = r;
  });
  const events: WireEvents = {
    connect: () => log.push("connect"),
    data: (chunk) => {
      received += chunk.toString("utf8");
    },
    error: (err) => log.push(`error ${err.code}`),
    close: () => {
      log.push("close");
      closed();
    },
  };
  const wire: Wire = (raw as NonNullable<typeof raw>).connect(host, port, events);
  return { wire, log, done, received: () => received };
}

describe("raw TCP handles", () => {
  it("are available under Node", () => {
    expect(raw).toBeDefined();
  });

  for (const host of ["127.0.0.1", "::1"]) {
    it(`${host}: writes queued before the connection is up go out in order; the peer's end closes the wire`, async () => {
      const text = "ключ-значение ".repeat(500); // > one read, multi-byte characters
      const port = await echoServer(host, Buffer.byteLength(text) * 2);
      const c = connect(host, port);
      c.wire.write(text);
      c.wire.write(text);
      await c.done;
      expect(c.received()).toBe(text + text);
      expect(c.log).toEqual(["connect", "close"]);
      expect(c.wire.done).toBe(true);
    });
  }

  it("a refused connection: the errno's name, then close; a write after it reports EPIPE", async () => {
    const port = await echoServer("127.0.0.1", 1);
    await new Promise<void>((r) => (servers.pop() as net.Server).close(() => r()));
    const c = connect("127.0.0.1", port);
    await c.done;
    expect(c.log).toEqual(["error ECONNREFUSED", "close"]);
    c.wire.write("late");
    await new Promise((r) => setTimeout(r, 10));
    expect(c.log.at(-1)).toBe("error EPIPE");
  });

  it("an unreferenced connection is not among what keeps the process alive; ref() puts it back", async () => {
    const port = await echoServer("127.0.0.1", 1_000_000);
    const c = connect("127.0.0.1", port);
    await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (c.log.includes("connect")) {
          clearInterval(t);
          r();
        }
      }, 2);
    });
    const tcp = () => process.getActiveResourcesInfo().filter((k) => k === "TCPSocketWrap").length;
    const referenced = tcp();
    c.wire.unref();
    expect(tcp()).toBe(referenced - 1);
    c.wire.ref();
    expect(tcp()).toBe(referenced);
    c.wire.destroy();
    await c.done;
  });
});
