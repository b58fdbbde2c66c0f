import t from 'tap';
import pino from 'pino';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { createParser } from '../../parsers/index.ts';
import { LabelsStage, labelsStageSchema } from '../../src/pipeline/labels.ts';
import { LineProcessor } from '../../src/pipeline/processor.ts';
import type { Stage } from '../../src/core/stage.ts';
import { NO_ACK, type LogEvent } from '../../src/core/record.ts';
import { StreamLabeler } from '../../src/sinks/loki/labels.ts';

const log = pino({ level: 'silent' });
const source = { type: 'file' as const, name: 'app', file: '/var/log/app.log' };

function pipeline(stages: Stage[], labels: Record<string, string> = { job: 'app', env: 'prod' }) {
  const events: LogEvent[] = [];
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const processor = new LineProcessor({
    sourceName: 'app', service: 'app', parserName: 'json', parser: createParser('json', { timezone: 'UTC', client_error_level: 'WARN' }), stages,
    router: { route: (e) => events.push(e) }, labels, metrics, log,
  });
  const send = (text: string) => processor.receive({ text, ack: NO_ACK, truncated: false, source, readTime: Date.parse('2024-01-15T12:00:00Z') });
  return { events, send, metrics };
}

t.test('a label a stage sets on one event does not leak into the next event of the same source', async (t) => {
  const staticLabels = { job: 'app', env: 'prod' };
  const labelsStage = new LabelsStage(labelsStageSchema.parse({ type: 'labels', from: { user: 'user_id' } }));
  const { events, send } = pipeline([labelsStage], staticLabels);
  send('{"level":"INFO","message":"a","user_id":"alice"}');
  send('{"level":"INFO","message":"b"}');
  send('{"level":"INFO","message":"c","user_id":"bob"}');
  send('{"level":"INFO","message":"d"}');
  t.same(events.map((e) => e.labels), [
    { job: 'app', env: 'prod', user: 'alice' },
    { job: 'app', env: 'prod' },
    { job: 'app', env: 'prod', user: 'bob' },
    { job: 'app', env: 'prod' },
  ]);
  t.same(staticLabels, { job: 'app', env: 'prod' }, 'the source config is untouched');
});

t.test('a static label set by a stage overrides the source label for that event only', async (t) => {
  const override = new LabelsStage(labelsStageSchema.parse({ type: 'labels', from: { env: 'metadata.env' } }));
  const { events, send } = pipeline([override]);
  send('{"message":"a","env":"staging"}');
  send('{"message":"b"}');
  t.same(events.map((e) => e.labels.env), ['staging', 'prod']);
});

t.test('an emitted event and its trigger do not share label writes', async (t) => {
  // A stage that emits a copy-labelled extra event, then a labels stage after it.
  const emitter: Stage = {
    name: 'emitter',
    process(event, emit) {
      if (event.record.message === 'trigger') emit!({ record: { ...event.record, message: 'extra' }, labels: event.labels, ack: NO_ACK, size: 5 });
      return event;
    },
  };
  const setter: Stage = {
    name: 'setter',
    process(event) {
      event.labels.seen = event.record.message;
      return event;
    },
  };
  const { events, send } = pipeline([emitter, setter]);
  send('{"message":"trigger"}');
  send('{"message":"plain"}');
  t.same(events.map((e) => [e.record.message, e.labels.seen]), [['extra', 'extra'], ['trigger', 'trigger'], ['plain', 'plain']]);
});

t.test('parser exceptions still ship the line with the source labels, unshared with later writes', async (t) => {
  const labelsStage = new LabelsStage(labelsStageSchema.parse({ type: 'labels', values: { team: 'core' } }));
  const events: LogEvent[] = [];
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const processor = new LineProcessor({
    sourceName: 'app', service: 'app', parserName: 'boom', parser: () => { throw new Error('boom'); }, stages: [labelsStage],
    router: { route: (e) => events.push(e) }, labels: { job: 'app' }, metrics, log,
  });
  processor.receive({ text: 'x', ack: NO_ACK, truncated: false, source, readTime: 0 });
  processor.receive({ text: 'y', ack: NO_ACK, truncated: false, source, readTime: 0 });
  t.same(events.map((e) => [e.record.message, e.labels]), [['x', { job: 'app', team: 'core' }], ['y', { job: 'app', team: 'core' }]]);
  t.match(await metrics.registry.metrics(), /logship_parse_errors_total\{parser="boom",reason="exception"\} 2/);
});

t.test('Loki streams follow per-event labels and record fields when labels objects are shared', async (t) => {
  const labelsStage = new LabelsStage(labelsStageSchema.parse({ type: 'labels', from: { user: 'user_id' } }));
  const { events, send } = pipeline([labelsStage]);
  const labeler = new StreamLabeler({ labels: ['job', 'env', 'level', 'user'], maxValuesPerLabel: 100, maxStreams: 100, idleTtlMs: 60_000, onOverflow() {} });
  send('{"level":"INFO","message":"a"}');
  send('{"level":"ERROR","message":"b"}');
  send('{"level":"ERROR","message":"c","user_id":"u1"}');
  send('{"level":"ERROR","message":"d"}');
  send('{"level":"INFO","message":"e"}');
  t.same(events.map((e) => labeler.resolve(e).labels), [
    '{env="prod", job="app", level="INFO"}',
    '{env="prod", job="app", level="ERROR"}',
    '{env="prod", job="app", level="ERROR", user="u1"}',
    '{env="prod", job="app", level="ERROR"}',
    '{env="prod", job="app", level="INFO"}',
  ]);
});

t.test('a values-only labels stage keeps the source labels and adds its own to every event', async (t) => {
  const values = new LabelsStage(labelsStageSchema.parse({ type: 'labels', values: { team: 'core' } }));
  const user = new LabelsStage(labelsStageSchema.parse({ type: 'labels', from: { user: 'user_id' } }));
  const { events, send } = pipeline([values, user]);
  send('{"message":"a","user_id":"u1"}');
  send('{"message":"b"}');
  t.same(events.map((e) => e.labels), [{ job: 'app', env: 'prod', team: 'core', user: 'u1' }, { job: 'app', env: 'prod', team: 'core' }]);
});

t.test('parse errors and drops are counted per parser and reason, and per source and stage', async (t) => {
  const events: LogEvent[] = [];
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const drop: Stage = { name: 'drop-debug', process: (e) => (e.record.level === 'DEBUG' ? null : e) };
  const processor = new LineProcessor({
    sourceName: 'app', service: 'app', parserName: 'fussy',
    parser: (text, ctx) => {
      if (text.startsWith('bad')) ctx.parseError('fussy', text.slice(4));
      return { timestamp: '2024-01-15T12:00:00.000Z', level: text.endsWith('debug') ? 'DEBUG' : 'INFO', service: ctx.service, message: text, source: ctx.source };
    },
    stages: [drop], router: { route: (e) => events.push(e) }, labels: { job: 'app' }, metrics, log,
  });
  for (const text of ['bad ts', 'bad ts', 'bad truncated', 'ok', 'ok debug', 'ok debug']) processor.receive({ text, ack: NO_ACK, truncated: false, source, readTime: 0 });
  const out = await metrics.metrics();
  t.match(out, /logship_parse_errors_total\{parser="fussy",reason="ts"\} 2\n/);
  t.match(out, /logship_parse_errors_total\{parser="fussy",reason="truncated"\} 1\n/);
  t.match(out, /logship_records_dropped_total\{source="app",stage="drop-debug"\} 2\n/);
  t.match(out, /logship_records_total\{source="app"\} 6\n/);
  t.equal(events.length, 4);
  processor.receive({ text: 'bad ts', ack: NO_ACK, truncated: false, source, readTime: 0 });
  t.match(await metrics.metrics(), /logship_parse_errors_total\{parser="fussy",reason="ts"\} 3\n/, 'counts keep adding after a scrape');
});

t.test('lines no parser understood are counted in logship_parse_fallback_total by parser and reason', async (t) => {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const events: LogEvent[] = [];
  const processor = new LineProcessor({
    sourceName: 'app', service: 'app', parserName: 'auto', parser: createParser('auto', { timezone: 'UTC', client_error_level: 'WARN' }), stages: [],
    router: { route: (e) => events.push(e) }, labels: {}, metrics, log,
  });
  for (const text of ['free text one', 'free text two', '{"broken": ', '2024-01-15T10:00:00Z INFO parsed', '<34>not syslog']) {
    processor.receive({ text, ack: NO_ACK, truncated: false, source, readTime: Date.parse('2024-01-15T12:00:00Z') });
  }
  const exposition = await metrics.metrics();
  const series = exposition.split('\n').filter((l) => l.startsWith('logship_parse_fallback_total{')).sort();
  t.same(series, [
    'logship_parse_fallback_total{parser="auto",reason="unrecognized"} 2',
    'logship_parse_fallback_total{parser="json",reason="malformed"} 1',
    'logship_parse_fallback_total{parser="syslog",reason="malformed"} 1',
  ]);
  t.same(events.map((e) => e.record.message), ['free text one', 'free text two', '{"broken": ', 'parsed', '<34>not syslog'], 'every line ships; the unparsed ones as their raw text');
});
