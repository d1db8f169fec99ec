#!/usr/bin/env node
// `pnpm bench`: start-up and per-call cost of our example plugins against the Go reference
// plugins and a bare `node -e 0`, side by side in one run, plus the 100-container concurrency
// run and (when present) bench/ns-ops.mjs. Prints the tables and the targets, and writes them
// with the machine description into docs/performance.md (between the bench markers).
//
//   node bench/run.mjs [--quick] [--rounds N] [--no-write] [--skip concurrency,ns-ops,agent,...]
//
// Every invocation runs with a clean environment (exactly `env -i PATH=... CNI_*=...`), every
// round in fresh ckb<hex> namespaces/bridges/data dirs that are removed in finally.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchAgent } from "./agent.mjs";
import { benchConcurrency } from "./concurrency.mjs";
import { benchEtcdIpam } from "./etcd-ipam.mjs";
import { machineInfo } from "./lib/machine.mjs";
import { CLEAN_PATH, GNU_TIME, timedRunMeasuresRss } from "./lib/proc.mjs";
import { ROOT } from "./lib/plugins.mjs";
import { mb, ms, table } from "./lib/stats.mjs";
import { benchBridge, benchHostLocal } from "./plugins.mjs";
import { benchStartup } from "./startup.mjs";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    "no-write": { type: "boolean", default: false },
    skip: { type: "string", default: "" },
  },
});
if (process.getuid?.() !== 0) {
  process.stderr.write("bench: run as root (it creates network namespaces and bridges)\n");
  process.exit(2);
}
const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 20 : 40));
const rssRounds = quick ? 2 : 3;
const skip = new Set(values.skip.split(",").filter(Boolean));
const tty = process.stderr.isTTY;
const progress = (what) => (s) => {
  if (tty) process.stderr.write(`\r  ${what}: ${s}      `);
  else if (!s.startsWith("round ") || s.startsWith("round 1/")) process.stderr.write(`  ${what}: ${s}\n`);
};
const done = () => tty && process.stderr.write("\n");

const started = performance.now();
const machine = machineInfo();
process.stderr.write(`bench: ${rounds} rounds${quick ? " (quick)" : ""}, load ${machine.load}\n`);

const sections = [];
const missing = [];
const figures = {};

if (!skip.has("startup")) {
  const r = await benchStartup({ rounds, rssRounds, onProgress: progress("VERSION") });
  done();
  figures.startup = r.figures;
  sections.push(["Start-up: VERSION", r.markdown]);
}
if (!skip.has("host-local")) {
  const r = await benchHostLocal({ rounds, rssRounds, onProgress: progress("host-local") });
  done();
  figures.hostLocal = r.figures;
  missing.push(...r.missing);
  sections.push(["host-local ADD / DEL", r.markdown]);
}
if (!skip.has("bridge")) {
  const r = await benchBridge({ rounds, rssRounds, onProgress: progress("bridge") });
  done();
  figures.bridge = r.figures;
  missing.push(...r.missing);
  sections.push(["bridge ADD / DEL", r.markdown]);
}
if (!skip.has("concurrency")) {
  const r = await benchConcurrency({ containers: 100, parallel: 10, onProgress: progress("concurrency") });
  done();
  figures.concurrency = r.figures;
  missing.push(...r.missing);
  sections.push(["Concurrency: 100 containers on one bridge", r.markdown]);
}
if (!skip.has("etcd-ipam")) {
  const r = await benchEtcdIpam({ rounds, onProgress: progress("etcd-ipam") });
  done();
  figures.etcdIpam = r.figures;
  missing.push(...r.missing);
  sections.push([
    "etcd-ipam: one-shot ADD over etcd (1 member, loopback) vs host-local; 200 ADDs from 4 hosts",
    r.markdown,
  ]);
}
if (!skip.has("agent")) {
  const r = await benchAgent({ rounds, rssRounds, containers: 100, parallel: 10, onProgress: progress("agent") });
  done();
  figures.agent = r.figures;
  missing.push(...r.missing);
  sections.push(["Agent mode: the shim and cnikit-agent", r.markdown]);
}
const nsOps = join(ROOT, "bench", "ns-ops.mjs");
if (!skip.has("ns-ops") && existsSync(nsOps)) {
  process.stderr.write("  ns-ops: running bench/ns-ops.mjs\n");
  const r = spawnSync(process.execPath, [nsOps, quick ? "20" : "40"], {
    env: { PATH: CLEAN_PATH },
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
    timeout: 120_000,
  });
  const out = r.stdout?.toString().trim() ?? "";
  sections.push([
    "@cnikit/ns operations (bench/ns-ops.mjs)",
    r.status === 0 && out
      ? out.startsWith("|")
        ? out
        : `\`\`\`text\n${out}\n\`\`\``
      : `bench/ns-ops.mjs failed (exit ${r.status}): ${r.stderr?.toString().trim().slice(0, 500)}`,
  ]);
}

// ---- targets ----
const T = [];
const target = (name, value, limit, unit, shown) =>
  T.push([
    name,
    Number.isFinite(value) ? (shown ?? value.toFixed(2) + unit) : "not measured",
    `≤ ${limit}${unit}`,
    Number.isFinite(value) ? (value <= limit ? "met" : "NOT met") : "–",
  ]);
// the reference's own time says what kind of moment the run was (docs/performance.md: "How stable the ratios are")
/** A "× reference" target: `ours / ref`, shown with the reference's time (`what` names it). */
const ratioTarget = (name, ours, ref, limit, what) => {
  const value = ours / ref;
  target(name, value, limit, "×", Number.isFinite(value) ? `${value.toFixed(2)}× (${what} ${ms(ref)} ms)` : undefined);
};
const s = figures.startup ?? {};
const h = figures.hostLocal ?? {};
const b = figures.bridge ?? {};
const c = figures.concurrency ?? {};
for (const [id, kind] of [
  ["ts", "dist"],
  ["ts-snapshot", "snapshot build"],
  ["ts-sea", "SEA + snapshot build"],
  ["ts-cjs", "CJS build"],
  ["ts-esm", "ESM build"],
]) {
  if (!b[id] && !h[id]) continue;
  ratioTarget(`our bridge ADD × Go bridge ADD (${kind})`, b[id]?.add, b.go?.add, 3.5, "Go");
  ratioTarget(`our bridge DEL × Go bridge DEL (${kind})`, b[id]?.del, b.go?.del, 2, "Go");
  ratioTarget(`our host-local ADD × node -e 0 (${kind})`, h[id]?.add, h.node?.add, 1.3, "node -e 0");
  target(`our host-local VERSION × node -e 0 (${kind})`, s[`${id}-host-local`]?.median / s.node?.median, 1.15, "×");
  target(`our bridge VERSION × node -e 0 (${kind})`, s[`${id}-bridge`]?.median / s.node?.median, 1.15, "×");
  const rssMax = Math.max(h[id]?.rss ?? Number.NaN, b[id]?.rss ?? Number.NaN);
  target(`peak RSS of a plugin ADD (${kind})`, rssMax / 1024, 50, " MB", `${mb(rssMax)} MB`);
}
// Bun builds: the targets of a one-shot plugin that starts like Go's
for (const [id, kind] of [
  ["ts-bun", "Bun executable"],
  ["ts-bun-shared", "Bun shared runtime"],
]) {
  if (!b[id] && !h[id] && !s[`${id}-bridge`]) continue;
  ratioTarget(`our bridge ADD × Go bridge ADD (${kind})`, b[id]?.add, b.go?.add, 1.5, "Go");
  ratioTarget(`our bridge DEL × Go bridge DEL (${kind})`, b[id]?.del, b.go?.del, 1.2, "Go");
  ratioTarget(
    `our bridge VERSION × Go bridge VERSION (${kind})`,
    s[`${id}-bridge`]?.median,
    s["go-bridge"]?.median,
    2,
    "Go",
  );
  ratioTarget(`our bridge + our host-local ADD × Go pair ADD (${kind})`, b[`pair-${id}`]?.add, b.go?.add, 2, "Go pair");
  const rssMax = Math.max(...[h[id]?.rss, b[id]?.rss, b[`pair-${id}`]?.rss].filter(Number.isFinite));
  target(`peak RSS of a plugin ADD (${kind})`, rssMax / 1024, 25, " MB", `${mb(rssMax)} MB`);
}
// agent mode (the agent issue's targets)
const a = figures.agent ?? {};
if (a.go) {
  ratioTarget("agent bridge ADD × Go bridge ADD (IPAM: ours in the daemon vs Go's)", a.agent?.add, a.go.add, 0.6, "Go");
  ratioTarget("agent bridge DEL × Go bridge DEL", a.agent?.del, a.go.del, 1, "Go");
  ratioTarget("VERSION through the shim × Go bridge VERSION", a.agent?.version, a.go.version, 1, "Go");
  target("peak RSS of the shim (ADD)", a.agent?.rss / 1024, 3, " MB", `${mb(a.agent?.rss)} MB`);
  const d = a.daemon;
  if (d)
    target(
      `cnikit-agent RSS after ~${d.calls + 400} calls`,
      d.afterConcurrency.rssKb / 1024,
      80,
      " MB",
      `${mb(d.afterConcurrency.rssKb)} MB (${mb(d.before.rssKb)} MB after warm-up; fds ${d.before.fds} → ${d.afterConcurrency.fds})`,
    );
  const p = a.concurrency;
  if (p) {
    const wall = (p.agent.addMs + p.agent.delMs) / (p.go.addMs + p.go.delMs);
    T.push([
      "agent: 100 containers, 10 at a time, wall time × the Go pair",
      `${wall.toFixed(2)}× (${p.agent.distinct} distinct IPs, ${p.agent.addFailures + p.agent.delFailures} failures)`,
      "≤ 1×, 100, 0",
      p.agent.ok && wall <= 1 ? "met" : "NOT met",
    ]);
  }
}
for (const [id, r] of Object.entries(c)) {
  if (id === "go") continue;
  T.push([
    `${r.label}: 100 containers, 10 at a time`,
    `${r.distinct} distinct IPs, ${r.addFailures + r.delFailures} failures, ${r.leasesLeft} leases left; ADD ${ms(r.addMs)} ms / DEL ${ms(r.delMs)} ms (Go ${ms(c.go?.addMs)} / ${ms(c.go?.delMs)} ms)`,
    "100, 0, 0",
    r.ok ? "met" : "NOT met",
  ]);
}
const e = figures.etcdIpam ?? {};
if (e.etcd) {
  target(
    "etcd-ipam one-shot ADD × our host-local one-shot ADD",
    e.etcd.add / e["host-local"]?.add,
    1.3,
    "×",
    `${(e.etcd.add / e["host-local"]?.add).toFixed(2)}× (host-local ${ms(e["host-local"]?.add)} ms)`,
  );
  if (e.agent)
    target(
      "etcd-ipam ADD under agent mode (shim → cnikit-agent), median",
      e.agent.add,
      5,
      " ms",
      `${ms(e.agent.add)} ms`,
    );
  T.push([
    "etcd-ipam: 200 one-shot ADDs from 4 hosts, 16 at a time",
    `${e.big.distinct} distinct, ${e.big.failures} failures; wall ${ms(e.big.wall)} ms, p99 ${ms(e.big.p99)} ms`,
    "200, 0",
    e.big.distinct === 200 && e.big.failures === 0 ? "met" : "NOT met",
  ]);
}
sections.push(["Targets", table(["target", "reached", "limit", ""], T)]);

const seconds = ((performance.now() - started) / 1000).toFixed(0);
const machineMd = table(
  ["cpu", "cores", "memory", "kernel", "node", "date", "load at start"],
  [[machine.cpu, machine.cores, machine.memory, machine.kernel, machine.node, machine.date, machine.load]],
);
const notes = [
  `${rounds} rounds per table${quick ? " (--quick)" : ""}, medians; ${
    timedRunMeasuresRss()
      ? "every call spawned and timed by the bench runner (bench/lib/runner.c: posix_spawn from a small process, so no time is the harness's fork); peak RSS = max over the rounds of ru_maxrss (the plugin and every process it waited for)"
      : `the bench runner could not be built (no C compiler): times include the harness's fork; peak RSS = max of ${rssRounds} extra rounds under ${GNU_TIME ? "GNU time (`%M`)" : "— GNU time is not installed (Debian package `time`), RSS not measured"}`
  }. Run time ${seconds} s; load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")} (other processes share the cores: ratios from the same rounds are what to compare).`,
  missing.length ? `Not built, so not measured: ${missing.join(", ")} (run \`pnpm build\`).` : "",
]
  .filter(Boolean)
  .join("\n");
const body = [`Machine:\n\n${machineMd}\n\n${notes}`, ...sections.map(([title, md]) => `### ${title}\n\n${md}`)].join(
  "\n\n",
);

process.stdout.write(`\n${body}\n`);

if (!values["no-write"]) {
  const doc = join(ROOT, "docs", "performance.md");
  const BEGIN = "<!-- bench:begin (generated by `pnpm bench`; edits inside are overwritten) -->";
  const END = "<!-- bench:end -->";
  const generated = `${BEGIN}\n\n${body}\n\n${END}`;
  let text = existsSync(doc) ? readFileSync(doc, "utf8") : `# Performance\n\n## Latest benchmark\n\n${BEGIN}\n${END}\n`;
  const a = text.indexOf("<!-- bench:begin");
  const z = text.indexOf(END);
  text =
    a >= 0 && z > a
      ? text.slice(0, a) + generated + text.slice(z + END.length)
      : `${text.trimEnd()}\n\n## Latest benchmark\n\n${generated}\n`;
  writeFileSync(doc, text);
  process.stderr.write(`bench: wrote ${doc}\n`);
}
