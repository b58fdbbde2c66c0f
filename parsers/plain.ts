import { applyTimestamp, fallbackRecord, levelOf, plainRecord } from '../src/parse/normalize.ts';
import { compileTimeFormat, type TimeFormat } from '../src/parse/time-format.ts';
import type { ParserOptions } from '../src/parse/options.ts';
import { TimeReader, TimeZone } from '../src/parse/time.ts';
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
export function createPlainParser(options?: Pick<ParserOptions, 'timezone' | 'time_format'>): Parser {
  const app = appLineOptions(options);
  return (line: string, ctx: ParseContext): LogRecord => parseAppLine(line, ctx, app) ?? fallbackRecord(line, ctx, 'plain', 'no_time_or_level', app.time);
}

/** What parseAppLine needs besides the line: made once per parser (the layouts keep scratch state). */
export interface AppLineOptions {
  tz: TimeZone;
  /** parser_options.time_format, tried first. */
  timeFormat?: TimeFormat;
  /** Java layouts that are not ISO 8601, by their first characters' shape. */
  javaLayouts: { compact: TimeFormat; slashed: TimeFormat; dayMonthName: TimeFormat };
  /** Where a TimeFormat puts the index after the time. */
  end: { at: number };
  /** The parser's own TimeReader. */
  time: TimeReader;
}

export function appLineOptions(options?: Pick<ParserOptions, 'timezone' | 'time_format'>): AppLineOptions {
  return {
    tz: TimeZone.parse(options?.timezone ?? 'UTC') ?? TimeZone.UTC,
    timeFormat: options?.time_format !== undefined ? compileTimeFormat(options.time_format) : undefined,
    javaLayouts: {
      // HDFS/Hadoop 0.x log4j `%d{yyMMdd HHmmss}`: "081109 203615 148 INFO dfs.DataNode$PacketResponder: ..." (Loghub HDFS)
      compact: compileTimeFormat('yyMMdd HHmmss'),
      // Spark's default log4j `%d{yy/MM/dd HH:mm:ss}`: "17/06/09 20:10:40 INFO executor.Executor: ..." (Loghub Spark)
      slashed: compileTimeFormat('yy/MM/dd HH:mm:ss'),
      // log4j's DATE: `dd MMM yyyy HH:mm:ss,SSS`
      dayMonthName: compileTimeFormat('dd MMM yyyy HH:mm:ss'),
    },
    end: { at: 0 },
    time: new TimeReader(),
  };
}

/** The whole line is the message (`raw`). */
export function createRawParser(): Parser {
  const time = new TimeReader();
  return (line, ctx) => plainRecord(line, ctx, time);
}

const KLOG_LEVELS: Record<string, Level> = lookupTable({ I: 'INFO', W: 'WARN', E: 'ERROR', F: 'FATAL', D: 'DEBUG' });

/** The record for an app line, or undefined when the line has neither a leading time nor a level. */
export function parseAppLine(line: string, ctx: ParseContext, app: AppLineOptions): LogRecord | undefined {
  const n = line.length;
  if (n < 4) return undefined;
  const tz = app.tz;
  const time = app.time;
  const c0 = line.charCodeAt(0);
  let iso: string | undefined;
  let p = 0;
  let meta: Record<string, unknown> | undefined;
  let level: Level | undefined;

  if (app.timeFormat !== undefined) {
    iso = app.timeFormat.parse(line, 0, tz, ctx.readTime, app.end);
    if (iso === undefined && c0 === 91 /* [ */) {
      iso = app.timeFormat.parse(line, 1, tz, ctx.readTime, app.end);
      if (iso !== undefined && line.charCodeAt(app.end.at) !== 93) iso = undefined;
      else if (iso !== undefined) app.end.at++;
    }
    if (iso !== undefined) p = app.end.at;
  }

  if (KLOG_LEVELS[line[0]] !== undefined && isDigit(line, 1) && isDigit(line, 4) && line.charCodeAt(5) === 32) {
    const t = time.parseKlogTime(line, 1, tz, ctx.readTime);
    if (t !== undefined) return klog(line, ctx, t, KLOG_LEVELS[line[0]], time);
  }
  if (iso !== undefined) {
    // time_format read it
  } else if (c0 >= 48 && c0 <= 57) {
    iso = time.parseIsoPrefix(line, tz, 0);
    if (iso === undefined && line.charCodeAt(2) === 58) iso = time.parseTimeOnly(line, 0, tz, ctx.readTime);
    if (iso !== undefined) p = time.end;
    else {
      const layout = javaLayoutAt(line, app);
      if (layout !== undefined) {
        iso = layout.parse(line, 0, tz, ctx.readTime, app.end);
        if (iso !== undefined) p = app.end.at;
      }
    }
  } else if (c0 === 91 /* [ */ && isDigit(line, 1)) {
    const t = time.parseIsoPrefix(line, tz, 1) ?? (line.charCodeAt(3) === 58 ? time.parseTimeOnly(line, 1, tz, ctx.readTime) : undefined);
    if (t !== undefined && line.charCodeAt(time.end) === 93) {
      iso = t;
      p = time.end + 1;
    }
  } else if (line.charCodeAt(1) === 44 && line.charCodeAt(3) === 91 && KLOG_LEVELS[line[0]] !== undefined) {
    // Ruby Logger: "E, [2024-01-15T10:00:00.123456 #1234] ERROR -- progname: msg"
    const t = time.parseIsoPrefix(line, tz, 4);
    if (t !== undefined) {
      iso = t;
      p = time.end;
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
    return levelFirst(line, ctx, time);
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
        const e = closingBracket(line, p, 200);
        if (e < 0) break;
        const inner = line.slice(p + 1, e).trim();
        if (thread !== undefined) (meta ??= {}).context = thread;
        const tl = threadAndLogger(inner);
        thread = tl.thread;
        if (tl.logger !== undefined && logger === undefined) logger = tl.logger;
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
      if (logger === undefined && isClassNameColon(tok)) {
        logger = tok.slice(0, -1);
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
  applyTimestamp(rec, iso, ctx, 'plain', time);
  return rec;
}

/** The Java layout the line's first characters have the shape of, if any (checked before parsing). */
function javaLayoutAt(line: string, app: AppLineOptions): TimeFormat | undefined {
  const c2 = line.charCodeAt(2);
  if (c2 === 47 /* / */) return line.charCodeAt(5) === 47 && line.charCodeAt(8) === 32 ? app.javaLayouts.slashed : undefined;
  if (c2 === 32) return line.charCodeAt(6) === 32 && line.charCodeAt(11) === 32 ? app.javaLayouts.dayMonthName : undefined;
  if (line.charCodeAt(6) === 32 && line.charCodeAt(13) === 32 && isDigit(line, 5) && isDigit(line, 7) && isDigit(line, 12)) return app.javaLayouts.compact;
  return undefined;
}

/**
 * Index of the `]` closing the `[` at `open` (nested brackets counted: ZooKeeper's
 * `[QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774]`), -1 within `max` characters.
 */
function closingBracket(line: string, open: number, max: number): number {
  const first = line.indexOf(']', open);
  if (first < 0 || first - open > max) return -1;
  const inner = line.indexOf('[', open + 1);
  if (inner < 0 || inner > first) return first; // the common case: no nesting
  let depth = 0;
  const end = Math.min(line.length, open + max);
  for (let i = open; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c === 91) depth++;
    else if (c === 93 && --depth === 0) return i;
  }
  return -1;
}

/**
 * A bracket after the level: the thread, or log4j's `%t:%C{1}@%L` (ZooKeeper's
 * `[main:QuorumPeer$QuorumServer@149]`), split into thread and logger (class@line).
 */
function threadAndLogger(inner: string): { thread: string; logger?: string } {
  const at = inner.lastIndexOf('@');
  if (at < 0) return { thread: inner };
  const colon = inner.lastIndexOf(':', at);
  if (colon <= 0) return { thread: inner };
  const logger = inner.slice(colon + 1);
  return /^[A-Za-z_$][\w$.]*@\d+$/.test(logger) ? { thread: inner.slice(0, colon), logger } : { thread: inner };
}

/** `org.apache.hadoop.mapreduce.v2.app.MRAppMaster:` / `dfs.DataNode$PacketResponder:` — a Java class name and a colon. */
function isClassNameColon(tok: string): boolean {
  const n = tok.length;
  if (n < 4 || n > 200 || tok.charCodeAt(n - 1) !== 58) return false;
  let dotted = false;
  for (let i = 0; i < n - 1; i++) {
    const c = tok.charCodeAt(i);
    if (c === 46 || c === 36) dotted = true;
    else if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95)) return false;
  }
  return dotted && tok.charCodeAt(0) !== 46;
}

function klog(line: string, ctx: ParseContext, iso: string, level: Level, time: TimeReader): LogRecord {
  let p = skipSpaces(line, time.end);
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
  applyTimestamp(rec, iso, ctx, 'plain', time);
  return rec;
}

function levelFirst(line: string, ctx: ParseContext, time: TimeReader): LogRecord | undefined {
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
  applyTimestamp(rec, undefined, ctx, 'plain', time);
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

