import t from 'tap';
import fc from 'fast-check';
import { secondsValue } from '../../src/parse/clf.ts';

t.test('secondsValue is Number() on digits.digits and NaN on anything else', async (t) => {
  const seconds = fc.tuple(fc.stringMatching(/^\d{1,12}$/), fc.stringMatching(/^\d{1,12}$/)).map(([a, b]) => `${a}.${b}`);
  const other = fc.oneof(fc.stringMatching(/^[0-9.]{0,8}$/), fc.string({ maxLength: 6 }), fc.constantFrom('', '-', '.', '1.', '.5', '1..2', '1.2.3', '-1.5', '1e3', '1.5 ', ' 1.5', '0.000', '00.10'));
  fc.assert(fc.property(fc.oneof(seconds, other), (s) => {
    const shaped = /^\d+\.\d+$/.test(s);
    const got = secondsValue(s);
    if (!Object.is(got, shaped ? Number(s) : NaN)) throw new Error(`${JSON.stringify(s)}: got ${got}, want ${shaped ? Number(s) : NaN}`);
  }), { numRuns: 50_000 });
  t.pass('50,000 strings');
});

/**
 * The server's escapes stay byte for byte. nginx (log_format escape=default): `"`, `\` and bytes
 * below 0x20 or above 0x7e are written as `\xXX`. apache mod_log_config: non-printable bytes in
 * %r, %i, %o as `\xhh`, `"` and `\` as `\"` and `\\`. The fields are exactly the text between
 * the quotes.
 */
t.test('access-log text fields keep the server\'s escapes exactly as written', async (t) => {
  const { createParser } = await import('../../parsers/index.ts');
  const ctx = { source: { type: 'file' as const, name: 't' }, service: 'web', readTime: Date.parse('2024-01-16T00:00:00Z'), runtimeTimestamp: undefined, parseError() {} };
  const nginx = createParser('nginx', { timezone: 'UTC', client_error_level: 'WARN' });
  const apache = createParser('apache', { timezone: 'UTC', client_error_level: 'WARN' });
  const req = 'GET /search?q=caf\\xC3\\xA9\\x22 HTTP/1.1';
  const ref = 'https://example.com/it\\xE2\\x80\\x99s?a=\\x5C';
  const ua = 'Mozilla/5.0 \\x22quoted\\x22';
  const n = nginx(`203.0.113.9 - - [15/Jan/2024:10:00:00 +0000] "${req}" 200 12 "${ref}" "${ua}"`, ctx);
  t.equal(n.http?.path, '/search?q=caf\\xC3\\xA9\\x22');
  t.equal(n.http?.referrer, ref);
  t.equal(n.user_agent, ua);
  const tls = nginx('10.0.0.5 - - [15/Jan/2024:10:00:05 +0000] "\\x16\\x03\\x01\\x02\\x00\\x01" 400 157 "-" "-"', ctx);
  t.equal(tls.metadata?.request, '\\x16\\x03\\x01\\x02\\x00\\x01', 'a TLS hello on a plain port, as nginx wrote it');
  const a = apache('198.51.100.4 - - [15/Jan/2024:10:00:00 +0000] "GET /a\\"b\\\\c\\x01 HTTP/1.1" 404 0 "-" "curl \\"x\\""', ctx);
  t.equal(a.http?.path, '/a\\"b\\\\c\\x01');
  t.equal(a.user_agent, 'curl \\"x\\"');
});
