// The synchronous stdin/stdout helpers of plugin.main(), with a scripted fs: partial reads and
// writes, EAGAIN (fall back to the stream), EINTR, EPIPE, the size limit.
import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FdSink, readFdSync, type SyncFs } from "./stdio.js";

function errno(code: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: scripted`) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

/** An fs whose reads return the scripted chunks (an Error is thrown), then EOF. */
function scriptedReads(script: Array<string | Buffer | Error>): SyncFs {
  const steps = [...script];
  return {
    readSync: (_fd, buffer, offset, length) => {
      const step = steps.shift();
      if (step === undefined) return 0;
      if (step instanceof Error) throw step;
      const bytes = typeof step === "string" ? Buffer.from(step) : step;
      if (bytes.length > length) {
        steps.unshift(bytes.subarray(length));
      }
      const n = Math.min(length, bytes.length);
      buffer.set(bytes.subarray(0, n), offset);
      return n;
    },
    writeSync: () => {
      throw new Error("not used");
    },
  };
}

function text(chunks: Buffer[]): string {
  return Buffer.concat(chunks).toString();
}

describe("readFdSync", () => {
  it("reads every chunk to EOF", () => {
    const r = readFdSync(0, 1000, scriptedReads(['{"a":', "1}", "\n"]));
    expect(r.done).toBe(true);
    expect(r.size).toBe(8);
    expect(text(r.chunks)).toBe('{"a":1}\n');
  });

  it("empty input: done, nothing read", () => {
    const r = readFdSync(0, 1000, scriptedReads([]));
    expect(r).toEqual({ done: true, chunks: [], size: 0 });
  });

  it("input larger than the 64 KiB first buffer arrives whole, in order", () => {
    const big = Buffer.alloc(300 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const r = readFdSync(0, 1024 * 1024, scriptedReads([big]));
    expect(r.done).toBe(true);
    expect(Buffer.concat(r.chunks).equals(big)).toBe(true);
  });

  it("retries EINTR", () => {
    const r = readFdSync(0, 1000, scriptedReads(["ab", errno("EINTR"), "cd"]));
    expect(text(r.chunks)).toBe("abcd");
  });

  it("EAGAIN (non-blocking fd, no data yet): stops with what it has, not done", () => {
    const r = readFdSync(0, 1000, scriptedReads(["abc", errno("EAGAIN"), "never"]));
    expect(r.done).toBe(false);
    expect(r.size).toBe(3);
    expect(text(r.chunks)).toBe("abc");
  });

  it("refuses more than the limit", () => {
    expect(() => readFdSync(0, 5, scriptedReads(["abc", "def"]))).toThrow("input is larger than 5 bytes");
  });

  it("other read errors are thrown", () => {
    expect(() => readFdSync(0, 5, scriptedReads([errno("EIO")]))).toThrow(/EIO/);
  });

  it("reads a real file descriptor", () => {
    const dir = mkdtempSync(join(tmpdir(), "cnikit-stdio-"));
    try {
      const file = join(dir, "conf.json");
      writeFileSync(file, '{"cniVersion":"1.1.0"}');
      const fd = openSync(file, "r");
      try {
        const r = readFdSync(fd, 1000);
        expect(r.done).toBe(true);
        expect(text(r.chunks)).toBe('{"cniVersion":"1.1.0"}');
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A collecting stand-in for process.stdout. */
function fakeStream(queued = 0) {
  const written: string[] = [];
  const stream = {
    writableLength: queued,
    write: (chunk: string | Uint8Array) => {
      written.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
      return true;
    },
  };
  return { written, stream: stream as unknown as NodeJS.WriteStream };
}

/** An FdSink whose fs and process stream are scripted. */
class TestSink extends FdSink {
  created = 0;
  constructor(
    fs: SyncFs,
    private readonly state: { existing: NodeJS.WriteStream | undefined | "unknown"; stream: NodeJS.WriteStream },
  ) {
    super(1, "stdout", fs);
  }
  protected override existing() {
    return this.state.existing;
  }
  protected override processStream() {
    this.created++;
    return this.state.stream;
  }
}

/** An fs whose writes take at most `max` bytes each; a step that is an Error is thrown instead. */
function scriptedWrites(max: number, script: Array<Error | undefined> = []) {
  const out: Buffer[] = [];
  const fs: SyncFs = {
    readSync: () => 0,
    writeSync: (_fd, buffer, offset, length) => {
      const step = script.shift();
      if (step) throw step;
      const n = Math.min(max, length);
      out.push(Buffer.from(buffer.subarray(offset, offset + n)));
      return n;
    },
  };
  return { fs, out };
}

describe("FdSink", () => {
  it("writes everything with writeSync, looping over partial writes, without creating the stream", () => {
    const { fs, out } = scriptedWrites(7);
    const s = fakeStream();
    const sink = new TestSink(fs, { existing: undefined, stream: s.stream });
    expect(sink.write('{"cniVersion":"1.1.0","ips":[]}\n')).toBe(true);
    expect(Buffer.concat(out).toString()).toBe('{"cniVersion":"1.1.0","ips":[]}\n');
    expect(out.length).toBeGreaterThan(1);
    expect(sink.created).toBe(0);
    expect(sink.stream).toBeUndefined();
  });

  it("multi-byte text is written as UTF-8 bytes", () => {
    const { fs, out } = scriptedWrites(3);
    const sink = new TestSink(fs, { existing: undefined, stream: fakeStream().stream });
    sink.write("héllo ✓\n");
    expect(Buffer.concat(out).toString("utf8")).toBe("héllo ✓\n");
  });

  it("EAGAIN: the rest, and later writes, go through the stream", () => {
    const { fs, out } = scriptedWrites(4, [undefined, errno("EAGAIN")]);
    const s = fakeStream();
    const sink = new TestSink(fs, { existing: undefined, stream: s.stream });
    sink.write("abcdefghij");
    sink.write("-next");
    expect(Buffer.concat(out).toString()).toBe("abcd");
    expect(s.written.join("")).toBe("efghij-next");
    expect(sink.stream).toBe(s.stream);
    expect(sink.error).toBeUndefined();
  });

  it("EINTR is retried", () => {
    const { fs, out } = scriptedWrites(100, [errno("EINTR")]);
    const sink = new TestSink(fs, { existing: undefined, stream: fakeStream().stream });
    sink.write("abc");
    expect(Buffer.concat(out).toString()).toBe("abc");
  });

  it("EPIPE: kept as `write EPIPE`, later writes dropped", () => {
    const { fs, out } = scriptedWrites(2, [undefined, errno("EPIPE")]);
    const s = fakeStream();
    const sink = new TestSink(fs, { existing: undefined, stream: s.stream });
    expect(sink.write("abcdef")).toBe(false);
    expect(sink.error?.message).toBe("write EPIPE");
    expect((sink.error as NodeJS.ErrnoException).code).toBe("EPIPE");
    expect(sink.write("more")).toBe(false);
    expect(Buffer.concat(out).toString()).toBe("ab");
    expect(s.written).toEqual([]);
  });

  it("a stream that exists with queued data keeps being used (order)", () => {
    const { fs, out } = scriptedWrites(100);
    const s = fakeStream(10);
    const sink = new TestSink(fs, { existing: s.stream, stream: s.stream });
    sink.write("reply");
    expect(out).toEqual([]);
    expect(s.written).toEqual(["reply"]);
  });

  it("a stream that exists with nothing queued is bypassed", () => {
    const { fs, out } = scriptedWrites(100);
    const s = fakeStream(0);
    const sink = new TestSink(fs, { existing: s.stream, stream: s.stream });
    sink.write("reply");
    expect(Buffer.concat(out).toString()).toBe("reply");
    expect(s.written).toEqual([]);
  });

  it("untracked getter (may exist): writes through the stream, as Node would", () => {
    const { fs, out } = scriptedWrites(100);
    const s = fakeStream();
    const sink = new TestSink(fs, { existing: "unknown", stream: s.stream });
    sink.write("reply");
    expect(out).toEqual([]);
    expect(s.written).toEqual(["reply"]);
  });
});
