// The machine a benchmark ran on.
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";

/** cpu model, cores, memory, kernel, node version, date, load at start. */
export function machineInfo() {
  let model = cpus()[0]?.model?.trim() ?? "unknown";
  try {
    const m = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m);
    if (m) model = m[1].trim();
  } catch {}
  return {
    cpu: model,
    cores: cpus().length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: release(),
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    load: loadavg()
      .map((l) => l.toFixed(2))
      .join(" "),
  };
}
