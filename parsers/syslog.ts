import { applyTimestamp, unparsedRecord, syslogSeverityLevel } from '../src/parse/normalize.ts';
import type { ParserOptions } from '../src/parse/options.ts';
import { TimeReader, TimeZone } from '../src/parse/time.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';
import type { Level, LogRecord } from '../src/core/record.ts';

/**
 * Syslog: RFC 5424 (`<165>1 2003-10-11T22:14:15.003Z host app 123 ID47 [sd@1 k="v"] msg`) with
 * structured data kept in `metadata.structured_data`, and RFC 3164 / BSD, with or without the
 * `<PRI>` (files under /var/log have none): `Oct 11 22:14:15 host app[123]: msg`, also with the
 * RFC 3339 time rsyslog writes by default. 3164 times carry no year or zone: the zone is
 * `parser_options.timezone` and the year the one that keeps the time out of the future.
 * Severity becomes the level; the program (`app`) becomes the service.
 */
export function createSyslogParser(options?: Pick<ParserOptions, 'timezone'>): Parser {
  const tz = TimeZone.parse(options?.timezone ?? 'UTC') ?? TimeZone.UTC;
  const time = new TimeReader();
  return (line: string, ctx: ParseContext): LogRecord => {
    const rec = parseSyslog(line, ctx, tz, time);
    if (rec !== undefined) return rec;
    return unparsedRecord(line, ctx, 'syslog', 'malformed', time);
  };
}

const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];

export function parseSyslog(line: string, ctx: ParseContext, tz: TimeZone, time: TimeReader): LogRecord | undefined {
  let p = 0;
  let pri = -1;
  if (line.charCodeAt(0) === 60 /* < */) {
    const e = line.indexOf('>');
    if (e < 2 || e > 4) return undefined;
    pri = Number(line.slice(1, e));
    if (!Number.isInteger(pri) || pri < 0 || pri > 191) return undefined;
    p = e + 1;
    // RFC 5424: version digit(s) then a space
    const v = line.charCodeAt(p);
    if (v >= 49 && v <= 57 && line.charCodeAt(p + 1) === 32) return parse5424(line, p + 2, pri, ctx, tz, time);
  }
  return parse3164(line, p, pri, ctx, tz, time) ?? (pri >= 0 && pri <= 7 ? kernelLevelLine(line, p, pri, ctx, time) : undefined);
}

/**
 * A printk line with only its `<N>` level (0..7, facility kern): `/dev/kmsg`, `dmesg -r`,
 * containers' console logs: `<3>[   12.345678] usb 1-1: device descriptor read/64, error -71`.
 */
function kernelLevelLine(line: string, p: number, pri: number, ctx: ParseContext, time: TimeReader): LogRecord {
  const meta: Record<string, unknown> = {};
  const rec = base(ctx, pri, meta);
  rec.message = line.slice(p);
  rec.metadata = meta;
  applyTimestamp(rec, undefined, ctx, 'syslog', time);
  return rec;
}

function base(ctx: ParseContext, pri: number, meta: Record<string, unknown>): LogRecord {
  const rec: LogRecord = { timestamp: '', level: pri >= 0 ? syslogSeverityLevel(pri & 7) : 'INFO', service: ctx.service, message: '', source: ctx.source };
  if (pri >= 0) {
    meta.facility = FACILITIES[pri >> 3] ?? String(pri >> 3);
    meta.severity = pri & 7;
  }
  return rec;
}

function parse3164(line: string, p: number, pri: number, ctx: ParseContext, tz: TimeZone, time: TimeReader): LogRecord | undefined {
  let iso: string | undefined;
  const c = line.charCodeAt(p);
  if (c >= 48 && c <= 57) iso = time.parseIsoPrefix(line, tz, p);
  else iso = time.parseSyslogTime(line, p, tz, ctx.readTime);
  if (iso === undefined) return undefined;
  p = time.end;
  if (line.charCodeAt(p) !== 32) return undefined;
  p++;
  const meta: Record<string, unknown> = {};
  const rec = base(ctx, pri, meta);
  // HOSTNAME, unless the first token already is the tag ("app[12]:" / "app:")
  let sp = line.indexOf(' ', p);
  const first = line.slice(p, sp < 0 ? line.length : sp);
  if (!isTag(first)) {
    if (first.length === 0) return undefined;
    meta.hostname = first;
    p = sp < 0 ? line.length : sp + 1;
    sp = line.indexOf(' ', p);
  }
  // TAG[PID]: (a tag is at most 48 chars of non-space before ':' or '[')
  const tok = line.slice(p, sp < 0 ? line.length : sp);
  if (isTag(tok)) {
    const br = tok.indexOf('[');
    if (br > 0) {
      rec.service = tok.slice(0, br);
      const pid = tok.slice(br + 1, tok.indexOf(']'));
      meta.pid = /^\d+$/.test(pid) ? Number(pid) : pid;
    } else rec.service = tok.slice(0, -1);
    meta.appname = rec.service;
    p = sp < 0 ? line.length : sp + 1;
  }
  rec.message = line.slice(p);
  rec.metadata = meta;
  if (pri < 0) {
    // No PRI (files under /var/log): the program's own prefix is the severity there is
    const lv = messagePrefixLevel(rec.message);
    if (lv !== undefined) rec.level = lv;
  }
  repeatCount(rec.message, meta);
  applyTimestamp(rec, iso, ctx, 'syslog', time);
  return rec;
}

/**
 * Severity from the prefix a program wrote into its message: OpenSSH's log.c writes `error: `,
 * `fatal: `, `warning: ` (and `debug1: `...) ahead of the text at those levels; so do many daemons.
 */
export function messagePrefixLevel(msg: string): Level | undefined {
  const c = msg.charCodeAt(0);
  if (c === 101 /* e */ && msg.startsWith('error: ')) return 'ERROR';
  if (c === 102 /* f */ && msg.startsWith('fatal: ')) return 'FATAL';
  if (c === 119 /* w */ && msg.startsWith('warning: ')) return 'WARN';
  if (c === 100 /* d */ && msg.startsWith('debug') && msg.charCodeAt(5) >= 49 && msg.charCodeAt(5) <= 51 && msg.charCodeAt(6) === 58) return 'DEBUG';
  return undefined;
}

const MAX_REPEAT = 1_000_000;

/**
 * rsyslog's (and syslog-ng's, with the same wording) reduction of repeated lines:
 * `message repeated 5 times: [ Failed password for root from 203.0.113.5 port 22 ssh2]` stands
 * for five lines. The message stays as written; `metadata.repeat_count` says how many lines it
 * stands for, and the derived metrics count the record that many times.
 */
export function repeatCount(msg: string, meta: Record<string, unknown>): void {
  if (msg.charCodeAt(0) !== 109 /* m */ || !msg.startsWith('message repeated ')) return;
  let i = 17;
  let n = 0;
  while (i < msg.length && i < 25) {
    const c = msg.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    i++;
  }
  if (i === 17 || !msg.startsWith(' times: [', i) || n < 2) return;
  meta.repeat_count = Math.min(n, MAX_REPEAT);
}

function isTag(t: string): boolean {
  const n = t.length;
  if (n < 2 || n > 64 || t.charCodeAt(n - 1) !== 58) return false;
  const br = t.indexOf('[');
  if (br >= 0) return br > 0 && t.charCodeAt(n - 2) === 93;
  return true;
}

function parse5424(line: string, p: number, pri: number, ctx: ParseContext, tz: TimeZone, time: TimeReader): LogRecord | undefined {
  const meta: Record<string, unknown> = {};
  const rec = base(ctx, pri, meta);
  let iso: string | undefined;
  if (line.charCodeAt(p) === 45) {
    p++;
  } else {
    iso = time.parseIsoPrefix(line, tz, p);
    if (iso === undefined) return undefined;
    p = time.end;
  }
  const fields: string[] = [];
  for (let i = 0; i < 4; i++) {
    if (line.charCodeAt(p) !== 32) return undefined;
    const e = line.indexOf(' ', p + 1);
    if (e < 0) {
      if (i < 3) return undefined;
      fields.push(line.slice(p + 1));
      p = line.length;
      break;
    }
    fields.push(line.slice(p + 1, e));
    p = e;
  }
  const [host, app, procid, msgid] = fields;
  if (host !== '-') meta.hostname = host;
  if (app !== '-') {
    meta.appname = app;
    rec.service = app;
  }
  if (procid !== '-') meta.pid = /^\d+$/.test(procid) ? Number(procid) : procid;
  if (msgid !== '-') meta.msgid = msgid;
  // STRUCTURED-DATA: "-" or one or more [id k="v" ...]
  if (line.charCodeAt(p) === 32) p++;
  if (line.charCodeAt(p) === 45 && (p + 1 === line.length || line.charCodeAt(p + 1) === 32)) {
    p += 2;
  } else if (line.charCodeAt(p) === 91) {
    const sd: Record<string, Record<string, string>> = {};
    while (line.charCodeAt(p) === 91) {
      const np = parseSdElement(line, p + 1, sd);
      if (np < 0) return undefined;
      p = np;
    }
    meta.structured_data = sd;
    if (line.charCodeAt(p) === 32) p++;
  }
  let msg = p < line.length ? line.slice(p) : '';
  if (msg.charCodeAt(0) === 0xfeff) msg = msg.slice(1); // the UTF-8 BOM RFC 5424 allows
  rec.message = msg;
  rec.metadata = meta;
  repeatCount(msg, meta);
  applyTimestamp(rec, iso, ctx, 'syslog', time);
  return rec;
}

/** Parses `id k="v" k2="v2"]` from p; returns the index after `]`, -1 when malformed. */
function parseSdElement(line: string, p: number, sd: Record<string, Record<string, string>>): number {
  const n = line.length;
  let e = p;
  while (e < n && line.charCodeAt(e) !== 32 && line.charCodeAt(e) !== 93) e++;
  if (e === p || e >= n) return -1;
  const id = line.slice(p, e);
  const params: Record<string, string> = sd[id] ?? {};
  sd[id] = params;
  p = e;
  while (p < n && line.charCodeAt(p) === 32) {
    const eq = line.indexOf('="', p + 1);
    if (eq < 0) return -1;
    const name = line.slice(p + 1, eq);
    let i = eq + 2;
    let val = '';
    let s = i;
    for (;;) {
      if (i >= n) return -1;
      const c = line.charCodeAt(i);
      if (c === 92 && i + 1 < n) {
        const nx = line.charCodeAt(i + 1);
        if (nx === 34 || nx === 92 || nx === 93) {
          val += line.slice(s, i);
          s = i + 1;
          i += 2;
          continue;
        }
      }
      if (c === 34) break;
      i++;
    }
    val += line.slice(s, i);
    params[name] = val;
    p = i + 1;
  }
  if (line.charCodeAt(p) !== 93) return -1;
  return p + 1;
}

