/**
 * One failed authentication attempt = one increment (README "Derived metrics" › "What counts as
 * a failed authentication"). test/fixtures/auth/bastion-auth.log is an Ubuntu-style auth.log
 * written from the formats' sources: OpenSSH auth.c auth_log() ("Failed %s for [invalid user ]%s
 * from %s port %d ssh2"), getpwnamallow() ("Invalid user %s from %s port %d"), packet.c
 * ("Connection closed by authenticating user %s %s port %d [preauth]"), Linux-PAM pam_unix
 * ("authentication failure; logname=%s uid=%d euid=%d tty=%s ruser=%s rhost=%s  user=%s",
 * "check pass; user unknown", "%d more authentication failures"), sudo's "N incorrect password
 * attempts", util-linux su's "FAILED SU (to %s) %s on %s", shadow login's "FAILED LOGIN (%u) on
 * '%s' FOR '%s', %s", rsyslog's "message repeated N times: [ msg]", and the klogind line of the
 * public Loghub "Linux" sample (logpai/loghub Linux/Linux_2k.log). Expected values are counted
 * by hand, line numbers of the fixture in the comments.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { derivedMetricsSchema } from '../../src/derived-metrics/config.ts';
import { DerivedMetricsStage } from '../../src/derived-metrics/stage.ts';
import { linesOf } from '../../src/derived-metrics/security.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { createParser } from '../../parsers/index.ts';
import type { ParseContext } from '../../src/parse/types.ts';
import { ClassifyStage, classificationConfigSchema } from '../../src/pipeline/classify.ts';
import { NO_ACK, type LogEvent, type LogRecord } from '../../src/core/record.ts';
import { BASTION_EXPECTED, BASTION_LOG } from './bastion-expected.ts';
import { family, parseExposition } from './exposition.ts';

const READ = Date.parse('2026-12-04T12:00:00Z');

function run() {
  const ctx: ParseContext = { source: { type: 'file', name: 'auth' }, service: 'auth', readTime: READ, runtimeTimestamp: undefined, parseError() { throw new Error('no line of the fixture may fail to parse'); } };
  const parse = createParser('syslog', { timezone: 'UTC', client_error_level: 'WARN' });
  const classify = new ClassifyStage(classificationConfigSchema.parse({}));
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  // the wall clock: 30 s after the last line was written (it arrives "live")
  const wall = Date.parse('2026-03-03T09:40:39Z');
  const derived = new DerivedMetricsStage(derivedMetricsSchema.parse({ security: { brute_force: { threshold: 5, window: '10m' } } }), { metrics, now: () => wall });
  const records: LogRecord[] = [];
  const emitted: LogEvent[] = [];
  for (const line of readFileSync(BASTION_LOG, 'utf8').split('\n').filter(Boolean)) {
    const ev: LogEvent = { record: parse(line, ctx), labels: {}, ack: NO_ACK, size: line.length };
    derived.process(classify.process(ev), (e) => emitted.push(e));
    records.push(ev.record);
  }
  return { records, emitted, metrics, derived };
}

t.test('the bastion session: attempts, sources and users counted once per attempt', async (t) => {
  const { records, emitted, metrics, derived } = run();
  const exp = parseExposition(await metrics.metrics());
  const E = BASTION_EXPECTED;
  t.same(family(exp, 'auth_failures_total'), {
    'auth_failures_total{service="sshd"}': E.sshdFailures,
    ...Object.fromEntries(Object.entries(E.otherFailures).map(([s, n]) => [`auth_failures_total{service="${s}"}`, n])),
  });
  t.same(family(exp, 'auth_attempts_total'), {
    'auth_attempts_total{result="failure",service="sshd"}': E.sshdFailures,
    'auth_attempts_total{result="success",service="sshd"}': 1, // line 13
    ...Object.fromEntries(Object.entries(E.otherFailures).map(([s, n]) => [`auth_attempts_total{result="failure",service="${s}"}`, n])),
  });
  const ctxSeries = family(exp, 'security_events_total');
  for (const [s, n] of Object.entries(E.context)) t.equal(ctxSeries[`security_events_total{action="auth_context",service="${s}"}`], n, `auth_context ${s}`);

  // The shipped records say the same: failed_login records × repeat_count.
  const failed = records.filter((r) => r.action === 'failed_login');
  t.equal(failed.length, 11, 'eleven verdict lines');
  t.equal(failed.reduce((a, r) => a + linesOf(r), 0), 15, 'fifteen attempts');
  const bySource: Record<string, number> = {};
  const byUser: Record<string, number> = {};
  for (const r of failed) {
    if (r.ip_address !== undefined) bySource[r.ip_address] = (bySource[r.ip_address] ?? 0) + linesOf(r);
    byUser[r.user_id ?? ''] = (byUser[r.user_id ?? ''] ?? 0) + linesOf(r);
  }
  t.same(bySource, E.sources, 'attempts per source IP');
  t.same(byUser, E.users, 'attempts per user');
  // no record anywhere holds anything but an IP literal in ip_address
  for (const r of records) if (r.ip_address !== undefined) t.match(r.ip_address, /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]+)$/, r.message);
  t.equal(records[6].metadata?.remote_host, 'scanner.example.net', 'line 7: the rhost host name has its own field');
  t.equal(records[6].ip_address, undefined);
  t.equal(records[25].metadata?.repeat_count, 5, 'line 26 stands for five lines');
  t.equal(records[26].level, 'ERROR', 'line 27: sshd\'s "error:" prefix');

  // Brute force: only 198.51.100.77 reaches 5 within 10 minutes (lines 25, 26).
  t.same(family(exp, 'brute_force_detections_total'), { 'brute_force_detections_total{service="sshd"}': 1 });
  t.equal(emitted.length, 1);
  t.match(emitted[0].record, { action: 'brute_force_detected', ip_address: '198.51.100.77', metadata: { last_user_id: 'root' } });
  t.equal(exp.series.get('brute_force_tracked_sources'), 3, 'three source IPs failed; the host name is none');
  t.equal(exp.series.get('brute_force_sources_over_threshold'), 1);
  t.same(family(exp, 'brute_force_source_failed_logins'), { 'brute_force_source_failed_logins{source_ip="198.51.100.77"}': 6 });
  t.match(derived.bruteForceStatus(), { sources_over_threshold: 1, tracked_sources: 3, top_sources: [{ source_ip: '198.51.100.77', failed_logins: 6 }] });
});

t.test('top sources by failed logins, over the threshold or not (window 2 h)', async (t) => {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const wall = Date.parse('2026-03-03T09:40:39Z');
  const derived = new DerivedMetricsStage(derivedMetricsSchema.parse({ security: { brute_force: { threshold: 5, window: '2h' } } }), { metrics, now: () => wall });
  const ctx: ParseContext = { source: { type: 'file', name: 'auth' }, service: 'auth', readTime: Date.parse('2026-12-04T12:00:00Z'), runtimeTimestamp: undefined, parseError() {} };
  const parse = createParser('syslog', { timezone: 'UTC', client_error_level: 'WARN' });
  const classify = new ClassifyStage(classificationConfigSchema.parse({}));
  for (const line of readFileSync(BASTION_LOG, 'utf8').split('\n').filter(Boolean)) derived.process(classify.process({ record: parse(line, ctx), labels: {}, ack: NO_ACK, size: 1 }));
  const exp = parseExposition(await metrics.metrics());
  // every failure of the file lies within 2 h of the last one (09:40:09): the per-source counts of BASTION_EXPECTED
  t.same(family(exp, 'brute_force_top_source_failed_logins'), {
    'brute_force_top_source_failed_logins{source_ip="198.51.100.77"}': 6, // over the threshold: its burst
    'brute_force_top_source_failed_logins{source_ip="203.0.113.50"}': 4, // below it (5): lines 4, 5, 22, 23
    'brute_force_top_source_failed_logins{source_ip="2001:db8::25"}': 1, // line 8
  });
  t.same(family(exp, 'brute_force_source_failed_logins'), { 'brute_force_source_failed_logins{source_ip="198.51.100.77"}': 6 }, 'only sources over the threshold here');
  t.same(derived.bruteForceStatus()?.top_sources, [
    { source_ip: '198.51.100.77', failed_logins: 6, over_threshold: true },
    { source_ip: '203.0.113.50', failed_logins: 4, over_threshold: false },
    { source_ip: '2001:db8::25', failed_logins: 1, over_threshold: false },
  ]);
});

t.test('a replay long after gives the live answer: the detector clock is the records\' time', async (t) => {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  let wall = Date.parse('2026-12-04T12:00:00Z'); // nine months after the lines were written
  const derived = new DerivedMetricsStage(derivedMetricsSchema.parse({ security: { brute_force: { threshold: 5, window: '10m' } } }), { metrics, now: () => wall });
  const ctx: ParseContext = { source: { type: 'file', name: 'auth' }, service: 'auth', readTime: wall, runtimeTimestamp: undefined, parseError() {} };
  const parse = createParser('syslog', { timezone: 'UTC', client_error_level: 'WARN' });
  const classify = new ClassifyStage(classificationConfigSchema.parse({}));
  for (const line of readFileSync(BASTION_LOG, 'utf8').split('\n').filter(Boolean)) derived.process(classify.process({ record: parse(line, ctx), labels: {}, ack: NO_ACK, size: 1 }));
  t.equal(parseExposition(await metrics.metrics()).series.get('brute_force_sources_over_threshold'), 1, 'right after the replay, as right after the lines live');
  wall += 11 * 60_000;
  t.equal(parseExposition(await metrics.metrics()).series.get('brute_force_sources_over_threshold'), 0, 'and it ages out of the window like live');
});
