/**
 * Property tests: random bytes (decoded as the tailer would, invalid UTF-8 → U+FFFD) and random
 * mutations of every fixture line through `auto` (and each dedicated parser) never throw and
 * always produce a schema-valid record.
 */
import t from 'tap';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createParser, PARSER_NAMES } from '../../parsers/index.ts';
import type { ParseContext } from '../../src/parse/types.ts';
import { recordProblems } from '../../src/core/record-schema.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'parsers');
const CORPUS = readdirSync(DIR).filter((f) => f.endsWith('.log')).flatMap((f) => readFileSync(join(DIR, f), 'utf8').split('\n').filter(Boolean));
const decoder = new TextDecoder('utf-8');

const ctx: ParseContext = {
  source: { type: 'file', name: 'fuzz' },
  service: 'fuzz',
  readTime: Date.parse('2024-01-15T12:00:00Z'),
  runtimeTimestamp: undefined,
  parseError() {},
};

const parsers = PARSER_NAMES.filter((n) => n !== 'regex').map((n) => [n, createParser(n, { timezone: 'Europe/Berlin', client_error_level: 'WARN' })] as const);
parsers.push(['regex', createParser('regex', { pattern: '^(?<timestamp>\\S+) (?<level>\\w+) (?<message>.*)$', timezone: 'UTC', client_error_level: 'WARN' })]);

function valid(line: string): void {
  for (const [name, p] of parsers) {
    const rec = p(line, ctx);
    const problems = recordProblems(rec);
    if (problems.length > 0) throw new Error(`${name}: ${JSON.stringify(line)} → ${problems.join('; ')} ${JSON.stringify(rec)}`);
    // what the sinks do with it must work too
    JSON.stringify(rec);
  }
}

/** A fixture line with random edits: cut, splice random text, duplicate, swap bytes. */
const insertion = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('"', '[', ']', '{', '}', '\\', ' ', '=', ':', '<', '>', '\u0000', '\ud800', '99999999999999999999', '-', '\n'));
const mutated = fc.tuple(fc.constantFrom(...CORPUS), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 40 }), insertion), { maxLength: 4 }))
  .map(([line, edits]) => {
    let s = line;
    for (const [at, del, ins] of edits) {
      const i = at % (s.length + 1);
      s = s.slice(0, i) + ins + s.slice(i + del);
    }
    return s;
  });

t.test('random bytes never throw and yield schema-valid records', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => valid(decoder.decode(bytes))), { numRuns: 1500 });
  t.pass('1500 random byte strings');
});

t.test('random unicode and format-ish strings', async (t) => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => valid(s)), { numRuns: 1000 });
  fc.assert(fc.property(fc.json(), (s) => valid(s)), { numRuns: 500 });
  t.pass('1500 strings');
});

t.test('mutations of every fixture line', async (t) => {
  fc.assert(fc.property(mutated, (s) => valid(s)), { numRuns: 3000 });
  t.pass('3000 mutated lines');
});

t.test('every prefix of every fixture line (truncation)', async (t) => {
  let n = 0;
  for (const line of CORPUS) for (let i = 0; i <= line.length; i += 3) { valid(line.slice(0, i)); n++; }
  t.ok(n > 1000, `${n} prefixes`);
});

t.test('the json parser reads a line exactly as JSON.parse does (it parses it inside a two-byte array)', async (t) => {
  const errors: string[] = [];
  const jsonCtx: ParseContext = { ...ctx, parseError: (p, r) => errors.push(`${p}:${r}`) };
  const json = createParser('json', { timezone: 'UTC', client_error_level: 'WARN' });
  const plain = createParser('json', { timezone: 'UTC', client_error_level: 'WARN' });
  const lines = fc.oneof(mutated, fc.json(), fc.string({ unit: 'binary', maxLength: 60 }), fc.tuple(fc.json(), fc.constantFrom(',', '],[', ']', ' ', ',{}', '\t\r', '}'), fc.json()).map(([a, sep, b]) => a + sep + b));
  fc.assert(fc.property(lines, (line) => {
    errors.length = 0;
    let expected: string[];
    try {
      const v: unknown = JSON.parse(line);
      expected = v !== null && typeof v === 'object' && !Array.isArray(v) ? [] : ['json:not_an_object'];
    } catch {
      expected = ['json:malformed'];
    }
    const rec = json(line, jsonCtx);
    const got = errors.filter((e) => e === 'json:malformed' || e === 'json:not_an_object');
    if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${JSON.stringify(line)}: ${got} where JSON.parse says ${expected}`);
    if (expected.length === 0 && JSON.stringify(rec) !== JSON.stringify(plain(JSON.stringify(JSON.parse(line)), jsonCtx))) throw new Error(`${JSON.stringify(line)}: a different record than its re-serialized value gives`);
  }), { numRuns: 4000 });
  t.pass('4000 lines');
});

// The counterexample fast-check found (seed 1303223300): a `__proto__` key is data, kept as an own field.
t.test('a __proto__ key is kept as data and the record stays schema-valid', async (t) => {
  for (const line of ['{"__proto__":[]}', '{"message":"x","__proto__":{"a":1}}', '{"http":{"__proto__":[1]},"message":"y"}']) {
    t.doesNotThrow(() => valid(line), line);
  }
  const json = parsers.find(([n]) => n === 'json')![1];
  const rec = json('{"message":"x","__proto__":[1,2]}', ctx);
  t.equal(Object.getPrototypeOf(rec.metadata), Object.prototype, 'metadata keeps its prototype');
  t.same(Object.getOwnPropertyDescriptor(rec.metadata, '__proto__')?.value, [1, 2], 'the value is an own field');
  t.match(JSON.stringify(rec), /"__proto__":\[1,2\]/, 'and ships');
});

// The counterexample fast-check found (seed -82978299): a year whose last digit is a space was read as the year 1020.
t.test('a timestamp with a non-digit in its year is not shipped as the timestamp', async (t) => {
  t.doesNotThrow(() => valid('{"@timestamp":"202 -01-15T10:00:10.000Z","@version":"1","message":"Order shipped","level":"INFO","app":"shipping"}'));
});
