import t from 'tap';
import { createParser } from '../../parsers/index.ts';
import type { ParseContext } from '../../src/parse/types.ts';
import { recordProblems } from '../../src/core/record-schema.ts';

function harness(parser = 'auto') {
  const errors: string[] = [];
  const ctx: ParseContext = {
    source: { type: 'file', name: 'bad' },
    service: 'bad',
    readTime: Date.parse('2024-01-15T12:00:00Z'),
    runtimeTimestamp: undefined,
    parseError: (p, r) => errors.push(`${p}:${r}`),
  };
  const p = createParser(parser, { timezone: 'UTC', client_error_level: 'WARN' });
  return { errors, parse: (line: string) => p(line, ctx) };
}

const CASES: Array<[string, string, string[]]> = [
  ['malformed JSON', '{"level":"INFO","message":"unterminated', ['json:malformed']],
  ['truncated JSON', '{"timestamp":"2024-01-15T10:00:00Z","level":"INFO","mess', ['json:malformed']],
  ['JSON array', '[{"a":1},2]', ['json:not_an_object']],
  ['JSON number', '12345', ['json:not_an_object']],
  ['JSON string', '"just a string"', []],
  ['control characters', 'a\u0000b\u0001c\u001bd\u007f', []],
  ['invalid UTF-8 as decoded', 'caf\ufffd \ufffd\ufffd', []],
  ['lone surrogate', '{"message":"x\\ud800y"}', []],
];

for (const [what, line, errs] of CASES) {
  t.test(`${what}: a valid record with the raw text, errors counted`, async (t) => {
    const h = harness();
    const rec = h.parse(line);
    t.same(recordProblems(rec), []);
    t.same(h.errors, errs);
    if (errs.length > 0) {
      t.equal(rec.message, line);
      t.equal(rec.metadata?.timestamp_source, 'read_time');
    }
  });
}

t.test('json parser on non-JSON lines counts malformed', async (t) => {
  const h = harness('json');
  const rec = h.parse('plain text');
  t.equal(rec.message, 'plain text');
  t.same(h.errors, ['json:malformed']);
});

t.test('json parser takes exactly one JSON value per line, whatever the line holds after it', async (t) => {
  // The parser reads the line as an element of a two-byte array (parsers/json.ts): a line that is
  // several comma-separated values would fill that array with more than one.
  const h = harness('json');
  for (const line of ['{"level":"INFO","message":"a"},{"level":"ERROR","message":"b"}', '{"message":"a"},', '1,2', '{"message":"a"}]', '{"message":"a"}],["x"', '', ' ']) {
    const rec = h.parse(line);
    t.equal(rec.message, line, `${JSON.stringify(line)} is shipped as written`);
    t.equal(rec.level, 'INFO');
  }
  t.same(h.errors, Array(7).fill('json:malformed'));
  const ok = h.parse(' {"level":"ERROR","message":"padded\u0100é"}\t\r');
  t.same([ok.level, ok.message, h.errors.length], ['ERROR', 'padded\u0100é', 7], 'whitespace around the value and non-Latin-1 text are fine');
});

t.test('1 MiB lines parse without trouble in every shape', async (t) => {
  const big = 'x'.repeat(1024 * 1024);
  const h = harness();
  const json = h.parse(`{"level":"INFO","message":"${big}"}`);
  t.equal(json.message.length, big.length);
  const nginx = h.parse(`1.2.3.4 - - [15/Jan/2024:10:00:00 +0000] "GET /${big} HTTP/1.1" 200 1 "-" "ua"`);
  t.equal(nginx.http?.path?.length, big.length + 1);
  const plain = h.parse(`2024-01-15 10:00:00,123 ERROR ${big}`);
  t.equal(plain.level, 'ERROR');
  const junk = h.parse(`{${big}`);
  t.equal(junk.message.length, big.length + 1);
  t.same(h.errors, ['json:malformed']);
});

t.test('a parser that is told about a format but gets another counts the failure', async (t) => {
  for (const [parser, line, err] of [
    ['nginx', 'not an access line', 'nginx:truncated'],
    ['nginx', '1.2.3.4 - - [15/Jan/2024:10:00:00 +0000] GET / 200', 'nginx:malformed'],
    ['apache', '[broken', 'apache:malformed'],
    ['syslog', 'hello world', 'syslog:malformed'],
    ['logfmt', '"quoted start', 'logfmt:malformed'],
  ] as const) {
    const h = harness(parser);
    const rec = h.parse(line);
    t.equal(rec.message, line, parser);
    t.same(h.errors, [err], `${parser}: ${line}`);
    t.same(recordProblems(rec), []);
  }
});

t.test("names of Object.prototype's members are plain words, not lookups that find a function", async (t) => {
  // A fuzz run found a regex group `level` of "toString" turned into a function-valued level.
  const { parse } = harness('json');
  for (const word of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
    const rec = parse(JSON.stringify({ timestamp: '2024-01-15T10:00:00Z', level: word, message: 'm', duration: `1${word}`, action: word, http: { [word]: 'x' } }));
    t.same(recordProblems(rec), [], `${word}: a valid record`);
    t.equal(rec.level, 'INFO', `${word}: not a level`);
    t.equal(rec.duration, undefined, `${word}: not a duration unit`);
  }
  const regex = createParser('regex', { pattern: '^(?<timestamp>\\S+) (?<level>\\w+) (?<message>.*)$', timezone: 'UTC', client_error_level: 'WARN' });
  const rec = regex('Dec toString 𐀀[99]: (root) CMD (run-parts /etc/cron.daily)', { source: { type: 'file', name: 'bad' }, service: 'bad', readTime: Date.parse('2024-01-15T12:00:00Z'), runtimeTimestamp: undefined, parseError() {} });
  t.same(recordProblems(rec), [], 'the fuzz counterexample is a valid record');
  t.equal(rec.level, 'INFO');
});
