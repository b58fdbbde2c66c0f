/**
 * The bastion session (test/fixtures/auth/bastion-auth.log, hand-counted in auth-counting.test.ts)
 * through the real daemon: the CLI tails a copy of the file, /metrics and /api/status are scraped,
 * and the records the file sink shipped are counted the same way. The counts and the shipped
 * records must agree.
 */
import t from 'tap';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, readNdjson, tempDir, waitFor, writeConfig } from '../support/daemon.ts';
import { BASTION_EXPECTED, BASTION_LOG } from './bastion-expected.ts';
import { family, parseExposition } from './exposition.ts';

interface Shipped { action?: string; service: string; ip_address?: string; user_id?: string; metadata?: { repeat_count?: number; remote_host?: string } }

t.test('the real daemon counts one increment per attempt, per source, as the shipped records say', async (t) => {
  const dir = tempDir('logship-auth-');
  mkdirSync(join(dir, 'logs'));
  copyFileSync(BASTION_LOG, join(dir, 'logs', 'auth.log'));
  const port = await freePort();
  const shippedPath = join(dir, 'shipped.ndjson');
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/positions.json", sync_interval: 200ms }
sources:
  - { name: auth, paths: ["${dir}/logs/auth.log"], parser: syslog, parser_options: { timezone: UTC }, start_at: beginning }
derived_metrics:
  security: { brute_force: { threshold: 5, window: 10m } }
sinks:
  - { type: file, path: "${shippedPath}" }
`);
  const daemon = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => daemon.kill('SIGKILL'));
  await daemon.waitHttp(port);
  // 30 lines and the detection record
  const shipped = await waitFor('every line shipped', () => {
    const recs = readNdjson<Shipped>(shippedPath);
    return recs.length >= 31 ? recs : null;
  }, 30_000, 100);
  const exp = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  const E = BASTION_EXPECTED;

  // series the daemon announces at 0 for the source's service before anything happened are left out
  const nonZero = (f: Record<string, number>) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== 0));
  const failures = nonZero(family(exp, 'auth_failures_total'));
  t.same(failures, {
    'auth_failures_total{service="sshd"}': E.sshdFailures,
    ...Object.fromEntries(Object.entries(E.otherFailures).map(([s, n]) => [`auth_failures_total{service="${s}"}`, n])),
  });
  // the shipped records, counted the same way
  const weight = (r: Shipped) => r.metadata?.repeat_count ?? 1;
  const shippedFailures: Record<string, number> = {};
  const shippedSources: Record<string, number> = {};
  for (const r of shipped.filter((r) => r.action === 'failed_login')) {
    shippedFailures[`auth_failures_total{service="${r.service}"}`] = (shippedFailures[`auth_failures_total{service="${r.service}"}`] ?? 0) + weight(r);
    if (r.ip_address) shippedSources[r.ip_address] = (shippedSources[r.ip_address] ?? 0) + weight(r);
  }
  t.same(shippedFailures, failures, '/metrics equals the shipped failed_login records × repeat_count');
  t.same(shippedSources, E.sources, 'attempts per source IP in the shipped records');
  t.ok(shipped.some((r) => r.metadata?.remote_host === 'scanner.example.net' && r.ip_address === undefined), 'the rhost host name shipped in metadata.remote_host');

  t.same(nonZero(family(exp, 'brute_force_detections_total')), { 'brute_force_detections_total{service="sshd"}': 1 });
  t.equal(shipped.filter((r) => r.action === 'brute_force_detected').length, 1);
  t.equal(exp.series.get('brute_force_tracked_sources'), 3);
  t.equal(exp.series.get('brute_force_sources_over_threshold'), 1, 'the replayed burst is over the threshold on the records\' clock');
  t.same(family(exp, 'brute_force_source_failed_logins'), { 'brute_force_source_failed_logins{source_ip="198.51.100.77"}': 6 });

  const status = await (await fetch(`http://127.0.0.1:${port}/api/status`)).json() as { bruteForce: unknown };
  t.match(status.bruteForce, { threshold: 5, window_seconds: 600, sources_over_threshold: 1, tracked_sources: 3, top_sources: [{ source_ip: '198.51.100.77', failed_logins: 6, over_threshold: true }] });
  const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  t.match(page, /<tr data-source-ip="198\.51\.100\.77" data-failed-logins="6" data-over="true">/, 'the status page lists the source');
  t.match(family(exp, 'brute_force_top_source_failed_logins'), { 'brute_force_top_source_failed_logins{source_ip="198.51.100.77"}': 6 }, 'top sources by failed logins');
});
