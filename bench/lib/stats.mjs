// Small statistics helpers for the benchmark (no dependencies).

/** Median of a list of numbers (NaN for an empty list). */
export function median(values) {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The p-th percentile (0..100), nearest-rank. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

/** Formats milliseconds with one decimal. */
export function ms(value) {
  return Number.isFinite(value) ? value.toFixed(1) : "–";
}

/** Formats a ratio like `2.31×`. */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "–";
}

/** Formats kilobytes as MB with one decimal. */
export function mb(kb) {
  if (!Number.isFinite(kb)) return "–";
  // the kernel's RSS counters are per-CPU batches: a process of a few pages can read as 0 KB
  return kb < 0.05 * 1024 ? "< 0.1" : (kb / 1024).toFixed(1);
}

/** Renders a GitHub-flavoured markdown table. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]?.length ?? 0)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(all[0]), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...all.slice(1).map(line)].join("\n");
}

/** Rotates `list` left by `n` (so every subject takes every position across rounds). */
export function rotate(list, n) {
  const k = ((n % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}
