/**
 * The timestamp stage reads times the way Promtail's does: Go reference-time layouts (expected
 * values worked out from Go's time package documentation: 2006-01-02T15:04:05Z07:00 is the
 * reference; a fraction may follow the seconds even when the layout has none), Go's named
 * layouts, and Promtail's Unix/UnixMs/UnixUs/UnixNs.
 */
import t from 'tap';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { GoTimeLayout, parseEpoch } from '../../src/pipeline/go-time-layout.ts';
import { TimestampStage, timestampStageSchema } from '../../src/pipeline/timestamp.ts';
import { TimeZone } from '../../src/parse/time.ts';
import { rawEvent } from './stage-helpers.ts';

const NOW = Date.parse('2024-06-01T00:00:00Z');

t.test('Go layouts', async (t) => {
  const cases: Array<[string, string, string | undefined, string?]> = [
    ['RFC3339', '2024-01-15T10:00:00Z', '2024-01-15T10:00:00.000Z'],
    ['RFC3339', '2024-01-15T10:00:00.5+02:00', '2024-01-15T08:00:00.500Z'],
    ['RFC3339Nano', '2024-01-15T10:00:00.123456789Z', '2024-01-15T10:00:00.123456789Z'],
    ['RFC3339Nano', '2024-01-15T10:00:00Z', '2024-01-15T10:00:00.000Z'],
    ['02/Jan/2006:15:04:05 -0700', '15/Jan/2024:10:00:00 +0100', '2024-01-15T09:00:00.000Z'],
    ['2006-01-02 15:04:05.000', '2024-01-15 10:00:00.250', '2024-01-15T09:00:00.250Z', 'Europe/Berlin'],
    ['2006-01-02 15:04:05,000', '2024-07-15 10:00:00,250', '2024-07-15T08:00:00.250Z', 'Europe/Berlin'],
    ['2006/01/02 15:04:05', '2024/01/15 10:00:00', '2024-01-15T10:00:00.000Z'],
    ['Jan _2 15:04:05', 'Jan  5 10:00:00', '2024-01-05T10:00:00.000Z'],
    ['ANSIC', 'Mon Jan 15 10:00:00 2024', '2024-01-15T10:00:00.000Z'],
    ['RFC1123Z', 'Mon, 15 Jan 2024 10:00:00 -0500', '2024-01-15T15:00:00.000Z'],
    ['RFC822', '15 Jan 24 10:00 UTC', '2024-01-15T10:00:00.000Z'],
    ['Kitchen', '3:04PM', '2024-01-01T15:04:00.000Z'],
    ['2006-01-02', '2024-02-30', undefined],
    ['RFC3339', 'yesterday', undefined],
  ];
  for (const [layout, text, want, zone] of cases) {
    t.equal(new GoTimeLayout(layout, TimeZone.parse(zone ?? 'UTC')).parse(text, NOW), want, `${layout} ${text}`);
  }
  t.throws(() => new GoTimeLayout('yyyy-MM-dd'), /names no date or time field/);
});

t.test('epoch formats', async (t) => {
  t.equal(parseEpoch('1705312800', 'Unix'), '2024-01-15T10:00:00.000Z');
  t.equal(parseEpoch('1705312800.25', 'Unix'), '2024-01-15T10:00:00.250Z');
  t.equal(parseEpoch('1705312800123', 'UnixMs'), '2024-01-15T10:00:00.123Z');
  t.equal(parseEpoch('1705312800123456', 'UnixUs'), '2024-01-15T10:00:00.123456Z');
  t.equal(parseEpoch('1705312800123456789', 'UnixNs'), '2024-01-15T10:00:00.123456789Z');
  t.equal(parseEpoch('12ab', 'Unix'), undefined);
});

t.test('the stage: sets the timestamp from a field, falls back, counts what it cannot read', async (t) => {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const s = new TimestampStage(timestampStageSchema.parse({ type: 'timestamp', from: 'metadata.ts', format: 'RFC3339', fallback_formats: ['UnixMs'] }), metrics);
  const e = rawEvent('x');
  e.record.metadata!.ts = '2024-01-15T10:00:00Z';
  s.process(e);
  t.equal(e.record.timestamp, '2024-01-15T10:00:00.000Z');
  t.equal(e.record.metadata!.timestamp_source, undefined, 'no longer the read time');
  const f = rawEvent('x');
  f.record.metadata!.ts = 1705312800123;
  t.equal(s.process(f).record.timestamp, '2024-01-15T10:00:00.123Z', 'fallback format, numeric field');
  const bad = rawEvent('x');
  bad.record.metadata!.ts = 'soon';
  t.equal(s.process(bad).record.timestamp, '2024-01-15T12:00:00.000Z', 'unreadable: left as it was');
  const missing = rawEvent('x');
  t.equal(s.process(missing).record.timestamp, '2024-01-15T12:00:00.000Z');
  t.match(await metrics.metrics(), /logship_timestamp_stage_failures_total\{stage="timestamp"\} 1/);
  t.match(timestampStageSchema.safeParse({ type: 'timestamp', from: 'x', format: 'RFC3339', location: 'Mars/Base' }).error?.issues[0].message, /unknown time zone/);
});
