import t from 'tap';
import fc from 'fast-check';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { createParser } from '../../parsers/index.ts';
import type { ParseContext } from '../../src/parse/types.ts';
import { hasCardDigits, isCardNumber, RedactStage, redactionConfigSchema, redactStageSchema } from '../../src/pipeline/redact.ts';
import { NO_ACK, type LogRecord } from '../../src/core/record.ts';

const ctx: ParseContext = { source: { type: 'file', name: 't' }, service: 'app', readTime: Date.parse('2024-01-15T12:00:00Z'), runtimeTimestamp: undefined, parseError() {} };
const auto = createParser('auto', { timezone: 'UTC', client_error_level: 'WARN' });

function setup(cfg: unknown = {}) {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const stage = new RedactStage(redactionConfigSchema.parse(cfg), { metrics });
  const run = (line: string): LogRecord => stage.process({ record: auto(line, ctx), labels: {}, ack: NO_ACK, size: 0 }).record;
  const count = async (rule: string) => {
    const text = await metrics.metrics();
    const m = new RegExp(`logship_redactions_total\\{rule="${rule}"\\} (\\d+)`).exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { stage, run, count };
}

t.test('text secrets are replaced and counted per rule', async (t) => {
  const { stage, count } = setup();
  const cases: Array<[string, string, string]> = [
    ['login with password=hunter2 ok', 'login with password=[REDACTED] ok', 'secret_key_value'],
    ['db_password: "s3cr3t pass" host=x', 'db_password: "[REDACTED]" host=x', 'secret_key_value'],
    ['{"user":"bob","password":"p@ss"}', '{"user":"bob","password":"[REDACTED]"}', 'secret_key_value'],
    ['GET /cb?code=1&access_token=abc.def&x=1', 'GET /cb?code=1&access_token=[REDACTED]&x=1', 'secret_key_value'],
    ['Authorization: Bearer abcdef0123456789xyz', 'Authorization: Bearer [REDACTED]', 'bearer_token'],
    ['header Authorization: Basic dXNlcjpwYXNzd29yZA==', 'header Authorization: Basic [REDACTED]', 'basic_auth'],
    ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U seen', 'token [REDACTED] seen', 'jwt'],
    ['using key AKIAIOSFODNN7EXAMPLE now', 'using key [REDACTED] now', 'aws_access_key'],
    ['aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key=[REDACTED]', 'secret_key_value'],
    ['paid with 4111 1111 1111 1111 today', 'paid with [REDACTED] today', 'credit_card'],
    ['amex 378282246310005.', 'amex [REDACTED].', 'credit_card'],
    // printed groupings other than 4-4-4-4: Amex 4-6-5, Diners 4-6-4 (both passed unredacted once)
    ['paid with 3782 822463 10005 ok', 'paid with [REDACTED] ok', 'credit_card'],
    ['card 3056-930902-5904', 'card [REDACTED]', 'credit_card'],
    ['connect postgres://app:hunter2@db:5432/x', 'connect postgres://app:[REDACTED]@db:5432/x', 'url_credentials'],
    ['key -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- end', 'key -----BEGIN PRIVATE KEY-----[REDACTED]-----END PRIVATE KEY----- end', 'private_key'],
  ];
  for (const [input, want, rule] of cases) {
    const before = await count(rule);
    t.equal(stage.text(input), want, input);
    t.equal(await count(rule), before + 1, `${rule} counted`);
  }
  // Card-valid digit runs inside identifiers (all pass Luhn with a card prefix): never rewritten.
  for (const id of ['blk_-4111111111111111 size 91178', 'blk_4111111111111111', 'order id=4111111111111111 shipped', 'trace=4111-1111-1111-1111-aa', '0x4111111111111111',
    'uploaded s3://bucket/2024/378282246310005.json', 'v4111111111111111', 'x.4111111111111111', 'n 4111111111111111.5 kg', 'container_4111111111111111_01', '/users/4111111111111111/orders',
    'sessionid: 0x14f05578bf8', 'sessionid:0x14f05578bf80009 type:create', '"sessionId": 1705312810123456', 'AppWindowToken{df0798e token=Token{78af589 ActivityRecord{3b04890 u0 x}}}', 'handle token=Token@1b6d3586 ok']) {
    t.equal(stage.text(id), id, `an identifier stays: ${id}`);
  }
  for (const [input, want] of [['cc=4111111111111111 declined', 'cc=[REDACTED] declined'], ['(4111 1111 1111 1111)', '([REDACTED])'], ['"4111111111111111"', '"[REDACTED]"'], ['sessionid=k3j4h5g6f7d8s9a0 x', 'sessionid=[REDACTED] x'], ['token=Tok3nValue99 x', 'token=[REDACTED] x']]) {
    t.equal(stage.text(input), want, input);
  }
  for (const clean of ['order 1705312800123 created', 'Basic authentication required', 'token_count=5 tokens=7', 'card 4111 1111 1111 1112 (bad checksum)', 'Failed password for root from 1.2.3.4', 'id 1234567890123456 not a card prefix', 'bypass=1']) {
    t.equal(stage.text(clean), clean, `untouched: ${clean}`);
  }
});

t.test('structured fields: secret keys at any depth, strings inside metadata, http.path', async (t) => {
  const { run, count } = setup();
  const r = run('{"level":"INFO","message":"user signup","password":"hunter2","context":{"apiKey":"k-123","nested":{"client_secret":"zzz","list":["Bearer abcdefghijklmnop", "ok"]}},"Set-Cookie":"sid=1","token_count":3}');
  t.same(r.metadata, { password: '[REDACTED]', context: { apiKey: '[REDACTED]', nested: { client_secret: '[REDACTED]', list: ['Bearer [REDACTED]', 'ok'] } }, 'Set-Cookie': '[REDACTED]', token_count: 3, timestamp_source: 'read_time' });
  t.equal(await count('secret_field'), 4);
  const a = run('1.2.3.4 - - [15/Jan/2024:10:00:00 +0000] "GET /reset?email=a@b.c&token=abcd1234 HTTP/1.1" 200 1 "https://x/?password=p" "ua"');
  t.equal(a.http?.path, '/reset?email=a@b.c&token=[REDACTED]');
  t.equal(a.http?.referrer, 'https://x/?password=[REDACTED]');
  t.notMatch(a.message, /abcd1234/);
});

t.test('configuration: extra patterns and keys, disabling rules; a redact pipeline stage', async (t) => {
  const { run, count } = setup({ extra_patterns: [{ name: 'ssn', pattern: '\\b\\d{3}-\\d{2}-\\d{4}\\b', replacement: '[SSN]' }], keys: ['x-internal-id'], disable: ['credit_card'] });
  const r = run('{"message":"ssn 123-45-6789 card 4111111111111111","x_internal_id":"777"}');
  t.equal(r.message, 'ssn [SSN] card 4111111111111111');
  t.equal(r.metadata?.x_internal_id, '[REDACTED]');
  t.equal(await count('ssn'), 1);
  const st = redactStageSchema.parse({ type: 'redact', replacement: '***' });
  t.equal(new RedactStage(st).text('password=x1'), 'password=***');
  t.throws(() => redactionConfigSchema.parse({ extra_patterns: [{ name: 'Bad Name', pattern: 'x' }] }));
  t.equal(redactionConfigSchema.parse(undefined).enabled, true, 'on by default');
});

t.test('Luhn and card prefixes', async (t) => {
  for (const n of ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '3530111333300000', '4012888888881881']) t.ok(isCardNumber(n), n);
  for (const n of ['4111111111111112', '1234567812345670', '411111111111', '99999999999999999999']) t.notOk(isCardNumber(n), n);
});

t.test('hasCardDigits holds wherever the card-number regex matches', async (t) => {
  const CARD_NUMBER = /\b(?:\d[ -]?){12,18}\d\b/;
  const NEEDED = /(?:\d[ -]?){12}\d/;
  fc.assert(fc.property(fc.stringMatching(/^[0-9 \-a.:]{0,40}$/), (s) => {
    if (hasCardDigits(s) !== NEEDED.test(s)) throw new Error(`${JSON.stringify(s)}: hasCardDigits ${hasCardDigits(s)}`);
    if (CARD_NUMBER.test(s) && !hasCardDigits(s)) throw new Error(`${JSON.stringify(s)}: a card match without card digits`);
  }), { numRuns: 50_000 });
  for (const s of ['3782 822463 10005', '4-1-1-1-1-1-1-1-1-1-1-1-1', '4111111111111']) t.ok(hasCardDigits(s), s);
  for (const s of ['4111 1111  1111 1111', '10.114.217.170 - - [24/Nov/2026:01:57:30 +0000]', '411111111111', '-- 1 2 3']) t.notOk(hasCardDigits(s), s);
});

t.test('hostile inputs stay fast', async (t) => {
  const { stage } = setup();
  for (const s of ['password'.repeat(50_000), 'a='.repeat(100_000), '4'.repeat(500_000), 'eyJ'.repeat(100_000) + '.', `Bearer ${'a'.repeat(500_000)}`]) {
    // CPU time, not wall time: a loaded machine stretches the latter, not the former.
    const start = process.cpuUsage();
    stage.text(s);
    const { user, system } = process.cpuUsage(start);
    const ms = (user + system) / 1000;
    t.ok(ms < 3000, `${s.slice(0, 10)}… ${ms.toFixed(0)} ms of CPU`);
  }
});

t.test('a message seen before is redacted and counted again; one with nothing to redact is shipped as it was', async (t) => {
  const { run, count } = setup();
  const secret = '{"message":"login with password=hunter2 ok"}';
  const clean = '{"message":"Request completed"}';
  for (let i = 0; i < 5; i++) {
    t.equal(run(secret).message, 'login with password=[REDACTED] ok');
    t.equal(run(clean).message, 'Request completed');
  }
  t.equal(await count('secret_key_value'), 5, 'every replacement counted, the repeats included');
  // the same text as metadata values: redacted by the same rules whatever the message saw
  const r = run('{"message":"Request completed","metadata":{"note":"Request completed","n":"password=hunter2"}}');
  t.match(r.metadata, { note: 'Request completed', n: 'password=[REDACTED]' });
});

t.test('a user pattern whose replacement is the text it matched is still counted every time', async (t) => {
  const { run, count } = setup({ extra_patterns: [{ name: 'same', pattern: 'ticket-\\d+', replacement: 'ticket-1' }] });
  for (let i = 0; i < 3; i++) t.equal(run('{"message":"see ticket-1 now"}').message, 'see ticket-1 now');
  t.equal(await count('same'), 3);
});
