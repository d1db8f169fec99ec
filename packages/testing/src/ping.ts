/**
 * Connectivity checks between namespaces a test created.
 *
 * @see https://github.com/cnikit/cnikit/blob/main/docs/testing.md
 */
import { runCommand } from "./exec.js";
import { NetworkAssertionError } from "./assertions.js";
import { type NetnsRef, inNetns, netnsLabel } from "./netns-ref.js";

/**
 * Options for {@link ping}.
 *
 * @example
 * ```ts
 * const opts: PingOptions = { count: 5, timeoutSec: 2 };
 * await expectPing(nsA, "10.1.0.3", opts);
 * ```
 */
export interface PingOptions {
  /** Echo requests to send (default 1). */
  count?: number;
  /** Seconds to wait for each reply (default 1). */
  timeoutSec?: number;
}

/**
 * What `ping` said.
 *
 * @example
 * ```ts
 * const outcome: PingOutcome = await ping(nsA, "10.1.0.3");
 * if (!outcome.ok) console.log(outcome.output);
 * ```
 */
export interface PingOutcome {
  ok: boolean;
  output: string;
}

/**
 * Pings `address` from inside `from` (`ping -c1 -W1` run in the namespace). Only ping
 * addresses inside namespaces your test created.
 *
 * @throws Error only when `ping` cannot be run at all.
 * @example
 * ```ts
 * const { ok } = await ping(nsA, "10.1.0.3");
 * ```
 */
export async function ping(from: NetnsRef, address: string, options: PingOptions = {}): Promise<PingOutcome> {
  const count = String(options.count ?? 1);
  const wait = String(options.timeoutSec ?? 1);
  const r = await runCommand([...inNetns(from), "ping", "-n", "-c", count, "-W", wait, address], {
    timeoutMs: 30_000 + Number(count) * Number(wait) * 1000,
  });
  return { ok: r.code === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

/**
 * Asserts that `address` answers a ping from `from` (tries `count` times, default 3,
 * so a reply lost to neighbour discovery does not fail the test).
 *
 * @throws {NetworkAssertionError} with ping's output.
 * @example
 * ```ts
 * await expectPing(nsA, addressOfB);
 * ```
 */
export async function expectPing(from: NetnsRef, address: string, options: PingOptions = {}): Promise<void> {
  const tries = options.count ?? 3;
  let last: PingOutcome = { ok: false, output: "" };
  for (let i = 0; i < tries; i++) {
    last = await ping(from, address, { timeoutSec: options.timeoutSec ?? 1 });
    if (last.ok) return;
  }
  throw new NetworkAssertionError(`expected ${address} to answer ping from netns ${netnsLabel(from)}:\n${last.output}`);
}

/**
 * Asserts that `address` does not answer a ping from `from`.
 *
 * @throws {NetworkAssertionError} when it answers.
 * @example
 * ```ts
 * await expectNoPing(nsA, addressOfB);
 * ```
 */
export async function expectNoPing(from: NetnsRef, address: string, options: PingOptions = {}): Promise<void> {
  const r = await ping(from, address, options);
  if (r.ok) throw new NetworkAssertionError(`expected ${address} not to answer ping from netns ${netnsLabel(from)}:\n${r.output}`);
}
