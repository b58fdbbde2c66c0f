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
  /** Scratch for the line being scanned. */
  head: AppLineHead;
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
    head: new AppLineHead(),
  };
}

/** The whole line is the message (`raw`). */
export function createRawParser(): Parser {
  const time = new TimeReader();
  return (line, ctx) => plainRecord(line, ctx, time);
}

const KLOG_LEVELS: Record<string, Level> = lookupTable({ I: 'INFO', W: 'WARN', E: 'ERROR', F: 'FATAL', D: 'DEBUG' });

/**
 * What the scan of one app line's head found: the time, the level and the tokens around it, and
 * where the message starts. One per parser, reset per line (no allocation per line).
 */
export class AppLineHead {
  iso: string | undefined;
  /** Index of the next unread character. */
  p = 0;
  level: Level | undefined;
  logger: string | undefined;
  thread: string | undefined;
  meta: Record<string, unknown> | undefined;

  reset(): void {
    this.iso = undefined;
    this.p = 0;
    this.level = undefined;
    this.logger = undefined;
    this.thread = undefined;
    this.meta = undefined;
  }

  metadata(): Record<string, unknown> {
    return (this.meta ??= {});
  }
}

/** The record for an app line, or undefined when the line has neither a leading time nor a level. */
export function parseAppLine(line: string, ctx: ParseContext, app: AppLineOptions): LogRecord | undefined {
  if (line.length < 4) return undefined;
  const time = app.time;
  if (KLOG_LEVELS[line[0]] !== undefined && isDigit(line, 1) && isDigit(line, 4) && line.charCodeAt(5) === 32) {
    const t = time.parseKlogTime(line, 1, app.tz, ctx.readTime);
    if (t !== undefined) return klog(line, ctx, t, KLOG_LEVELS[line[0]], time);
  }
  const head = app.head;
  head.reset();
  if (!readTimeByFormat(line, ctx, app, head) && !readTimeByShape(line, ctx, app, head)) {
    // No time: only an upper-case level word first counts ("ERROR: x", "WARNING:root:x", "[WARN] x")
    return levelFirst(line, ctx, time);
  }
  const afterTime = head.p;
  const metaAfterTime = head.meta;
  readTokensBeforeLevel(line, head);
  if (head.level === undefined) {
    // time then message (Go log); no level found: keep what we skipped in the message
    head.p = afterTime;
    head.logger = undefined;
    head.thread = undefined;
    head.meta = metaAfterTime;
  } else readTokensAfterLevel(line, head);
  return appRecord(line, ctx, head, time);
}

/** parser_options.time_format at the start of the line, or inside a leading `[...]`. */
function readTimeByFormat(line: string, ctx: ParseContext, app: AppLineOptions, head: AppLineHead): boolean {
  if (app.timeFormat === undefined) return false;
  let iso = app.timeFormat.parse(line, 0, app.tz, ctx.readTime, app.end);
  if (iso === undefined && line.charCodeAt(0) === 91 /* [ */) {
    iso = app.timeFormat.parse(line, 1, app.tz, ctx.readTime, app.end);
    if (iso !== undefined && line.charCodeAt(app.end.at) !== 93) iso = undefined;
    else if (iso !== undefined) app.end.at++;
  }
  if (iso === undefined) return false;
  head.iso = iso;
  head.p = app.end.at;
  return true;
}

/** A leading time recognised by the shape of the line's first characters: ISO, time only, Java layouts, `[time]`, Ruby Logger. */
function readTimeByShape(line: string, ctx: ParseContext, app: AppLineOptions, head: AppLineHead): boolean {
  const { tz, time } = app;
  const c0 = line.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    let iso = time.parseIsoPrefix(line, tz, 0);
    if (iso === undefined && line.charCodeAt(2) === 58) iso = time.parseTimeOnly(line, 0, tz, ctx.readTime);
    if (iso !== undefined) {
      head.iso = iso;
      head.p = time.end;
      return true;
    }
    const layout = javaLayoutAt(line, app);
    if (layout === undefined) return false;
    head.iso = layout.parse(line, 0, tz, ctx.readTime, app.end);
    head.p = app.end.at;
    return head.iso !== undefined;
  }
  if (c0 === 91 /* [ */ && isDigit(line, 1)) {
    const t = time.parseIsoPrefix(line, tz, 1) ?? (line.charCodeAt(3) === 58 ? time.parseTimeOnly(line, 1, tz, ctx.readTime) : undefined);
    if (t === undefined || line.charCodeAt(time.end) !== 93) return false;
    head.iso = t;
    head.p = time.end + 1;
    return true;
  }
  if (line.charCodeAt(1) === 44 && line.charCodeAt(3) === 91 && KLOG_LEVELS[line[0]] !== undefined) return readRubyLoggerTime(line, time, tz, head);
  return false;
}

/** Ruby Logger: "E, [2024-01-15T10:00:00.123456 #1234] ERROR -- progname: msg". */
function readRubyLoggerTime(line: string, time: TimeReader, tz: TimeZone, head: AppLineHead): boolean {
  const t = time.parseIsoPrefix(line, tz, 4);
  if (t === undefined) return false;
  head.iso = t;
  let p = time.end;
  if (line.charCodeAt(p) === 32 && line.charCodeAt(p + 1) === 35) {
    const e = line.indexOf(']', p);
    if (e > 0) {
      head.meta = { pid: Number(line.slice(p + 2, e)) };
      p = e + 1;
    }
  } else if (line.charCodeAt(p) === 93) p++;
  head.p = p;
  return true;
}

/** Tokens between the time and the level: [thread], pid, logger, separators; stops after the level. */
function readTokensBeforeLevel(line: string, head: AppLineHead): void {
  const n = line.length;
  let p = head.p;
  for (let k = 0; k < 6 && p < n; k++) {
    p = skipSpaces(line, p);
    if (p >= n) break;
    if (line.charCodeAt(p) === 91 /* [ */) {
      const e = readBracketBeforeLevel(line, p, head);
      if (e < 0) break;
      p = e;
      if (head.level !== undefined) break;
      continue;
    }
    const e = tokenEnd(line, p);
    const verdict = readTokenBeforeLevel(line, line.slice(p, e), e, head);
    if (verdict === STOP_BEFORE) break;
    p = e;
    if (verdict === LEVEL_FOUND) break;
  }
  head.p = p;
}

/** `[LEVEL]` or `[thread]` before the level: the index after `]`, or -1 when the bracket is neither. */
function readBracketBeforeLevel(line: string, p: number, head: AppLineHead): number {
  const e = line.indexOf(']', p);
  if (e < 0 || e - p > 100) return -1;
  const inner = line.slice(p + 1, e).trim();
  const lv = levelOf(inner);
  if (lv !== undefined && head.level === undefined && isLevelWord(inner, true)) head.level = lv;
  else if (head.thread === undefined && head.level === undefined) head.thread = inner;
  else return -1;
  return e + 1;
}

const TOKEN_TAKEN = 0;
const LEVEL_FOUND = 1;
const STOP_BEFORE = 2;

/** One bare token before the level: a separator, the level (also Monolog's `channel.LEVEL:`), a pid, a logger. */
function readTokenBeforeLevel(line: string, tok: string, e: number, head: AppLineHead): number {
  if (tok === '-' || tok === '|' || tok === '---' || tok === ':') return TOKEN_TAKEN;
  const bare = tok.charCodeAt(tok.length - 1) === 58 ? tok.slice(0, -1) : tok;
  if (isLevelWord(bare, bare !== tok)) {
    head.level = levelOf(bare);
    return LEVEL_FOUND;
  }
  // Monolog/Laravel "production.ERROR:" — channel.LEVEL
  const dot = bare.lastIndexOf('.');
  if (dot > 0 && bare !== tok && isLevelWord(bare.slice(dot + 1), true)) {
    head.level = levelOf(bare.slice(dot + 1));
    head.metadata().channel = bare.slice(0, dot);
    return LEVEL_FOUND;
  }
  if (isAllDigits(tok) && head.meta?.pid === undefined) {
    head.metadata().pid = Number(tok);
    return TOKEN_TAKEN;
  }
  // a logger name ahead of the level (python "%(asctime)s - %(name)s - %(levelname)s")
  if (head.logger === undefined && isSeparatorAt(line, e)) {
    head.logger = tok;
    return TOKEN_TAKEN;
  }
  return STOP_BEFORE;
}

/** After the level: [pid] [---] [thread] [logger <sep>], up to where the message starts. */
function readTokensAfterLevel(line: string, head: AppLineHead): void {
  const n = line.length;
  let p = head.p;
  for (let k = 0; k < 5 && p < n; k++) {
    p = skipSpaces(line, p);
    if (line.charCodeAt(p) === 91) {
      const e = closingBracket(line, p, 200);
      if (e < 0) break;
      readBracketAfterLevel(line.slice(p + 1, e).trim(), head);
      p = e + 1;
      continue;
    }
    const e = tokenEnd(line, p);
    const tok = line.slice(p, e);
    if (tok === '---' || tok === '--') {
      p = e;
      continue;
    }
    if (isAllDigits(tok) && head.meta?.pid === undefined) {
      head.metadata().pid = Number(tok);
      p = e;
      continue;
    }
    p = loggerAfterLevel(line, tok, p, e, head);
    break;
  }
  head.p = p;
}

/** A bracket after the level is the thread (an earlier one becomes `context`), maybe with a log4j `%C{1}@%L` logger. */
function readBracketAfterLevel(inner: string, head: AppLineHead): void {
  if (head.thread !== undefined) head.metadata().context = head.thread;
  const tl = threadAndLogger(inner);
  head.thread = tl.thread;
  if (tl.logger !== undefined && head.logger === undefined) head.logger = tl.logger;
}

/**
 * The last token of the head after the level: a separator, `com.example.Class:`, `logger -`, or
 * Ruby's `progname:` after `--`. Returns where the message starts.
 */
function loggerAfterLevel(line: string, tok: string, p: number, e: number, head: AppLineHead): number {
  if (tok === '-' || tok === ':' || tok === '|') return e;
  if (head.logger !== undefined) return p;
  if (isClassNameColon(tok)) {
    head.logger = tok.slice(0, -1);
    return e;
  }
  if (tok.length >= 120 || tok.indexOf('=') >= 0 || tok.indexOf('"') >= 0) return p;
  if (isSeparatorAt(line, e)) {
    head.logger = tok;
    return skipSpaces(line, e) + 1; // past the separator
  }
  // Ruby "progname:" after "--"
  if (tok.charCodeAt(tok.length - 1) === 58 && tok.length > 1 && line.charCodeAt(p - 2) === 45) {
    head.logger = tok.slice(0, -1);
    return e;
  }
  return p;
}

function appRecord(line: string, ctx: ParseContext, head: AppLineHead, time: TimeReader): LogRecord {
  const rec: LogRecord = { timestamp: '', level: head.level ?? 'INFO', service: ctx.service, message: line.slice(skipSpaces(line, head.p)), source: ctx.source };
  if (head.logger !== undefined) head.metadata().logger = head.logger;
  if (head.thread !== undefined) head.metadata().thread = head.thread;
  if (head.meta !== undefined) rec.metadata = head.meta;
  applyTimestamp(rec, head.iso, ctx, 'plain', time);
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

