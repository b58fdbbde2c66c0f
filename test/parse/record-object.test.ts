/**
 * newLogRecord makes records by a constructor (for V8's in-object room), yet each must be the
 * plain object the literal `{ timestamp, level, service, message, source }` was: what JSON,
 * structured clone (worker threads), for-in and the verbatim-line proof see must not change.
 */
import t from 'tap';
import { newLogRecord } from '../../src/parse/record-object.ts';
import { createParser } from '../../parsers/index.ts';
import { SnapshotPool, VerbatimLine } from '../../src/core/verbatim-line.ts';
import type { LogRecord, SourceInfo } from '../../src/core/record.ts';
import type { ParseContext } from '../../src/parse/types.ts';

const source: SourceInfo = Object.freeze({ type: 'file', name: 'app', file: '/var/log/app.log' });

function addFields(r: LogRecord): LogRecord {
  r.trace_id = 't1';
  r.span_id = 's1';
  r.user_id = 'u1';
  r.request_id = 'r1';
  r.duration = 0.25;
  r.http = { method: 'GET', status_code: 200 };
  r.metadata = { a: 1, nested: { b: [1, 'x'] } };
  r.event_type = 'security';
  r.action = 'login';
  return r;
}

t.test('a made record is the literal: prototype, own keys in order, JSON, structured clone', async (t) => {
  const made = addFields(newLogRecord('2026-12-05T00:00:00.000Z', 'WARN', 'api', 'hello', source));
  const literal = addFields({ timestamp: '2026-12-05T00:00:00.000Z', level: 'WARN', service: 'api', message: 'hello', source });
  t.equal(Object.getPrototypeOf(made), Object.prototype);
  t.same(Object.keys(made), Object.keys(literal));
  const keys: string[] = [];
  for (const k in made) keys.push(k);
  t.same(keys, Object.keys(literal), 'for-in sees own keys only, in insertion order');
  t.equal(JSON.stringify(made), JSON.stringify(literal));
  const clone = structuredClone(made);
  t.equal(JSON.stringify(clone), JSON.stringify(literal));
  t.equal(Object.getPrototypeOf(clone), Object.prototype);
  t.equal(made.constructor, Object);
  t.notOk(Object.prototype.hasOwnProperty.call(made, 'constructor'));
});

t.test('records of the constructor stay verbatim-capable and changes are still seen', async (t) => {
  const line = '{"timestamp":"2026-12-05T00:00:00.000Z","level":"INFO","service":"api","message":"hi","trace_id":"abc","metadata":{"k":"v"}}';
  const ctx: ParseContext = { source, service: 'app', readTime: Date.parse('2026-12-05T00:00:01Z'), runtimeTimestamp: undefined, parseError: () => {}, verbatim: false, timestampText: undefined, timestampMs: NaN };
  const parse = createParser('json', { timezone: 'UTC', client_error_level: 'WARN' });
  const rec = parse(line, ctx);
  t.equal(Object.getPrototypeOf(rec), Object.prototype);
  t.ok(ctx.verbatim, 'the parser proved the record is its line');
  const pool = new SnapshotPool();
  const v = VerbatimLine.capture(line, rec, pool);
  t.ok(v, 'captured');
  t.equal(v!.additions(rec), '', 'unchanged: the line as it is');
  (rec.metadata as Record<string, unknown>).k = 'redacted';
  t.equal(v!.additions(rec), null, 'a nested change is seen');
});
