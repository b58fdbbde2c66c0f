/**
 * Property tests holding the classification stage (contains as one regex, the built-in message
 * rules behind one case-insensitive gate) to its former implementation
 * (classify-reference.ts): the same record out (event_type, action, threat, extracted fields,
 * slow-operation metadata) for records built from the words the rules look for, in random case
 * and with the characters whose lower case is ASCII (İ, the Kelvin sign) mixed in.
 */
import t from 'tap';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createParser } from '../../parsers/index.ts';
import type { ParseContext } from '../../src/parse/types.ts';
import { ClassifyStage, classificationConfigSchema } from '../../src/pipeline/classify.ts';
import { NO_ACK, type LogRecord } from '../../src/core/record.ts';
import { ClassifyStage as ReferenceClassifyStage } from './classify-reference.ts';

const WORDS = [
  'Failed password for', 'Failed publickey for', 'Invalid user ', 'authentication failure', 'FAILED LOGIN', 'Accepted password for', 'Accepted publickey for',
  'Accepted keyboard-interactive', 'login failed', 'failed login', 'invalid credentials', 'logged in', 'not logged in', 'rate limit exceeded', 'too many requests',
  'throttled', 'upload rejected', 'access denied', 'permission denied', 'bad credentials', 'wrong password', 'rate-limited', 'ratelimiting hit', 'file blocked',
  'rejected upload', 'not authorized', 'insufficient privileges', 'signed in', "isn't logged in", 'authenticated successfully', 'sign-in unsuccessful', 'sqlmap', 'nikto', ' from ', '10.0.0.1', 'root', 'user=', 'rhost=', ' ', '/', 'a',
  '\u0130', '\u212a', '\u0131', '\u017f', 'ß', 'İnvalid user ', 'Failed public\u212aey for', 'FAİLED LOGIN',
];
const randomCase = (s: string, flips: number[]) => Array.from(s, (c, i) => (flips[i % flips.length] % 2 === 0 ? c : c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
const word = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...WORDS), fc.array(fc.nat(5), { minLength: 1, maxLength: 5 })).map(([w, flips]) => randomCase(w, flips)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 5 }) },
);
const text = fc.array(word, { maxLength: 12 }).map((w) => w.join(''));
// the attack patterns' words in random case too (the path gate is one case-insensitive regex)
const path = fc.array(fc.tuple(fc.constantFrom('/login', '/api', '/users/1', '?q=', "' or 1=1", '../', '%2e%2e', '<script>', ';cat /etc/passwd', '+', '%', 'x', 'UNION SELECT', '%3Cscript', 'win.ini', '/bin/sh', 'İ'), fc.array(fc.nat(5), { minLength: 1, maxLength: 5 })).map(([w, flips]) => randomCase(w, flips)), { maxLength: 6 }).map((p) => p.join(''));
// numbers, numeric texts and NaN (equals/in compare numbers as numbers, texts as texts)
const statusCode = fc.constantFrom<number | string>(200, 401, 403, 404, 429, 500, '401', '0401', '500', 401.5, Number.NaN, -0);
const record = fc.record({
  message: text,
  level: fc.constantFrom('INFO', 'WARN', 'ERROR'),
  user_agent: fc.option(text, { nil: undefined }),
  http: fc.option(fc.record({ path: fc.option(path, { nil: undefined }), status_code: fc.option(statusCode, { nil: undefined }), response_time: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }) }, { requiredKeys: [] }), { nil: undefined }),
  event_type: fc.option(fc.constantFrom('security', 'performance', 'audit'), { nil: undefined }),
  action: fc.option(fc.constantFrom('login_failed', 'LOGIN', 'forbidden', 'other'), { nil: undefined }),
  duration: fc.option(fc.double({ min: 0, max: 20, noNaN: true }), { nil: undefined }),
}, { requiredKeys: ['message', 'level'] });

const ctx: ParseContext = { source: { type: 'file', name: 't' }, service: 'app', readTime: Date.parse('2024-01-15T12:00:00Z'), runtimeTimestamp: undefined, parseError() {} };
const auto = createParser('auto', { timezone: 'UTC', client_error_level: 'WARN' });
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parsers');
const CORPUS = readdirSync(FIXTURES).filter((f) => f.endsWith('.log')).flatMap((f) => readFileSync(join(FIXTURES, f), 'utf8').split('\n').filter(Boolean));

for (const [name, cfg] of [
  ['built-in rules', {}],
  ['user rules with contains (ASCII and not), matches, decode', { rules: [
    { name: 'u1', when: { message: { contains: ['Kb', 'İx', 'ß'] } }, set: { event_type: 'security', action: 'custom_a' } },
    { name: 'u2', when: { user_agent: { contains: 'ROOT' }, message: { contains: ['from'] } }, set: { event_type: 'security', action: 'custom_b' } },
    { name: 'u3', when: { 'http.path': { decode: 'url', contains: ['../', "'"] } }, set: { event_type: 'security', action: 'custom_c', threat: 'other' } },
    // conditions that hold on an absent field: the rule must not be skipped for lack of it
    { name: 'u4', when: { user_agent: { exists: false }, 'http.status_code': { equals: 500 } }, set: { event_type: 'security', action: 'custom_d' } },
    { name: 'u5', when: { 'metadata.x': { not_matches: 'y' }, message: { contains: 'root' } }, set: { event_type: 'audit', action: 'custom_e' } },
    { name: 'u8', when: { 'http.status_code': { equals: 'NaN' } }, set: { event_type: 'security', action: 'custom_h' } },
    { name: 'u6', when: { 'http.status_code': { in: ['403', 429, 'NaN', '0'] } }, set: { event_type: 'security', action: 'custom_f' } },
    { name: 'u7', when: { 'http.status_code': { equals: '500' } }, set: { event_type: 'security', action: 'custom_g' } },
  ] }],
] as const) {
  t.test(`classification equals the former implementation: ${name}`, async (t) => {
    const parsed = classificationConfigSchema.parse(cfg);
    const stage = new ClassifyStage(parsed);
    const reference = new ReferenceClassifyStage(parsed);
    const run = (st: { process(e: never): unknown }, r: LogRecord) => {
      const copy = structuredClone(r);
      st.process({ record: copy, labels: {}, ack: NO_ACK, size: 0 } as never);
      return copy;
    };
    fc.assert(fc.property(record, (fields) => {
      const r = { timestamp: '2024-01-15T12:00:00.000Z', service: 'app', source: { type: 'file', name: 't' }, ...fields } as LogRecord;
      const got = run(stage, r);
      const want = run(reference, r);
      if (!isDeepStrictEqual(got, want)) throw new Error(`got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }), { numRuns: 5_000 });
    t.pass('5,000 records');
    for (const line of CORPUS) t.same(run(stage, auto(line, ctx)), run(reference, auto(line, ctx)), line);
  });
}
