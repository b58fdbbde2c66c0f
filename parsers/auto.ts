import { isApacheErrorStart, parseApacheError } from './apache.ts';
import { createJsonParser } from './json.ts';
import { createLogfmtParser } from './logfmt.ts';
import { isNginxErrorStart, parseNginxError } from './nginx.ts';
import { appLineOptions, parseAppLine } from './plain.ts';
import { parseSyslog } from './syslog.ts';
import { ClfScanner } from '../src/parse/clf.ts';
import { fallbackRecord } from '../src/parse/normalize.ts';
import type { ParserOptions } from '../src/parse/options.ts';
import { TimeZone, type TimeReader } from '../src/parse/time.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';
import type { LogRecord } from '../src/core/record.ts';

const MONTH_START = new Set(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']);

/**
 * `auto`: picks the format per line from its first bytes, cheapest checks first — `{` JSON,
 * `<digits>` syslog, `[Www Mmm` apache error, `YYYY/MM/DD hh:mm:ss [` nginx error,
 * `host ident user [dd/Mon/` access log (nginx/apache combined), `Mmm dd hh:mm:ss` syslog,
 * `key=value key=value` logfmt — then plain app lines (leading time and level), then the raw
 * line. Container runtimes' framing (Docker json-file, CRI) was already removed by the source.
 * A line that looks like a format but does not parse counts a parse error under that format's
 * name and ships as a plain record.
 */
export function createAutoParser(options?: Pick<ParserOptions, 'timezone' | 'fields' | 'client_error_level' | 'time_format'>): Parser {
  const tz = TimeZone.parse(options?.timezone ?? 'UTC') ?? TimeZone.UTC;
  const json = createJsonParser(options);
  const logfmt = createLogfmtParser(options);
  const app = appLineOptions(options);
  // one TimeReader for every format this parser tries
  const time = app.time;
  const clf = new ClfScanner({ flavor: 'nginx', parser: 'nginx', clientErrorLevel: options?.client_error_level ?? 'WARN', time });
  // the last resort: an app line (leading time and/or level), else the raw text, counted as a fallback
  const plain = (line: string, ctx: ParseContext, parser = 'auto', reason = 'unrecognized'): LogRecord => parseAppLine(line, ctx, app) ?? fallbackRecord(line, ctx, parser, reason, time);
  const failed = (parser: string, reason: string, line: string, ctx: ParseContext): LogRecord => {
    ctx.parseError(parser, reason);
    return plain(line, ctx, parser, reason);
  };

  return (line: string, ctx: ParseContext): LogRecord => {
    const c0 = line.charCodeAt(0);
    if (c0 === 123 /* { */) return json(line, ctx);
    if (c0 === 60 /* < */) {
      if (isDigit(line, 1)) return parseSyslog(line, ctx, tz, time) ?? failed('syslog', 'malformed', line, ctx);
      return plain(line, ctx);
    }
    if (c0 === 91 /* [ */) {
      if (isApacheErrorStart(line)) return parseApacheError(line, ctx, tz, time) ?? failed('apache', 'malformed', line, ctx);
      if (looksLikeJsonArray(line)) return json(line, ctx);
      return plain(line, ctx);
    }
    if (c0 >= 48 && c0 <= 57) {
      if (isNginxErrorStart(line)) return parseNginxError(line, ctx, tz, time) ?? failed('nginx', 'malformed', line, ctx);
      if (looksLikeClf(line)) return clf.parse(line, ctx) ?? failed('nginx', clf.failure, line, ctx);
      if (looksLikeRsyslog(line, tz, time)) return parseSyslog(line, ctx, tz, time) ?? plain(line, ctx);
      if (isNumberLine(line)) return json(line, ctx);
      return plain(line, ctx);
    }
    if ((c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122) || c0 === 58 /* IPv6 */) {
      if (line.charCodeAt(3) === 32 && MONTH_START.has(line.slice(0, 3)) && line.charCodeAt(9) === 58) {
        return parseSyslog(line, ctx, tz, time) ?? plain(line, ctx);
      }
      if (looksLikeClf(line)) return clf.parse(line, ctx) ?? failed('nginx', clf.failure, line, ctx);
      if (looksLikeLogfmt(line)) return logfmt(line, ctx);
    }
    return plain(line, ctx);
  };
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

/** `addr ident user [dd/Mon/` within the first 300 characters. */
function looksLikeClf(line: string): boolean {
  const b = line.indexOf(' [');
  return b > 0 && b < 300 && isDigit(line, b + 2) && line.charCodeAt(b + 4) === 47 && line.charCodeAt(b + 8) === 47;
}

/** rsyslog's default file format: `2024-01-15T10:00:00.123456+00:00 host app[123]: msg`. */
function looksLikeRsyslog(line: string, tz: TimeZone, time: TimeReader): boolean {
  if (line.charCodeAt(10) !== 84 /* T */) return false;
  if (time.parseIsoPrefix(line, tz, 0) === undefined) return false;
  let p = time.end;
  if (line.charCodeAt(p) !== 32) return false;
  const h = line.indexOf(' ', p + 1);
  if (h < 0) return false;
  const t = line.indexOf(' ', h + 1);
  const tag = line.slice(h + 1, t < 0 ? line.length : t);
  p = tag.length;
  return p >= 2 && p <= 64 && tag.charCodeAt(p - 1) === 58 && (tag.indexOf('[') < 0 || tag.charCodeAt(p - 2) === 93);
}

/** `key=value` first and at least one more ` key=` — logfmt rather than prose with an `=`. */
function looksLikeLogfmt(line: string): boolean {
  let i = 0;
  while (i < line.length && i < 64) {
    const c = line.charCodeAt(i);
    if (c === 61) break;
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 45 || c === 64)) return false;
    i++;
  }
  if (i === 0 || line.charCodeAt(i) !== 61) return false;
  const second = line.indexOf('=', i + 1);
  return second > 0 && line.lastIndexOf(' ', second) > i;
}

function looksLikeJsonArray(line: string): boolean {
  const last = line.charCodeAt(line.length - 1);
  if (last !== 93) return false;
  const c1 = line.charCodeAt(1);
  return c1 === 123 || c1 === 91 || c1 === 34 || c1 === 93 || c1 === 45 || isDigit(line, 1) || c1 === 116 || c1 === 102 || c1 === 110;
}

/** A bare JSON number line (`42`, `3.14`): counted as not-an-object by the json parser. */
function isNumberLine(line: string): boolean {
  if (line.length > 32) return false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || c === 46 || c === 101 || c === 69 || c === 43 || c === 45)) return false;
  }
  return true;
}
