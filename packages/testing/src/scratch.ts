/**
 * Per-test scratch resources made synchronously (namespaces, host link names, temporary and
 * plugin directories, a subnet) and removed together by one `cleanup()`.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_LINK_NAME } from "./names.js";
import { NETNS_RUN_DIR } from "@cnikit/ns";
import { trackTempNetns, untrackTempNetns } from "./temp-netns.js";

function run(argv: readonly string[]): { status: number | null; stderr: string } {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd as string, args, { encoding: "utf8" });
  return { status: r.status, stderr: r.error ? r.error.message : (r.stderr ?? "") };
}

function mustRunSync(argv: readonly string[]): void {
  const r = run(argv);
  if (r.status !== 0) throw new Error(`${argv.join(" ")} → exit ${r.status}: ${r.stderr.trim()}`);
}

/**
 * Options for a {@link Scratch}.
 *
 * @example
 * ```ts
 * const s = new Scratch({ prefix: "ckbr" }); // names ckbr<id><tag>
 * ```
 */
export interface ScratchOptions {
  /**
   * First letters of every namespace, link and directory name (default `ck`), e.g. to tell
   * which test left something behind. With the 6-hex id, it leaves `15 - prefix - 6`
   * characters for tags.
   */
  prefix?: string | undefined;
}

/**
 * Everything one test creates, named `<prefix><id><tag>` (prefix `ck` by default) and removed by `cleanup()` whatever state
 * the test left it in. Synchronous, so it fits config builders and `afterEach`; its namespaces
 * are also removed at process exit, like {@link createTempNetns}'s. Needs root and iproute2.
 *
 * @throws Error from `netns()` when the namespace cannot be made, from `pluginDir()` when a
 *   binary is missing, and from `cleanup()` (after removing everything else) when something
 *   could not be removed.
 * @example
 * ```ts
 * let s: Scratch;
 * afterEach(() => s?.cleanup());
 * it("ADD", async () => {
 *   s = new Scratch();
 *   const config = { cniVersion: "1.0.0", name: `cknet${s.id}`, type: "bridge", bridge: s.link("br"),
 *     ipam: { type: "host-local", subnet: s.subnet(), dataDir: s.dir("ipam") } };
 *   const run = await runPlugin(bin, { command: "ADD", config, netns: s.netns("a"), path: [s.pluginDir(plugins)] });
 * });
 * ```
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
export class Scratch {
  /** Six random hex digits in every name this scratch makes; reuse it for container IDs and network names. */
  readonly id: string = randomBytes(3).toString("hex");
  /** The first letters of every name (`ck` unless the options said otherwise). */
  readonly prefix: string;
  readonly #netns: string[] = [];
  readonly #links: string[] = [];
  readonly #dirs: string[] = [];
  readonly #steps: (() => void)[] = [];

  /**
   * @throws {RangeError} when the prefix leaves no room for a tag (longer than 8 characters).
   */
  constructor(options: ScratchOptions = {}) {
    this.prefix = options.prefix ?? "ck";
    if (this.prefix.length + this.id.length >= MAX_LINK_NAME) {
      throw new RangeError(`prefix "${this.prefix}" leaves no room for a tag in a ${MAX_LINK_NAME}-character name`);
    }
  }

  #name(tag: string): string {
    const name = `${this.prefix}${this.id}${tag}`;
    if (name.length > MAX_LINK_NAME) {
      throw new RangeError(`tag "${tag}" makes "${name}" longer than ${MAX_LINK_NAME} characters`);
    }
    return name;
  }

  /**
   * Creates the namespace `<prefix><id><tag>` with `lo` up; returns its path (CNI_NETNS).
   *
   * @throws {RangeError} when the name would be longer than 15 characters (a tag of more than 7 with prefix `ck`).
   * @throws Error when `ip netns add` fails (not root, the name is taken).
   * @example
   * ```ts
   * const a = s.netns("a"); // "/var/run/netns/ck3f9a1ca"
   * ```
   */
  netns(tag: string): string {
    const name = this.#name(tag);
    mustRunSync(["ip", "netns", "add", name]);
    trackTempNetns(name);
    this.#netns.push(name);
    mustRunSync(["ip", "-n", name, "link", "set", "lo", "up"]);
    return `${NETNS_RUN_DIR}/${name}`;
  }

  /**
   * A host link name `<prefix><id><tag>`, deleted at cleanup if it exists (e.g. the bridge the plugin creates).
   *
   * @throws {RangeError} when the name would be longer than 15 characters.
   * @example
   * ```ts
   * const config = { type: "bridge", bridge: s.link("br"), ... };
   * ```
   */
  link(tag: string): string {
    const name = this.#name(tag);
    this.#links.push(name);
    return name;
  }

  /**
   * Creates a temporary directory, removed at cleanup.
   *
   * @example
   * ```ts
   * const ipam = { type: "host-local", subnet: s.subnet(), dataDir: s.dir("ipam") };
   * ```
   */
  dir(tag = "d"): string {
    const d = mkdtempSync(join(tmpdir(), `${this.prefix}${this.id}${tag}-`));
    this.#dirs.push(d);
    return d;
  }

  /**
   * Creates a CNI_PATH directory of symlinks, plugin type → executable, removed at cleanup.
   *
   * @throws Error when an executable does not exist.
   * @example
   * ```ts
   * const path = s.pluginDir({ bridge: "dist/bridge", "host-local": "/usr/lib/cni/host-local" });
   * ```
   */
  pluginDir(plugins: Readonly<Record<string, string>>): string {
    const d = this.dir("bin");
    for (const [type, bin] of Object.entries(plugins)) {
      if (!existsSync(bin)) throw new Error(`plugin binary ${bin} missing`);
      symlinkSync(bin, join(d, type));
    }
    return d;
  }

  /**
   * A random `10.x.y.0/24` (x in 150-249) unlikely to collide with other tests' subnets.
   *
   * @example
   * ```ts
   * s.subnet(); // "10.187.42.0/24"
   * ```
   */
  subnet(): string {
    const [x = 0, y = 0] = randomBytes(2);
    return `10.${150 + (x % 100)}.${y}.0/24`;
  }

  /**
   * Registers a step run at cleanup, after namespaces, links and directories are removed.
   *
   * @example
   * ```ts
   * s.onCleanup(() => purgeMasqueradeRules(network));
   * ```
   */
  onCleanup(step: () => void): void {
    this.#steps.push(step);
  }

  /**
   * Deletes the namespaces, the links that exist and the directories, then runs the `onCleanup`
   * steps; tries everything before reporting. Calling it again does nothing.
   *
   * @throws Error (AggregateError if several) when something could not be removed or a step threw.
   * @example
   * ```ts
   * afterEach(() => s?.cleanup());
   * ```
   */
  cleanup(): void {
    const errors: unknown[] = [];
    for (const n of this.#netns.splice(0)) {
      const r = run(["ip", "netns", "delete", n]);
      if (r.status === 0 || /No such file|not found|Invalid argument/i.test(r.stderr)) untrackTempNetns(n);
      else errors.push(new Error(`removing netns ${n} failed: ${r.stderr.trim()}`));
    }
    for (const l of this.#links.splice(0)) {
      const r = run(["ip", "link", "delete", "dev", l]);
      if (r.status !== 0 && !/Cannot find device|does not exist/i.test(r.stderr)) {
        errors.push(new Error(`deleting link ${l} failed: ${r.stderr.trim()}`));
      }
    }
    for (const d of this.#dirs.splice(0)) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch (err) {
        errors.push(err);
      }
    }
    for (const step of this.#steps.splice(0)) {
      try {
        step();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length) throw new AggregateError(errors, `${errors.length} scratch cleanup steps failed`);
  }

  /**
   * Same as `cleanup()`, for `using s = new Scratch()`.
   *
   * @throws what `cleanup()` throws.
   * @example
   * ```ts
   * using s = new Scratch();
   * ```
   */
  [Symbol.dispose](): void {
    this.cleanup();
  }
}
