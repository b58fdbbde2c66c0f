import assert from 'node:assert/strict';
import t from 'tap';
import fc from 'fast-check';
import pino from 'pino';
import { MetricsRegistry } from '../../../src/self-metrics/registry.ts';
import { createParser } from '../../../parsers/index.ts';
import { classificationConfigSchema } from '../../../src/pipeline/classify.ts';
import { LineProcessor } from '../../../src/pipeline/processor.ts';
import { redactionConfigSchema } from '../../../src/pipeline/redact.ts';
import { createBuiltinStages } from '../../../src/pipeline/registry.ts';
import { NO_ACK, type LogEvent, type SourceInfo } from '../../../src/core/record.ts';
import { encodeDocument, type DocumentOptions } from '../../../src/sinks/elasticsearch/document.ts';

// JSON lines through the default pipeline as the daemon runs it; a line that already was the
// record (event.verbatim) is encoded from the line, and must give the document built from the record.
const log = pino({ level: 'silent' });
const source: SourceInfo = Object.freeze({ type: 'file' as const, name: 'app', file: '/var/log/app.log', host: 'h1' });
const OPTS: DocumentOptions = { schema: 'logship', metadataMaxDepth: 3 };

function pipeline(labels: Record<string, string>) {
  const events: LogEvent[] = [];
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const stages = createBuiltinStages({ classification: classificationConfigSchema.parse({}), redaction: redactionConfigSchema.parse({}) }, { log, metrics });
  const processor = new LineProcessor({
    sourceName: 'app', service: 'app', parserName: 'json', parser: createParser('json', { timezone: 'UTC', client_error_level: 'WARN' }), stages,
    router: { route: (e) => events.push(e) }, labels, metrics, log,
  });
  return (text: string): LogEvent => {
    processor.receive({ text, ack: NO_ACK, truncated: false, source, readTime: Date.parse('2026-11-23T12:00:00Z') });
    return events[events.length - 1];
  };
}

/** The document built from the record, as for any line that is not the record. */
function fromRecord(e: LogEvent): unknown {
  return JSON.parse(encodeDocument({ ...e, verbatim: undefined }, OPTS));
}

/** The line the record ships as (while it still is the line, keys appended aside), else undefined. */
function shippedLine(e: LogEvent): string | undefined {
  const added = e.verbatim?.additions(e.record);
  return added === null || added === undefined ? undefined : e.verbatim!.text;
}

const CANONICAL = '{"timestamp":"2026-11-23T11:59:58.123Z","level":"INFO","service":"api","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","user_id":"u-42","message":"Request completed","metadata":{"document_id":"doc1","file_size":1386176,"tags":["a",{"k":1}]}}';

t.test('a verbatim JSON line becomes its document without serializing the record again', async (t) => {
  const ship = pipeline({ job: 'app', 'team.name': 'payments' });
  const e = ship(CANONICAL);
  t.equal(shippedLine(e), CANONICAL);
  const doc = encodeDocument(e, OPTS);
  t.ok(doc.startsWith('{"@timestamp":"2026-11-23T11:59:58.123Z","level":"INFO"'), 'the line with its first key renamed');
  t.same(JSON.parse(doc), fromRecord(e), 'the same document as the one built from the record');
  t.match(doc, /"labels":\{"job":"app","team_name":"payments"\}/, 'labels cleaned as for any document');
  const deep = ship(CANONICAL.replace('"tags":["a",{"k":1}]', '"deep":{"a":{"b":{"c":{"d":1}}}},"dotted.name":1'));
  t.not(shippedLine(deep), undefined);
  t.same(JSON.parse(encodeDocument(deep, OPTS)), fromRecord(deep), 'metadata that needs cleaning is cleaned');
  t.notMatch(encodeDocument(deep, OPTS), /dotted\.name/);
  const http = ship(CANONICAL.replace('"message"', '"http":{"method":"GET","status_code":200,"response_time":12.5},"message"'));
  t.not(shippedLine(http), undefined);
  t.same(JSON.parse(encodeDocument(http, OPTS)), fromRecord(http), 'an http group gives response_time at the top');
  const levelFirst = ship('{"level":"INFO","timestamp":"2026-11-23T11:59:58.123Z","service":"api","message":"m"}');
  t.same(JSON.parse(encodeDocument(levelFirst, OPTS)), fromRecord(levelFirst), 'timestamp not first');
  const ecs = encodeDocument(e, { schema: 'ecs', metadataMaxDepth: 3 });
  t.notMatch(ecs, /"@timestamp":"2026-11-23T11:59:58.123Z","level"/, 'ECS documents are always built');
});

t.test('whatever the line and labels, the document is the one built from the record', async (t) => {
  const key = fc.constantFrom('trace_id', 'user_id', 'request_id', 'duration', 'event_type', 'metadata', 'http', 'color', 'level', 'ip_address');
  const value = fc.oneof(
    fc.constantFrom('INFO', 'ERROR', 'api', 'Bearer abcdefghijklmnop', 'Failed password for root', 'ok', '', 'a":b', 'x.y', 'User logged in', 'Failed password for bob from 10.0.0.9', 'security'),
    fc.string({ maxLength: 12 }),
    fc.integer({ min: -5, max: 7000 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constant(null),
    fc.dictionary(fc.constantFrom('a', 'b.c', '', 'token', 'nested'), fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.dictionary(fc.constantFrom('x', 'y.z'), fc.dictionary(fc.constantFrom('p', 'q'), fc.integer(), { maxKeys: 2 }), { maxKeys: 2 })), { maxKeys: 3 }),
    fc.record({ method: fc.constantFrom('GET', 'get'), status_code: fc.constantFrom(200, 404, '200'), response_time: fc.constantFrom(12.5, 7000) }),
  );
  const labelSets = [{ job: 'app' }, Object.freeze({ job: 'app', 'a.b': 'c' }), Object.freeze({}), { '': 'x' }];
  const ships = labelSets.map((l) => pipeline(l));
  let verbatim = 0;
  let marked = 0;
  // messages the built-in classification marks by adding top-level keys to the record
  const message = fc.constantFrom('hello', 'User logged in', 'Failed password for bob from 10.0.0.9', 'Accepted publickey for deploy from ::1');
  await fc.assert(fc.property(fc.array(fc.tuple(key, value), { maxLength: 5 }), fc.nat({ max: labelSets.length - 1 }), message, (pairs, li, msg) => {
    const members = [['timestamp', '2026-11-23T11:59:58.123Z'], ['level', 'INFO'], ['service', 'api'], ['message', msg], ...pairs].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    const line = `{${members.join(',')}}`;
    const e = ships[li](line);
    if (shippedLine(e) !== undefined) verbatim++;
    if (shippedLine(e) !== undefined && e.verbatim!.additions(e.record) !== '') marked++;
    assert.deepStrictEqual(JSON.parse(encodeDocument(e, OPTS)), fromRecord(e), line);
  }), { numRuns: 3000 });
  t.ok(verbatim > 300, `${verbatim} of 3000 lines took the verbatim path`);
  t.ok(marked > 100, `${marked} of them with keys classification added`);
});
