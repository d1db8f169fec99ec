// What the etcd-ipam tests share: one call of the built plugin, a bounded pool of concurrent
// jobs, the keys under a prefix.
import { openStore } from "@cnikit/store";
import { runPlugin } from "@cnikit/testing";

/** One finished call: exit code, the JSON it printed (result or error), its duration. */
export interface Call {
  code: number | null;
  json: any;
  ms: number;
  out: string;
  /** performance.now() when it started and ended. */
  start: number;
  end: number;
}

/** Runs the built plugin once (ADD and CHECK in `netns`). */
export async function callPlugin(
  bin: string,
  netns: string,
  command: string,
  conf: object,
  opts: { containerId?: string; ifName?: string } = {},
): Promise<Call> {
  const start = performance.now();
  const r = await runPlugin(bin, {
    command,
    config: conf,
    netns: command === "ADD" || command === "CHECK" ? netns : undefined,
    containerId: opts.containerId ?? "ctr",
    ifName: opts.ifName ?? "eth0",
    path: ["/usr/lib/cni"],
  });
  return { code: r.exitCode, json: r.result ?? r.error, ms: r.durationMs, out: r.stdout + r.stderr, start, end: performance.now() };
}

/** The address an ADD answered. */
export const addressOf = (c: Call): string => c.json?.ips?.[0]?.address;

/** Runs `jobs` with at most `limit` running at a time. */
export async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await (jobs[i] as () => Promise<T>)();
      }
    }),
  );
  return out;
}

/** The keys under `prefix` in the store at `url`. */
export async function keys(url: string, prefix: string): Promise<string[]> {
  const store = await openStore(url);
  try {
    return (await store.range(prefix)).kvs.map((kv) => kv.key);
  } finally {
    await store.close();
  }
}
