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

function setup(o: { threads: number; crash?: 'exit' | 'throw'; always?: boolean }) {
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
  const bad = new PipelinePool({ threads: 1, init: { sources: [], classification: classificationConfigSchema.parse({}), redaction: redactionConfigSchema.parse({}), stages: [{ type: 'no-such-stage' }], logLevel: 'silent' }, metrics: s.metrics, log: pino({ level: 'silent' }), faults: new RecordFaults({ metrics: s.metrics, log: pino({ level: 'silent' }) }), onFatal: () => {} });
  await t.rejects(bad.start(), /pipeline worker 0 (could not start|exited)/);
  await bad.stop();
});
