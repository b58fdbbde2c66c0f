import type { Level, LogRecord } from '../record.ts';
import type { ParseContext } from './types.ts';

const LEVEL_ALIASES: Record<string, Level> = {
  trace: 'TRACE', trc: 'TRACE', finest: 'TRACE', finer: 'TRACE',
  debug: 'DEBUG', dbg: 'DEBUG', fine: 'DEBUG', verbose: 'DEBUG', d: 'DEBUG',
  info: 'INFO', inf: 'INFO', information: 'INFO', informational: 'INFO', notice: 'INFO', i: 'INFO', log: 'INFO',
  warn: 'WARN', warning: 'WARN', wrn: 'WARN', w: 'WARN',
  error: 'ERROR', err: 'ERROR', eror: 'ERROR', e: 'ERROR', severe: 'ERROR',
  fatal: 'FATAL', crit: 'FATAL', critical: 'FATAL', alert: 'FATAL', emerg: 'FATAL', emergency: 'FATAL', panic: 'FATAL', dpanic: 'FATAL', f: 'FATAL',
};

/** Maps any logger's level (name in any case, pino/bunyan numbers) to the schema's upper-case level. */
export function normalizeLevel(value: unknown, fallback: Level = 'INFO'): Level {
  if (typeof value === 'string') {
    const direct = LEVEL_ALIASES[value] ?? LEVEL_ALIASES[value.toLowerCase()];
    return direct ?? fallback;
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
  return fallback;
}

/**
 * Normalizes a timestamp to RFC 3339 UTC, keeping sub-millisecond digits when the input has
 * them. Accepts ISO strings (any offset), epoch seconds / ms / µs / ns (number or digits).
 * Returns undefined when it cannot be understood.
 */
export function normalizeTimestamp(value: unknown): string | undefined {
  if (typeof value === 'number') return fromEpochNumber(value);
  if (typeof value !== 'string' || value.length === 0) return undefined;
  // Fast path: already RFC 3339 UTC "YYYY-MM-DDTHH:MM:SS(.frac)Z" — keep as is (with its precision).
  if (value.length >= 20 && value.charCodeAt(value.length - 1) === 90 /* Z */ && value.charCodeAt(10) === 84 /* T */ && value.charCodeAt(4) === 45) {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : value;
  }
  if (/^\d{9,19}(\.\d+)?$/.test(value)) return fromEpochNumber(Number(value), value);
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(value);
  if (m) {
    const frac = m[3] ?? '';
    const zone = m[4] ? (m[4].toUpperCase() === 'Z' ? 'Z' : m[4].length === 5 ? `${m[4].slice(0, 3)}:${m[4].slice(3)}` : m[4]) : 'Z';
    const ms = Date.parse(`${m[1]}T${m[2]}${frac ? '.' + frac.slice(0, 3).padEnd(3, '0') : ''}${zone}`);
    if (Number.isNaN(ms)) return undefined;
    return withFraction(ms, frac);
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

function fromEpochNumber(n: number, text?: string): string | undefined {
  if (!Number.isFinite(n) || n <= 0) return undefined;
  if (text !== undefined && /^\d{19}$/.test(text)) {
    // nanoseconds: keep every digit
    const ms = Number(text.slice(0, 13));
    return withFraction(ms, text.slice(10));
  }
  let ms: number;
  if (n < 1e11) ms = n * 1000; // seconds (with fraction)
  else if (n < 1e14) ms = n; // milliseconds
  else if (n < 1e17) ms = n / 1000; // microseconds
  else ms = n / 1e6; // nanoseconds
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** ISO string for `ms` with the given fraction digits (up to 9) instead of the millisecond ones. */
function withFraction(ms: number, frac: string): string {
  const iso = new Date(ms).toISOString();
  if (frac.length <= 3) return iso;
  return `${iso.slice(0, 19)}.${frac.slice(0, 9)}Z`;
}

/** A record for a line that carries nothing but text. */
export function plainRecord(line: string, ctx: ParseContext): LogRecord {
  return {
    timestamp: ctx.runtimeTimestamp ?? readTime(ctx),
    level: 'INFO',
    service: ctx.service,
    message: line,
    metadata: ctx.runtimeTimestamp ? undefined : { timestamp_source: 'read_time' },
    source: ctx.source,
  };
}

export function readTime(ctx: ParseContext): string {
  return new Date(ctx.readTime).toISOString();
}
