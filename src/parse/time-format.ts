import { inferYear, IsoFormatter, type TimeZone } from './time.ts';

/**
 * A time layout a user names in `parser_options.time_format`, for times the built-in recognition
 * does not read (or reads ambiguously). Letters are Java DateTimeFormatter / log4j style:
 *
 * | token | meaning |
 * |---|---|
 * | `yyyy` `yy` | year; `yy` is 20yy (19yy when that would be more than a year ahead) |
 * | `MM` `M` | month 01–12 (`M`: 1 or 2 digits); `MMM`: `Jan`…`Dec` |
 * | `dd` `d` | day (`d`: 1 or 2 digits) |
 * | `HH` `H` `mm` `ss` | hour 00–23, minute, second |
 * | `S`… | fraction of a second, 1–9 digits whatever the count of `S` |
 * | `Z` `X` `XX` `XXX` | zone: `Z`, `+0100`, `+01:00`, `+01` (without one: `parser_options.timezone`) |
 * | `'text'` | literal text; any other non-letter is literal too |
 *
 * Without `S` in the layout, a fraction right after the seconds (`,123` or `.123456`) is read
 * too. `YYYY` and `DD` are read as `yyyy` and `dd` (moment.js spelling). Without a year, the year is
 * inferred as for syslog (the one that keeps the time out of the future). `epoch` (seconds, with
 * an optional fraction) and `epoch_ms` are accepted as whole formats.
 */
export interface TimeFormat {
  readonly spec: string;
  /**
   * The time at s[start..] as RFC 3339 UTC, or undefined when the text does not fit the layout.
   * `end.at` receives the index after the time.
   */
  parse(s: string, start: number, tz: TimeZone, refMs: number, end: { at: number }): string | undefined;
}

type Field = 'year' | 'year2' | 'month' | 'day' | 'hour' | 'minute' | 'second';
type Part =
  | { kind: 'literal'; text: string }
  | { kind: 'number'; field: Field; min: number; max: number }
  | { kind: 'monthName' }
  | { kind: 'fraction' }
  | { kind: 'optionalFraction' }
  | { kind: 'zone' };

/** A time_format that cannot be compiled: the message names the problem. */
export class TimeFormatError extends Error {
  readonly spec: string;
  constructor(spec: string, detail: string) {
    super(`time_format ${JSON.stringify(spec)}: ${detail}`);
    this.spec = spec;
    this.name = 'TimeFormatError';
  }
}

const TOKENS: Array<[string, Part]> = [
  ['yyyy', { kind: 'number', field: 'year', min: 4, max: 4 }],
  ['YYYY', { kind: 'number', field: 'year', min: 4, max: 4 }],
  ['yy', { kind: 'number', field: 'year2', min: 2, max: 2 }],
  ['MMM', { kind: 'monthName' }],
  ['MM', { kind: 'number', field: 'month', min: 2, max: 2 }],
  ['M', { kind: 'number', field: 'month', min: 1, max: 2 }],
  ['dd', { kind: 'number', field: 'day', min: 2, max: 2 }],
  ['DD', { kind: 'number', field: 'day', min: 2, max: 2 }],
  ['d', { kind: 'number', field: 'day', min: 1, max: 2 }],
  ['HH', { kind: 'number', field: 'hour', min: 2, max: 2 }],
  ['H', { kind: 'number', field: 'hour', min: 1, max: 2 }],
  ['mm', { kind: 'number', field: 'minute', min: 2, max: 2 }],
  ['ss', { kind: 'number', field: 'second', min: 2, max: 2 }],
  ['XXX', { kind: 'zone' }],
  ['XX', { kind: 'zone' }],
  ['X', { kind: 'zone' }],
  ['Z', { kind: 'zone' }],
];

const MONTH_NAMES: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };

/** Compiles a time_format; throws TimeFormatError naming what is wrong. */
export function compileTimeFormat(spec: string): TimeFormat {
  if (spec === 'epoch' || spec === 'epoch_ms') return new EpochFormat(spec);
  const parts: Part[] = [];
  const seen = new Set<Field | 'monthName' | 'fraction' | 'zone'>();
  let i = 0;
  while (i < spec.length) {
    const c = spec[i];
    if (c === "'") {
      const close = spec.indexOf("'", i + 1);
      if (close < 0) throw new TimeFormatError(spec, `unclosed quote at ${i}`);
      if (close > i + 1) parts.push({ kind: 'literal', text: spec.slice(i + 1, close) });
      i = close + 1;
      continue;
    }
    if (c === 'S') {
      while (spec[i] === 'S') i++;
      parts.push({ kind: 'fraction' });
      seen.add('fraction');
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      const tok = TOKENS.find(([t]) => spec.startsWith(t, i));
      if (tok === undefined) throw new TimeFormatError(spec, `unknown letter ${JSON.stringify(c)} at ${i} (use yyyy yy MM MMM dd HH mm ss S X Z, quote literal text: 'T')`);
      const part = tok[1];
      const key: Field | 'monthName' | 'fraction' | 'zone' = part.kind === 'number' ? (part.field === 'year2' ? 'year' : part.field) : part.kind === 'monthName' ? 'month' : 'zone';
      if (seen.has(key)) throw new TimeFormatError(spec, `${tok[0]} given twice`);
      seen.add(key);
      parts.push(part);
      i += tok[0].length;
      continue;
    }
    const last = parts.at(-1);
    if (last?.kind === 'literal') last.text += c;
    else parts.push({ kind: 'literal', text: c });
    i++;
  }
  if (!seen.has('month') || !seen.has('day')) throw new TimeFormatError(spec, 'needs a month and a day (or use epoch / epoch_ms)');
  if (!seen.has('hour')) throw new TimeFormatError(spec, 'needs an hour');
  if (!seen.has('fraction')) {
    const at = parts.findIndex((x) => x.kind === 'number' && x.field === 'second');
    if (at >= 0) parts.splice(at + 1, 0, { kind: 'optionalFraction' });
  }
  return new LayoutFormat(spec, parts);
}

/** Scratch fields of one parse (one object per format: parsing is synchronous). */
interface Fields { year: number; year2: number; month: number; day: number; hour: number; minute: number; second: number }

class LayoutFormat implements TimeFormat {
  /** Its own per-second memo: a format belongs to one parser. */
  private readonly iso = new IsoFormatter();
  private readonly f: Fields = { year: -1, year2: -1, month: 0, day: 0, hour: 0, minute: 0, second: 0 };

  readonly spec: string;
  private readonly parts: Part[];

  constructor(spec: string, parts: Part[]) {
    this.spec = spec;
    this.parts = parts;
  }

  parse(s: string, start: number, tz: TimeZone, refMs: number, end: { at: number }): string | undefined {
    const f = this.f;
    f.year = -1; f.year2 = -1; f.month = 0; f.day = 0; f.hour = 0; f.minute = 0; f.second = 0;
    let frac = '';
    let offset: number | undefined;
    let p = start;
    for (const part of this.parts) {
      switch (part.kind) {
        case 'literal':
          if (!s.startsWith(part.text, p)) return undefined;
          p += part.text.length;
          break;
        case 'number': {
          let v = 0;
          let n = 0;
          while (n < part.max && p < s.length) {
            const c = s.charCodeAt(p);
            if (c < 48 || c > 57) break;
            v = v * 10 + (c - 48);
            n++;
            p++;
          }
          if (n < part.min) return undefined;
          f[part.field] = v;
          break;
        }
        case 'monthName': {
          const m = MONTH_NAMES[s.slice(p, p + 3).toLowerCase()];
          if (m === undefined) return undefined;
          f.month = m;
          p += 3;
          break;
        }
        case 'fraction': {
          const fs = p;
          while (p < s.length && p - fs < 9 && s.charCodeAt(p) >= 48 && s.charCodeAt(p) <= 57) p++;
          if (p === fs) return undefined;
          frac = s.slice(fs, p);
          break;
        }
        case 'optionalFraction': {
          const sep = s.charCodeAt(p);
          if (sep !== 44 && sep !== 46) break;
          const fs = p + 1;
          let q = fs;
          while (q < s.length && q - fs < 9 && s.charCodeAt(q) >= 48 && s.charCodeAt(q) <= 57) q++;
          if (q === fs) break;
          frac = s.slice(fs, q);
          p = q;
          break;
        }
        case 'zone': {
          const c = s.charCodeAt(p);
          if (c === 90 /* Z */) {
            offset = 0;
            p++;
            break;
          }
          if (c !== 43 && c !== 45) return undefined;
          const hh = twoDigits(s, p + 1);
          if (hh < 0) return undefined;
          let mm = 0;
          let q = p + 3;
          if (s.charCodeAt(q) === 58) q++;
          const m2 = twoDigits(s, q);
          if (m2 >= 0) {
            mm = m2;
            q += 2;
          } else if (s.charCodeAt(q - 1) === 58) return undefined;
          offset = (c === 45 ? -1 : 1) * (hh * 60 + mm);
          p = q;
          break;
        }
      }
    }
    const msPart = frac.length === 0 ? 0 : Number(frac.length >= 3 ? frac.slice(0, 3) : frac.padEnd(3, '0'));
    let ms: number;
    if (f.year < 0 && f.year2 < 0) {
      if (offset !== undefined) return undefined; // a zone without a year: not a layout logs use
      ms = inferYear(f.month, f.day, f.hour, f.minute, f.second, msPart, tz, refMs);
    } else {
      let y = f.year;
      if (y < 0) {
        y = 2000 + f.year2;
        if (y > new Date(refMs).getUTCFullYear() + 1) y -= 100;
      }
      if (f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31 || f.hour > 23 || f.minute > 59 || f.second > 60) return undefined;
      const wall = Date.UTC(y, f.month - 1, f.day, f.hour, f.minute, f.second, msPart);
      if (new Date(wall).getUTCDate() !== f.day) return undefined; // Feb 30 and the like
      ms = offset === undefined ? tz.wallToUtc(wall) : wall - offset * 60_000;
    }
    if (Number.isNaN(ms)) return undefined;
    end.at = p;
    return this.iso.format(ms, frac);
  }
}

class EpochFormat implements TimeFormat {
  private readonly iso = new IsoFormatter();
  readonly spec: 'epoch' | 'epoch_ms';

  constructor(spec: 'epoch' | 'epoch_ms') {
    this.spec = spec;
  }

  parse(s: string, start: number, _tz: TimeZone, _refMs: number, end: { at: number }): string | undefined {
    let p = start;
    while (p < s.length && s.charCodeAt(p) >= 48 && s.charCodeAt(p) <= 57) p++;
    if (p === start || p - start > 16) return undefined;
    let frac = '';
    if (s.charCodeAt(p) === 46) {
      const fs = p + 1;
      p = fs;
      while (p < s.length && p - fs < 9 && s.charCodeAt(p) >= 48 && s.charCodeAt(p) <= 57) p++;
      frac = s.slice(fs, p);
    }
    const whole = Number(s.slice(start, frac.length > 0 ? p - frac.length - 1 : p));
    const ms = this.spec === 'epoch' ? whole * 1000 + (frac.length > 0 ? Math.floor(Number(`0.${frac}`) * 1000) : 0) : whole;
    end.at = p;
    return this.iso.format(ms, this.spec === 'epoch' ? frac : '');
  }
}

function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}
