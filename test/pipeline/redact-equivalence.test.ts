/**
 * The redaction stage's pre-check is taken apart into three tests, it skips a rule's regex when
 * a cheap check says it cannot match, and finds key/value separators with indexOf. These property tests hold it to the former implementation
 * (redact-reference.ts): the same text out and the same per-rule counts, for text built from
 * the fragments the rules look for (in random case), random strings and fixture lines.
 */
import t from 'tap';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { LogRecord } from '../../src/core/record.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { RedactStage, redactionConfigSchema } from '../../src/pipeline/redact.ts';
import { RedactStage as ReferenceRedactStage } from './redact-reference.ts';

const FRAGMENTS = [
  'pass', 'pwd', 'secret', 'token', 'key', 'auth', 'credential', 'cookie', 'session', 'cvv', 'cvc', 'bearer', 'basic', 'eyJ', 'akia', 'AKIA', 'ASIA', 'agpa',
  'aida', 'aroa', 'aipa', 'anpa', 'anva', 'apka', 'abia', 'acca', 'begin', '://', 'pin', 'otp', 'PIN', 'pin_', '_pin', 'Bearer ', 'Basic ', 'password=', 'api_key: ',
  '"token": "', '?access_token=', 'Authorization: Bearer ', 'https://', 'postgres://u:', '@', '@db', ':', '=', '"', "'", ' ', '-', '.', '/', '_', '&', ',',
  '4111', '1111', '4111 1111 1111 1111', '4111-1111-1111-1111', '378282246310005', '1-2-3-4-5-6-7-8-9-0-1-2-3', '12345678901', '0', '9', '2024', '13:55:36',
  'AKIAIOSFODNN7EXAMPLE', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig', '-----BEGIN RSA PRIVATE KEY-----', '-----END RSA PRIVATE KEY-----', 'PRIVATE KEY-----',
  'dXNlcjpwYXNzd29yZA==', '[REDACTED]', 'K', '\u212a', '\u0130', 'ſ', 'é', '\u0000', '\n', '\t', 'x', 'Z',
];

const randomCase = (s: string, flips: number[]) => Array.from(s, (c, i) => (flips[i % flips.length] % 2 === 0 ? c : c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
const fragment = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...FRAGMENTS), fc.array(fc.nat(3), { minLength: 1, maxLength: 4 })).map(([f, flips]) => randomCase(f, flips)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.stringMatching(/^[0-9 -]{1,24}$/) },
);
const text = fc.array(fragment, { maxLength: 24 }).map((parts) => parts.join(''));

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'parsers');
const CORPUS = readdirSync(FIXTURES).filter((f) => f.endsWith('.log')).flatMap((f) => readFileSync(join(FIXTURES, f), 'utf8').split('\n').filter(Boolean));

function pair(cfg: unknown) {
  const parsed = redactionConfigSchema.parse(cfg);
  const counts = (metrics: MetricsRegistry) => async () => (await metrics.metrics()).split('\n').filter((l) => l.startsWith('logship_redactions_total')).sort().join('\n');
  const m1 = new MetricsRegistry({ defaultMetrics: false });
  const m2 = new MetricsRegistry({ defaultMetrics: false });
  return {
    stage: new RedactStage(parsed, { metrics: m1 }),
    reference: new ReferenceRedactStage(parsed, { metrics: m2 }),
    counts: counts(m1),
    referenceCounts: counts(m2),
  };
}

for (const [name, cfg] of [
  ['defaults', {}],
  ['a replacement that itself looks like a secret', { replacement: 'x://a:b@c Bearer abcdefghij eyJabcd.eyJabcd.x 4111 1111 1111 1111 password=1' }],
  ['extra keys and patterns, a rule switched off', { keys: ['x-internal-id', '__', 'zip9'], extra_patterns: [{ name: 'ssn', pattern: '\\b\\d{3}-\\d{2}-\\d{4}\\b' }], disable: ['bearer_token'] }],
] as const) {
  t.test(`text redaction equals the former implementation: ${name}`, async (t) => {
    const { stage, reference, counts, referenceCounts } = pair(cfg);
    fc.assert(fc.property(fc.oneof({ weight: 4, arbitrary: text }, { weight: 1, arbitrary: fc.constantFrom(...CORPUS) }), (s) => {
      const want = reference.text(s);
      const got = stage.text(s);
      if (got !== want) throw new Error(`${JSON.stringify(s)}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }), { numRuns: 20_000 });
    for (const s of CORPUS) t.equal(stage.text(s), reference.text(s), s);
    t.equal(await counts(), await referenceCounts(), 'same counts per rule');
  });
}

// Whole records whose values repeat (the stage remembers texts it found clean): each record is
// redacted by one long-lived stage and by the former implementation, which remembers nothing.
const value = fc.constantFrom('/api/documents/:id', '/api/users/42?token=abc123def', 'GET', 'https://u:p4ssw0rd@example.com/x', 'plain value here', 'password=hunter22', 'Bearer abcdefghijklmnop', '4111 1111 1111 1111', '10.0.3.7');
const record = fc.record({
  message: fc.oneof(value, text),
  metadata: fc.option(fc.dictionary(fc.constantFrom('route', 'note', 'api_key', 'tags', 'nested'), fc.oneof(value, fc.array(value, { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'secret'), value, { maxKeys: 2 })), { maxKeys: 4 }), { nil: undefined }),
  http: fc.option(fc.record({ path: fc.option(value, { nil: undefined }), referrer: fc.option(value, { nil: undefined }) }, { requiredKeys: [] }), { nil: undefined }),
}, { requiredKeys: ['message'] });

for (const [name, cfg] of [
  ['defaults', {}],
  ['extra keys and patterns', { keys: ['note'], extra_patterns: [{ name: 'ip', pattern: '\\b10\\.0\\.3\\.7\\b' }] }],
] as const) {
  t.test(`record redaction with repeating values equals the former implementation: ${name}`, async (t) => {
    const { stage, reference, counts, referenceCounts } = pair(cfg);
    fc.assert(fc.property(record, (fields) => {
      const r = { timestamp: '2024-01-15T12:00:00.000Z', level: 'INFO', service: 'app', source: { type: 'file', name: 't' }, ...fields } as LogRecord;
      const got = structuredClone(r);
      const want = structuredClone(r);
      stage.record(got);
      reference.record(want);
      if (!isDeepStrictEqual(got, want)) throw new Error(`got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }), { numRuns: 5_000 });
    t.equal(await counts(), await referenceCounts(), 'same counts per rule');
  });
}
