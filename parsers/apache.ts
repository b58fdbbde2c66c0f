import { ClfScanner } from '../src/parse/clf.ts';
import { applyTimestamp, levelOf, unparsedRecord } from '../src/parse/normalize.ts';
import type { ParserOptions } from '../src/parse/options.ts';
import { TimeReader, TimeZone } from '../src/parse/time.ts';
import { ipLiteral } from '../src/parse/ip-literal.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';
import type { Level, LogRecord } from '../src/core/record.ts';

/**
 * Apache httpd: access logs (`common`, `combined`, optionally followed by `%D` microseconds)
 * and the error log in its 2.2 form (`[Mon Jan 15 10:00:00 2024] [error] [client 1.2.3.4] msg`)
 * and 2.4 form (`[Mon Jan 15 10:00:00.123456 2024] [core:error] [pid 1:tid 2] [client 1.2.3.4:5] AH00126: msg`),
 * told apart per line: error lines start with `[`.
 */
export function createApacheParser(options?: Pick<ParserOptions, 'timezone' | 'client_error_level'>): Parser {
  const tz = TimeZone.parse(options?.timezone ?? 'UTC') ?? TimeZone.UTC;
  const time = new TimeReader();
  const clf = new ClfScanner({ flavor: 'apache', parser: 'apache', clientErrorLevel: options?.client_error_level ?? 'WARN', time });
  return (line: string, ctx: ParseContext): LogRecord => {
    if (line.charCodeAt(0) === 91) {
      const rec = parseApacheError(line, ctx, tz, time);
      if (rec !== undefined) return rec;
      return unparsedRecord(line, ctx, 'apache', 'malformed', time);
    }
    return clf.parseOrPlain(line, ctx);
  };
}

/** `[Www Mmm dd hh:mm:ss` */
export function isApacheErrorStart(line: string): boolean {
  return line.length > 26 && line.charCodeAt(0) === 91 && line.charCodeAt(4) === 32 && line.charCodeAt(8) === 32 && line.charCodeAt(14) === 58;
}

export function parseApacheError(line: string, ctx: ParseContext, tz: TimeZone, time: TimeReader): LogRecord | undefined {
  const iso = time.parseCtimeTime(line, 1, tz);
  if (iso === undefined || line.charCodeAt(time.end) !== 93) return undefined;
  let p = time.end + 1;
  let level: Level | undefined;
  const meta: Record<string, unknown> = {};
  let ip: string | undefined;
  // bracketed blocks: [module:level] [pid N:tid M] [client addr[:port]] [remote addr:port]
  while (line.charCodeAt(p) === 32 && line.charCodeAt(p + 1) === 91) {
    const e = line.indexOf('] ', p + 2);
    const close = e < 0 ? (line.charCodeAt(line.length - 1) === 93 ? line.length - 1 : -1) : e;
    if (close < 0) break;
    const block = line.slice(p + 2, close);
    if (level === undefined && meta.module === undefined) {
      const colon = block.indexOf(':');
      const lv = levelOf(colon >= 0 ? block.slice(colon + 1) : block) ?? (block.startsWith('trace') || block.slice(colon + 1).startsWith('trace') ? 'TRACE' : undefined);
      if (lv === undefined) return undefined;
      level = lv;
      if (colon >= 0) meta.module = block.slice(0, colon);
    } else if (block.startsWith('pid ')) {
      const t = block.indexOf(':tid ');
      meta.pid = Number(block.slice(4, t < 0 ? block.length : t));
      if (t >= 0) meta.tid = Number(block.slice(t + 5));
    } else if (block.startsWith('client ')) {
      ip = ipLiteral(hostOf(block.slice(7)));
    } else if (block.startsWith('remote ')) {
      meta.remote = block.slice(7);
    } else break;
    p = close + 1;
  }
  if (level === undefined) return undefined;
  if (line.charCodeAt(p) === 32) p++;
  // AH00126: the 2.4 message id
  if (line.charCodeAt(p) === 65 && line.charCodeAt(p + 1) === 72 && line.charCodeAt(p + 7) === 58) {
    meta.error_code = line.slice(p, p + 7);
    p += 8;
    if (line.charCodeAt(p) === 32) p++;
  }
  let end = line.length;
  const rec: LogRecord = { timestamp: '', level, service: ctx.service, message: '', source: ctx.source };
  const ref = line.lastIndexOf(', referer: ');
  if (ref >= p) {
    rec.http = { referrer: line.slice(ref + 11) };
    end = ref;
  }
  rec.message = line.slice(p, end);
  if (ip !== undefined) rec.ip_address = ip;
  for (const _ in meta) {
    rec.metadata = meta;
    break;
  }
  applyTimestamp(rec, iso, ctx, 'apache', time);
  return rec;
}

/** `1.2.3.4:51234` → `1.2.3.4`; IPv6 with several colons is kept whole unless bracketed. */
function hostOf(addr: string): string {
  if (addr.charCodeAt(0) === 91) {
    const e = addr.indexOf(']');
    return e > 0 ? addr.slice(1, e) : addr;
  }
  const first = addr.indexOf(':');
  if (first > 0 && first === addr.lastIndexOf(':')) return addr.slice(0, first);
  return addr;
}

