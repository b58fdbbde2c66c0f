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
import { NO_ACK, type LogEvent, type SourceInfo } from '../../src/core/record.ts';
import { RecordJson, SourceJson } from '../../src/sinks/record-json.ts';

// The default pipeline (classification, then redaction) behind the json parser, as the daemon runs it.
const log = pino({ level: 'silent' });
const source: SourceInfo = Object.freeze({ type: 'file' as const, name: 'app', file: '/var/log/app.log', host: 'h1' });
const READ = Date.parse('2026-11-23T12:00:00Z');

const json = new RecordJson();
const recordJson = (e: LogEvent): string => json.string(e);

/** The line the record ships as (while it still is the line, keys appended aside), else undefined. */
function shippedLine(e: LogEvent): string | undefined {
  const added = e.verbatim?.additions(e.record);
  return added === null || added === undefined ? undefined : e.verbatim!.text;
}

/** The members stages appended to a record that still is its line, else undefined. */
function appended(e: LogEvent): string | undefined {
  const added = e.verbatim?.additions(e.record);
  return added === null || added === '' ? undefined : added;
}

function pipeline() {
  const events: LogEvent[] = [];
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const stages = createBuiltinStages({ classification: classificationConfigSchema.parse({}), redaction: redactionConfigSchema.parse({}) }, { log, metrics });
  const processor = new LineProcessor({
    sourceName: 'app', service: 'app', parserName: 'json', parser: createParser('json', { timezone: 'UTC', client_error_level: 'WARN' }), stages,
    router: { route: (e) => events.push(e) }, labels: { job: 'app' }, metrics, log,
  });
  const ship = (text: string, truncated = false): LogEvent => {
    processor.receive({ text, ack: NO_ACK, truncated, source, readTime: READ });
    return events[events.length - 1];
  };
  return { ship };
}

const CANONICAL = '{"timestamp":"2026-11-23T11:59:58.123Z","level":"INFO","service":"api","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","user_id":"u-42","message":"Request completed","metadata":{"document_id":"doc1","file_size":1386176,"tags":["a",{"k":1}],"processing_time":0.928}}';

t.test('a JSON line already in the shared schema is shipped as read, plus its source', async (t) => {
  const { ship } = pipeline();
  const e = ship(CANONICAL);
  t.equal(shippedLine(e), CANONICAL, 'the event carries the line as the record\'s JSON');
  const out = recordJson(e);
  t.equal(out, CANONICAL.slice(0, -1) + ',"source":{"type":"file","name":"app","file":"/var/log/app.log","host":"h1"}}');
  t.same(JSON.parse(out), JSON.parse(JSON.stringify(e.record)), 'the same object as the serialized record');
  t.equal(recordJson(ship(CANONICAL.replace('u-42', 'u-43'))), out.replace('u-42', 'u-43'), 'the cached source JSON is reused');
});

t.test('anything the record changed, renamed, added or could have folded is serialized from the record', async (t) => {
  const { ship } = pipeline();
  const c = JSON.parse(CANONICAL) as Record<string, unknown>;
  const variant = (patch: Record<string, unknown>, drop: string[] = []) => {
    const o: Record<string, unknown> = { ...c, ...patch };
    for (const k of drop) delete o[k];
    return JSON.stringify(o);
  };
  const cases: Array<[string, string]> = [
    ['lower-case level', variant({ level: 'info' })],
    ['an alias (msg)', variant({ msg: 'x' }, ['message'])],
    ['no service (added from the source)', variant({}, ['service'])],
    ['no level (INFO added)', variant({}, ['level'])],
    ['no message', variant({}, ['message'])],
    ['no timestamp (read time added)', variant({}, ['timestamp'])],
    ['epoch timestamp (converted)', variant({ timestamp: 1763899198123 })],
    ['zoned timestamp (converted to UTC)', variant({ timestamp: '2026-11-23T12:59:58.123+01:00' })],
    ['a timestamp from the future (clamped)', variant({ timestamp: '2026-11-24T12:00:00.000Z' })],
    ['a numeric user id (made a string)', variant({ user_id: 42 })],
    ['a key outside the schema (moved to metadata)', variant({ color: 'red' })],
    ['pino name (service or metadata)', variant({ name: 'x' })],
    ['a Go duration (converted to seconds)', variant({ duration: '1.5s' })],
    ['metadata that is not an object', variant({ metadata: 'flat' })],
    ['an empty http object (the record has none)', variant({ http: {} })],
    ['an http object with a value to convert', variant({ http: { method: 'GET', status_code: '200' } })],
    ['a secret field (redacted)', variant({ metadata: { password: 'hunter2' } })],
    ['a bearer token in the message (redacted)', variant({ message: 'auth header Bearer abcdefghijklmnop' })],
    ['a failed login with a threat (classified into metadata)', variant({ message: 'q', user_agent: 'sqlmap/1.7' })],
    ['a slow operation (classified)', variant({ duration: 12 })],
    ['a duplicate key JSON.parse folded', CANONICAL.replace('"message":"Request completed"', '"message":"Bearer abcdefghijklmnopqrst","message":"Request completed"')],
    ['a duplicate nested key', CANONICAL.replace('"file_size":1386176', '"file_size":1,"file_size":1386176')],
    ['a space before a colon', CANONICAL.replace('"level":', '"level" :')],
    ['a trailing carriage return', `${CANONICAL}\r`],
  ];
  for (const [name, line] of cases) {
    const e = ship(line);
    t.equal(shippedLine(e), undefined, name);
    t.same(JSON.parse(recordJson(e)), JSON.parse(JSON.stringify(e.record)), `${name}: the record itself`);
  }
  const dup = recordJson(ship(cases.find(([n]) => n === 'a duplicate key JSON.parse folded')![1]));
  t.notMatch(dup, /Bearer/, 'a value JSON.parse dropped is not shipped');
  t.equal(shippedLine(ship(CANONICAL, true)), undefined, 'a line cut at max_line_bytes');
  const withHttp = variant({ http: { method: 'GET', route: '/users/:id', status_code: 200, response_time: 12.5 } });
  t.equal(shippedLine(ship(withHttp)), withHttp, 'the schema\'s own http group is the record\'s');
  t.equal(shippedLine(ship(CANONICAL.replace('"level":', '"level": '))), CANONICAL.replace('"level":', '"level": '), 'spacing after a colon changes nothing');
});

t.test('a record classification only added top-level keys to is its line plus those keys', async (t) => {
  const { ship } = pipeline();
  const c = JSON.parse(CANONICAL) as Record<string, unknown>;
  const login = JSON.stringify({ ...c, message: 'User logged in' });
  const e = ship(login);
  t.equal(shippedLine(e), login, 'the line is still the record\'s JSON');
  t.equal(appended(e), ',"event_type":"security","action":"successful_login"');
  t.equal(recordJson(e), login.slice(0, -1) + ',"event_type":"security","action":"successful_login","source":{"type":"file","name":"app","file":"/var/log/app.log","host":"h1"}}');
  t.same(JSON.parse(recordJson(e)), JSON.parse(JSON.stringify(e.record)), 'the same object as the serialized record');

  // sshd's message names the user and address: the record lacks ip_address, so it is added too
  const sshd = ship(JSON.stringify({ ...c, message: 'Failed password for root from 10.0.0.1 port 22 ssh2' }));
  t.equal(appended(sshd), ',"event_type":"security","action":"failed_login","ip_address":"10.0.0.1"', 'user_id was there: only the address is added');
  t.same(JSON.parse(recordJson(sshd)), JSON.parse(JSON.stringify(sshd.record)));
  t.equal(sshd.record.user_id, 'u-42', 'the line\'s own user id is kept');

  const typed = ship(JSON.stringify({ ...c, event_type: 'security', message: 'User logged in' }));
  t.equal(appended(typed), ',"action":"successful_login"', 'an event_type the line had is not added again');
  t.same(JSON.parse(recordJson(typed)), JSON.parse(JSON.stringify(typed.record)));

  const scanner = ship(JSON.stringify({ ...c, user_agent: 'sqlmap/1.7' }));
  t.equal(shippedLine(scanner), undefined, 'a mark inside metadata (threat) serializes the record');
  t.equal(scanner.record.metadata?.threat, 'scanner');

  const secret = ship(JSON.stringify({ ...c, message: 'User logged in with token=abcdefghijklmnopqrstuvwx' }));
  t.equal(shippedLine(secret), undefined, 'redaction after classification still serializes the record');
  t.notMatch(recordJson(secret), /abcdefghijklmnop/);
  t.match(recordJson(secret), /"action":"successful_login"/);
});

t.test('whatever the line, the shipped JSON is the record and a line is reused only when it has no duplicate key', async (t) => {
  const { ship } = pipeline();
  const key = fc.constantFrom('timestamp', 'level', 'service', 'message', 'trace_id', 'user_id', 'request_id', 'duration', 'event_type', 'action', 'metadata', 'msg', 'color', 'password', 'http', 'ip_address', 'user_agent');
  const value = fc.oneof(
    fc.constantFrom('2026-11-23T11:59:58.123Z', 'INFO', 'ERROR', 'warn', 'api', 'Bearer abcdefghijklmnop', 'Failed password for root', 'ok', '', '-', 'a":b',
      'User logged in', 'Failed password for invalid user a"b from 10.0.0.9', 'Accepted publickey for deploy from ::1', 'security', 'login_failed', 'sqlmap'),
    fc.string({ maxLength: 12 }),
    fc.integer({ min: -5, max: 700 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constant(null),
    fc.dictionary(fc.constantFrom('a', 'b', 'token', 'file_size'), fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { maxKeys: 3 }),
    fc.record({ method: fc.constantFrom('GET', 'get'), status_code: fc.constantFrom(200, 404, 999, '200') }),
  );
  // messages the built-in classification marks by adding top-level keys to the record
  const message = fc.constantFrom('hello', 'User logged in', 'Failed password for bob from 10.0.0.9', 'Invalid user a"b from ::1');
  let marked = 0;
  await fc.assert(fc.property(fc.array(fc.tuple(key, value), { maxLength: 6 }), fc.boolean(), message, (pairs, spaced, msg) => {
    const base = { timestamp: '2026-11-23T11:59:58.123Z', level: 'INFO', service: 'api', message: msg };
    // written by hand so keys may repeat, as some loggers write them
    const members = [...Object.entries(base), ...pairs].map(([k, v]) => `${JSON.stringify(k)}:${spaced ? ' ' : ''}${JSON.stringify(v)}`);
    const line = `{${members.join(',')}}`;
    const e = ship(line);
    // key order may differ (`source` comes last): compared as objects
    assert.deepStrictEqual(JSON.parse(recordJson(e)), JSON.parse(JSON.stringify(e.record)), line);
    const keys = new Set(pairs.map(([k]) => k));
    if (shippedLine(e) !== undefined && keys.size !== pairs.length) throw new Error(`a line with a duplicate key was reused: ${line}`);
    if (shippedLine(e) !== undefined && pairs.some(([k]) => Object.hasOwn(base, k))) throw new Error(`a line with a duplicate key was reused: ${line}`);
    if (shippedLine(e) !== undefined && appended(e) !== undefined) marked++;
  }), { numRuns: 3000 });
  t.ok(marked > 100, `${marked} of 3000 lines shipped as read plus the keys classification added`);
});

t.test('a source object that is not frozen is serialized each time, so a change to it shows', async (t) => {
  const tails = new SourceJson();
  const sourceTail = (s: SourceInfo) => tails.tail(s);
  const mutable: SourceInfo = { type: 'file', name: 'app', file: '/var/log/a.log' };
  t.equal(sourceTail(mutable), ',"source":{"type":"file","name":"app","file":"/var/log/a.log"}}');
  mutable.file = '/var/log/b.log';
  t.equal(sourceTail(mutable), ',"source":{"type":"file","name":"app","file":"/var/log/b.log"}}');
  const frozen = Object.freeze({ ...mutable });
  t.equal(sourceTail(frozen), sourceTail(frozen), 'a frozen one is made once');
  t.match(sourceTail(frozen), /b\.log/);
});
