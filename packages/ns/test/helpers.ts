import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { Netns } from "../src/index.js";

/** `ck` + hex, ≤ 15 chars: unique per call. */
export function uniq(prefix = "ck", bytes = 4): string {
  return `${prefix}${randomBytes(bytes).toString("hex")}`.slice(0, 15);
}

/** Creates named netns, runs fn, always closes and removes them. */
export async function withNetns<T>(count: number, fn: (...ns: Netns[]) => Promise<T>): Promise<T> {
  const created: Netns[] = [];
  try {
    for (let i = 0; i < count; i++) created.push(await Netns.create(uniq("ckns", 5)));
    return await fn(...created);
  } finally {
    for (const ns of created) {
      const name = ns.path.split("/").pop() ?? "";
      ns.close();
      await Netns.remove(name).catch(() => {});
    }
  }
}

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function nsName(ns: Netns): string {
  return ns.path.split("/").pop() ?? "";
}

/** ping once from inside a netns (only addresses in netns the test created). */
export function ping(from: Netns, addr: string, attempts = 3): boolean {
  for (let i = 0; i < attempts; i++) {
    try {
      execFileSync("ip", ["netns", "exec", nsName(from), "ping", "-c1", "-W1", addr], { stdio: "ignore" });
      return true;
    } catch {
      /* links just came up (IPv6 needs a moment here): try again */
    }
  }
  return false;
}
