import { ClfScanner } from '../src/parse/clf.ts';
import { applyTimestamp, levelOf, unparsedRecord } from '../src/parse/normalize.ts';
import type { ParserOptions } from '../src/parse/options.ts';
import { TimeReader, TimeZone } from '../src/parse/time.ts';
import { ipLiteral } from '../src/parse/ip-literal.ts';
import type { ParseContext, Parser } from '../src/parse/types.ts';
import type { HttpInfo, LogRecord } from '../src/core/record.ts';

/**
 * nginx: access logs (`combined`, the stock `main` with `"$http_x_forwarded_for"`, and combined
 * plus `$request_time $upstream_response_time` or `rt=... urt=...`) and the error log
 * (`2024/01/15 10:00:00 [error] 1234#1234: *5678 message, client: ..., request: "..."`),
 * told apart per line by the first character.
 */
export function createNginxParser(options?: Pick<ParserOptions, 'timezone' | 'client_error_level'>): Parser {
  const tz = TimeZone.parse(options?.timezone ?? 'UTC') ?? TimeZone.UTC;
  const time = new TimeReader();
  const clf = new ClfScanner({ flavor: 'nginx', parser: 'nginx', clientErrorLevel: options?.client_error_level ?? 'WARN', time });
  return (line: string, ctx: ParseContext): LogRecord => {
    if (isNginxErrorStart(line)) return parseNginxError(line, ctx, tz, time) ?? errorFallback(line, ctx, time);
    return clf.parseOrPlain(line, ctx);
  };
}

function errorFallback(line: string, ctx: ParseContext, time: TimeReader): LogRecord {
  return unparsedRecord(line, ctx, 'nginx', 'malformed', time);
}

/** `YYYY/MM/DD HH:MM:SS [` */
export function isNginxErrorStart(line: string): boolean {
  return line.length > 21 && line.charCodeAt(4) === 47 && line.charCodeAt(7) === 47 && line.charCodeAt(19) === 32 && line.charCodeAt(20) === 91;
}

const TAIL_KEYS = new Set(['client', 'server', 'request', 'subrequest', 'upstream', 'host', 'referrer']);

export function parseNginxError(line: string, ctx: ParseContext, tz: TimeZone, time: TimeReader): LogRecord | undefined {
  const iso = time.parseSlashTime(line, 0, tz);
  if (iso === undefined || time.end !== 19) return undefined;
  const le = line.indexOf(']', 21);
  if (le < 0 || le > 40) return undefined;
  const levelText = line.slice(21, le);
  const level = levelOf(levelText);
  if (level === undefined) return undefined;
  let p = le + 1;
  if (line.charCodeAt(p) === 32) p++;
  const meta: Record<string, unknown> = {};
  // pid#tid:
  const hash = line.indexOf('#', p);
  const colon = line.indexOf(': ', p);
  if (hash > p && colon > hash && colon - p < 32) {
    meta.pid = Number(line.slice(p, hash));
    meta.tid = Number(line.slice(hash + 1, colon));
    p = colon + 2;
  }
  // *connection
  if (line.charCodeAt(p) === 42) {
    const sp = line.indexOf(' ', p);
    if (sp > p) {
      const cid = Number(line.slice(p + 1, sp));
      if (Number.isInteger(cid)) {
        meta.connection_id = cid;
        p = sp + 1;
      }
    }
  }
  const rec: LogRecord = { timestamp: '', level, service: ctx.service, message: '', source: ctx.source };
  // ", client: 1.2.3.4, server: x, request: "GET / HTTP/1.1", upstream: "...", host: "..."
  let end = line.length;
  const ci = line.indexOf(', client: ', p);
  if (ci >= 0) {
    end = ci;
    parseTail(line, ci + 2, rec, meta);
  }
  rec.message = line.slice(p, end);
  for (const _ in meta) {
    rec.metadata = meta;
    break;
  }
  applyTimestamp(rec, iso, ctx, 'nginx', time);
  return rec;
}

function parseTail(line: string, p: number, rec: LogRecord, meta: Record<string, unknown>): void {
  const n = line.length;
  let http: HttpInfo | undefined;
  while (p < n) {
    const ks = p;
    const ke = line.indexOf(': ', p);
    if (ke < 0) break;
    const key = line.slice(ks, ke);
    p = ke + 2;
    let val: string;
    if (line.charCodeAt(p) === 34) {
      const q = line.indexOf('"', p + 1);
      if (q < 0) { val = line.slice(p + 1); p = n; }
      else { val = line.slice(p + 1, q); p = q + 1; }
    } else {
      const c = line.indexOf(', ', p);
      const e = c < 0 ? n : c;
      val = line.slice(p, e);
      p = e;
    }
    if (TAIL_KEYS.has(key)) {
      if (key === 'client') {
        const ip = ipLiteral(val);
        if (ip !== undefined) rec.ip_address = ip;
      }
      else if (key === 'request') {
        const s1 = val.indexOf(' '), s2 = val.lastIndexOf(' ');
        if (s1 > 0 && s2 > s1) {
          http ??= {};
          http.method = val.slice(0, s1);
          http.path = val.slice(s1 + 1, s2);
          http.protocol = val.slice(s2 + 1);
        } else meta.request = val;
      } else if (key === 'referrer') (http ??= {}).referrer = val;
      else meta[key] = val;
    } else meta[key] = val;
    if (line.charCodeAt(p) === 44 && line.charCodeAt(p + 1) === 32) p += 2;
    else break;
  }
  if (http !== undefined) rec.http = http;
}

