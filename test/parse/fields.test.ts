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
