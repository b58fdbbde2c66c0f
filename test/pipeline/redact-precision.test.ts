/**
 * Redaction precision and recall, the figures README "Redaction" states.
 * - Precision: test/fixtures/redaction/public-formats.log (lines in the formats of public log
 *   collections, no secret in them; provenance in its README) must come out byte for byte as it
 *   went in, with no replacement counted.
 * - Recall: every secret of REDACTION_SET (the shapes the rules are for) is replaced.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { createParser } from '../../parsers/index.ts';
import type { ParseContext } from '../../src/parse/types.ts';
import { RedactStage, redactionConfigSchema } from '../../src/pipeline/redact.ts';
import { NO_ACK } from '../../src/core/record.ts';

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'redaction', 'public-formats.log');

/** [text, the secret in it]: after redaction the secret must be gone. */
export const REDACTION_SET: Array<[string, string]> = [
  ['login with password=hunter2 ok', 'hunter2'],
  ['db_password: "s3cr3t pass" host=x', 's3cr3t pass'],
  ['{"user":"bob","password":"p@ss"}', 'p@ss'],
  ['GET /cb?code=1&access_token=abc.def&x=1', 'abc.def'],
  ['Authorization: Bearer abcdef0123456789xyz', 'abcdef0123456789xyz'],
  ['header Authorization: Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA=='],
  ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U seen', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0'],
  ['using key AKIAIOSFODNN7EXAMPLE now', 'AKIAIOSFODNN7EXAMPLE'],
  ['aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ['paid with 4111 1111 1111 1111 today', '4111 1111 1111 1111'],
  ['amex 378282246310005.', '378282246310005'],
  ['paid with 3782 822463 10005 ok', '3782 822463 10005'],
  ['card 3056-930902-5904', '3056-930902-5904'],
  ['{"card_number":"5555555555554444","amount":10}', '5555555555554444'],
  ['charge card=6011111111111117 declined', '6011111111111117'],
  ['pan: 4012888888881881 retry', '4012888888881881'],
  ['connect postgres://app:hunter2@db:5432/x', 'hunter2'],
  ['key -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY----- end', 'MIIEowIBAAKCAQEA'],
  ['Cookie: csrftoken=abc; sessionid=k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8', 'k3j4h5g6f7d8s9a0q1w2e3r4t5y6u7i8'],
  ['GET /app;jsessionid=A1B2C3D4E5F6A7B8C9D0 HTTP/1.1', 'A1B2C3D4E5F6A7B8C9D0'],
  ['client_secret=Zm9vYmFyYmF6cXV4 grant_type=client_credentials', 'Zm9vYmFyYmF6cXV4'],
  ['{"apiKey": "sk_live_51H8xYzAbCdEfGhIjKlMn"}', 'sk_live_51H8xYzAbCdEfGhIjKlMn'],
  ['x-api-key: 0123456789abcdef0123456789abcdef', '0123456789abcdef0123456789abcdef'],
  ['otp=492039 accepted', '492039'],
  ['redis://:p4ssw0rd@cache:6379/0', 'p4ssw0rd'],
  ['session_id="f3a9c2b7e1d84c6a9b0f" renewed', 'f3a9c2b7e1d84c6a9b0f'],
];

function stage() {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  return { metrics, stage: new RedactStage(redactionConfigSchema.parse({}), { metrics }) };
}

t.test('precision: no line of the public-formats corpus is rewritten', async (t) => {
  const { metrics, stage: st } = stage();
  const lines = readFileSync(CORPUS, 'utf8').split('\n').filter(Boolean);
  t.ok(lines.length >= 130, `${lines.length} lines`);
  const ctx: ParseContext = { source: { type: 'file', name: 'c' }, service: 'c', readTime: Date.parse('2026-01-01T00:00:00Z'), runtimeTimestamp: undefined, parseError() {} };
  const auto = createParser('auto', { timezone: 'UTC', client_error_level: 'WARN' });
  let rewritten = 0;
  for (const line of lines) {
    // as text, and as the parsed record's fields (message, metadata, http.path/referrer)
    const text = st.text(line);
    const r = auto(line, ctx);
    const before = JSON.stringify(r);
    st.record(r);
    if (text !== line || JSON.stringify(r) !== before) {
      rewritten++;
      t.fail(`rewritten: ${line}\n       as: ${text}`);
    }
  }
  t.equal(rewritten, 0, `${lines.length} lines, ${rewritten} rewritten`);
  t.notMatch(await metrics.metrics(), /logship_redactions_total\{/, 'no replacement counted');
});

t.test('recall: every secret of the redaction set is replaced', async (t) => {
  const { stage: st } = stage();
  let caught = 0;
  for (const [text, secret] of REDACTION_SET) {
    const out = st.text(text);
    if (!out.includes(secret)) caught++;
    else t.fail(`missed: ${text} → ${out}`);
  }
  t.equal(caught, REDACTION_SET.length, `${caught}/${REDACTION_SET.length}`);
});
