import assert from 'node:assert/strict';
import t from 'tap';
import fc from 'fast-check';
import { createJsonParser } from '../../parsers/json.ts';
import type { ParseContext, Parser } from '../../src/parse/types.ts';
import type { LogRecord } from '../../src/core/record.ts';

// The json parser parses announced lines (Parser.prepare) in groups, one JSON.parse per group.
// Whatever the lines, each record must be the one parsing that line alone gives.

interface Parsed {
  record: LogRecord;
  verbatim: boolean;
  errors: string[];
}

function context(errors: string[]): ParseContext {
  return {
    source: { type: 'file', name: 'app' }, service: 'app', readTime: Date.parse('2026-11-24T12:00:00Z'), runtimeTimestamp: undefined,
    parseError: (parser, reason) => errors.push(`${parser}:${reason}`),
  };
}

function parseEach(parse: Parser, lines: string[]): Parsed[] {
  return lines.map((line) => {
    const errors: string[] = [];
    const ctx = context(errors);
    ctx.verbatim = false;
    const record = parse(line, ctx);
    return { record, verbatim: ctx.verbatim, errors };
  });
}

/** Each line parsed by a parser that never saw prepare(). */
function alone(lines: string[]): Parsed[] {
  return parseEach(createJsonParser(), lines);
}

/** The lines announced first, as the tailer does for one read, then parsed in order. */
function announced(lines: string[], parse = createJsonParser()): Parsed[] {
  parse.prepare!(lines);
  return parseEach(parse, lines);
}

/** Counts JSON.parse calls made by `fn`. */
function jsonParseCalls(fn: () => void): number {
  const original = JSON.parse;
  let calls = 0;
  JSON.parse = ((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
    calls++;
    return original(text, reviver);
  }) as typeof JSON.parse;
  try {
    fn();
  } finally {
    JSON.parse = original;
  }
  return calls;
}

const line = (i: number) => JSON.stringify({ timestamp: `2026-11-24T11:00:${String(i % 60).padStart(2, '0')}.000Z`, level: 'INFO', service: 'api', message: `m${i}`, user_id: `u${i}`, metadata: { seq: i } });

t.test('announced lines are parsed in groups, each into its own record', async (t) => {
  const lines = Array.from({ length: 100 }, (_, i) => line(i));
  let got: Parsed[] = [];
  const calls = jsonParseCalls(() => {
    got = announced(lines);
  });
  t.ok(calls <= 8, `${calls} JSON.parse calls for 100 lines`);
  t.same(got, alone(lines));
  t.ok(got.every((p) => p.verbatim), 'every line still ships as read');
  t.same(got.map((p) => p.record.message), lines.map((_, i) => `m${i}`));
});

t.test('lines that may not share a parse are parsed alone, with the same records', async (t) => {
  const lines = [
    line(1), line(2),
    '{"message":"with [brackets]"}', // arrays or brackets: never grouped
    line(3),
    '  {"message":"leading space"}',
    line(4), line(5),
    '{"message":"malformed"', // breaks its group: the group is parsed line by line
    line(6),
    '{"a":1},{"b":2}', // two values on one line: more elements than lines
    line(7), '', 'plain text', line(8), '{"x":1}\r', '{"n":1} {"m":2}', line(9),
  ];
  const got = announced(lines);
  t.same(got, alone(lines));
  t.same(got[7].errors, ['json:malformed']);
  t.same(got[9].errors, ['json:malformed'], 'two values on a line are malformed, as alone');
  t.equal(got[9].record.message, '{"a":1},{"b":2}');
});

t.test('malformed lines that would make valid JSON together are each malformed, as alone', async (t) => {
  // Each pair is two lines that are not JSON alone but join into two elements (or one).
  const pairs: Array<[string, string]> = [
    ['{"a":1},{"x":{"b":1', '{"c":2}}'],
    ['{"a":1},{"b":"', '"}'],
    ['{"a":1},{"x" :{', '{"y":"\\":"}}'],
    ['{"a":"x', 'y"}'],
    ['{"a":1', '"b":2}'],
    ['{"a":{', '"b":{}}}'],
    ['{"a":1},{"x":[{}', '{"y":2}]}'],
    ['{"a":1,', '"b":2}'],
    ['{"a":1}', ',{"b":2}'],
    ['{"a":"x', '{"},{"b":1}'], // joined by a comma alone, the join would sit inside a string
  ];
  for (const [a, b] of pairs) {
    const lines = [line(1), a, b, line(2)];
    t.same(announced(lines), alone(lines), `${a} / ${b}`);
  }
});

t.test('a `]` in a string keeps no line out of a group; one outside strings breaks its group', async (t) => {
  const closing = (i: number) => JSON.stringify({ timestamp: '2026-11-24T11:00:00.000Z', level: 'INFO', service: 'api', message: `done] ${i}`, metadata: { note: '[x]'.slice(1) } });
  const lines = Array.from({ length: 32 }, (_, i) => closing(i));
  let got: Parsed[] = [];
  const calls = jsonParseCalls(() => {
    got = announced(lines);
  });
  t.ok(calls <= 2, `${calls} JSON.parse calls for 32 lines with a \`]\` in a string`);
  t.same(got, alone(lines));
  t.ok(got.every((p) => p.verbatim));
  // a stray `]` closes the group's array early: the whole group is parsed line by line
  for (const stray of ['{"a":1}]', '{"a":1]}', '{"a":{"b":1}]}', ']', '{"a":1}] ', '{"a":"x"]}']) {
    const mixed = [line(1), line(2), stray, line(3), line(4)];
    t.same(announced(mixed), alone(mixed), stray);
    t.same(announced(mixed)[2].errors, ['json:malformed'], `${stray} is malformed`);
  }
});

t.test('a line that was not announced next is parsed alone; announcing again starts over', async (t) => {
  const parse = createJsonParser();
  const lines = [line(1), line(2), line(3), line(4)];
  parse.prepare!(lines);
  const errors: string[] = [];
  const ctx = context(errors);
  t.equal(parse(lines[0], ctx).message, 'm1');
  t.equal(parse(line(9), ctx).message, 'm9', 'another line in between');
  t.equal(parse(lines[1], ctx).message, 'm2', 'the announcement is dropped, the line still parses');
  t.equal(parse(lines[3], ctx).message, 'm4');
  t.same(announced([line(5), line(6)], parse).map((p) => p.record.message), ['m5', 'm6']);
});

t.test('property: whatever the lines, announced or not, the records are the same', async (t) => {
  const member = fc.tuple(fc.constantFrom('timestamp', 'level', 'service', 'message', 'msg', 'user_id', 'metadata', 'a', 'b'), fc.oneof(
    fc.constantFrom('2026-11-24T11:00:00.000Z', 'INFO', 'warn', 'api', 'x', '', '{', '}', '",', '\\"', ',{"k":1}'),
    fc.integer(), fc.constant(null), fc.dictionary(fc.constantFrom('k', 'l'), fc.integer(), { maxKeys: 2 }),
  )).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  const object = fc.array(member, { maxLength: 5 }).map((ms) => `{${ms.join(',')}}`);
  // fragments: pieces of objects, so that neighbouring lines can complete each other
  const fragment = fc.tuple(object, fc.nat(), fc.nat()).map(([o, a, b]) => o.slice(Math.min(a, b) % (o.length + 1), Math.max(a, b) % (o.length + 1)));
  const piece = fc.oneof(
    { weight: 5, arbitrary: object },
    { weight: 3, arbitrary: fragment },
    { weight: 1, arbitrary: fc.constantFrom('{', '}', '},{', ',', '{"a":1},', ',"b":2}', '{"a":', '"b"}', '{"a":"', '"}', '[', ']', '{"a":[1', '2]}', ' {}', '{}\r') },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  );
  const lineArb = fc.array(piece, { minLength: 1, maxLength: 3 }).map((ps) => ps.join('')).filter((l) => !l.includes('\n'));
  let grouped = 0;
  await fc.assert(fc.property(fc.array(lineArb, { minLength: 2, maxLength: 40 }), (lines) => {
    const got = announced(lines);
    assert.deepStrictEqual(got, alone(lines), JSON.stringify(lines));
    if (got.filter((p) => p.errors.length === 0).length > 1) grouped++;
  }), { numRuns: 3000 });
  t.ok(grouped > 500, `${grouped} of 3000 runs had several lines parse`);
});
