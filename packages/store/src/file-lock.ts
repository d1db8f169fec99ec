/**
 * The file backend's inter-process lock, with node:fs only: a lock file created with O_EXCL
 * (`open(path, "wx")`) that holds `<pid> <hostname>`; a lock whose owner process is gone is
 * broken under a second O_EXCL file, after checking again that it is still the same stale lock.
 *
 * Why not flock(2): Node has no binding for it, spawning `flock(1)` would cost milliseconds per
 * write, and a native binding would be the package's first dependency.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/state.md
 */
import { closeSync, type FSWatcher, openSync, watch, writeSync } from "node:fs";
import { open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname } from "node:path";
import { StoreAuthError, StoreError, StoreTimeoutError, StoreUnavailableError } from "./errors.js";

/** How old an empty lock file or a breaker file must be before it counts as abandoned. */
const ABANDONED_MS = 2000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function createExclusive(path: string, content: string): Promise<boolean> {
  let fd: Awaited<ReturnType<typeof open>>;
  try {
    fd = await open(path, "wx", 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await fd.writeFile(content);
  } finally {
    await fd.close();
  }
  return true;
}

/** The lock attempt itself, synchronous: three system calls, no thread-pool round trips. */
function createExclusiveSync(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function ageMs(path: string): Promise<number> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return 0;
  }
}

async function unlinkQuiet(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "ENOENT") throw err;
  });
}

/** An exclusive lock on `path` shared by every process of this machine. */
export class FileLock {
  private readonly owner = `${process.pid} ${hostname()}\n`;
  private readonly host = hostname();

  constructor(readonly path: string) {}

  /**
   * Waits for the lock until `deadline` (epoch ms); answers the release function, or undefined
   * when `giveUp` (asked each time the lock changes hands while waiting) said true.
   */
  async acquire(deadline: number, giveUp?: () => Promise<boolean>): Promise<(() => Promise<void>) | undefined> {
    let watcher: FSWatcher | undefined;
    let wake: (() => void) | undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        if (createExclusiveSync(this.path, this.owner)) return () => unlinkQuiet(this.path);
        if (attempt > 0 && giveUp && (await giveUp())) return undefined;
        if (attempt === 0) {
          // inotify wakes us when the holder removes the lock; the timer is the fallback
          try {
            watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
              if (file === basename(this.path)) wake?.();
            });
            watcher.on("error", () => undefined);
          } catch {
            // no inotify: polling alone
          }
        }
        if (attempt % 8 === 7) await this.breakIfStale();
        if (Date.now() >= deadline) {
          const holder = (await readOrUndefined(this.path))?.trim() ?? "nobody";
          throw new StoreTimeoutError(`file store: lock ${this.path} still held (by ${holder}) at the deadline`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1 + Math.random() * Math.min(2 ** attempt, 20));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      watcher?.close();
    }
  }

  private isStale(content: string | undefined, age: number): boolean {
    if (content === undefined) return false;
    if (content === "") return age > ABANDONED_MS; // the owner died between create and write
    const [pid, host] = content.trim().split(" ");
    if (host !== this.host) return false; // another machine (a shared file system): cannot tell
    return !alive(Number(pid));
  }

  private async breakIfStale(): Promise<void> {
    const content = await readOrUndefined(this.path);
    if (!this.isStale(content, await ageMs(this.path))) return;
    const breaker = `${this.path}.break`;
    if (!(await createExclusive(breaker, this.owner))) {
      if ((await ageMs(breaker)) > ABANDONED_MS) await unlinkQuiet(breaker);
      return;
    }
    try {
      // only a breaker can remove a lock that is not its own, so the same content means the same stale lock
      if ((await readOrUndefined(this.path)) === content) await unlinkQuiet(this.path);
    } finally {
      await unlinkQuiet(breaker);
    }
  }
}

/** Maps a node:fs error to a store error. */
export function fsError(what: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const message = `file store: ${what}: ${(err as Error).message}`;
  return code === "EACCES" || code === "EPERM"
    ? new StoreAuthError(message, { cause: err })
    : new StoreUnavailableError(message, { cause: err });
}
