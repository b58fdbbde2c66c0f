/**
 * Timestamp parsing for every format the parsers meet, without regexes on the hot path.
 * Output is always RFC 3339 UTC (`YYYY-MM-DDTHH:MM:SS.mmmZ`, or more fraction digits when the
 * input had them). Times without a zone are read in a configurable zone (`TimeZone`).
 */

import { readlinkSync } from 'node:fs';
import { lookupTable } from '../core/lookup-table.ts';

const MONTHS: Record<string, number> = lookupTable({ Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12 });

/** 10 minutes: the clock-skew window. Later timestamps are clamped; year inference allows it. */
export const FUTURE_TOLERANCE_MS = 10 * 60_000;

const UTC_NAMES = new Set(['', 'UTC', 'UTC0', 'Etc/UTC', 'UCT', 'Etc/UCT', 'GMT', 'GMT0', 'Etc/GMT', 'Zulu', 'Etc/Zulu', 'Universal', 'Etc/Universal']);

/**
 * The process's zone (`local`), looked up the way glibc does (TZ, else /etc/localtime, else UTC)
 * before asking Intl: loading ICU's zone data costs ~7 MiB of resident memory, and hosts and
 * container images mostly run in UTC. Intl decides whenever the name is not plainly UTC.
 */
export function localZoneName(env: NodeJS.ProcessEnv = process.env, localtime = '/etc/localtime'): string {
  const tz = env.TZ;
  if (tz !== undefined) {
    const name = tz.startsWith(':') ? tz.slice(1) : tz;
    if (UTC_NAMES.has(name)) return 'UTC';
  } else {
    let target: string | undefined;
    try {
      target = readlinkSync(localtime);
    } catch (err) {
      // No /etc/localtime: glibc and ICU both use UTC. EINVAL: a copied zone file, which only Intl can name.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'UTC';
    }
    if (target !== undefined) {
      const at = target.indexOf('zoneinfo/');
      const name = at >= 0 ? target.slice(at + 'zoneinfo/'.length) : '';
      if (UTC_NAMES.has(name.startsWith('posix/') ? name.slice(6) : name) && name !== '') return 'UTC';
    }
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}

/** A zone for wall-clock times that carry none: UTC, a fixed offset, or an IANA zone. */
export class TimeZone {
  readonly name: string;
  /** Fixed offset in minutes east of UTC, or null for an IANA zone. */
  private readonly fixed: number | null;
  private readonly fmt: Intl.DateTimeFormat | null;
  private readonly cache = new Map<number, number>();

  private constructor(name: string, fixed: number | null, fmt: Intl.DateTimeFormat | null) {
    this.name = name;
    this.fixed = fixed;
    this.fmt = fmt;
  }

  static readonly UTC = new TimeZone('UTC', 0, null);

  /**
   * `UTC`, `local` (the process's zone), a fixed offset (`+02:00`, `-0530`) or an IANA name
   * (`Europe/Berlin`). Returns undefined for anything else.
   */
  static parse(spec: string): TimeZone | undefined {
    if (spec === 'local') spec = localZoneName();
    if (spec === 'UTC' || spec === 'utc' || spec === 'Z' || spec === 'GMT') return TimeZone.UTC;
    const off = parseOffset(spec, 0, spec.length);
    if (off !== undefined) return off === 0 ? TimeZone.UTC : new TimeZone(spec, off, null);
    try {
      const fmt = new Intl.DateTimeFormat('en-US', { timeZone: spec, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
      const resolved = fmt.resolvedOptions().timeZone;
      if (resolved === 'UTC' || resolved === 'Etc/UTC') return TimeZone.UTC;
      return new TimeZone(spec, null, fmt);
    } catch {
      return undefined;
    }
  }

  /** Epoch ms of a wall-clock time (given as if it were UTC) in this zone. */
  wallToUtc(wallMs: number): number {
    if (this.fixed !== null) return wallMs - this.fixed * 60_000;
    const off1 = this.offsetAt(wallMs);
    const guess = wallMs - off1 * 60_000;
    const off2 = this.offsetAt(guess);
    return off2 === off1 ? guess : wallMs - off2 * 60_000;
  }

  /** Offset (minutes east) of this zone at UTC instant `utcMs`, cached per quarter hour. */
  private offsetAt(utcMs: number): number {
    const bucket = Math.floor(utcMs / 900_000);
    const hit = this.cache.get(bucket);
    if (hit !== undefined) return hit;
    let y = 1970, mo = 1, d = 1, h = 0, mi = 0, s = 0;
    for (const p of this.fmt!.formatToParts(new Date(bucket * 900_000))) {
      const v = Number(p.value);
      switch (p.type) {
        case 'year': y = v; break;
        case 'month': mo = v; break;
        case 'day': d = v; break;
        case 'hour': h = v; break;
        case 'minute': mi = v; break;
        case 'second': s = v; break;
      }
    }
    const off = Math.round((Date.UTC(y, mo - 1, d, h, mi, s) - bucket * 900_000) / 60_000);
    if (this.cache.size > 4096) this.cache.clear();
    this.cache.set(bucket, off);
    return off;
  }
}

/** Parses `Z`, `±HH:MM`, `±HHMM`, `±HH` at [start, end) into minutes east; undefined otherwise. */
export function parseOffset(s: string, start: number, end: number): number | undefined {
  const len = end - start;
  if (len === 1 && (s.charCodeAt(start) | 32) === 122 /* z */) return 0;
  const sign = s.charCodeAt(start);
  if (sign !== 43 && sign !== 45 && sign !== 0x2212) return undefined;
  let h: number, m: number;
  if (len === 3) { h = num2(s, start + 1); m = 0; }
  else if (len === 5) { h = num2(s, start + 1); m = num2(s, start + 3); }
  else if (len === 6 && s.charCodeAt(start + 3) === 58) { h = num2(s, start + 1); m = num2(s, start + 4); }
  else return undefined;
  if (h < 0 || m < 0 || h > 14 || m > 59) return undefined;
  const off = h * 60 + m;
  return sign === 43 ? off : -off;
}

/**
 * The digit at i, or a negative number so large that num2/num4 of any run holding a non-digit are
 * negative too (-1000 let "202 " read as the year 1020: 2000 + 0 + 20 - 1000).
 */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -100_000;
}
/** Two digits at i, or a negative number when not digits. */
function num2(s: string, i: number): number {
  return digit(s, i) * 10 + digit(s, i + 1);
}
function num4(s: string, i: number): number {
  return digit(s, i) * 1000 + digit(s, i + 1) * 100 + digit(s, i + 2) * 10 + digit(s, i + 3);
}
/** Index after a run of digits starting at i (i when none). */
function digitsEnd(s: string, i: number, max: number): number {
  const end = Math.min(s.length, i + max);
  while (i < end && digit(s, i) >= 0) i++;
  return i;
}

/**
 * RFC 3339 for epoch ms with `frac` (the digits after the seconds, as found) kept when it is
 * finer than milliseconds. Undefined outside years 1000..9999 (`toISOString` would not be RFC 3339).
 * For code off the per-line path; a parser formats through its TimeReader's IsoFormatter.
 */
export function isoFromMs(ms: number, frac = ''): string | undefined {
  if (!(ms >= -30610224000000 && ms <= 253402300799999)) return undefined;
  const iso = new Date(ms).toISOString();
  return frac.length <= 3 ? iso : `${iso.slice(0, 20)}${frac.slice(0, 9)}Z`;
}

/**
 * isoFromMs for one owner's consecutive times, which mostly share their second: it formats
 * `YYYY-MM-DDTHH:MM:SS.` once per second. One per parser (or time format), never shared.
 */
export class IsoFormatter {
  private second = NaN;
  private secondPrefix = '';
  /** The last text format() made to the millisecond (no finer digits) and its epoch ms. */
  exactText = '';
  exactMs = NaN;

  format(ms: number, frac = ''): string | undefined {
    if (!(ms >= -30610224000000 && ms <= 253402300799999)) return undefined;
    if (!Number.isInteger(ms)) {
      const iso = new Date(ms).toISOString();
      return frac.length <= 3 ? iso : `${iso.slice(0, 20)}${frac.slice(0, 9)}Z`;
    }
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      this.secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    }
    if (frac.length > 3) return `${this.secondPrefix}${frac.slice(0, 9)}Z`;
    const text = `${this.secondPrefix}${MILLIS[ms - second * 1000]}Z`;
    this.exactText = text;
    this.exactMs = ms;
    return text;
  }
}

/** '000' … '999'. */
const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** Epoch ms from civil fields, validating ranges (day checked against the month). */
function civilMs(y: number, mo: number, d: number, h: number, mi: number, s: number, msPart: number): number {
  if (y < 1000 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return NaN;
  // Date.UTC rolls Feb 30 over to March; refuse instead.
  if (d > 28 && new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return NaN;
  return Date.UTC(y, mo - 1, d, h, mi, s, msPart);
}

function fracMs(frac: string): number {
  if (frac.length === 0) return 0;
  if (frac.length >= 3) return Number(frac.slice(0, 3));
  return Number(frac.padEnd(3, '0'));
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122) || c === 95;
}

/** Epoch ms of a month-day wall time in the year that keeps it from the future (see parseSyslogTime). */
export function inferYear(mo: number, d: number, h: number, mi: number, sec: number, msPart: number, tz: TimeZone, refMs: number): number {
  const refYear = new Date(refMs).getUTCFullYear();
  // The reference year in `tz` may differ from UTC's around New Year: try year+1 first. Feb 29
  // exists only in leap years: look back to the latest one (at most 8 years, as around 2100).
  const oldest = mo === 2 && d === 29 ? refYear - 8 : refYear - 1;
  for (let y = refYear + 1; y >= oldest; y--) {
    const wall = civilMs(y, mo, d, h, mi, sec, msPart);
    if (Number.isNaN(wall)) {
      if (mo === 2 && d === 29) continue; // Feb 29 only exists in leap years
      return NaN;
    }
    const ms = tz.wallToUtc(wall);
    if (ms <= refMs + FUTURE_TOLERANCE_MS) return ms;
  }
  return NaN;
}

/**
 * Reads timestamps for one parser instance: each parser owns one (two pipelines in one process
 * share nothing) and reuses it for every line. Besides the memos of consecutive lines (they
 * mostly share their second, their day, their CLF time) it holds what the last read found:
 * `end`, the index after the time, and the last canonical timestamp parseTimestampValue returned
 * (accepted as given, or formatted to the millisecond) with its epoch ms, which the parser hands on
 * (ParseContext.timestampMs) so sinks need not parse it again.
 */
export class TimeReader {
  /** Index after the last time parsed by a `parse*` method (valid right after a successful call). */
  end = 0;
  /** The last canonical timestamp parseTimestampValue returned, as given or formatted to the ms (records keep that string)... */
  lastCanonical = '';
  /** ... and its epoch ms. */
  lastCanonicalMs = NaN;
  /** Formats this reader's times (its own per-second memo). */
  readonly iso = new IsoFormatter();
  private clfLastIn = '';
  private clfLastOut: string | undefined = undefined;
  /** What the last successful scanMonthDayTime read (scratch: no object per line). */
  private readonly monthDayTime = { mo: 0, d: 0, h: 0, mi: 0, sec: 0, frac: '', end: 0 };
  /** `YYYY-MM-DD` of the last timestamp isUtcIsoMillis accepted (a valid calendar day), and its epoch ms. */
  private lastValidDay = 'none';
  private lastValidDayMs = 0;
  private readMs = NaN;
  /** RFC 3339 of the read time last given to readTime(), and of that plus FUTURE_TOLERANCE_MS. */
  readIso = '';
  readLimitIso = '';

  /** Sets readIso and readLimitIso for `ms`, a line's read time (the lines of one read share it). */
  readTime(ms: number): void {
    if (ms === this.readMs) return;
    this.readMs = ms;
    this.readIso = this.iso.format(ms) ?? new Date(0).toISOString();
    this.readLimitIso = this.iso.format(ms + FUTURE_TOLERANCE_MS) ?? '9999';
  }

  /**
   * ISO 8601 / RFC 3339 date-time at the start of `s`: `YYYY-MM-DD[T ]HH:MM[:SS][.,frac][zone]`,
   * zone `Z`, `±HH:MM`, `±HHMM`, `±HH`, ` UTC`; zone-less times are read in `tz`.
   * Returns the ISO string and sets `end` to the index after the time.
   */
  parseIsoPrefix(s: string, tz: TimeZone, start = 0): string | undefined {
    const i = start;
    if (s.length < i + 16) return undefined;
    const sep = s.charCodeAt(i + 4);
    if ((sep !== 45 && sep !== 47) || s.charCodeAt(i + 7) !== sep) return undefined; // - or /
    const y = num4(s, i), mo = num2(s, i + 5), d = num2(s, i + 8);
    const t = s.charCodeAt(i + 10);
    if (t !== 84 && t !== 32 && t !== 116) return undefined; // T, space, t
    const h = num2(s, i + 11);
    if (s.charCodeAt(i + 13) !== 58) return undefined;
    const mi = num2(s, i + 14);
    let p = i + 16;
    let sec = 0;
    if (s.charCodeAt(p) === 58) {
      sec = num2(s, p + 1);
      p += 3;
    }
    let frac = '';
    const fc = s.charCodeAt(p);
    if ((fc === 46 || fc === 44) && digit(s, p + 1) >= 0) {
      const fe = digitsEnd(s, p + 1, 12);
      frac = s.slice(p + 1, fe);
      p = fe;
    }
    let offset: number | undefined;
    const zc = s.charCodeAt(p);
    if (zc === 90 || zc === 122) { offset = 0; p++; }
    else if (zc === 43 || zc === 45) {
      // ±HH:MM | ±HHMM | ±HH
      if (s.charCodeAt(p + 3) === 58) { offset = parseOffset(s, p, p + 6); if (offset !== undefined) p += 6; }
      else if (digit(s, p + 3) >= 0 && digit(s, p + 4) >= 0) { offset = parseOffset(s, p, p + 5); if (offset !== undefined) p += 5; }
      else { offset = parseOffset(s, p, p + 3); if (offset !== undefined) p += 3; }
    } else if (zc === 32 && s.startsWith('UTC', p + 1) && !isWordChar(s.charCodeAt(p + 4))) { offset = 0; p += 4; }
    const wall = civilMs(y, mo, d, h, mi, sec, fracMs(frac));
    if (Number.isNaN(wall)) return undefined;
    this.end = p;
    const ms = offset === undefined ? tz.wallToUtc(wall) : wall - offset * 60_000;
    return this.iso.format(ms, frac);
  }

  /**
   * Common Log Format time `10/Oct/2000:13:55:36 -0700` (nginx `$time_local`, apache `%t`),
   * exactly the 26 characters between the brackets. Memoizes the last input: consecutive access
   * log lines share their second.
   */
  parseClfTime(s: string): string | undefined {
    if (s === this.clfLastIn) return this.clfLastOut;
    let out: string | undefined;
    if (s.length === 26 && s.charCodeAt(2) === 47 && s.charCodeAt(6) === 47 && s.charCodeAt(11) === 58 && s.charCodeAt(20) === 32) {
      const mo = MONTHS[s.slice(3, 6)];
      const off = parseOffset(s, 21, 26);
      if (mo !== undefined && off !== undefined && s.charCodeAt(14) === 58 && s.charCodeAt(17) === 58) {
        const wall = civilMs(num4(s, 7), mo, num2(s, 0), num2(s, 12), num2(s, 15), num2(s, 18), 0);
        if (!Number.isNaN(wall)) out = this.iso.format(wall - off * 60_000);
      }
    }
    this.clfLastIn = s;
    this.clfLastOut = out;
    return out;
  }

  /**
   * A year-less time: syslog `Oct 11 22:14:15` / `Oct  1 22:14:15[.123456]`, read in `tz`, in the
   * year that puts it closest before the reference time: the current year, or the previous one
   * when that would land more than the skew tolerance in the future (a December line read in January).
   */
  parseSyslogTime(s: string, start: number, tz: TimeZone, refMs: number): string | undefined {
    if (s.length < start + 15 || !this.scanMonthDayTime(s, start)) return undefined;
    const t = this.monthDayTime;
    const ms = inferYear(t.mo, t.d, t.h, t.mi, t.sec, fracMs(t.frac), tz, refMs);
    if (Number.isNaN(ms)) return undefined;
    this.end = t.end;
    return this.iso.format(ms, t.frac);
  }

  /** Scans `Mmm dd HH:MM:SS[.frac]` (day space-padded or not) at `start` into this.monthDayTime; false when it is not one. */
  private scanMonthDayTime(s: string, start: number): boolean {
    const mo = MONTHS[s.slice(start, start + 3)];
    if (mo === undefined || s.charCodeAt(start + 3) !== 32) return false;
    let p = start + 4;
    let d: number;
    if (s.charCodeAt(p) === 32) { d = digit(s, p + 1); p += 2; }
    else if (digit(s, p + 1) >= 0) { d = num2(s, p); p += 2; }
    else { d = digit(s, p); p += 1; }
    if (s.charCodeAt(p) !== 32 || s.charCodeAt(p + 3) !== 58 || s.charCodeAt(p + 6) !== 58) return false;
    const t = this.monthDayTime;
    t.mo = mo;
    t.d = d;
    t.h = num2(s, p + 1);
    t.mi = num2(s, p + 4);
    t.sec = num2(s, p + 7);
    p += 9;
    t.frac = '';
    if (s.charCodeAt(p) === 46 && digit(s, p + 1) >= 0) {
      const fe = digitsEnd(s, p + 1, 9);
      t.frac = s.slice(p + 1, fe);
      p = fe;
    }
    t.end = p;
    return true;
  }

  /**
   * `2024/01/15 10:00:00[.123456]` (nginx error log, Go `log`), zone-less, read in `tz`.
   */
  parseSlashTime(s: string, start: number, tz: TimeZone): string | undefined {
    return this.parseIsoPrefix(s, tz, start);
  }

  /** Apache error log / ctime: `Mon Jan 15 10:00:00[.123456] 2024`, read in `tz`. */
  parseCtimeTime(s: string, start: number, tz: TimeZone): string | undefined {
    // "Mon Jan 15 10:00:00 2024": day name, month, day (maybe space-padded), time, year
    if (s.charCodeAt(start + 3) !== 32 || !this.scanMonthDayTime(s, start + 4)) return undefined;
    const t = this.monthDayTime;
    const p = t.end;
    if (s.charCodeAt(p) !== 32) return undefined;
    const y = num4(s, p + 1);
    const wall = civilMs(y, t.mo, t.d, t.h, t.mi, t.sec, fracMs(t.frac));
    if (Number.isNaN(wall)) return undefined;
    this.end = p + 5;
    return this.iso.format(tz.wallToUtc(wall), t.frac);
  }

  /**
   * Time-only `HH:MM:SS[.,mmm]` (logback's default pattern): today in `tz` relative to the
   * reference time (yesterday when that would be in the future, e.g. just after midnight).
   */
  parseTimeOnly(s: string, start: number, tz: TimeZone, refMs: number): string | undefined {
    if (s.charCodeAt(start + 2) !== 58 || s.charCodeAt(start + 5) !== 58) return undefined;
    const h = num2(s, start), mi = num2(s, start + 3), sec = num2(s, start + 6);
    let p = start + 8;
    let frac = '';
    const fc = s.charCodeAt(p);
    if ((fc === 46 || fc === 44) && digit(s, p + 1) >= 0) {
      const fe = digitsEnd(s, p + 1, 9);
      frac = s.slice(p + 1, fe);
      p = fe;
    }
    const ref = new Date(refMs);
    let wall = civilMs(ref.getUTCFullYear(), ref.getUTCMonth() + 1, ref.getUTCDate(), h, mi, sec, fracMs(frac));
    if (Number.isNaN(wall)) return undefined;
    let ms = tz.wallToUtc(wall);
    // Zone offsets shift the civil date: pick the day that lands closest before the reference.
    while (ms > refMs + FUTURE_TOLERANCE_MS) { wall -= 86_400_000; ms = tz.wallToUtc(wall); }
    while (ms + 86_400_000 <= refMs + FUTURE_TOLERANCE_MS) { wall += 86_400_000; ms = tz.wallToUtc(wall); }
    this.end = p;
    return this.iso.format(ms, frac);
  }

  /** klog `MMDD HH:MM:SS.uuuuuu` after the level letter; year inferred. */
  parseKlogTime(s: string, start: number, tz: TimeZone, refMs: number): string | undefined {
    const mo = num2(s, start), d = num2(s, start + 2);
    if (s.charCodeAt(start + 4) !== 32 || s.charCodeAt(start + 7) !== 58 || s.charCodeAt(start + 10) !== 58) return undefined;
    const h = num2(s, start + 5), mi = num2(s, start + 8), sec = num2(s, start + 11);
    let p = start + 13;
    let frac = '';
    if (s.charCodeAt(p) === 46 && digit(s, p + 1) >= 0) {
      const fe = digitsEnd(s, p + 1, 9);
      frac = s.slice(p + 1, fe);
      p = fe;
    }
    const ms = inferYear(mo, d, h, mi, sec, fracMs(frac), tz, refMs);
    if (Number.isNaN(ms)) return undefined;
    this.end = p;
    return this.iso.format(ms, frac);
  }

  /**
   * Epoch seconds / ms / µs / ns (by magnitude) to RFC 3339. Digit strings of 19 digits keep
   * nanosecond precision.
   */
  fromEpoch(n: number, text?: string): string | undefined {
    if (!Number.isFinite(n) || n <= 0) return undefined;
    if (text !== undefined && text.length === 19) return this.iso.format(Number(text.slice(0, 13)), text.slice(10));
    if (text !== undefined && text.length === 16) return this.iso.format(Number(text.slice(0, 13)), text.slice(10));
    if (n < 1e11) {
      // seconds, maybe with a fraction: keep µs/ns digits found in the text
      const ms = Math.floor(n * 1000);
      if (text !== undefined) {
        const dot = text.indexOf('.');
        if (dot > 0 && text.length - dot - 1 > 3) return this.iso.format(ms, text.slice(dot + 1));
      }
      return this.iso.format(ms);
    }
    if (n < 1e14) return this.iso.format(Math.floor(n));
    if (n < 1e17) return this.iso.format(Math.floor(n / 1000));
    return this.iso.format(Math.floor(n / 1e6));
  }

  /** `YYYY-MM-DDTHH:MM:SS.mmmZ` (toISOString's shape, length and T/./Z checked by the caller) with valid fields. */
  private isUtcIsoMillis(v: string): boolean {
    if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return false;
    const ms = digit(v, 20) * 100 + digit(v, 21) * 10 + digit(v, 22);
    if (ms < 0) return false;
    const h = num2(v, 11), mi = num2(v, 14), s = num2(v, 17);
    // Consecutive records share their day: once a day passed civilMs, only the time fields need checking.
    if (!v.startsWith(this.lastValidDay)) {
      const dayMs = civilMs(num4(v, 0), num2(v, 5), num2(v, 8), 0, 0, 0, 0);
      if (Number.isNaN(dayMs)) return false;
      this.lastValidDay = v.slice(0, 10);
      this.lastValidDayMs = dayMs;
    }
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return false;
    // Date.UTC's arithmetic: a leap second (:60) rolls into the next minute
    this.lastCanonical = v;
    this.lastCanonicalMs = this.lastValidDayMs + h * 3_600_000 + mi * 60_000 + s * 1000 + ms;
    return true;
  }

  /**
   * Any timestamp value found in a structured record (JSON value, logfmt value, regex group):
   * RFC 3339 / ISO with any zone, epoch numbers or digit strings, CLF, syslog, ctime, Go/nginx
   * slash dates, RFC 2822 as a last resort. Undefined when not understood.
   */
  parseTimestampValue(v: unknown, tz: TimeZone, refMs: number): string | undefined {
    // Fast path: RFC 3339 UTC as produced by toISOString (the platform's own format). Already
    // canonical when every field is in range: keep the string, format nothing.
    if (typeof v === 'string' && v.length === 24 && v.charCodeAt(23) === 90 && v.charCodeAt(10) === 84 && v.charCodeAt(19) === 46 && this.isUtcIsoMillis(v)) return v;
    return this.handOn(this.parseOtherTimestamp(v, tz, refMs));
  }

  /**
   * A time this reader formatted to the millisecond (epoch numbers, other ISO shapes, asctime,
   * CLF...) becomes the last canonical one with its epoch ms, like a toISOString time: the Loki
   * sink then need not read the text again (~150 ns a line on pino's and python's records).
   * A text with finer digits is not handed on (its ms would lose them).
   */
  private handOn(iso: string | undefined): string | undefined {
    if (iso !== undefined && iso === this.iso.exactText) {
      this.lastCanonical = iso;
      this.lastCanonicalMs = this.iso.exactMs;
    }
    return iso;
  }

  private parseOtherTimestamp(v: unknown, tz: TimeZone, refMs: number): string | undefined {
    if (typeof v === 'number') return this.fromEpoch(v);
    if (typeof v !== 'string' || v.length === 0 || v.length > 64) return undefined;
    const c0 = v.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57) {
      const iso = this.parseIsoPrefix(v, tz);
      if (iso !== undefined) return this.end === v.length ? iso : undefined;
      if (v.length >= 9 && isEpochText(v)) return this.fromEpoch(Number(v), v);
      if (v.length === 26 && v.charCodeAt(2) === 47) return this.parseClfTime(v);
      return undefined;
    }
    if (v.length >= 15 && MONTHS[v.slice(0, 3)] !== undefined) {
      const t = this.parseSyslogTime(v, 0, tz, refMs);
      if (t !== undefined && this.end === v.length) return t;
    }
    if (v.length >= 24 && v.charCodeAt(3) === 32) {
      const t = this.parseCtimeTime(v, 0, tz);
      if (t !== undefined && this.end === v.length) return t;
    }
    // RFC 2822 and other named-zone forms; only when a zone is explicit, so the process zone never leaks in.
    if (/(?:GMT|UTC|[+-]\d{4})$/.test(v)) {
      const ms = Date.parse(v);
      if (!Number.isNaN(ms)) return this.iso.format(ms);
    }
    return undefined;
  }
}

function isEpochText(v: string): boolean {
  let dot = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 46 && !dot && i > 0) { dot = true; continue; }
    if (c < 48 || c > 57) return false;
  }
  return true;
}
