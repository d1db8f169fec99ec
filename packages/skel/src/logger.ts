/**
 * A tiny leveled logger: one JSON line per entry on stderr and, optionally, appended to a
 * file. Stdout belongs to the protocol, so nothing here ever writes to it.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#result (stderr is for logs)
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { TextSink } from "./io.js";

/** Log levels, quietest last. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Extra structured fields of a log line. */
export type LogFields = Record<string, unknown>;

/**
 * The logger handlers receive as `ctx.log`.
 *
 * @example
 * log.info("attached", { ip: "10.1.0.5/24" });
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger adding `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Default level: plugins stay quiet unless asked (CNI_LOG_LEVEL). */
export const DEFAULT_LOG_LEVEL: LogLevel = "warn";

/** Parses a level name (any case); unknown or empty gives `fallback`. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = DEFAULT_LOG_LEVEL): LogLevel {
  const v = value?.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(v ?? "") ? (v as LogLevel) : fallback;
}

/**
 * Where log lines go: stderr plus an optional file. Mutable so skel can add the file named in
 * the config once it has decoded it.
 * @internal
 */
export class LogSink {
  level: LogLevel;
  private file: string | undefined;
  private readonly stderr: TextSink;
  /** Fields on every line (plugin, command, containerId). */
  readonly base: LogFields;

  constructor(options: {
    level: LogLevel;
    stderr: TextSink;
    file?: string | undefined;
    base?: LogFields;
  }) {
    this.level = options.level;
    this.stderr = options.stderr;
    this.base = { ...options.base };
    this.setFile(options.file);
  }

  /** Appends lines to `file` from now on (its directory is created). An unusable file is reported once and dropped. */
  setFile(file: string | undefined): void {
    if (!file || file === this.file) return;
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.file = file;
    } catch (err) {
      this.file = undefined;
      this.stderr.write(`${this.format("warn", "cannot open log file", { file, error: err })}\n`);
    }
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(this.level);
  }

  write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (!this.enabled(level)) return;
    const line = `${this.format(level, msg, fields)}\n`;
    this.stderr.write(line);
    if (this.file) {
      try {
        appendFileSync(this.file, line);
      } catch (err) {
        const file = this.file;
        this.file = undefined;
        this.stderr.write(`${this.format("warn", "cannot write log file", { file, error: err })}\n`);
      }
    }
  }

  private format(level: LogLevel, msg: string, fields: LogFields | undefined): string {
    const entry = {
      time: new Date().toISOString(),
      level,
      ...this.base,
      msg,
      ...fields,
    };
    try {
      return JSON.stringify(entry, jsonSafe);
    } catch {
      return JSON.stringify({
        time: entry.time,
        level,
        ...this.base,
        msg,
        fields: "[unserializable]",
      });
    }
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    const out: Record<string, unknown> = {
      name: value.name,
      message: value.message,
    };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    return out;
  }
  return value;
}

/**
 * A logger writing to `sink` with extra `fields` on each line.
 * @example
 * const log = createLogger({ level: "info", stderr: process.stderr, base: { plugin: "demo" } });
 */
export function createLogger(
  options: LogSink | { level: LogLevel; stderr: TextSink; file?: string; base?: LogFields },
  fields: LogFields = {},
): Logger {
  const sink = options instanceof LogSink ? options : new LogSink(options);
  const at = (level: LogLevel) => (msg: string, extra?: LogFields) =>
    sink.write(level, msg, extra ? { ...fields, ...extra } : fields);
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => createLogger(sink, { ...fields, ...more }),
  };
}
