import { applyTimestamp, levelOf, plainRecord } from '../src/parse/normalize.ts';
import type { ParserOptions } from '../src/parse/options.ts';
import { lastEnd, parseIsoPrefix, parseKlogTime, parseTimeOnly, TimeZone } from '../src/parse/time.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';
import type { Level, LogRecord } from '../src/core/record.ts';
import { lookupTable } from '../src/core/lookup-table.ts';

/**
 * Plain-text application lines with a leading timestamp and/or level:
 * - Python logging: `2024-01-15 10:00:00,123 - app.db - ERROR - msg`, `WARNING:root:msg`
 * - Java logback/log4j: `2024-01-15 10:00:00,123 ERROR [main] c.e.Foo - msg`,
 *   `10:00:00.123 [main] INFO  c.e.Foo - msg`, Spring Boot `... INFO 1234 --- [main] c.e.Foo : msg`
 * - Go `log`: `2024/01/15 10:00:00[.123456] msg`; klog: `E0115 10:00:00.123456   1234 file.go:42] msg`
 * - Ruby Logger: `E, [2024-01-15T10:00:00.123456 #1234] ERROR -- app: msg`
 * - generic `[2024-01-15 10:00:00] ERROR: msg`, `2024-01-15T10:00:00Z [warn] msg`
 * A line with neither becomes a record with the whole line as message and the read time.
 */
export function createPlainParser(options?: Pick<ParserOptions, 'timezone'>): Parser {
  const tz = TimeZone.parse(options?.timezone ?? 'UTC') ?? TimeZone.UTC;
  return (line: string, ctx: ParseContext): LogRecord => parseAppLine(line, ctx, tz) ?? plainRecord(line, ctx);
}

/** The whole line is the message (`raw`). */
export const parseRaw: Parser = (line, ctx) => plainRecord(line, ctx);

const KLOG_LEVELS: Record<string, Level> = lookupTable({ I: 'INFO', W: 'WARN', E: 'ERROR', F: 'FATAL', D: 'DEBUG' });

/** The record for an app line, or undefined when the line has neither a leading time nor a level. */
export function parseAppLine(line: string, ctx: ParseContext, tz: TimeZone): LogRecord | undefined {
  const n = line.length;
  if (n < 4) return undefined;
  const c0 = line.charCodeAt(0);
  let iso: string | undefined;
  let p = 0;
  let meta: Record<string, unknown> | undefined;
  let level: Level | undefined;

  if (KLOG_LEVELS[line[0]] !== undefined && isDigit(line, 1) && isDigit(line, 4) && line.charCodeAt(5) === 32) {
    const t = parseKlogTime(line, 1, tz, ctx.readTime);
    if (t !== undefined) return klog(line, ctx, t, KLOG_LEVELS[line[0]]);
  }
  if (c0 >= 48 && c0 <= 57) {
    iso = parseIsoPrefix(line, tz, 0);
    if (iso === undefined && line.charCodeAt(2) === 58) iso = parseTimeOnly(line, 0, tz, ctx.readTime);
    if (iso !== undefined) p = lastEnd;
  } else if (c0 === 91 /* [ */ && isDigit(line, 1)) {
    const t = parseIsoPrefix(line, tz, 1) ?? (line.charCodeAt(3) === 58 ? parseTimeOnly(line, 1, tz, ctx.readTime) : undefined);
    if (t !== undefined && line.charCodeAt(lastEnd) === 93) {
      iso = t;
      p = lastEnd + 1;
    }
  } else if (line.charCodeAt(1) === 44 && line.charCodeAt(3) === 91 && KLOG_LEVELS[line[0]] !== undefined) {
    // Ruby Logger: "E, [2024-01-15T10:00:00.123456 #1234] ERROR -- progname: msg"
    const t = parseIsoPrefix(line, tz, 4);
    if (t !== undefined) {
      iso = t;
      p = lastEnd;
      if (line.charCodeAt(p) === 32 && line.charCodeAt(p + 1) === 35) {
        const e = line.indexOf(']', p);
        if (e > 0) {
          meta = { pid: Number(line.slice(p + 2, e)) };
          p = e + 1;
        }
      } else if (line.charCodeAt(p) === 93) p++;
    }
  }

  if (iso === undefined) {
    // No time: only an upper-case level word first counts ("ERROR: x", "WARNING:root:x", "[WARN] x")
    return levelFirst(line, ctx);
  }

  // Tokens between the time and the message: level, [thread], pid, logger, separators.
  let logger: string | undefined;
  let thread: string | undefined;
  const afterTime = p;
  const metaAfterTime = meta;
  for (let k = 0; k < 6 && p < n; k++) {
    p = skipSpaces(line, p);
    if (p >= n) break;
    const c = line.charCodeAt(p);
    if (c === 91 /* [ */) {
      const e = line.indexOf(']', p);
      if (e < 0 || e - p > 100) break;
      const inner = line.slice(p + 1, e).trim();
      const lv = levelOf(inner);
      if (lv !== undefined && level === undefined && isLevelWord(inner, true)) level = lv;
      else if (thread === undefined && level === undefined) thread = inner;
      else break;
      p = e + 1;
      if (level !== undefined) break;
      continue;
    }
    const e = tokenEnd(line, p);
    const tok = line.slice(p, e);
    if (tok === '-' || tok === '|' || tok === '---' || tok === ':') {
      p = e;
      continue;
    }
    const bare = tok.charCodeAt(tok.length - 1) === 58 ? tok.slice(0, -1) : tok;
    if (isLevelWord(bare, bare !== tok)) {
      level = levelOf(bare);
      p = e;
      break;
    }
    // Monolog/Laravel "production.ERROR:" — channel.LEVEL
    const dot = bare.lastIndexOf('.');
    if (dot > 0 && bare !== tok && isLevelWord(bare.slice(dot + 1), true)) {
      level = levelOf(bare.slice(dot + 1));
      (meta ??= {}).channel = bare.slice(0, dot);
      p = e;
      break;
    }
    if (isAllDigits(tok) && meta?.pid === undefined) {
      (meta ??= {}).pid = Number(tok);
      p = e;
      continue;
    }
    // a logger name ahead of the level (python "%(asctime)s - %(name)s - %(levelname)s")
    if (logger === undefined && isSeparatorAt(line, e)) {
      logger = tok;
      p = e;
      continue;
    }
    break;
  }
  if (level === undefined) {
    // time then message (Go log); no level found: keep what we skipped in the message
    p = afterTime;
    logger = undefined;
    thread = undefined;
    meta = metaAfterTime;
  } else {
    // after the level: [pid] [---] [thread] [logger <sep>]
    for (let k = 0; k < 5 && p < n; k++) {
      p = skipSpaces(line, p);
      const c = line.charCodeAt(p);
      if (c === 91) {
        const e = line.indexOf(']', p);
        if (e < 0 || e - p > 100) break;
        const inner = line.slice(p + 1, e).trim();
        if (thread !== undefined) (meta ??= {}).context = thread;
        thread = inner;
        p = e + 1;
        continue;
      }
      const e = tokenEnd(line, p);
      const tok = line.slice(p, e);
      if (tok === '---' || tok === '--') {
        p = e;
        continue;
      }
      if (isAllDigits(tok) && meta?.pid === undefined) {
        (meta ??= {}).pid = Number(tok);
        p = e;
        continue;
      }
      if (tok === '-' || tok === ':' || tok === '|') {
        p = e;
        break;
      }
      if (logger === undefined && tok.length < 120 && tok.indexOf('=') < 0 && tok.indexOf('"') < 0) {
        if (isSeparatorAt(line, e)) {
          logger = tok;
          p = skipSpaces(line, e);
          p += 1; // the separator
          break;
        }
        // Ruby "progname:" after "--"
        if (tok.charCodeAt(tok.length - 1) === 58 && tok.length > 1 && line.charCodeAt(p - 2) === 45) {
          logger = tok.slice(0, -1);
          p = e;
          break;
        }
      }
      break;
    }
  }
  const rec: LogRecord = { timestamp: '', level: level ?? 'INFO', service: ctx.service, message: line.slice(skipSpaces(line, p)), source: ctx.source };
  if (logger !== undefined) (meta ??= {}).logger = logger;
  if (thread !== undefined) (meta ??= {}).thread = thread;
  if (meta !== undefined) rec.metadata = meta;
  applyTimestamp(rec, iso, ctx, 'plain');
  return rec;
}

function klog(line: string, ctx: ParseContext, iso: string, level: Level): LogRecord {
  let p = skipSpaces(line, lastEnd);
  const meta: Record<string, unknown> = {};
  const e = tokenEnd(line, p);
  if (isAllDigits(line.slice(p, e))) {
    meta.thread_id = Number(line.slice(p, e));
    p = skipSpaces(line, e);
  }
  const b = line.indexOf('] ', p);
  if (b > p && b - p < 200 && line.lastIndexOf(' ', b) < p) {
    meta.caller = line.slice(p, b);
    p = b + 2;
  }
  const rec: LogRecord = { timestamp: '', level, service: ctx.service, message: line.slice(p), metadata: meta, source: ctx.source };
  applyTimestamp(rec, iso, ctx, 'plain');
  return rec;
}

function levelFirst(line: string, ctx: ParseContext): LogRecord | undefined {
  let p = 0;
  let bracket = false;
  if (line.charCodeAt(0) === 91) {
    bracket = true;
    p = 1;
  }
  let e = p;
  while (e < line.length && e - p < 10) {
    const c = line.charCodeAt(e);
    if (c < 65 || c > 90) break;
    e++;
  }
  const word = line.slice(p, e);
  if (word.length < 4 || !isLevelWord(word, false)) return undefined;
  const next = line.charCodeAt(e);
  let meta: Record<string, unknown> | undefined;
  if (bracket) {
    if (next !== 93) return undefined;
    e++;
  } else if (next === 58 /* : */) {
    e++;
    // python's basicConfig default: LEVEL:logger:message
    const c2 = line.indexOf(':', e);
    const sp = line.indexOf(' ', e);
    if (c2 > e && (sp < 0 || c2 < sp)) {
      meta = { logger: line.slice(e, c2) };
      e = c2 + 1;
    }
  } else if (next !== 32) return undefined;
  const rec: LogRecord = { timestamp: '', level: levelOf(word)!, service: ctx.service, message: line.slice(skipSpaces(line, e)), source: ctx.source };
  if (meta !== undefined) rec.metadata = meta;
  applyTimestamp(rec, undefined, ctx, 'plain');
  return rec;
}

const LEVEL_WORDS = new Set(['TRACE', 'DEBUG', 'INFO', 'NOTICE', 'WARN', 'WARNING', 'ERROR', 'ERR', 'FATAL', 'CRITICAL', 'CRIT', 'SEVERE', 'ALERT', 'EMERG', 'PANIC', 'FINE', 'FINER', 'FINEST']);
const LOWER_LEVEL_WORDS = new Set(['trace', 'debug', 'info', 'notice', 'warn', 'warning', 'error', 'fatal', 'critical', 'crit']);

/** Upper-case level names always; lower/capitalized only when `marked` (bracketed or followed by ':'). */
function isLevelWord(w: string, marked: boolean): boolean {
  if (LEVEL_WORDS.has(w)) return true;
  return marked && w.length <= 8 && LOWER_LEVEL_WORDS.has(w.toLowerCase());
}

function isSeparatorAt(line: string, i: number): boolean {
  const p = skipSpaces(line, i);
  if (p === i) return false;
  const c = line.charCodeAt(p);
  return (c === 45 || c === 58 || c === 124) && (line.charCodeAt(p + 1) === 32 || p + 1 === line.length);
}

function skipSpaces(s: string, i: number): number {
  while (i < s.length && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9)) i++;
  return i;
}

function tokenEnd(s: string, i: number): number {
  while (i < s.length && s.charCodeAt(i) !== 32 && s.charCodeAt(i) !== 9) i++;
  return i;
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

function isAllDigits(t: string): boolean {
  if (t.length === 0 || t.length > 10) return false;
  for (let i = 0; i < t.length; i++) if (!isDigit(t, i)) return false;
  return true;
}

export const parsePlain: Parser = createPlainParser();
