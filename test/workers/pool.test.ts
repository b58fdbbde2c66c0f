import t from 'tap';
import pino from 'pino';
import { Writable } from 'node:stream';
import { classificationConfigSchema } from '../../src/pipeline/classify.ts';
import { redactionConfigSchema } from '../../src/pipeline/redact.ts';
import { RecordFaults } from '../../src/self-metrics/faults.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import type { Ack, LogEvent, SourceInfo } from '../../src/core/record.ts';
import { PipelinePool } from '../../src/workers/pool.ts';
import { waitFor } from '../support/daemon.ts';

const CRASH_ENTRY = new URL('../fixtures/workers/crash-worker.ts', import.meta.url);

/** An ack that counts its references: settled when every one was released. */
class CountingAck implements Ack {
  refs = 1;
  retain(n: number): void {
    this.refs += n;
  }
  release(): void {
    this.refs--;
  }
  absorb(other: Ack): void {
    other.release();
  }
}

function setup(o: { threads: number; crash?: 'exit' | 'throw'; always?: boolean; slimFields?: string[] }) {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _enc, cb) {
    for (const l of String(chunk).split('\n')) if (l) logs.push(JSON.parse(l) as Record<string, unknown>);
    cb();
  } });
  const log = pino({ level: 'info' }, sink);
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const faults = new RecordFaults({ metrics, log });
  const events: LogEvent[] = [];
  const fatal: Error[] = [];
  const pool = new PipelinePool({
    threads: o.threads,
    init: {
      sources: [{ name: 'app', service: 'app', parser: 'json', parserOptions: { timezone: 'UTC' }, labels: {} }],
      classification: classificationConfigSchema.parse({}),
      redaction: redactionConfigSchema.parse({}),
      stages: [],
      logLevel: 'silent',
      slimFields: o.slimFields ?? null,
      // what the crash fixture reads (WorkerInit carries it to the worker as workerData)
      ...(o.crash ? { crash: o.crash, always: o.always } : {}),
    },
    metrics, log, faults,
    onFatal: (err) => fatal.push(err),
    ...(o.crash ? { entry: CRASH_ENTRY } : {}),
  });
  // every record continues at stage 2 (after classification and redaction): straight to `events`
  const target = { resume: (from: number, e: LogEvent) => {
    if (from !== 2) throw new Error(`resumed at ${from}`);
    events.push(e);
    e.ack.release();
  } };
  return { pool, target, events, logs, metrics, fatal };
}

function source(file: string): SourceInfo {
  return Object.freeze({ type: 'file', name: 'app', file }) as SourceInfo;
}

t.test('records come back per file in the order read, acks released once, with 2 workers and 4 files', async (t) => {
  const s = setup({ threads: 2 });
  await s.pool.start();
  t.teardown(() => s.pool.stop());
  const files = [0, 1, 2, 3].map((f) => ({ feed: s.pool.feed({ source: 0, target: s.target, resumeAt: 2, labels: { job: 'app' } }), info: source(`/f${f}.log`), acks: [] as CountingAck[] }));
  const perFile = 3000;
  for (let i = 0; i < perFile; i += 100) {
    for (const f of files) {
      const ack = new CountingAck();
      f.acks.push(ack);
      ack.retain(99); // one read: its lines share a token, one reference each
      for (let j = i; j < i + 100; j++) f.feed.receive({ text: `{"level":"info","message":"line ${j}","seq":${j}}`, ack, truncated: false, source: f.info, readTime: 0, offset: j * 10 });
      await new Promise((r) => setImmediate(r)); // a reader yields between reads
    }
  }
  // what a reader that caught up asks: the sinks flush once the workers' records are in, not before
  let answeredAt = -1;
  s.pool.whenAnswered(() => (answeredAt = s.events.length));
  await waitFor('every record', () => s.events.length === 4 * perFile, 30_000);
  await waitFor('whenAnswered ran', () => answeredAt >= 0, 10_000);
  t.equal(answeredAt, 4 * perFile, 'whenAnswered ran when the last record was delivered');
  let now = false;
  s.pool.whenAnswered(() => (now = true));
  t.ok(now, 'and at once when nothing is out');
  for (const f of files) {
    const seqs = s.events.filter((e) => e.record.source.file === f.info.file).map((e) => (e.record.metadata as { seq: number }).seq);
    t.same(seqs, Array.from({ length: perFile }, (_, i) => i), `${f.info.file}: in order, once each`);
    t.ok(f.acks.every((a) => a.refs === 0), `${f.info.file}: every ack settled exactly`);
  }
  const e = s.events.find((x) => x.record.source.file === '/f0.log')!;
  t.equal(e.record.source, files[0].info, 'the line\'s own SourceInfo object is re-attached');
  t.equal(e.record.level, 'INFO');
  t.ok(e.verbatim !== undefined, 'sinks ship the worker\'s JSON text');
  await s.pool.drain(Date.now() + 10_000);
  const total = (await s.metrics.registry.getSingleMetric('logship_records_total')!.get()).values.reduce((n, v) => n + v.value, 0);
  t.equal(total, 4 * perFile, 'the workers\' logship_records_total arrives as exact deltas');
});

t.test('one busy file with 2 workers: its reads go to both, its records come back in the order read', async (t) => {
  const s = setup({ threads: 2 });
  await s.pool.start();
  t.teardown(() => s.pool.stop());
  const feed = s.pool.feed({ source: 0, target: s.target, resumeAt: 2, labels: { job: 'app' } });
  const info = source('/busy.log');
  const acks: CountingAck[] = [];
  const total = 20_000;
  for (let i = 0; i < total; i += 500) {
    const ack = new CountingAck();
    acks.push(ack);
    ack.retain(499);
    // uneven reads: a long one may come back after the short one posted after it
    for (let j = i; j < i + 500; j++) feed.receive({ text: j % 500 < 250 && (i / 500) % 2 === 0 ? `{"level":"info","message":"${'x'.repeat(2000)}","seq":${j}}` : `{"level":"info","message":"s","seq":${j}}`, ack, truncated: false, source: info, readTime: 0, offset: j });
    await new Promise((r) => setImmediate(r));
  }
  await waitFor('every record', () => s.events.length === total, 60_000);
  t.same(s.events.map((e) => (e.record.metadata as { seq: number }).seq), Array.from({ length: total }, (_, i) => i), 'in the order read, once each');
  t.ok(acks.every((a) => a.refs === 0), 'every ack settled exactly');
  const batches = (await s.metrics.registry.getSingleMetric('logship_pipeline_worker_batches_total')!.get()).values;
  t.same(batches.map((v) => v.labels.worker).sort(), ['0', '1'], 'both workers took reads of the one file');
  t.ok(batches.every((v) => v.value > 0), `reads per worker: ${batches.map((v) => v.value).join(', ')}`);
});

t.test('slim records: the configured fields as the record, the worker\'s JSON as the line', async (t) => {
  const s = setup({ threads: 2, slimFields: ['timestamp', 'level', 'service', 'http.status_code', 'metadata.threat', 'user_id', 'metadata.tags.0', 'constructor'] });
  await s.pool.start();
  t.teardown(() => s.pool.stop());
  const feed = s.pool.feed({ source: 0, target: s.target, resumeAt: 2, labels: { job: 'app' } });
  const info = source('/slim.log');
  const lines = [
    '{"timestamp":"2026-12-05T01:00:00.000Z","level":"WARN","service":"api","message":"GET /x","http":{"status_code":404,"method":"GET"},"user_id":"u1","metadata":{"threat":"scan","other":1},"tags":["a","b"]}',
    '{"timestamp":"2026-12-05T01:00:01.000Z","level":"INFO","service":"api","message":"password=hunter2 plain"}',
    'not json at all',
  ];
  const ack = new CountingAck();
  ack.retain(lines.length - 1);
  for (const [i, text] of lines.entries()) feed.receive({ text, ack, truncated: false, source: info, readTime: Date.UTC(2026, 11, 5, 2), offset: i });
  await waitFor('every record', () => s.events.length === lines.length, 30_000);
  const [a, b, c] = s.events;
  t.same({ ...a.record, source: undefined }, { timestamp: '2026-12-05T01:00:00.000Z', level: 'WARN', service: 'api', http: { status_code: 404 }, user_id: 'u1', metadata: { threat: 'scan', tags: { 0: 'a' } }, source: undefined }, 'only the configured fields, at their paths');
  t.equal(a.record.source, info, 'the line\'s SourceInfo');
  t.equal(Object.hasOwn(a.record, 'constructor'), false, 'no inherited property copied as a field');
  for (const e of s.events) t.equal(e.verbatim?.additions(e.record), '', 'the JSON ships as it is');
  const whole = s.events.map((e) => JSON.parse(e.verbatim!.text) as { message: string; http?: unknown; metadata?: unknown; source?: unknown });
  t.same([whole[0].message, whole[0].http, whole[0].metadata, whole[2].message], ['GET /x', { status_code: 404, method: 'GET' }, { threat: 'scan', other: 1, tags: ['a', 'b'] }, 'not json at all'], 'the line is the whole record');
  t.ok(whole.every((w) => w.source === undefined), 'without `source` (the Loki line)');
  t.notMatch(b.verbatim!.text, /hunter2/, 'redacted in the worker');
  t.equal(a.parsedTimeText, '2026-12-05T01:00:00.000Z');
  t.ok(ack.refs === 0, 'the ack settled');
});

for (const crash of ['exit', 'throw'] as const) {
  t.test(`a worker that dies (${crash}) is logged, counted, started again, and its unanswered lines re-sent: none lost, none twice`, async (t) => {
    const s = setup({ threads: 1, crash });
    await s.pool.start();
    t.teardown(() => s.pool.stop());
    const feed = s.pool.feed({ source: 0, target: s.target, resumeAt: 2, labels: { job: 'app' } });
    const info = source('/app.log');
    const acks: CountingAck[] = [];
    const texts: string[] = [];
    for (let i = 0; i < 300; i++) texts.push(i === 150 ? 'CRASH-THE-WORKER' : `{"message":"m ${i}","seq":${i}}`);
    for (let i = 0; i < texts.length; i += 50) {
      for (let j = i; j < i + 50; j++) {
        const ack = new CountingAck();
        acks.push(ack);
        feed.receive({ text: texts[j], ack, truncated: false, source: info, readTime: 0, offset: j });
      }
      await new Promise((r) => setImmediate(r));
    }
    await waitFor('every record', () => s.events.length === texts.length, 30_000);
    t.same(s.events.map((e) => e.record.message), texts.map((x, i) => (i === 150 ? x : `m ${i}`)), 'every line once, in order');
    t.ok(acks.every((a) => a.refs === 0), 'every ack settled exactly once');
    const crashes = (await s.metrics.registry.getSingleMetric('logship_pipeline_worker_crashes_total')!.get()).values;
    t.same(crashes.map((v) => [v.labels.worker, v.value]), [['0', 1]], 'logship_pipeline_worker_crashes_total{worker="0"} 1');
    const err = s.logs.find((l) => l.level === 50);
    t.match(err?.msg, /pipeline worker 0 died .*starting it again/, 'an error log says what happened');
    t.match(String(err?.error), crash === 'exit' ? /exit code 3/ : /injected worker failure/);
    t.same(s.fatal, []);
  });
}

t.test('a worker that keeps dying stops the pipeline loudly (onFatal), never a silent stall', async (t) => {
  const s = setup({ threads: 1, crash: 'exit', always: true });
  await s.pool.start();
  t.teardown(() => s.pool.stop());
  const feed = s.pool.feed({ source: 0, target: s.target, resumeAt: 2, labels: { job: 'app' } });
  feed.receive({ text: 'CRASH-THE-WORKER', ack: new CountingAck(), truncated: false, source: source('/a.log'), readTime: 0 });
  await waitFor('fatal', () => s.fatal.length > 0, 30_000);
  t.match(s.fatal[0].message, /pipeline worker 0 keeps dying/);
  t.ok(s.logs.some((l) => l.level === 60 && /died 4 times/.test(String(l.msg))), 'a fatal log line');
  t.equal(s.events.length, 0);
});

t.test('a worker that cannot start fails start() naming the worker', async (t) => {
  const s = setup({ threads: 1 });
  const bad = new PipelinePool({ threads: 1, init: { sources: [], classification: classificationConfigSchema.parse({}), redaction: redactionConfigSchema.parse({}), stages: [{ type: 'no-such-stage' }], logLevel: 'silent', slimFields: null }, metrics: s.metrics, log: pino({ level: 'silent' }), faults: new RecordFaults({ metrics: s.metrics, log: pino({ level: 'silent' }) }), onFatal: () => {} });
  await t.rejects(bad.start(), /pipeline worker 0 (could not start|exited)/);
  await bad.stop();
});
