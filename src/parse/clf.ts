import type { HttpInfo, Level, LogRecord } from '../core/record.ts';
import { applyTimestamp, httpStatusLevel, unparsedRecord } from './normalize.ts';
import type { TimeReader } from './time.ts';
import { ipLiteral } from './ip-literal.ts';
import type { ParseContext } from './types.ts';
import { lookupTable } from '../core/lookup-table.ts';

/**
 * The Common/Combined Log Format family shared by nginx and apache access logs:
 * `addr ident user [time] "request" status bytes ["referer" "user-agent"] [extras]`.
 * A hand-written scanner (indexOf, no regex) so the hot path neither backtracks nor allocates
 * beyond the fields it keeps.
 *
 * Extras after the user agent depend on the flavor:
 * - nginx: `"$http_x_forwarded_for"` (the stock `main` format), `$request_time` and
 *   `$upstream_response_time` as bare numbers, or `key=value` pairs (`rt= urt= uct= uht=`).
 * - apache: `%D` (microseconds, integer) or `%T` (seconds), `key=value` pairs.
 *
 * Quoted fields (request, referrer, user agent, extras) are kept exactly as the server wrote
 * them: nginx's `\xNN` (for `"`, `\` and bytes outside printable ASCII) and apache's `\"`,
 * `\\` and `\xhh` are not decoded, so a request or referrer can be searched for as it appears
 * in the file and the bytes a scanner sent stay visible (`"\x16\x03\x01..."` of a TLS hello).
 */
export type ClfFlavor = 'nginx' | 'apache';

/**
 * The CLF scanner of one parser instance (nginx, apache, auto): its flavor and TimeReader, and why
 * the last line did not scan. One per parser, reused for every line.
 */
export class ClfScanner {
  /** Why the last line did not scan: `truncated` when it ended mid-structure, else `malformed`. */
  failure: 'truncated' | 'malformed' = 'malformed';
  private readonly flavor: ClfFlavor;
  /** The parser name parse errors are counted under. */
  private readonly parser: string;
  private readonly clientErrorLevel: Level;
  private readonly time: TimeReader;

  constructor(opts: { flavor: ClfFlavor; parser: string; clientErrorLevel: Level; time: TimeReader }) {
    this.flavor = opts.flavor;
    this.parser = opts.parser;
    this.clientErrorLevel = opts.clientErrorLevel;
    this.time = opts.time;
  }

  parse(line: string, ctx: ParseContext): LogRecord | undefined {
    const { flavor, parser, clientErrorLevel } = this;
    const n = line.length;
    const a = line.indexOf(' ');
    if (a <= 0) return this.fail(a < 0 ? 'truncated' : 'malformed');
    const b = line.indexOf(' ', a + 1);
    if (b < 0) return this.fail('truncated');
    const c = line.indexOf(' [', b);
    if (c < 0) return this.fail(line.indexOf('[') < 0 && n - b < 40 ? 'truncated' : 'malformed');
    // the time is normally exactly 26 chars; tolerate other lengths
    let te = c + 28;
    if (line.charCodeAt(te) !== 93 /* ] */) {
      te = line.indexOf(']', c + 2);
      if (te < 0) return this.fail('truncated');
    }
    const timeText = line.slice(c + 2, te);
    if (te + 2 >= n) return this.fail('truncated');
    if (line.charCodeAt(te + 1) !== 32 || line.charCodeAt(te + 2) !== 34) return this.fail('malformed');
    const rs = te + 3;
    const re = closingQuote(line, rs);
    if (re < 0) return this.fail('truncated');
    // status
    const ss = re + 2;
    if (line.charCodeAt(re + 1) !== 32) return this.fail(re + 1 >= n ? 'truncated' : 'malformed');
    const status = int3(line, ss);
    if (status < 0) return this.fail(ss + 3 > n ? 'truncated' : 'malformed');
    let p = ss + 3;
    let bytes: number | undefined;
    if (line.charCodeAt(p) === 32) {
      p++;
      if (line.charCodeAt(p) === 45 /* - */) {
        p++;
      } else {
        let v = 0;
        const s = p;
        while (p < n) {
          const d = line.charCodeAt(p) - 48;
          if (d < 0 || d > 9) break;
          v = v * 10 + d;
          p++;
        }
        // more than 15 digits cannot be a byte count (and would not be a safe integer)
        if (p === s || p - s > 15) return this.fail('malformed');
        bytes = v;
      }
    } else if (p < n) return this.fail('malformed');

    const addr = line.slice(0, a);
    const ip = ipLiteral(addr);
    const level = httpStatusLevel(status, clientErrorLevel);
    let rec: LogRecord;
    if (ip !== undefined) rec = { timestamp: '', level, service: ctx.service, message: line, ip_address: ip, source: ctx.source };
    else {
      // apache %h with HostnameLookups On writes the client's name: never an ip_address
      rec = { timestamp: '', level, service: ctx.service, message: line, source: ctx.source };
      if (addr !== '-') rec.metadata = { remote_host: addr };
    }
    const http: HttpInfo = {};
    let meta: Record<string, unknown> | undefined;
    // request line: METHOD SP target SP protocol
    const sp1 = line.indexOf(' ', rs);
    const sp2 = sp1 > 0 && sp1 < re ? line.lastIndexOf(' ', re - 1) : -1;
    if (sp1 > rs && sp2 > sp1 && line.charCodeAt(sp2 + 1) === 72 /* H */) {
      http.method = line.slice(rs, sp1);
      http.path = line.slice(sp1 + 1, sp2);
      http.protocol = line.slice(sp2 + 1, re);
    } else if (re > rs && !(re === rs + 1 && line.charCodeAt(rs) === 45)) {
      meta = { request: line.slice(rs, re) };
    }
    http.status_code = status;
    if (bytes !== undefined) http.bytes = bytes;
    const user = line.slice(b + 1, c);
    if (user !== '-' && user.length > 0) rec.user_id = user;

    // combined: "referer" "user-agent"
    if (line.charCodeAt(p) === 32 && line.charCodeAt(p + 1) === 34) {
      const fe = closingQuote(line, p + 2);
      if (fe < 0) {
        markTruncated(rec, ctx, parser);
        return this.finish(rec, http, meta, timeText, ctx);
      }
      const ref = line.slice(p + 2, fe);
      if (ref !== '-' && ref.length > 0) http.referrer = ref;
      p = fe + 1;
      if (line.charCodeAt(p) === 32 && line.charCodeAt(p + 1) === 34) {
        const ue = closingQuote(line, p + 2);
        if (ue < 0) {
          markTruncated(rec, ctx, parser);
          return this.finish(rec, http, meta, timeText, ctx);
        }
        const ua = line.slice(p + 2, ue);
        if (ua !== '-' && ua.length > 0) rec.user_agent = ua;
        p = ue + 1;
      }
    }
    if (p < n) meta = extras(line, p, flavor, rec, http, meta);
    return this.finish(rec, http, meta, timeText, ctx);
  }

  /** The record, or a plain record with a counted parse error. */
  parseOrPlain(line: string, ctx: ParseContext): LogRecord {
    const rec = this.parse(line, ctx);
    if (rec !== undefined) return rec;
    return unparsedRecord(line, ctx, this.parser, this.failure, this.time);
  }

  private fail(why: 'truncated' | 'malformed'): undefined {
    this.failure = why;
    return undefined;
  }

  private finish(rec: LogRecord, http: HttpInfo, meta: Record<string, unknown> | undefined, timeText: string, ctx: ParseContext): LogRecord {
    rec.http = http;
    if (meta !== undefined) rec.metadata = rec.metadata === undefined ? meta : Object.assign(meta, rec.metadata);
    const iso = this.time.parseClfTime(timeText);
    if (iso === undefined) {
      ctx.parseError(this.parser, 'bad_timestamp');
      (rec.metadata ??= {}).time_local = timeText;
    }
    applyTimestamp(rec, iso, ctx, this.parser, this.time);
    return rec;
  }
}

function markTruncated(rec: LogRecord, ctx: ParseContext, parser: string): void {
  ctx.parseError(parser, 'truncated');
  (rec.metadata ??= {}).parse_error = 'truncated';
}

/** Index of the closing `"` of a quoted field starting at i (backslash escapes skipped), -1 if none. */
function closingQuote(s: string, i: number): number {
  for (;;) {
    const q = s.indexOf('"', i);
    if (q < 0) return -1;
    // count the backslashes before the quote: odd means escaped
    let k = q - 1;
    while (k >= i && s.charCodeAt(k) === 92) k--;
    if ((q - 1 - k) % 2 === 0) return q;
    i = q + 1;
  }
}

function int3(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48, b = s.charCodeAt(i + 1) - 48, c = s.charCodeAt(i + 2) - 48;
  // charCodeAt past the end is NaN, which fails every comparison: test for inclusion, not exclusion
  if (!(a >= 1 && a <= 9 && b >= 0 && b <= 9 && c >= 0 && c <= 9)) return -1;
  const d = s.charCodeAt(i + 3);
  if (d >= 48 && d <= 57) return -1;
  return a * 100 + b * 10 + c;
}

const NGINX_TIME_KEYS: Record<string, string> = lookupTable({ rt: 'request_time', request_time: 'request_time', urt: 'upstream_response_time', upstream_response_time: 'upstream_response_time', uct: 'upstream_connect_time', upstream_connect_time: 'upstream_connect_time', uht: 'upstream_header_time', upstream_header_time: 'upstream_header_time' });

function extras(line: string, p: number, flavor: ClfFlavor, rec: LogRecord, http: HttpInfo, meta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const n = line.length;
  let bare = 0;
  let quoted = 0;
  let rest: string[] | undefined;
  while (p < n) {
    while (p < n && line.charCodeAt(p) === 32) p++;
    if (p >= n) break;
    let tok: string;
    let wasQuoted = false;
    if (line.charCodeAt(p) === 34) {
      const e = closingQuote(line, p + 1);
      if (e < 0) {
        (rest ??= []).push(line.slice(p));
        break;
      }
      tok = line.slice(p + 1, e);
      wasQuoted = true;
      p = e + 1;
    } else {
      let e = line.indexOf(' ', p);
      if (e < 0) e = n;
      // nginx joins several upstream times with ", "
      while (line.charCodeAt(e - 1) === 44 && e < n) {
        const e2 = line.indexOf(' ', e + 1);
        e = e2 < 0 ? n : e2;
      }
      tok = line.slice(p, e);
      p = e;
    }
    const eq = wasQuoted ? -1 : tok.indexOf('=');
    if (eq > 0) {
      const key = tok.slice(0, eq);
      let val = tok.slice(eq + 1);
      if (val.length >= 2 && val.charCodeAt(0) === 34 && val.charCodeAt(val.length - 1) === 34) val = val.slice(1, -1);
      const known = NGINX_TIME_KEYS[key];
      if (known !== undefined) meta = setTime(known, val, rec, http, meta);
      else (meta ??= {})[key] = val;
      continue;
    }
    if (wasQuoted) {
      // the stock nginx "main" format ends with "$http_x_forwarded_for"
      if (quoted++ === 0 && flavor === 'nginx') {
        if (tok !== '-' && tok.length > 0) (meta ??= {}).http_x_forwarded_for = tok;
      } else (rest ??= []).push(tok);
      continue;
    }
    if (flavor === 'nginx' && bare < 2 && isSecondsToken(tok)) {
      meta = setTime(bare++ === 0 ? 'request_time' : 'upstream_response_time', tok, rec, http, meta);
      continue;
    }
    if (flavor === 'apache' && bare === 0 && isDigits(tok)) {
      // %D: microseconds
      const us = Number(tok);
      http.response_time = us / 1000;
      rec.duration = us / 1e6;
      bare++;
      continue;
    }
    (rest ??= []).push(tok);
  }
  if (rest !== undefined) (meta ??= {}).extra = rest.join(' ');
  return meta;
}

function setTime(key: string, val: string, rec: LogRecord, http: HttpInfo, meta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (val === '-' || val.length === 0) return meta;
  const num = secondsValue(val);
  if (key === 'request_time' && !Number.isNaN(num)) {
    rec.duration = num;
    http.response_time = Math.round(num * 1e6) / 1000;
    return meta;
  }
  (meta ??= {})[key] = Number.isNaN(num) ? val : num;
  return meta;
}

function isSecondsToken(t: string): boolean {
  if (t === '-') return true;
  return isSecondsText(t) || (t.indexOf(', ') > 0 && t.split(', ').every(isSecondsText));
}

const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * The value of `digits.digits` (what isSecondsText accepts), NaN for anything else — Number()'s
 * result without its general parser (a visible share of an access-log line's CPU). With at most
 * 15 digits the digits are an exact integer and 10^decimals an exact double, so one division
 * is correctly rounded: the same double Number() returns (Clinger's fast path).
 */
export function secondsValue(t: string): number {
  const n = t.length;
  let digits = 0;
  let dot = -1;
  for (let i = 0; i < n; i++) {
    const d = t.charCodeAt(i) - 48;
    if (d >= 0 && d <= 9) digits = digits * 10 + d;
    else if (d === -2 && dot < 0) dot = i; // '.'
    else return NaN;
  }
  if (dot <= 0 || dot === n - 1) return NaN;
  return n <= 16 ? digits / POW10[n - dot - 1] : Number(t);
}

function isSecondsText(t: string): boolean {
  const dot = t.indexOf('.');
  if (dot <= 0 || dot === t.length - 1) return false;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (i !== dot && (c < 48 || c > 57)) return false;
  }
  return true;
}

function isDigits(t: string): boolean {
  if (t.length === 0 || t.length > 15) return false;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
