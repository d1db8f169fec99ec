// Runs subjects side by side: every round runs every subject once, in rotated order, so
// machine noise (other load, CPU frequency) hits all of them alike. Each subject's round is
// set up fresh (new netns, bridge, data dir) and torn down in `finally`.
import { GNU_TIME, describeFailure, rssRun, timedRun, timedRunMeasuresRss } from "./proc.mjs";
import { median, rotate } from "./stats.mjs";

/**
 * @typedef {{ file: string, args?: string[], env: Record<string,string>, input?: string,
 *             check?: (r: { status: number|null, stdout: string, stderr: string }) => string | undefined }} Invocation
 * @typedef {{ id: string, label: string,
 *             setup: () => { steps: Record<string, Invocation | (() => Invocation)>, cleanup: () => void } }} Subject
 */

/** Pause after each subject's round (ms): see runScenario. */
export const SETTLE_MS = 50;

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function settle(ms) {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

/**
 * Runs `rounds` timed rounds. Peak RSS comes from every timed round when the bench runner
 * measures it (runner.mjs); without it, from `rssRounds` extra rounds under GNU time.
 * @param {{ subjects: Subject[], rounds: number, rssRounds?: number, onProgress?: (s: string) => void, settleMs?: number }} options
 * @returns {Map<string, { label: string, steps: Record<string, { times: number[], rss: number[], failures: number, error?: string }> }>}
 */
export function runScenario({ subjects, rounds, rssRounds = 3, onProgress, settleMs = SETTLE_MS }) {
  const results = new Map(subjects.map((s) => [s.id, { label: s.label, steps: {} }]));
  const total = rounds + (GNU_TIME && !timedRunMeasuresRss() ? rssRounds : 0);
  for (let round = 0; round < total; round++) {
    const measureRss = round >= rounds;
    for (const subject of rotate(subjects, round)) {
      const entry = results.get(subject.id);
      if (entry.gaveUp) continue;
      const { steps, cleanup } = subject.setup();
      try {
        for (const [name, stepOrFn] of Object.entries(steps)) {
          const step = typeof stepOrFn === "function" ? stepOrFn() : stepOrFn;
          entry.steps[name] ??= { times: [], rss: [], failures: 0 };
          const slot = entry.steps[name];
          const opts = { env: step.env, input: step.input ?? "" };
          const r = measureRss ? rssRun(step.file, step.args ?? [], opts) : timedRun(step.file, step.args ?? [], opts);
          const problem = r.status !== 0 ? describeFailure(r) : step.check?.(r);
          if (problem) {
            slot.failures++;
            slot.error ??= problem;
            break; // the later steps of this round depend on this one
          }
          if (measureRss) slot.rss.push(r.kb);
          else {
            slot.times.push(r.ms);
            if (Number.isFinite(r.kb)) slot.rss.push(r.kb);
          }
        }
      } finally {
        cleanup();
        // `ip netns del` returns before the kernel has torn the namespace down (that runs later
        // on a kernel worker, with RCU grace periods): let it finish before the next subject's
        // measurement instead of charging it to whoever runs next
        settle(settleMs);
      }
      // a subject that never worked is not retried forever (its first error is reported)
      const done = Object.values(entry.steps);
      if (done.some((s) => s.failures >= 3) && done.every((s) => s.times.length === 0 && s.rss.length === 0))
        entry.gaveUp = true;
    }
    onProgress?.(`round ${round + 1}/${total}`);
  }
  return results;
}

/** Median time of one step, NaN when it never succeeded. */
export function medianOf(results, id, step) {
  return median(results.get(id)?.steps[step]?.times ?? []);
}

/** Peak RSS (max over the rounds that measured it) of one step in KB. */
export function peakRssOf(results, id, step) {
  const rss = results.get(id)?.steps[step]?.rss ?? [];
  return rss.length ? Math.max(...rss) : Number.NaN;
}
