/**
 * Golden corpus: every fixture line (test/fixtures/parsers/*.log, real-world shapes and the
 * platform's seed lines verbatim) through its own parser and through `auto`, compared field by
 * field with the expected record and parse errors in *.expected.ndjson. The whole record is
 * compared (strictSame), so every field is asserted. A missing expected file fails the test;
 * `LOGSHIP_UPDATE_GOLDEN=1` (re)writes the expected files from the current output (review the diff!).
 */
import t, { type Test as TapTest } from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createParser } from '../../parsers/index.ts';
import type { ParseContext } from '../../src/parse/types.ts';
import { recordProblems } from '../../src/core/record-schema.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'parsers');
const READ_TIME = Date.parse('2024-01-15T12:00:00Z');
const FILES: Record<string, string> = { seed: 'json', json: 'json', logfmt: 'logfmt', nginx: 'nginx', apache: 'apache', syslog: 'syslog', plain: 'plain' };
const UPDATE_ENV = 'LOGSHIP_UPDATE_GOLDEN';
const update = process.env[UPDATE_ENV] === '1';

interface Golden {
  line: string;
  errors: string[];
  record: unknown;
}

function run(parserName: string, lines: string[]): Golden[] {
  const parser = createParser(parserName, { timezone: 'UTC', client_error_level: 'WARN' });
  let errors: string[] = [];
  const ctx: ParseContext = {
    source: { type: 'file', name: 'app', file: '/var/log/app.log', host: 'node-1' },
    service: 'app',
    readTime: READ_TIME,
    runtimeTimestamp: undefined,
    parseError: (p, reason) => errors.push(`${p}:${reason}`),
  };
  return lines.map((line) => {
    errors = [];
    const record = JSON.parse(JSON.stringify(parser(line, ctx)));
    return { line, errors, record };
  });
}

function lines(file: string): string[] {
  return readFileSync(join(DIR, `${file}.log`), 'utf8').split('\n').filter((l) => l.length > 0);
}

function check(t: TapTest, name: string, got: Golden[]): void {
  const path = join(DIR, `${name}.expected.ndjson`);
  if (update) {
    writeFileSync(path, got.map((g) => JSON.stringify(g)).join('\n') + '\n');
    t.comment(`${UPDATE_ENV}=1: rewrote ${path}`);
  } else if (!existsSync(path)) {
    t.fail(`golden file ${path} is missing: create it with ${UPDATE_ENV}=1 npx tap test/parsers/golden.test.ts and review it`);
    return;
  }
  const want = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Golden);
  t.equal(got.length, want.length, `${name}: number of lines`);
  for (let i = 0; i < got.length; i++) {
    t.strictSame(got[i], want[i], `${name} line ${i + 1}: ${got[i].line.slice(0, 60)}`);
    t.same(recordProblems(got[i].record), [], `${name} line ${i + 1} is schema-valid`);
  }
}


for (const [file, parser] of Object.entries(FILES)) {
  t.test(`${file}.log through ${parser}`, async (t) => check(t, file, run(parser, lines(file))));
}

t.test('every fixture line through auto', async (t) => {
  check(t, 'auto', run('auto', Object.keys(FILES).flatMap(lines)));
});

t.test('auto picks the same reading as the dedicated parser for the formats it detects', async (t) => {
  const all = Object.keys(FILES).flatMap((f) => run(FILES[f], lines(f)).map((g) => ({ ...g, file: f })));
  const auto = run('auto', all.map((g) => g.line));
  let same = 0;
  for (let i = 0; i < all.length; i++) {
    if (JSON.stringify(all[i].record) === JSON.stringify(auto[i].record)) same++;
  }
  // The differences are deliberate: auto reads integer trailers of access lines as unknown
  // (apache %D vs nginx seconds) and does not know a file is JSON when a line is not `{...}`.
  t.ok(same / all.length > 0.9, `auto agrees on ${same}/${all.length} lines`);
});
