import { LogshipError } from '../core/errors.ts';
import { IsoFormatter, isoFromMs, parseOffset, TimeZone } from '../parse/time.ts';

export class TimeLayoutError extends LogshipError {}

/** Go's named layouts (package time) as Promtail's timestamp stage accepts them by name. */
export const GO_NAMED_LAYOUTS: Readonly<Record<string, string>> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
  Kitchen: '3:04PM',
  Stamp: 'Jan _2 15:04:05',
  StampMilli: 'Jan _2 15:04:05.000',
  StampMicro: 'Jan _2 15:04:05.000000',
  StampNano: 'Jan _2 15:04:05.000000000',
};

/** Promtail's epoch formats besides Go layouts. */
export const EPOCH_FORMATS = ['Unix', 'UnixMs', 'UnixUs', 'UnixNs'] as const;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_NAMES = '(?:January|February|March|April|May|June|July|August|September|October|November|December)';
const DAY_NAMES = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';

type Part = 'year' | 'year2' | 'month' | 'monthName' | 'day' | 'hour' | 'hour12' | 'minute' | 'second' | 'frac' | 'ampm' | 'zone' | 'zoneName';

/** Go layout tokens, longest first where one is a prefix of another. */
const TOKENS: Array<[string, string, Part | null]> = [
  ['January', `(${MONTH_NAMES})`, 'monthName'],
  ['Monday', DAY_NAMES, null],
  ['2006', '(\\d{4})', 'year'],
  ['Z07:00', '(Z|[+-]\\d{2}:\\d{2})', 'zone'],
  ['Z0700', '(Z|[+-]\\d{4})', 'zone'],
  ['Z07', '(Z|[+-]\\d{2})', 'zone'],
  ['-07:00', '([+-]\\d{2}:\\d{2})', 'zone'],
  ['-0700', '([+-]\\d{4})', 'zone'],
  ['-07', '([+-]\\d{2})', 'zone'],
  ['MST', '([A-Z]{3,5}|[+-]\\d{2,4})', 'zoneName'],
  ['Jan', '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)', 'monthName'],
  ['Mon', '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)', null],
  ['PM', '(AM|PM)', 'ampm'],
  ['pm', '(am|pm)', 'ampm'],
  ['_2', ' ?(\\d{1,2})', 'day'],
  ['01', '(\\d{2})', 'month'],
  ['02', '(\\d{2})', 'day'],
  ['03', '(\\d{2})', 'hour12'],
  ['04', '(\\d{2})', 'minute'],
  ['05', '(\\d{2})', 'second'],
  ['06', '(\\d{2})', 'year2'],
  ['15', '(\\d{2})', 'hour'],
  ['1', '(\\d{1,2})', 'month'],
  ['2', '(\\d{1,2})', 'day'],
  ['3', '(\\d{1,2})', 'hour12'],
  ['4', '(\\d{1,2})', 'minute'],
  ['5', '(\\d{1,2})', 'second'],
];

/**
 * A Go reference-time layout (`2006-01-02 15:04:05.000 -0700`) compiled to an anchored regex,
 * the way Promtail's timestamp stage reads times. As in Go's time.Parse, a fractional second may
 * follow the seconds even when the layout names none; a missing year is the current one; a time
 * without a zone is read in `location`.
 */
export class GoTimeLayout {
  /** Its own per-second memo: a layout belongs to one stage. */
  private readonly iso = new IsoFormatter();
  private readonly re: RegExp;
  private readonly parts: Part[];
  private readonly location: TimeZone;

  constructor(layout: string, location: TimeZone = TimeZone.UTC) {
    const named = GO_NAMED_LAYOUTS[layout];
    if (named !== undefined) layout = named;
    this.location = location;
    let src = '^';
    const parts: Part[] = [];
    let i = 0;
    let sawField = false;
    while (i < layout.length) {
      // fractional seconds: .000 / ,000 (fixed) or .999 / ,999 (optional, trailing zeros trimmed)
      const frac = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i));
      if (frac !== null && parts.at(-1) === 'second') {
        src += frac[1][0] === '0' ? `[.,](\\d{${frac[1].length}})` : '(?:[.,](\\d+))?';
        parts.push('frac');
        i += frac[0].length;
        continue;
      }
      const tok = TOKENS.find(([t]) => layout.startsWith(t, i));
      if (tok !== undefined) {
        src += tok[1];
        if (tok[2] !== null) {
          parts.push(tok[2]);
          sawField = true;
        }
        if (tok[2] === 'second' && !/^[.,][09]/.test(layout.slice(i + tok[0].length))) {
          src += '(?:[.,](\\d+))?';
          parts.push('frac');
        }
        i += tok[0].length;
        continue;
      }
      src += layout[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
    }
    if (!sawField) throw new TimeLayoutError('BAD_TIME_LAYOUT', `layout ${JSON.stringify(layout)} names no date or time field (Go reference time: Mon Jan 2 15:04:05 MST 2006)`, { layout });
    this.re = new RegExp(`${src}$`);
    this.parts = parts;
  }

  /** RFC 3339 UTC (fraction digits kept to the nanosecond), or undefined when `text` does not fit. */
  parse(text: string, nowMs: number): string | undefined {
    const m = this.re.exec(text);
    if (m === null) return undefined;
    let year = new Date(nowMs).getUTCFullYear(), month = 1, day = 1, hour = 0, minute = 0, second = 0;
    let frac = '';
    let pm: boolean | null = null;
    let zone: number | undefined;
    for (let k = 0; k < this.parts.length; k++) {
      const v = m[k + 1];
      if (v === undefined) continue;
      switch (this.parts[k]) {
        case 'year': year = Number(v); break;
        case 'year2': year = Number(v) + (Number(v) >= 69 ? 1900 : 2000); break;
        case 'month': month = Number(v); break;
        case 'monthName': month = MONTHS.indexOf(v.slice(0, 3).toLowerCase()) + 1; break;
        case 'day': day = Number(v); break;
        case 'hour': hour = Number(v); break;
        case 'hour12': hour = Number(v) % 12; break;
        case 'minute': minute = Number(v); break;
        case 'second': second = Number(v); break;
        case 'frac': frac = v; break;
        case 'ampm': pm = v.toUpperCase() === 'PM'; break;
        case 'zone': zone = parseOffset(v, 0, v.length); break;
        case 'zoneName': zone = v === 'UTC' || v === 'GMT' || v === 'Z' ? 0 : parseOffset(v, 0, v.length); break;
      }
    }
    if (pm === true) hour += 12;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
    const wall = Date.UTC(year, month - 1, day, hour, minute, second, frac.length === 0 ? 0 : Number(frac.slice(0, 3).padEnd(3, '0')));
    if (new Date(wall).getUTCDate() !== day) return undefined;
    const ms = zone !== undefined ? wall - zone * 60_000 : this.location.wallToUtc(wall);
    return this.iso.format(ms, frac);
  }
}

/** Epoch seconds (with an optional fraction), milli-, micro- or nanoseconds as text → RFC 3339 UTC. */
export function parseEpoch(text: string, format: (typeof EPOCH_FORMATS)[number]): string | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (m === null) return undefined;
  const digits = { Unix: 0, UnixMs: 3, UnixUs: 6, UnixNs: 9 }[format];
  if (m[2] !== undefined && digits !== 0) return undefined;
  const whole = m[1];
  const secText = digits === 0 ? whole : whole.slice(0, Math.max(0, whole.length - digits)) || '0';
  const sub = digits === 0 ? (m[2] ?? '') : whole.slice(-digits).padStart(digits, '0');
  const ms = Number(secText) * 1000 + (sub.length === 0 ? 0 : Number(sub.slice(0, 3).padEnd(3, '0')));
  return isoFromMs(ms, sub.replace(/0+$/, '').length > 3 ? sub : '');
}
