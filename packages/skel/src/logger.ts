/**
 * A tiny leveled logger: one JSON line per entry on stderr and, optionally, appended to a
 * file. Stdout belongs to the protocol, so nothing here ever writes to it.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#error (stderr is for logs)
 * @see https://github.com/cnikit/cnikit/blob/main/docs/logging.md
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { TextSink } from "./io.js";

/**
 * Log levels, quietest last.
 *
 * @example
 * LOG_LEVELS.indexOf("warn") >= LOG_LEVELS.indexOf("info") // true: warn lines pass an info threshold
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/**
 * One of {@link LOG_LEVELS}.
 *
 * @example
 * const level: LogLevel = parseLogLevel(process.env.CNI_LOG_LEVEL);
 */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Extra structured fields of a log line.
 *
 * @example
 * const fields: LogFields = { ip: "10.1.0.5/24", bridge: "cni0" };
 * ctx.log.info("attached", fields);
 */
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

/**
 * Default level: plugins stay quiet unless asked (CNI_LOG_LEVEL).
 *
 * @example
 * parseLogLevel("", DEFAULT_LOG_LEVEL) // "warn"
 */
export const DEFAULT_LOG_LEVEL: LogLevel = "warn";

/**
 * Parses a level name (any case); unknown or empty gives `fallback`.
 *
 * @example
 * parseLogLevel("DEBUG") // "debug"
 * parseLogLevel("loud", "info") // "info"
 */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = DEFAULT_LOG_LEVEL): LogLevel {
  const v = value?.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(v ?? "") ? (v as LogLevel) : fallback;
}

/**
 * Where log lines go: stderr plus an optional file. Mutable so skel can add the file named in
 * the config once it has decoded it. Exported as a type: handlers get a {@link Logger}
 * (`ctx.log`), and {@link createLogger} accepts a sink so child loggers share one.
 *
 * @example
 * const log = createLogger({ level: "debug", stderr: process.stderr, file: "/var/log/cni/demo.log" });
 */
export class LogSink {
  /** The threshold: lines below it are dropped. */
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

  /**
   * Appends lines to `file` from now on (its directory is created). An unusable file is reported once and dropped.
   *
   * @example sink.setFile(config.logFile);
   */
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

  /**
   * Whether a line at `level` would be written.
   *
   * @example if (sink.enabled("debug")) sink.write("debug", "config", { config: JSON.stringify(config) });
   */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(this.level);
  }

  /**
   * Writes one JSON line (with the base fields) to stderr and the file, if `level` is enabled.
   *
   * @example sink.write("info", "attached", { ip: "10.1.0.5/24" });
   */
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
