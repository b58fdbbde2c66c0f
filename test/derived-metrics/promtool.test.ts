import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/daemon.ts';
import { startFixtureDaemon } from './live-daemon.ts';

const ALERTS = join(ROOT, 'config', 'alerts');

function promtoolPath(): string | null {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? null : 'promtool';
}

const promtool = promtoolPath();
const skip = promtool ? false : 'promtool not found on PATH: install the Debian package "prometheus" (apt-get install -y prometheus) to check /metrics and the alert rules';
if (!promtool) t.comment(`SKIPPING promtool checks: ${skip}`);

function run(args: string[], input?: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', input, cwd: ROOT });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

t.test('promtool check rules: config/alerts/logship-rules.yml', { skip }, async (t) => {
  const r = run(['check', 'rules', join(ALERTS, 'logship-rules.yml')]);
  t.equal(r.status, 0, r.out);
  t.match(r.out, /SUCCESS: \d+ rules found/);
});

t.test('promtool test rules: every config/alerts/*.test.yml', { skip }, async (t) => {
  const tests = readdirSync(ALERTS).filter((f) => f.endsWith('.test.yml'));
  t.ok(tests.length > 0, 'there are rule unit tests');
  for (const f of tests) {
    const r = run(['test', 'rules', join(ALERTS, f)]);
    t.equal(r.status, 0, `${f}:\n${r.out}`);
    t.match(r.out, /SUCCESS/);
  }
});

t.test('promtool check metrics reports nothing on the full /metrics of a running daemon', { skip }, async (t) => {
  const d = await startFixtureDaemon({ auth: 'syslog', nginx: 'nginx', app: 'json' }, (fn) => t.teardown(fn));
  t.match(d.metrics, /^process_cpu_seconds_total /m, 'process default metrics are included');
  t.match(d.metrics, /^logship_records_total\{/m, 'self-metrics are included');
  t.match(d.metrics, /^# TYPE http_request_duration_seconds histogram/m, 'derived metrics are included');
  t.match(d.metrics, /^payment_failures_total\{/m, 'user-defined metrics are included');
  const r = run(['check', 'metrics'], d.metrics);
  t.equal(r.out.trim(), '', 'no lint findings');
  t.equal(r.status, 0);
});
