import type { LogRecord, SourceInfo } from '../core/record.ts';

/** What a parser knows besides the line itself. One object per source, mutated per line (no per-line allocation). */
export interface ParseContext {
  source: SourceInfo;
  /** Service name used when the line names none (source config `service`, else the source name). */
  service: string;
  /** Epoch ms when the line was read; the timestamp of last resort. */
  readTime: number;
  /** Timestamp from the container runtime (Docker `time`, CRI prefix), RFC 3339, when known. */
  runtimeTimestamp: string | undefined;
  /** Counts a parse failure (`logship_parse_errors_total{parser,reason}`); the parser still returns a record. */
  parseError(parser: string, reason: string): void;
  /**
   * Counts a line shipped as its raw text because no parser understood it
   * (`logship_parse_fallback_total{parser,reason}`): every parse error that ends so, and lines of
   * no known format (`auto`: `unrecognized`; `plain`: `no_time_or_level`).
   */
  parseFallback?(parser: string, reason: string): void;
  /**
   * Set by a parser when the record is exactly the line, a JSON object: same keys, same values,
   * only `source` to add (LogEvent.json). The caller resets it before each line.
   */
  verbatim?: boolean;
  /**
   * Set by the parser (normalize's applyTimestamp): a timestamp text it read as already canonical
   * and its epoch ms, so sinks need not parse that text again (LogEvent.parsedTimeMs). A consistent
   * pair, not necessarily the returned record's timestamp: compare the text before using the ms.
   */
  timestampText?: string;
  timestampMs?: number;
}

/**
 * A parser is a pure function of the line: it always returns a valid record (raw text in
 * `message` when the line is not of its format) and never throws.
 */
export interface Parser {
  (line: string, ctx: ParseContext): LogRecord;
  /**
   * Optional: the lines about to be parsed, in order (LineReceiver.upcoming). Only a hint: the
   * record of any line is what parsing it alone gives.
   */
  prepare?(lines: readonly string[]): void;
}
