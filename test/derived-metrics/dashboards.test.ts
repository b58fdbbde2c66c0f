import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { ROOT } from '../support/daemon.ts';
import { exportedNames, parseExposition } from './exposition.ts';
import { startFixtureDaemon } from './live-daemon.ts';
import { dashboards, files, metricNames, queries } from './dashboard-queries.ts';

const RULES = join(ROOT, 'config', 'alerts', 'logship-rules.yml');

t.test('the metric-name extractor', async (t) => {
  t.same(metricNames('histogram_quantile(0.95, sum by (service, le) (rate(http_request_duration_seconds_bucket{job=~"$job",route=~"/admin.*"}[$__rate_interval])))'), ['http_request_duration_seconds_bucket']);
  t.same(metricNames('sum by (service) (rate(http_errors_total[5m])) / sum by (service) (rate(http_requests_total[5m])) > 0.05'), ['http_errors_total', 'http_requests_total']);
  t.same(metricNames('(a_bytes - b_bytes) > 10 * 1024 and deriv((a_bytes - b_bytes)[15m:1m]) > 0 unless on (x) c 1e6'), ['a_bytes', 'b_bytes', 'c']);
  t.same(metricNames('time() - max by (sink) (logship_sink_last_success_timestamp_seconds{job=~"$job"})'), ['logship_sink_last_success_timestamp_seconds']);
});

t.test('the Security, Performance and Operations dashboards are valid dashboard JSON', async (t) => {
  t.same(files, ['logship-operations.json', 'logship-performance.json', 'logship-security.json']);
  const uids = new Set<string>();
  for (const [f, d] of dashboards()) {
    t.test(f, async (t) => {
      t.type(d.uid, 'string');
      t.notOk(uids.has(d.uid), 'unique uid');
      uids.add(d.uid);
      t.match(d.title, /^logship \/ /);
      t.ok(d.schemaVersion >= 36, 'a current schemaVersion');
      const ds = d.templating.list.find((v) => v.type === 'datasource');
      t.match(ds, { name: 'datasource', query: 'prometheus' }, 'a Prometheus datasource variable');
      for (const v of d.templating.list.filter((x) => x.type === 'query')) t.equal(v.datasource?.uid, '${datasource}', `variable ${v.name} uses the datasource variable`);
      t.ok(d.panels.length > 5);
      const ids = new Set<number>();
      for (const p of d.panels) {
        t.notOk(ids.has(p.id), `panel id ${p.id} unique`);
        ids.add(p.id);
        t.ok(p.gridPos, `panel "${p.title}" has a position`);
        if (p.type === 'row') continue;
        t.same(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `panel "${p.title}" queries the datasource variable`);
        t.ok((p.targets ?? []).length > 0 && p.targets!.every((tg) => tg.expr.length > 0 && tg.refId), `panel "${p.title}" has queries`);
      }
    });
  }
});

t.test('the dashboards cover what operators look for', async (t) => {
  const byUid = Object.fromEntries(dashboards().map(([, d]) => [d.uid, d]));
  const text = (uid: string) => queries(byUid[uid]).map((q) => q.expr).join('\n');
  const sec = text('logship-security');
  for (const m of ['auth_failures_total', 'brute_force_source_failed_logins', 'brute_force_sources_over_threshold', 'http_denied_responses_total', 'rate_limit_events_total', 'suspicious_requests_total']) t.match(sec, m, `security: ${m}`);
  const perf = text('logship-performance');
  t.match(perf, /histogram_quantile\(0\.5,/);
  t.match(perf, /histogram_quantile\(0\.95,/);
  t.match(perf, /histogram_quantile\(0\.99,/);
  for (const m of ['http_requests_total', 'http_errors_total', 'slow_operations_total', 'log_lines_total']) t.match(perf, m, `performance: ${m}`);
  const ops = text('logship-operations');
  for (const m of ['logship_read_lines_total', 'logship_file_size_bytes', 'logship_sink_retries_total', 'logship_sink_dropped_entries_total', 'process_resident_memory_bytes']) t.match(ops, m, `operations: ${m}`);
});

t.test('every dashboard query and alert rule names only metrics a running logship exports', async (t) => {
  const d = await startFixtureDaemon({ auth: 'syslog', nginx: 'nginx', app: 'json' }, (fn) => t.teardown(fn));
  const exported = exportedNames(parseExposition(d.metrics));
  t.ok(exported.has('http_request_duration_seconds_bucket') && exported.has('logship_records_total'), 'the scrape has derived and self metrics');
  for (const [f, dash] of dashboards()) {
    for (const q of queries(dash)) {
      const names = metricNames(q.expr);
      t.ok(names.length > 0, `${f} ${q.where} selects a metric`);
      for (const n of names) t.ok(exported.has(n), `${f} ${q.where}: ${n} is exported`);
    }
  }
  const rules = parseDocument(readFileSync(RULES, 'utf8')).toJS() as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  for (const g of rules.groups) {
    for (const r of g.rules) {
      for (const n of metricNames(r.expr)) t.ok(exported.has(n), `alert ${r.alert}: ${n} is exported`);
    }
  }
});
