/** The parsers end to end through the real CLI (its sources, see test/support/daemon.ts): `logship parse` and `logship run --dry-run`. */
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, runCli, tempDir, waitFor, writeConfig } from '../support/daemon.ts';
import { recordProblems } from '../../src/core/record-schema.ts';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'parsers');
const parseLines = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);

t.test('parse --parser nginx prints one schema-valid record per line and reports parse errors', async (t) => {
  const input = readFileSync(join(FIX, 'nginx.log'), 'utf8');
  const r = await runCli(['parse', '--parser', 'nginx', '--timezone', 'UTC', '--service', 'edge'], { input });
  t.equal(r.code, 0, r.stderr);
  const recs = parseLines(r.stdout);
  t.equal(recs.length, input.split('\n').filter(Boolean).length);
  for (const rec of recs) t.same(recordProblems(rec), []);
  t.match(recs[0], { timestamp: '2024-01-15T10:00:00.000Z', level: 'INFO', service: 'edge', ip_address: '192.168.1.10', http: { method: 'GET', path: '/index.html', status_code: 200, bytes: 612 }, source: { type: 'stdin' } });
  t.match(recs[1], { event_type: 'security', action: 'failed_login' }, 'built-in classification applies');
  t.match(recs[3], { event_type: 'security', action: 'suspicious_request', metadata: { threat: 'scanner' } });
  t.match(r.stderr, /parse errors nginx:truncated: 1/);
  const raw = await runCli(['parse', '--parser', 'nginx', '--no-stages'], { input });
  t.equal(parseLines(raw.stdout)[1].event_type, undefined, '--no-stages: parser output only');
});

t.test('parse: auto over every fixture; regex needs a safe pattern; bad names exit 2', async (t) => {
  const all = ['seed', 'json', 'logfmt', 'nginx', 'apache', 'syslog', 'plain'].map((f) => readFileSync(join(FIX, `${f}.log`), 'utf8')).join('');
  const r = await runCli(['parse'], { input: all });
  t.equal(r.code, 0);
  const recs = parseLines(r.stdout);
  t.equal(recs.length, all.split('\n').filter(Boolean).length);
  for (const rec of recs) t.same(recordProblems(rec), []);
  const re = await runCli(['parse', '--parser', 'regex', '--pattern', '^(?<level>\\w+) (?<msg>.*)$'], { input: 'ERROR disk on fire\n' });
  t.match(parseLines(re.stdout)[0], { level: 'ERROR', message: 'disk on fire' });
  const unsafe = await runCli(['parse', '--parser', 'regex', '--pattern', '(a)\\1'], { input: '' });
  t.equal(unsafe.code, 2);
  t.match(unsafe.stderr, /linear time/);
  const unknown = await runCli(['parse', '--parser', 'nope'], { input: '' });
  t.equal(unknown.code, 2);
});

t.test('parse --config --source uses the source parser options', async (t) => {
  const dir = tempDir();
  const cfg = await writeConfig(dir, `
sources:
  - name: legacy
    paths: ["${dir}/*.log"]
    service: legacy-app
    parser: regex
    parser_options: { pattern: '^(?<when>\\S+ \\S+) <(?<sev>\\w+)> (?<msg>.*)$', timezone: "+02:00", fields: { timestamp: when, level: sev } }
sinks: [{ type: stdout }]
redaction: { extra_patterns: [{ name: order_ref, pattern: 'ORD-\\d+' }] }
`);
  const r = await runCli(['parse', '--config', cfg, '--source', 'legacy'], { input: '2024-01-15 12:00:00 <warning> order ORD-123 password=x\n' });
  t.equal(r.code, 0, r.stderr);
  t.match(parseLines(r.stdout)[0], { timestamp: '2024-01-15T10:00:00.000Z', level: 'WARN', service: 'legacy-app', message: 'order [REDACTED] password=[REDACTED]' });
});

t.test('run --dry-run prints what would be shipped: parsed, classified, redacted', async (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  writeFileSync(join(dir, 'logs', 'auth.log'), [
    'Jan 15 10:00:00 web-1 sshd[1234]: Failed password for invalid user admin from 203.0.113.5 port 52214 ssh2',
    '{"timestamp":"2024-01-15T10:00:00.000Z","level":"INFO","service":"cf1-frontend","message":"User logged in","context":{"userId":"user123","ip":"192.168.1.1"},"requestId":"req-7f3a","userId":"user123","password":"hunter2"}',
    '',
  ].join('\n'));
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data/positions.json" }
sources:
  - { name: auth, paths: ["${dir}/logs/*.log"], start_at: beginning, parser: auto, parser_options: { timezone: UTC } }
sinks:
  - { type: file, path: "${dir}/data/never.ndjson" }
`);
  const d = new DaemonProcess(['run', '--config', cfg, '--dry-run']);
  t.teardown(() => d.kill('SIGKILL'));
  const recs = await waitFor('2 records on stdout', () => {
    const r = d.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    return r.length >= 2 ? r : null;
  });
  t.match(recs[0], { level: 'INFO', service: 'sshd', event_type: 'security', action: 'failed_login', user_id: 'admin', ip_address: '203.0.113.5', source: { type: 'file', name: 'auth' } });
  t.match(recs[1], { service: 'cf1-frontend', event_type: 'security', action: 'successful_login', user_id: 'user123', request_id: 'req-7f3a', metadata: { password: '[REDACTED]', context: { userId: 'user123' } } });
  t.notMatch(d.stdout, /hunter2/);
  for (const rec of recs) t.same(recordProblems(rec), []);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  t.match(metrics, /logship_redactions_total\{rule="secret_field"\} 1/);
  const exit = await d.kill('SIGTERM');
  t.equal(exit.code, 0);
  t.throws(() => readFileSync(join(dir, 'data', 'never.ndjson')), 'the configured sink is not used');
});
