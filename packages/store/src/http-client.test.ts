// The HTTP/1.1 client against a real node:net server on loopback that writes answers byte by byte
// as scripted: Content-Length, chunked (split anywhere, extensions, trailers, upper-case sizes),
// read-until-close, keep-alive reuse, malformed answers, timeouts, aborts, streams.
import * as net from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HttpClient, type HttpClientOptions, HttpRequestError, ResponseParser } from "./http-client.js";
import { loadRawTcp } from "./raw-tcp.js";

interface SeenRequest {
  conn: number;
  head: string;
  body: string;
}

type Responder = (req: SeenRequest, socket: net.Socket) => void | Promise<void>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A raw server: parses each request (head + Content-Length body) and hands it to `respond`. */
async function rawServer(respond: Responder) {
  const seen: SeenRequest[] = [];
  const sockets = new Set<net.Socket>();
  let conns = 0;
  const server = net.createServer((socket) => {
    const conn = ++conns;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buf = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.subarray(0, end).toString("latin1");
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        const body = buf.subarray(end + 4, end + 4 + length).toString("utf8");
        buf = buf.subarray(end + 4 + length);
        const req = { conn, head, body };
        seen.push(req);
        void respond(req, socket);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    seen,
    connections: () => conns,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Writes `text` one byte per write, with a pause every few bytes so they arrive apart. */
async function trickle(socket: net.Socket, text: string) {
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i++) {
    socket.write(bytes.subarray(i, i + 1));
    if (i % 7 === 0) await sleep(1);
  }
}

const chunked = (parts: string[], trailer = "") =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${parts
    .map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`)
    .join("")}0\r\n${trailer}\r\n`;

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

/** How the tests' clients connect: every HttpClient test runs over both. */
const transports: [string, HttpClientOptions][] = [
  ["libuv TCP handles (raw-tcp.ts)", { rawTcp: loadRawTcp() }],
  ["node:net", { net }],
];
let clientOptions: HttpClientOptions = { net };

it("Node's TCP handles are reachable here (else the client falls back to node:net)", () => {
  expect(loadRawTcp()).toBeDefined();
});

async function setup(respond: Responder) {
  const server = await rawServer(respond);
  const client = new HttpClient(clientOptions);
  cleanup.push(() => server.close(), () => client.close());
  return { server, client };
}

describe.each(transports)("HttpClient over %s", (_name, options) => {
  beforeEach(() => {
    clientOptions = options;
  });

  it("sends a well-formed POST and reads a Content-Length answer; keeps the connection alive", async () => {
    const { server, client } = await setup((req, socket) => {
      const body = JSON.stringify({ echo: JSON.parse(req.body) });
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
    const payload = JSON.stringify({ key: "ключ", n: 1 });
    for (let i = 0; i < 3; i++) {
      const r = await client.request(server.url, "/v3/kv/range", payload, { timeoutMs: 2000 });
      expect(r.status).toBe(200);
      expect(r.headers.get("content-length")).toBe(String(r.body.length));
      expect(JSON.parse(r.body.toString("utf8"))).toEqual({ echo: { key: "ключ", n: 1 } });
    }
    expect(server.connections()).toBe(1);
    const [first] = server.seen;
    expect(first?.head).toMatch(/^POST \/v3\/kv\/range HTTP\/1\.1\r\n/);
    expect(first?.head).toContain(`\r\nHost: ${server.url.host}`);
    expect(first?.head).toContain(`\r\nContent-Length: ${Buffer.byteLength(payload)}`);
    expect(first?.body).toBe(payload);
  });

  it("decodes a chunked answer written one byte at a time (extensions, upper-case sizes, trailers) and reuses the connection", async () => {
    const big = "x".repeat(300);
    const wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;name=value\r\nhello\r\n" +
      `${(300).toString(16).toUpperCase()}\r\n${big}\r\n` +
      "3\r\n\u00e9!\r\n" + // 3 bytes of UTF-8
      "0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n";
    const { server, client } = await setup(async (_req, socket) => {
      await trickle(socket, wire);
    });
    const r = await client.request(server.url, "/a", "{}", { timeoutMs: 5000 });
    expect(r.body.toString("utf8")).toBe(`hello${big}\u00e9!`);
    const again = await client.request(server.url, "/a", "{}", { timeoutMs: 5000 });
    expect(again.body.toString("utf8")).toBe(`hello${big}\u00e9!`);
    expect(server.connections()).toBe(1);
  });

  it("a chunked answer in one write with the next answer's bytes absent: the size line, data and CRLF split across packets", async () => {
    const { server, client } = await setup(async (_req, socket) => {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1");
      await sleep(5);
      socket.write("0\r\n0123456789abc");
      await sleep(5);
      socket.write("def\r");
      await sleep(5);
      socket.write("\n0\r");
      await sleep(5);
      socket.write("\n\r\n");
    });
    const r = await client.request(server.url, "/b", "{}", { timeoutMs: 5000 });
    expect(r.body.toString()).toBe("0123456789abcdef");
  });

  it("an empty chunked body and a Content-Length: 0 answer", async () => {
    let n = 0;
    const { server, client } = await setup((_req, socket) => {
      socket.write(
        n++ === 0
          ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
          : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
      );
    });
    expect((await client.request(server.url, "/c", "{}")).body.length).toBe(0);
    const r = await client.request(server.url, "/c", "{}");
    expect(r.status).toBe(404);
    expect(server.connections()).toBe(1);
  });

  it("skips an interim 100 Continue", async () => {
    const { server, client } = await setup((_req, socket) => {
      socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    expect((await client.request(server.url, "/d", "{}")).body.toString()).toBe("ok");
  });

  it("reads to the end of the connection when there is no length, and does not reuse it", async () => {
    const { server, client } = await setup(async (_req, socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ");
      await sleep(5);
      socket.end("part two");
    });
    expect((await client.request(server.url, "/e", "{}")).body.toString()).toBe("part one, part two");
    expect((await client.request(server.url, "/e", "{}")).body.toString()).toBe("part one, part two");
    expect(server.connections()).toBe(2);
  });

  it("Connection: close and HTTP/1.0 answers: the next request opens a new connection", async () => {
    let n = 0;
    const { server, client } = await setup((_req, socket) => {
      socket.write(
        n++ === 0
          ? "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\na"
          : "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb",
      );
    });
    expect((await client.request(server.url, "/f", "{}")).body.toString()).toBe("a");
    expect((await client.request(server.url, "/f", "{}")).body.toString()).toBe("b");
    expect((await client.request(server.url, "/f", "{}")).body.toString()).toBe("b");
    expect(server.connections()).toBe(3);
  });

  it("a connection the server closed while idle is not used again", async () => {
    const { server, client } = await setup((_req, socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      setTimeout(() => socket.end(), 10);
    });
    await client.request(server.url, "/g", "{}");
    await sleep(60);
    expect((await client.request(server.url, "/g", "{}")).body.toString()).toBe("ok");
    expect(server.connections()).toBe(2);
  });

  it("the connection closes in the middle of a chunk: ECONNRESET, sent", async () => {
    const { server, client } = await setup((_req, socket) => {
      socket.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01234");
    });
    const err = await client.request(server.url, "/h", "{}").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpRequestError);
    expect(err).toMatchObject({ code: "ECONNRESET", sent: true, timeout: false });
    expect((err as Error).message).toMatch(/closed in the middle of the answer/);
  });

  it("closed before any byte of the answer", async () => {
    const { server, client } = await setup((_req, socket) => {
      socket.destroy();
    });
    const err = await client.request(server.url, "/h", "{}").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ECONNRESET", sent: true });
    expect((err as Error).message).toMatch(/closed before an answer/);
  });

  it("malformed answers: a bad chunk size, a chunk longer than its size, not HTTP, a bad Content-Length", async () => {
    const answers = [
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", /bad chunk size line "zz"/],
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", /longer than its size/],
      ["SSH-2.0-OpenSSH\r\n\r\n", /not an HTTP\/1\.x answer/],
      ["HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", /bad content-length "-1"/],
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", /unsupported transfer-encoding "gzip"/],
    ] as const;
    let n = 0;
    const { server, client } = await setup((_req, socket) => {
      socket.write((answers[n++] as (typeof answers)[number])[0]);
    });
    for (const [, message] of answers) {
      const err = await client.request(server.url, "/i", "{}", { timeoutMs: 2000 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "HTTP_PARSE", sent: true });
      expect((err as Error).message).toMatch(message);
    }
  });

  it("a server that never answers: ETIMEDOUT at the deadline, marked sent and timeout", async () => {
    const { server, client } = await setup(() => undefined);
    const t0 = Date.now();
    const err = await client.request(server.url, "/j", "{}", { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(err).toMatchObject({ code: "ETIMEDOUT", sent: true, timeout: true });
    expect((err as Error).message).toBe(`${server.url.host}/j: no answer within 150 ms`);
  });

  it("a refused connection: not sent", async () => {
    const { server } = await setup(() => undefined);
    const url = server.url;
    await server.close();
    const client = new HttpClient(clientOptions);
    const err = await client.request(url, "/k", "{}", { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "ECONNREFUSED", sent: false });
    client.close();
  });

  it("an abort signal ends the request at once", async () => {
    const { server, client } = await setup(() => undefined);
    const ac = new AbortController();
    const p = client.request(server.url, "/l", "{}", { signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await expect(p).rejects.toMatchObject({ code: "ABORT_ERR" });
    const pre = new AbortController();
    pre.abort();
    await expect(client.request(server.url, "/l", "{}", { signal: pre.signal })).rejects.toMatchObject({ code: "ABORT_ERR" });
  });

  it("after close(), requests fail without connecting", async () => {
    const { server, client } = await setup(() => undefined);
    client.close();
    await expect(client.request(server.url, "/m", "{}")).rejects.toMatchObject({ code: "ERR_CLIENT_CLOSED", sent: false });
    expect(server.connections()).toBe(0);
  });

  it("streams a long-poll chunked answer as it arrives (a watch): lines split across chunks; close() ends it", async () => {
    let socketOf: net.Socket | undefined;
    const { server, client } = await setup(async (_req, socket) => {
      socketOf = socket;
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      const send = (s: string) => socket.write(`${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`);
      send('{"result":{"created":true}}\n{"res');
      await sleep(10);
      send('ult":{"events":[1]}}\n');
    });
    const pieces: string[] = [];
    let status = 0;
    let ended: HttpRequestError | undefined | "not yet" = "not yet";
    const close = client.stream(
      server.url,
      "/v3/watch",
      "{}",
      {
        head: (s) => {
          status = s;
        },
        data: (c) => pieces.push(c.toString()),
        end: (e) => {
          ended = e;
        },
      },
      { timeoutMs: 2000 },
    );
    for (let i = 0; i < 200 && pieces.join("").split("\n").length < 3; i++) await sleep(5);
    expect(status).toBe(200);
    expect(pieces.join("")).toBe('{"result":{"created":true}}\n{"result":{"events":[1]}}\n');
    expect(ended).toBe("not yet"); // still open: a long poll
    close();
    await sleep(20);
    expect(ended).toMatchObject({ code: "ABORT_ERR" });
    expect(socketOf?.destroyed || socketOf?.readableEnded).toBeTruthy();
  });

  it("a stream whose server ends the chunked answer reports a clean end", async () => {
    const { server, client } = await setup((_req, socket) => {
      socket.write(chunked(['{"a":1}\n', '{"b":2}\n']));
    });
    const got = await new Promise<{ text: string; error: unknown }>((resolve) => {
      let text = "";
      client.stream(server.url, "/s", "{}", {
        head() {},
        data: (c) => {
          text += c.toString();
        },
        end: (error) => resolve({ text, error }),
      });
    });
    expect(got).toEqual({ text: '{"a":1}\n{"b":2}\n', error: undefined });
  });
});

describe("ResponseParser", () => {
  it("reports bytes after the end of an answer", () => {
    const events: string[] = [];
    const p = new ResponseParser({
      head: (s) => events.push(`head ${s}`),
      data: (c) => events.push(`data ${c}`),
      end: () => events.push("end"),
    });
    p.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"));
    expect(events).toEqual(["head 200", "data ok", "end"]);
    expect(p.trailingGarbage).toBe(true);
    expect(p.keepAlive).toBe(true);
  });

  it("refuses a header larger than 64 KiB", () => {
    const p = new ResponseParser({ head() {}, data() {}, end() {} });
    expect(() => p.push(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${"a".repeat(70_000)}`))).toThrow(/header is too large/);
  });
});
