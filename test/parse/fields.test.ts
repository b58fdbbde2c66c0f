import assert from 'node:assert/strict';
import t from 'tap';
import fc from 'fast-check';
import { FieldMapper } from '../../src/parse/fields.ts';
import { TimeReader, TimeZone } from '../../src/parse/time.ts';
import type { ParseContext } from '../../src/parse/types.ts';

// FieldMapper remembers the keys of the inputs it saw by position (takeKeys): whatever the order
// and mix of inputs, each one must map as it does on a mapper that never saw another.

function context(): ParseContext {
  return {
    source: { type: 'file', name: 'app' }, service: 'app', readTime: Date.parse('2026-11-24T12:00:00Z'), runtimeTimestamp: undefined,
    parseError: () => {},
  };
}

const mapper = (fields?: Record<string, string>) => new FieldMapper({ parser: 'json', tz: TimeZone.UTC, time: new TimeReader(), fields });

/** What map() made of `text`'s object, and what it said about it. */
function mapped(m: FieldMapper, text: string): unknown {
  const ctx = context();
  const record = m.map(JSON.parse(text) as Record<string, unknown>, ctx);
  return { record, verbatim: m.verbatim, inputKeys: m.inputKeys };
}

t.test('inputs of other shapes after each other map as on a fresh mapper', async (t) => {
  const lines = [
    '{"timestamp":"2026-11-24T11:00:00.000Z","level":"INFO","service":"api","message":"a","user_id":"u1"}',
    '{"level":"WARN","timestamp":"2026-11-24T11:00:01.000Z","msg":"b","service":"api","userId":"u2"}',
    '{"timestamp":"2026-11-24T11:00:02.000Z","level":"INFO","service":"api","message":"c","user_id":"u3"}',
    '{"timestamp":"2026-11-24T11:00:03.000Z","level":"INFO","service":"api","other":"d","user_id":"u4"}',
    '{"timestamp":"2026-11-24T11:00:04.000Z","level":"INFO","service":"api","message":"e"}',
    '{"timestamp":"2026-11-24T11:00:05.000Z","level":"INFO","service":"api","message":"f","user_id":"u6","extra":1}',
    '{"time":"2026-11-24T11:00:06.000Z","timestamp":"2026-11-24T11:00:07.000Z","level":"INFO","service":"api","message":"g"}',
  ];
  const m = mapper();
  for (const line of [...lines, ...lines.reverse()]) t.same(mapped(m, line), mapped(mapper(), line), line);
});

t.test('a key mapped by parser_options.fields keeps its meaning on a mapper that saw it before', async (t) => {
  const m = mapper({ message: 'text' });
  const line = '{"timestamp":"2026-11-24T11:00:00.000Z","level":"INFO","service":"api","text":"hello","message":"m"}';
  for (let i = 0; i < 3; i++) t.same(mapped(m, line), mapped(mapper({ message: 'text' }), line));
  t.equal((mapped(m, line) as { record: { message: string } }).record.message, 'hello');
});

t.test('more keys than the mapper remembers positions of', async (t) => {
  const wide = (shift: number) => JSON.stringify(Object.fromEntries([
    ...Array.from({ length: 70 + shift }, (_, i) => [`k${i}`, i]),
    ['timestamp', '2026-11-24T11:00:00.000Z'], ['level', 'ERROR'], ['service', 'api'], ['message', `wide ${shift}`],
  ]));
  const m = mapper();
  for (const shift of [0, 1, 0, 5, 5]) t.same(mapped(m, wide(shift)), mapped(mapper(), wide(shift)));
});

t.test('property: a mapper fed any sequence maps each input as a fresh one does', async (t) => {
  const key = fc.constantFrom('timestamp', 'time', 'ts', 'level', 'lvl', 'severity', 'message', 'msg', 'service', 'app', 'user_id', 'userId',
    'trace_id', 'span_id', 'request_id', 'duration', 'duration_ms', 'ip', 'method', 'status', 'path', 'name', 'metadata', 'http', 'a', 'b', '');
  const value = fc.oneof(
    fc.constantFrom('2026-11-24T11:00:00.000Z', '2026-11-24 11:00:00', 'INFO', 'warn', 'api', '10.0.0.1', 'GET', '/x', '200', '-', ''),
    fc.integer({ min: -5, max: 700 }), fc.constant(null), fc.boolean(),
    fc.dictionary(fc.constantFrom('method', 'status_code', 'k', 'level'), fc.oneof(fc.integer({ min: 0, max: 600 }), fc.constantFrom('GET', 'x')), { maxKeys: 3 }),
  );
  const line = fc.array(fc.tuple(key, value), { maxLength: 12 }).map((members) => JSON.stringify(Object.fromEntries(members)));
  await fc.assert(fc.property(fc.array(line, { minLength: 1, maxLength: 20 }), (lines) => {
    const m = mapper();
    for (const l of lines) assert.deepStrictEqual(mapped(m, l), mapped(mapper(), l), l);
  }), { numRuns: 500 });
  t.pass('500 sequences');
});

t.test('a request in metadata or context: each http slot from its keys, best first, values checked', async (t) => {
  const head = '"timestamp":"2026-11-24T11:00:00.000Z","level":"INFO","service":"api","message":"m"';
  const http = (inner: string, where = 'metadata') => (mapper().map(JSON.parse(`{${head},"${where}":${inner}}`) as Record<string, unknown>, context()).http);
  t.same(http('{"status_code":200,"method":"GET","route":"/u/:id","path":"/u/7","response_time":0.5}'), { method: 'GET', route: '/u/:id', path: '/u/7', status_code: 200, response_time: 0.5 });
  t.same(http('{"statusCode":"404","url":"/x","responseTime":"12.5","method":7}'), { method: '7', path: '/x', status_code: 404, response_time: 12.5 }, 'camelCase and text values');
  t.same(http('{"status":503,"path":"/p","url":"/u","response_time":-1,"responseTime":3}'), { path: '/p', status_code: 503, response_time: 3 }, 'path before url; a negative time falls to the next key');
  t.same(http('{"status_code":200,"path":"","url":"/u","route":"-","method":""}'), { path: '/u', status_code: 200 }, 'empty and "-" are no value');
  t.same(http('{"status_code":200,"method":"PUT"}', 'context'), { method: 'PUT', status_code: 200 }, 'from context');
  t.equal(http('{"status_code":99,"method":"GET"}'), undefined, 'no valid status: no http group');
  t.equal(http('{"status_code":200.5,"method":"GET"}'), undefined);
  t.same(http('{"status_code":"201","response_time":"1e3"}'), { status_code: 201, response_time: 1000 });
});
