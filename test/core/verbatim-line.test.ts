import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import t from 'tap';
import fc from 'fast-check';
import pino from 'pino';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { createParser } from '../../parsers/index.ts';
import { classificationConfigSchema } from '../../src/pipeline/classify.ts';
import { LineProcessor } from '../../src/pipeline/processor.ts';
import { redactionConfigSchema } from '../../src/pipeline/redact.ts';
import { createBuiltinStages } from '../../src/pipeline/registry.ts';
import type { Stage } from '../../src/core/stage.ts';
import { NO_ACK, type LogEvent, type SourceInfo } from '../../src/core/record.ts';
import { elasticsearchSinkSchema } from '../../src/sinks/elasticsearch/config.ts';
import { ElasticsearchSink } from '../../src/sinks/elasticsearch/sink.ts';
import { fileSinkSchema } from '../../src/sinks/file-config.ts';
import { FileSink } from '../../src/sinks/file.ts';
import { lokiSinkSchema } from '../../src/sinks/loki/config.ts';
import { LokiSink } from '../../src/sinks/loki/sink.ts';
import type { Sink } from '../../src/core/sink.ts';
import { SnapshotPool, VerbatimLine } from '../../src/core/verbatim-line.ts';
import { FanOutRouter } from '../../src/pipeline/router.ts';
import { EsServer } from '../servers/es-server.ts';
import { LokiTestServer } from '../servers/loki-server.ts';
import { tempDir, waitFor } from '../support/daemon.ts';

// A stage written the naive way, knowing nothing of the verbatim-JSON fast path or of how
// labels are shared: it assigns into the record and the labels directly. Whatever it changes
// must be what the Loki line, the Elasticsearch document and the file line say.
const log = pino({ level: 'silent' });
const source: SourceInfo = Object.freeze({ type: 'file' as const, name: 'app', file: '/var/log/app.log', host: 'h1' });
// recent: Loki refuses samples older than a week
const READ = Date.now();
const TS = new Date(READ - 1000).toISOString();

/** A line in the shared schema exactly (the json parser ships such a line as read). */
function line(message: string): string {
  return `{"timestamp":"${TS}","level":"INFO","service":"api","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","user_id":"u-42","message":"${message}","metadata":{"document_id":"doc1","tags":[{"k":1},{"k":3}],"secret_note":"plain"}}`;
}

/** What the forgetful stage does, by the line's message. */
const CHANGES: Record<string, (e: LogEvent) => void> = {
  'top-level': (e) => {
    e.record.message = 'changed by the stage';
  },
  nested: (e) => {
    e.record.metadata!.document_id = 'doc-changed';
  },
  'deep in an array': (e) => {
    ((e.record.metadata!.tags as unknown[])[1] as Record<string, unknown>).k = 2;
  },
  'a key deleted': (e) => {
    delete e.record.trace_id;
  },
  'a key added': (e) => {
    e.record.request_id = 'req-7';
  },
  'a metadata key added': (e) => {
    e.record.metadata!.added = true;
  },
  'the record replaced': (e) => {
    e.record = { ...e.record, message: 'a new record', metadata: { only: 'this' } };
  },
  'the same value written back': (e) => {
    // eslint-disable-next-line no-self-assign
    e.record.message = String(e.record.message);
  },
  unchanged: () => {},
};

const forgetful: Stage = {
  name: 'forgetful',
  process(event) {
    CHANGES[event.record.message]?.(event);
    // labels written straight into the event's object, as any stage would
    if (event.record.message !== 'unchanged') event.labels.team = 'payments';
    return event;
  },
};

/** Hands every event to the sinks the way the daemon does (FanOutRouter: the line is sealed first), or straight (never sealed). */
const ROUTERS = ['the daemon\'s router', 'straight to the sinks'] as const;

for (const routerKind of ROUTERS) t.test(`a stage that changes the record or labels the naive way: every sink ships the change (${routerKind})`, async (t) => {
  const loki = new LokiTestServer();
  await loki.start();
  const es = new EsServer();
  await es.start();
  const dir = tempDir('logship-verbatim-');
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const filePath = join(dir, 'out.ndjson');
  const sinks: Sink[] = [
    new LokiSink('loki', lokiSinkSchema.parse({ type: 'loki', url: loki.url, labels: ['job', 'level', 'team'], batch: { max_wait: '20ms' } }), log, metrics),
    new ElasticsearchSink('es', elasticsearchSinkSchema.parse({ type: 'elasticsearch', url: es.url, dead_letter_path: join(dir, 'dead.ndjson'), batch: { max_wait: '20ms' } }), log, metrics),
    new FileSink('file', fileSinkSchema.parse({ type: 'file', path: filePath, fsync: false, max_wait: '20ms' }), log, metrics),
  ];
  for (const s of sinks) await s.start();
  t.teardown(async () => {
    for (const s of sinks) await s.stop(Date.now() + 1000);
    await loki.stop();
    await es.stop();
  });

  const shipped: LogEvent[] = [];
  const recorder = { name: 'recorder', write: (e: LogEvent) => { shipped.push(e); e.ack.release(); } } as unknown as Sink;
  const stages = [...createBuiltinStages({ classification: classificationConfigSchema.parse({}), redaction: redactionConfigSchema.parse({}) }, { log, metrics }), forgetful];
  const processor = new LineProcessor({
    sourceName: 'app', service: 'app', parserName: 'json', parser: createParser('json', { timezone: 'UTC', client_error_level: 'WARN' }), stages,
    router: routerKind === ROUTERS[0] ? new FanOutRouter([recorder, ...sinks]) : { route: (e) => { shipped.push(e); for (const s of sinks) s.write(e); } }, labels: { job: 'app' }, metrics, log,
  });
  const messages = Object.keys(CHANGES);
  for (const m of messages) processor.receive({ text: line(m), ack: NO_ACK, truncated: false, source, readTime: READ });
  t.equal(shipped.length, messages.length);
  t.ok(shipped.every((e) => e.verbatim !== undefined), 'every line was in the shared schema: the fast path was open to all of them');

  const entries = await waitFor('Loki entries', () => { const all = loki.allEntries(); return all.length === messages.length ? all : null; });
  const docs = await waitFor('ES documents', () => { const d = es.docs(); return d.length === messages.length ? d : null; });
  const fileLines = await waitFor('file lines', () => { const l = readFileSync(filePath, 'utf8').split('\n').filter(Boolean); return l.length === messages.length ? l : null; });

  for (let i = 0; i < messages.length; i++) {
    const name = messages[i];
    const record = JSON.parse(JSON.stringify(shipped[i].record)) as Record<string, unknown>;
    const want = record.message as string;
    const loki1 = entries.find((e) => (JSON.parse(e.line) as { message: string }).message === want);
    t.ok(loki1, `${name}: in Loki`);
    // The Loki line body is the record without `source` (the file path travels as the `filename` structured metadata).
    const { source: _source, ...lokiRecord } = record;
    t.same(JSON.parse(loki1!.line), lokiRecord, `${name}: the Loki line is the record as the stage left it`);
    t.notOk('source' in (JSON.parse(loki1!.line) as object), `${name}: no source object in the Loki line`);
    t.equal(loki1!.stream.pairs.team, name === 'unchanged' ? undefined : 'payments', `${name}: the stream has the label the stage wrote`);
    t.equal(loki1!.stream.pairs.job, 'app', `${name}: and the source's`);
    const doc = docs.find((d) => d._source.message === want);
    t.ok(doc, `${name}: in Elasticsearch`);
    const { '@timestamp': ts, labels, ...rest } = doc!._source;
    t.same({ timestamp: ts, ...rest }, record, `${name}: the document is the record as the stage left it`);
    t.same(labels, name === 'unchanged' ? { job: 'app' } : { job: 'app', team: 'payments' }, `${name}: document labels`);
    const fileLine = fileLines.find((l) => (JSON.parse(l) as { message: string }).message === want);
    t.same(JSON.parse(fileLine!), record, `${name}: the file line is the record as the stage left it`);
  }
  // the fast path still serves what the stage did not change (the line's own bytes, source appended)
  const untouched = fileLines.find((l) => l.includes('"message":"unchanged"'))!;
  t.equal(untouched, line('unchanged').slice(0, -1) + ',"source":' + JSON.stringify(source) + '}', 'an unchanged record ships as its line');
  const sameValue = fileLines.find((l) => l.includes('"message":"the same value written back"'))!;
  t.ok(sameValue.startsWith(line('the same value written back').slice(0, -1)), 'a value written back unchanged keeps the line');
  const added = fileLines.find((l) => l.includes('"request_id":"req-7"'))!;
  t.ok(added.startsWith(line('a key added').slice(0, -1) + ',"request_id":"req-7"'), 'a top-level key added is appended to the line');
});

t.test('VerbatimLine: any change the record went through shows', async (t) => {
  const text = '{"timestamp":"t","level":"INFO","service":"s","message":"m","n":-0,"metadata":{"a":[1,{"b":"c"}],"z":null}}';
  const fresh = () => {
    const r = JSON.parse(text) as Record<string, unknown>;
    r.source = source;
    return r;
  };
  const r0 = fresh();
  const v = VerbatimLine.capture(text, r0)!;
  t.equal(v.additions(r0), '', 'unchanged');
  const cases: Array<[string, (r: Record<string, any>) => void, string | null]> = [
    ['a string', (r) => { r.message = 'x'; }, null],
    ['-0 made 0', (r) => { r.n = 0; }, null],
    ['null made a string', (r) => { r.metadata.z = 'null'; }, null],
    ['an array element', (r) => { r.metadata.a[0] = 2; }, null],
    ['an array grown', (r) => { r.metadata.a.push(3); }, null],
    ['an object in an array', (r) => { r.metadata.a[1].b = 'd'; }, null],
    ['an object replaced by a Date', (r) => { r.metadata.a[1] = new Date(0); }, null],
    ['a nested key deleted', (r) => { delete r.metadata.z; }, null],
    ['keys reordered', (r) => { const m = r.metadata; delete r.metadata; r.metadata = m; delete r.n; r.n = -0; }, null],
    ['the source replaced (written after the line, not part of it)', (r) => { r.source = { type: 'file', name: 'other' }; }, ''],
    ['keys appended', (r) => { r.event_type = 'security'; r.skip = undefined; r.action = 'x"y'; }, ',"event_type":"security","action":"x\\"y"'],
    ['a same object with the same contents', (r) => { r.metadata = { a: [1, { b: 'c' }], z: null }; }, ''],
  ];
  // A pool whose spare array last held a longer snapshot: what lies past the new END is never read.
  const pool = new SnapshotPool();
  const long = { ...fresh(), extra: { a: [1, 2, 3], b: 'x' }, more: 'y' };
  VerbatimLine.capture(JSON.stringify(long), long, pool)!.seal(long);
  for (const [name, change, want] of cases) {
    const r = fresh();
    change(r);
    t.equal(v.additions(r), want, name);
    // sealed (as the daemon's router does before the sinks write), from a pooled array
    const r2 = fresh();
    const sealed = VerbatimLine.capture(text, r2, pool)!;
    change(r2);
    sealed.seal(r2);
    t.equal(sealed.additions(r2), want, `${name} (sealed)`);
    t.equal(sealed.additions(fresh()), null, `${name}: sealed for its record only`);
  }
  t.equal(VerbatimLine.capture('{}', { a: JSON.parse('['.repeat(18) + '1' + ']'.repeat(18)) }), undefined, 'too deep: not kept');
});

t.test('VerbatimLine: appended members are written as JSON.stringify writes them, whatever their text', async (t) => {
  const text = '{"timestamp":"t","level":"INFO","service":"s","message":"m"}';
  const text16 = fc.oneof(fc.string({ maxLength: 70 }), fc.string({ unit: 'binary', maxLength: 70 }), fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 70 }),
    fc.constantFrom('security', 'login', 'a"b', 'a\\b', 'tab\there', '\u007f', '\ud800', 'é', 'x'.repeat(64), 'x'.repeat(65), ''));
  await fc.assert(fc.property(fc.array(fc.tuple(text16, fc.oneof(text16, fc.integer(), fc.double(), fc.boolean(), fc.constant(null))), { minLength: 1, maxLength: 3 }), (members) => {
    const r: Record<string, unknown> = JSON.parse(text) as Record<string, unknown>;
    r.source = source;
    const line = VerbatimLine.capture(text, r)!;
    let want = '';
    for (const [name, v] of members) {
      // never an array index: those enumerate before the line's keys (not appended then)
      const k = 'k' + name;
      if (k in r) return; // an existing key changed: not an append
      r[k] = v;
      want += ',' + JSON.stringify(k) + ':' + JSON.stringify(v);
    }
    assert.equal(line.additions(r), want);
    line.seal(r);
    assert.equal(line.additions(r), want);
  }), { numRuns: 3000 });
  t.pass('3000 runs');
});

t.test('VerbatimLine.rendered: a record finished elsewhere ships its text as it is, with no comparison', async (t) => {
  const text = '{"timestamp":"2026-12-05T01:00:00.000Z","level":"INFO","service":"api","message":"m","metadata":{"k":1}}';
  // the record on this thread holds only what this thread reads
  const slim = { timestamp: '2026-12-05T01:00:00.000Z', level: 'INFO', service: 'api' };
  const line = VerbatimLine.rendered(text);
  t.equal(line.text, text);
  t.equal(line.additions(slim), '', 'nothing to add: the text is the record');
  line.seal(slim);
  t.equal(line.additions(slim), '', 'sealing changes nothing');
  const captured = VerbatimLine.capture(text, JSON.parse(text) as object)!;
  t.equal(captured.additions(slim), null, 'a captured line compares (and finds the partial record differs): rendered() is what skips it');
});
