/**
 * RFC 3339 → (seconds, nanoseconds), keeping every fractional digit the record carries
 * (normalize keeps sub-millisecond precision, so a Date would lose it).
 */

export interface Timestamp {
  sec: number;
  nanos: number;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?([Zz]|[+-]\d{2}:?\d{2})$/;

/** Parses an RFC 3339 timestamp; undefined when it is not one. */
export function parseRfc3339(ts: string): Timestamp | undefined {
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

/** The record's timestamp, or `fallbackMs` (read time) when it cannot be parsed. */
export function entryTimestamp(ts: string, fallbackMs: number): Timestamp {
  const parsed = parseRfc3339(ts);
  if (parsed !== undefined) return parsed;
  const ms = Date.parse(ts);
  const t = Number.isNaN(ms) ? fallbackMs : ms;
  const sec = Math.floor(t / 1000);
  return { sec, nanos: (t - sec * 1000) * 1_000_000 };
}
