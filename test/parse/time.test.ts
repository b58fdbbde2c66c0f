import t from 'tap';
import fc from 'fast-check';
import { createParser } from '../../parsers/index.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TimeReader, TimeZone, localZoneName } from '../../src/parse/time.ts';

/** One reader for the whole file, as a parser keeps one for all its lines (its memos included). */
const reader = new TimeReader();
import type { ParseContext } from '../../src/parse/types.ts';

function ctxAt(iso: string, errors: string[] = []): ParseContext {
  return { source: { type: 'file', name: 't' }, service: 's', readTime: Date.parse(iso), runtimeTimestamp: undefined, parseError: (p, r) => errors.push(`${p}:${r}`) };
}

t.test('timestamp formats and zones', async (t) => {
  const ref = Date.parse('2024-06-15T12:00:00Z');
  const utc = TimeZone.UTC;
  const berlin = TimeZone.parse('Europe/Berlin')!;
  const cases: Array<[unknown, TimeZone, string | undefined]> = [
    ['2024-01-15T10:00:00Z', utc, '2024-01-15T10:00:00.000Z'],
    ['2024-01-15T10:00:00.000Z', utc, '2024-01-15T10:00:00.000Z'],
    ['2024-01-15T10:00:00.123456789Z', utc, '2024-01-15T10:00:00.123456789Z'],
    ['2024-01-15T12:00:00+02:00', utc, '2024-01-15T10:00:00.000Z'],
    ['2024-01-15T05:30:00-0430', utc, '2024-01-15T10:00:00.000Z'],
    ['2024-01-15T12:00:00+02', utc, '2024-01-15T10:00:00.000Z'],
    ['2024-01-15 10:00:00,123', utc, '2024-01-15T10:00:00.123Z'],
    ['2024-01-15 11:00:00', berlin, '2024-01-15T10:00:00.000Z'], // CET
    ['2024-07-15 12:00:00', berlin, '2024-07-15T10:00:00.000Z'], // CEST
    ['2024-01-15 10:00:00 UTC', berlin, '2024-01-15T10:00:00.000Z'],
    ['2024/01/15 10:00:00', utc, '2024-01-15T10:00:00.000Z'],
    [1705312800, utc, '2024-01-15T10:00:00.000Z'],
    [1705312800.5, utc, '2024-01-15T10:00:00.500Z'],
    [1705312800123, utc, '2024-01-15T10:00:00.123Z'],
    [1705312800123456, utc, '2024-01-15T10:00:00.123Z'],
    ['1705312800123456789', utc, '2024-01-15T10:00:00.123456789Z'],
    ['1705312800', utc, '2024-01-15T10:00:00.000Z'],
    ['15/Jan/2024:10:00:00 -0700', utc, '2024-01-15T17:00:00.000Z'],
    ['Mon Jan 15 10:00:00 2024', utc, '2024-01-15T10:00:00.000Z'],
    ['Mon, 15 Jan 2024 10:00:00 GMT', utc, '2024-01-15T10:00:00.000Z'],
    ['Jan 15 10:00:00', utc, '2024-01-15T10:00:00.000Z'],
    ['2024-02-30T10:00:00Z', utc, undefined],
    ['2024-13-01T10:00:00Z', utc, undefined],
    ['yesterday', utc, undefined],
    ['', utc, undefined],
    [-5, utc, undefined],
    [Number.NaN, utc, undefined],
    [1e300, utc, undefined],
  ];
  for (const [v, tz, want] of cases) t.equal(reader.parseTimestampValue(v, tz, ref), want, `${JSON.stringify(v)} in ${tz.name}`);
  t.equal(TimeZone.parse('Not/AZone'), undefined);
  t.equal(TimeZone.parse('+05:30')!.wallToUtc(Date.UTC(2024, 0, 1, 5, 30)), Date.UTC(2024, 0, 1));
});

t.test('toISOString-shaped UTC times: kept as given when valid, canonicalised or refused otherwise', async (t) => {
  const utc = TimeZone.UTC;
  const ref = Date.UTC(2024, 5, 1);
  for (const v of ['2024-01-15T10:00:00.123Z', '1999-12-31T23:59:59.999Z', '2024-02-29T00:00:00.000Z']) {
    t.equal(reader.parseTimestampValue(v, utc, ref), v, v);
    t.equal(reader.parseTimestampValue(v, utc, ref), new Date(v).toISOString(), `${v} is what toISOString gives`);
  }
  for (const v of ['2023-02-29T00:00:00.000Z', '2024-13-01T00:00:00.000Z', '2024-01-15T24:00:00.000Z', '2024-01-15T10:60:00.000Z', '2024-01-15T10:00:00.0a0Z', '2024-01-15T10:00:0x.000Z',
    // a non-digit as the year's last character (fast-check's counterexample: it read as the year 1020), also off the fast path
    '202 -01-15T10:00:10.000Z', '199x-12-31T23:59:59.999Z', '202 -01-15T10:00:10Z', '202 -01-15 10:00:10,123']) {
    t.equal(reader.parseTimestampValue(v, utc, ref), undefined, `${v} refused`);
  }
  t.equal(reader.parseTimestampValue('2024/01/15T10:00:00.123Z', utc, ref), '2024-01-15T10:00:00.123Z', 'slash dates come out as RFC 3339');
});

t.test('RFC 3164 year inference never lands in the future', async (t) => {
  const syslog = createParser('syslog', { timezone: 'UTC', client_error_level: 'WARN' });
  // read on New Year's morning: a December line belongs to last year
  t.equal(syslog('Dec 31 23:59:58 h app: x', ctxAt('2024-01-01T00:00:05Z')).timestamp, '2023-12-31T23:59:58.000Z');
  t.equal(syslog('Jan  1 00:00:01 h app: x', ctxAt('2024-01-01T00:00:05Z')).timestamp, '2024-01-01T00:00:01.000Z');
  // a date later this year than "now" is last year's
  t.equal(syslog('Jun 15 10:00:00 h app: x', ctxAt('2024-03-01T00:00:00Z')).timestamp, '2023-06-15T10:00:00.000Z');
  // Feb 29 only in leap years: read in 2025 → 2024
  t.equal(syslog('Feb 29 10:00:00 h app: x', ctxAt('2025-03-01T00:00:00Z')).timestamp, '2024-02-29T10:00:00.000Z');
  // ... also two and three years on (a rotated auth.log.4.gz replayed in 2026/2027), and across 2100 (no leap day) to 2096
  t.equal(syslog('Feb 29 10:00:00 h app: x', ctxAt('2026-12-04T00:00:00Z')).timestamp, '2024-02-29T10:00:00.000Z');
  t.equal(syslog('Feb 29 10:00:00 h app: x', ctxAt('2027-02-28T00:00:00Z')).timestamp, '2024-02-29T10:00:00.000Z');
  t.equal(syslog('Feb 29 10:00:00 h app: x', ctxAt('2103-01-01T00:00:00Z')).timestamp, '2096-02-29T10:00:00.000Z');
  t.equal(syslog('Feb 29 10:00:00 h app: x', ctxAt('2028-02-29T10:00:01Z')).timestamp, '2028-02-29T10:00:00.000Z', 'this year when it is one');
  // the configured zone
  const ny = createParser('syslog', { timezone: 'America/New_York', client_error_level: 'WARN' });
  t.equal(ny('Jan 15 05:00:00 h app: x', ctxAt('2024-01-15T12:00:00Z')).timestamp, '2024-01-15T10:00:00.000Z');
  // New Year in a zone ahead of UTC: read at 2023-12-31T23:30Z = Jan 1 00:30 in Berlin
  const berlin = createParser('syslog', { timezone: 'Europe/Berlin', client_error_level: 'WARN' });
  t.equal(berlin('Jan  1 00:20:00 h app: x', ctxAt('2023-12-31T23:30:00Z')).timestamp, '2023-12-31T23:20:00.000Z');
  for (let i = 0; i < 400; i++) {
    const now = Date.UTC(2024, 0, 1) + i * 86_400_000 + 3_600_000;
    const d = new Date(now - 3_600_000 * 5);
    const mon = d.toUTCString().slice(8, 11);
    const line = `${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)} h app: x`;
    const ts = Date.parse(syslog(line, ctxAt(new Date(now).toISOString())).timestamp);
    if (ts > now || now - ts > 6 * 3_600_000) t.fail(`${line} read at ${new Date(now).toISOString()} → ${new Date(ts).toISOString()}`);
  }
});

t.test('far-future timestamps are clamped to the read time and counted', async (t) => {
  const errors: string[] = [];
  const json = createParser('json');
  const ctx = ctxAt('2024-01-15T12:00:00Z', errors);
  const near = json('{"timestamp":"2024-01-15T12:09:00Z","message":"skewed"}', ctx);
  t.equal(near.timestamp, '2024-01-15T12:09:00.000Z', 'within 10 minutes kept');
  const far = json('{"timestamp":"2024-01-15T12:11:00Z","message":"future"}', ctx);
  t.equal(far.timestamp, '2024-01-15T12:00:00.000Z');
  t.same(far.metadata, { timestamp_source: 'clamped', original_timestamp: '2024-01-15T12:11:00.000Z' });
  t.same(errors, ['json:future_timestamp']);
  const nginx = createParser('nginx', { timezone: 'UTC', client_error_level: 'WARN' });
  nginx('1.2.3.4 - - [15/Jan/2025:10:00:00 +0000] "GET / HTTP/1.1" 200 1', ctx);
  t.same(errors, ['json:future_timestamp', 'nginx:future_timestamp']);
});

t.test('no time: read time marked; container runtime time preferred when present', async (t) => {
  const auto = createParser('auto');
  const ctx = ctxAt('2024-01-15T12:00:00Z');
  t.same(auto('hello', ctx).metadata, { timestamp_source: 'read_time' });
  ctx.runtimeTimestamp = '2024-01-15T11:59:59.123456789Z';
  const r = auto('hello', ctx);
  t.equal(r.timestamp, '2024-01-15T11:59:59.123456789Z');
  t.equal(r.metadata, undefined);
});

t.test('isoFromMs formats exactly like toISOString (its per-second cache included)', async (t) => {
  const ms = fc.oneof(fc.integer({ min: -30610224000000, max: 253402300799999 }), fc.integer({ min: 1_700_000_000_000, max: 1_700_000_005_000 }), fc.double({ min: -30610224000000, max: 253402300799999, noNaN: true }));
  fc.assert(fc.property(fc.array(ms, { minLength: 1, maxLength: 8 }), fc.stringMatching(/^\d{0,9}$/), (list, frac) => {
    for (const m of list) {
      const iso = new Date(m).toISOString();
      const want = frac.length <= 3 ? iso : `${iso.slice(0, 20)}${frac}Z`;
      const got = reader.iso.format(m, frac);
      if (got !== want) throw new Error(`${m} ${frac}: got ${got}, want ${want}`);
    }
  }), { numRuns: 20_000 });
  t.equal(reader.iso.format(253402300800000), undefined, 'past year 9999');
});

t.test('toISOString-shaped times: the same verdict whichever times came before (per-day cache)', async (t) => {
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = fc.record({ y: fc.constantFrom(999, 1000, 2023, 2024, 9999), mo: fc.integer({ min: 0, max: 13 }), d: fc.integer({ min: 0, max: 32 }), h: fc.integer({ min: 0, max: 25 }), mi: fc.integer({ min: 0, max: 61 }), s: fc.integer({ min: 0, max: 61 }), ms: fc.integer({ min: 0, max: 999 }) });
  const format = (p: { y: number; mo: number; d: number; h: number; mi: number; s: number; ms: number }) =>
    `${String(p.y).padStart(4, '0')}-${two(p.mo)}-${two(p.d)}T${two(p.h)}:${two(p.mi)}:${two(p.s)}.${String(p.ms).padStart(3, '0')}Z`;
  const valid = (p: { y: number; mo: number; d: number; h: number; mi: number; s: number }) =>
    p.y >= 1000 && p.mo >= 1 && p.mo <= 12 && p.d >= 1 && p.d <= new Date(Date.UTC(p.y, p.mo, 0)).getUTCDate() && p.h <= 23 && p.mi <= 59 && p.s <= 60;
  fc.assert(fc.property(fc.array(stamp, { minLength: 1, maxLength: 10 }), fc.array(fc.record({ h: fc.integer({ min: 0, max: 25 }), mi: fc.integer({ min: 0, max: 61 }) }), { maxLength: 5 }), (stamps, sameDay) => {
    // the same days again with other times, so the cache is hit with valid and invalid times
    for (const p of [...stamps, ...sameDay.map((x, i) => ({ ...stamps[i % stamps.length], ...x }))]) {
      const v = format(p);
      const got = reader.parseTimestampValue(v, TimeZone.UTC, 0);
      if (got !== (valid(p) ? v : undefined)) throw new Error(`${v}: got ${got}`);
    }
  }), { numRuns: 5_000 });
  t.pass('5,000 sequences');
});

t.test('the local zone: TZ, else /etc/localtime, else UTC, asking Intl only when it is not plainly UTC', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logship-tz-'));
  const link = (name: string, target: string) => {
    symlinkSync(target, join(dir, name));
    return join(dir, name);
  };
  t.equal(localZoneName({ TZ: 'UTC' }), 'UTC');
  t.equal(localZoneName({ TZ: ':Etc/UTC' }), 'UTC');
  t.equal(localZoneName({ TZ: '' }), 'UTC', 'an empty TZ is UTC (glibc)');
  t.equal(localZoneName({}, join(dir, 'missing')), 'UTC', 'no /etc/localtime: UTC, as glibc and ICU have it');
  t.equal(localZoneName({}, link('utc', '/usr/share/zoneinfo/Etc/UTC')), 'UTC');
  t.equal(localZoneName({}, link('posix-utc', '../usr/share/zoneinfo/posix/UTC')), 'UTC');
  // Anything else is Intl's answer for this process (which runs in UTC here, so compare with Intl).
  const intl = Intl.DateTimeFormat().resolvedOptions().timeZone;
  t.equal(localZoneName({}, link('berlin', '/usr/share/zoneinfo/Europe/Berlin')), intl);
  writeFileSync(join(dir, 'copied'), 'TZif');
  t.equal(localZoneName({}, join(dir, 'copied')), intl, 'a copied zone file: only Intl can name it');
  t.equal(localZoneName({ TZ: 'Europe/Berlin' }), intl);
  // And in a process that really runs in another zone, `local` reads wall-clock times there.
  const script = `import { TimeZone } from ${JSON.stringify(new URL('../../src/parse/time.ts', import.meta.url).href)};
const tz = TimeZone.parse('local');
console.log(tz.name, new Date(tz.wallToUtc(Date.UTC(2024, 0, 15, 12))).toISOString());`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, TZ: 'America/New_York' } });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), 'America/New_York 2024-01-15T17:00:00.000Z');
  // In UTC, `local` never touches Intl (whose zone data would cost ~7 MiB of RSS).
  const noIntl = `Intl.DateTimeFormat = function () { throw new Error('Intl used'); };
const { TimeZone } = await import(${JSON.stringify(new URL('../../src/parse/time.ts', import.meta.url).href)});
console.log(TimeZone.parse('local') === TimeZone.UTC);`;
  const u = spawnSync(process.execPath, ['--input-type=module', '-e', noIntl], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  t.equal(u.status, 0, u.stderr);
  t.equal(u.stdout.trim(), 'true', 'local in UTC is TimeZone.UTC without Intl');
});
