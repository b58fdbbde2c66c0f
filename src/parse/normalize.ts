import type { Level, LogRecord } from '../core/record.ts';
import type { TimeReader } from './time.ts';
import type { ParseContext } from './types.ts';
import { lookupTable } from '../core/lookup-table.ts';

const LEVEL_ALIASES: Record<string, Level> = lookupTable({
  trace: 'TRACE', trc: 'TRACE', finest: 'TRACE', finer: 'TRACE', all: 'TRACE',
  debug: 'DEBUG', dbg: 'DEBUG', fine: 'DEBUG', verbose: 'DEBUG', config: 'DEBUG', d: 'DEBUG', debug1: 'DEBUG', debug2: 'DEBUG', debug3: 'DEBUG',
  info: 'INFO', inf: 'INFO', information: 'INFO', informational: 'INFO', notice: 'INFO', i: 'INFO', log: 'INFO', ok: 'INFO', default: 'INFO',
  warn: 'WARN', warning: 'WARN', wrn: 'WARN', w: 'WARN',
  error: 'ERROR', err: 'ERROR', eror: 'ERROR', e: 'ERROR', severe: 'ERROR', fail: 'ERROR', failure: 'ERROR',
  fatal: 'FATAL', crit: 'FATAL', critical: 'FATAL', alert: 'FATAL', emerg: 'FATAL', emergency: 'FATAL', panic: 'FATAL', dpanic: 'FATAL', f: 'FATAL',
});
for (const l of ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const) LEVEL_ALIASES[l] = l;
for (const [k, v] of Object.entries(LEVEL_ALIASES)) LEVEL_ALIASES[k.toUpperCase()] ??= v;

/**
 * Any logger's level as the schema's upper-case level: names in any case (`warning`, `CRIT`,
 * `Information`), slog offsets (`INFO+2`, `DEBUG-4`), pino/bunyan numbers 10..60. Undefined
 * when not a level.
 */
export function levelOf(value: unknown): Level | undefined {
  if (typeof value === 'string') {
    // The schema's own spellings by comparison first: a property lookup with a string fresh from
    // JSON.parse (not internalized) first looks the string up in V8's string table (~50 ns).
    switch (value) {
      case 'INFO': return 'INFO';
      case 'ERROR': return 'ERROR';
      case 'WARN': return 'WARN';
      case 'DEBUG': return 'DEBUG';
      case 'FATAL': return 'FATAL';
      case 'TRACE': return 'TRACE';
    }
    const direct = LEVEL_ALIASES[value];
    if (direct !== undefined) return direct;
    if (value.length === 0 || value.length > 16) return undefined;
    let v = value.trim().toLowerCase();
    const sign = Math.max(v.indexOf('+'), v.indexOf('-'));
    if (sign > 0) v = v.slice(0, sign); // slog "INFO+2"
    if (LEVEL_ALIASES[v] !== undefined) return LEVEL_ALIASES[v];
    if (v.length > 0 && v.length <= 2 && /^\d+$/.test(v)) return levelOf(Number(v));
    return undefined;
  }
  if (typeof value === 'number') {
    // pino / bunyan numeric levels
    if (value >= 60) return 'FATAL';
    if (value >= 50) return 'ERROR';
    if (value >= 40) return 'WARN';
    if (value >= 30) return 'INFO';
    if (value >= 20) return 'DEBUG';
    if (value >= 10) return 'TRACE';
  }
  return undefined;
}

/** Syslog severity 0..7 → level. */
export function syslogSeverityLevel(sev: number): Level {
  if (sev <= 2) return 'FATAL';
  if (sev === 3) return 'ERROR';
  if (sev === 4) return 'WARN';
  if (sev === 7) return 'DEBUG';
  return 'INFO';
}

/** The level an HTTP status implies for access logs. */
export function httpStatusLevel(status: number | undefined, clientErrorLevel: Level): Level {
  if (status === undefined) return 'INFO';
  if (status >= 500) return 'ERROR';
  if (status >= 400) return clientErrorLevel;
  return 'INFO';
}

/**
 * Sets the record's timestamp: the line's own time when it has one, else the container
 * runtime's, else the read time (marked `metadata.timestamp_source: "read_time"`). A time more
 * than 10 minutes after the read time is clamped to the read time, counted as a parse error
 * (reason `future_timestamp`) and kept in `metadata.original_timestamp`. `time` is the parser's
 * own TimeReader: it also hands on the epoch ms of the last canonical timestamp it read
 * (ParseContext.timestampText/timestampMs, a consistent pair whatever record it belongs to).
 */
export function applyTimestamp(rec: LogRecord, iso: string | undefined, ctx: ParseContext, parser: string, time: TimeReader): void {
  time.readTime(ctx.readTime);
  ctx.timestampText = time.lastCanonical;
  ctx.timestampMs = time.lastCanonicalMs;
  if (iso === undefined) {
    if (ctx.runtimeTimestamp) {
      rec.timestamp = ctx.runtimeTimestamp;
      return;
    }
    rec.timestamp = time.readIso;
    (rec.metadata ??= {}).timestamp_source = 'read_time';
    return;
  }
  // RFC 3339 UTC strings with 4-digit years order like the instants they name (to the ms).
  if (iso > time.readLimitIso) {
    ctx.parseError(parser, 'future_timestamp');
    const m = (rec.metadata ??= {});
    m.timestamp_source = 'clamped';
    m.original_timestamp = iso;
    rec.timestamp = time.readIso;
    return;
  }
  rec.timestamp = iso;
}

/**
 * A line no parser understood, shipped as its raw text and counted as a fallback
 * (`logship_parse_fallback_total{parser,reason}`). Not a parse error: nothing was malformed.
 */
export function fallbackRecord(line: string, ctx: ParseContext, parser: string, reason: string, time: TimeReader): LogRecord {
  ctx.parseFallback?.(parser, reason);
  return plainRecord(line, ctx, time);
}

/** A line of `parser`'s format that it could not read: a counted parse error, shipped as raw text (and a fallback). */
export function unparsedRecord(line: string, ctx: ParseContext, parser: string, reason: string, time: TimeReader): LogRecord {
  ctx.parseError(parser, reason);
  return fallbackRecord(line, ctx, parser, reason, time);
}

/** A record for a line that carries nothing but text. */
export function plainRecord(line: string, ctx: ParseContext, time: TimeReader): LogRecord {
  const rec: LogRecord = { timestamp: '', level: 'INFO', service: ctx.service, message: line, source: ctx.source };
  applyTimestamp(rec, undefined, ctx, 'plain', time);
  return rec;
}
