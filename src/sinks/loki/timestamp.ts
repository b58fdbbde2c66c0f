/**
 * RFC 3339 → (seconds, nanoseconds), keeping every fractional digit the record carries
 * (normalize keeps sub-millisecond precision, so a Date would lose it).
 */

export interface Timestamp {
  sec: number;
  nanos: number;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?([Zz]|[+-]\d{2}:?\d{2})$/;

function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Reads entry timestamps for one sink. Consecutive lines share their date, hour and minute: the
 * seconds of `YYYY-MM-DDTHH:MM` of the last line are kept, so most lines skip that part of the
 * parse and Date.UTC.
 */
export class EntryTimestamps {
  private minutePrefix = '';
  private minuteSeconds = 0;

  /**
   * The shape normalize emits for almost every record, `YYYY-MM-DDTHH:MM:SS[.f…]Z`, parsed without
   * a regex or Date.parse (this runs once per line).
   */
  private parseUtcFast(ts: string): Timestamp | undefined {
    const n = ts.length;
    if (n < 20 || ts.charCodeAt(n - 1) !== 90 /* Z */ || ts.charCodeAt(10) !== 84 /* T */ || ts.charCodeAt(4) !== 45 || ts.charCodeAt(7) !== 45 || ts.charCodeAt(13) !== 58 || ts.charCodeAt(16) !== 58) return undefined;
    let base = this.minuteSeconds;
    if (!ts.startsWith(this.minutePrefix) || this.minutePrefix.length === 0) {
      const y = digits(ts, 0, 4);
      const mo = digits(ts, 5, 2);
      const d = digits(ts, 8, 2);
      const h = digits(ts, 11, 2);
      const mi = digits(ts, 14, 2);
      if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59) return undefined;
      base = Date.UTC(y, mo - 1, d, h, mi, 0) / 1000;
      this.minutePrefix = ts.slice(0, 16);
      this.minuteSeconds = base;
    }
    const s1 = ts.charCodeAt(17) - 48;
    const s2 = ts.charCodeAt(18) - 48;
    if (s1 < 0 || s1 > 6 || s2 < 0 || s2 > 9) return undefined;
    const se = s1 * 10 + s2;
    if (se > 60) return undefined;
    let nanos = 0;
    if (n === 24) {
      // milliseconds, as toISOString and most loggers write them
      const a = ts.charCodeAt(20) - 48;
      const b = ts.charCodeAt(21) - 48;
      const c = ts.charCodeAt(22) - 48;
      if (ts.charCodeAt(19) !== 46 /* . */ || a < 0 || a > 9 || b < 0 || b > 9 || c < 0 || c > 9) return undefined;
      nanos = (a * 100 + b * 10 + c) * 1_000_000;
    } else if (n > 20) {
      if (ts.charCodeAt(19) !== 46 /* . */) return undefined;
      const fracLen = n - 21;
      if (fracLen < 1) return undefined;
      const f = digits(ts, 20, Math.min(fracLen, 9));
      if (f < 0 || (fracLen > 9 && digits(ts, 29, fracLen - 9) < 0)) return undefined;
      nanos = fracLen >= 9 ? f : f * 10 ** (9 - fracLen);
    }
    // Date.UTC rolls a leap second (:60) into the next minute; so does this.
    return { sec: base + se, nanos };
  }

  /** Parses an RFC 3339 timestamp; undefined when it is not one. */
  parseRfc3339(ts: string): Timestamp | undefined {
    const fast = this.parseUtcFast(ts);
    if (fast !== undefined) return fast;
    const m = RFC3339.exec(ts);
    if (m === null) return undefined;
    let zone = m[4];
    if (zone === 'z') zone = 'Z';
    else if (zone.length === 5) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`;
    const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
    if (Number.isNaN(ms)) return undefined;
    const frac = m[3];
    let nanos = 0;
    if (frac !== undefined) {
      const digits = frac.length >= 9 ? frac.slice(0, 9) : frac.padEnd(9, '0');
      nanos = Number(digits);
    }
    // ms is a whole number of seconds here (no fraction was passed to Date.parse).
    return { sec: Math.floor(ms / 1000), nanos };
  }

  /** entry()'s result, reused: one object per line would be one more young-generation allocation. */
  private readonly out: Timestamp = { sec: 0, nanos: 0 };

  /**
   * The record's timestamp, or `fallbackMs` (read time) when it cannot be parsed. `knownMs` is the
   * epoch ms the parser already read from `ts` (LogEvent.parsedTimeMs), NaN when none. The result
   * is valid until the next call.
   */
  entry(ts: string, fallbackMs: number, knownMs = NaN): Timestamp {
    const out = this.out;
    let t = knownMs;
    if (Number.isNaN(t)) {
      const parsed = this.parseRfc3339(ts);
      if (parsed !== undefined) {
        out.sec = parsed.sec;
        out.nanos = parsed.nanos;
        return out;
      }
      const ms = Date.parse(ts);
      t = Number.isNaN(ms) ? fallbackMs : ms;
    }
    const sec = Math.floor(t / 1000);
    out.sec = sec;
    out.nanos = (t - sec * 1000) * 1_000_000;
    return out;
  }
}
