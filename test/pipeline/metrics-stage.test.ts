import t from 'tap';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { metricsStageSchema, MetricsStage } from '../../src/pipeline/metrics-stage.ts';
import { NO_ACK, type LogRecord } from '../../src/core/record.ts';
import { family, parseExposition } from '../derived-metrics/exposition.ts';
import { runCli, tempDir, writeConfig } from '../support/daemon.ts';
import { ManualClock } from '../support/manual-clock.ts';

function rec(p: Partial<LogRecord>): LogRecord {
  return { timestamp: '2024-01-15T10:00:00.000Z', level: 'INFO', service: 'api', message: '', source: { type: 'file', name: 'app' }, ...p };
}
function stage(rules: unknown[]) {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const clock = new ManualClock(1_000_000);
  const s = new MetricsStage(metricsStageSchema.parse({ type: 'metrics', rules }), metrics, { perf: clock });
  const feed = (r: LogRecord) => s.process({ record: r, labels: {}, ack: NO_ACK, size: 1 });
  const scrape = async () => parseExposition(await metrics.metrics());
  return { metrics, feed, scrape, clock };
}

t.test('counter from a match, with labels from fields', async (t) => {
  const { feed, scrape } = stage([
    { name: 'payment_failures_total', type: 'counter', help: 'Failed payments.', match: [{ field: 'service', equals: 'payment' }, { field: 'message', matches: 'payment (failed|declined)' }], labels: { reason: 'metadata.reason' } },
    { name: 'api_errors_total', type: 'counter', match: [{ field: 'level', in: ['ERROR', 'FATAL'] }], labels: { service: 'service' } },
    { name: 'traced_records_total', type: 'counter', match: [{ field: 'trace_id', exists: true }] },
  ]);
  feed(rec({ service: 'payment', level: 'ERROR', message: 'payment failed', metadata: { reason: 'card_expired' } }));
  feed(rec({ service: 'payment', level: 'ERROR', message: 'payment declined', metadata: { reason: 'card_expired' } }));
  feed(rec({ service: 'payment', level: 'WARN', message: 'payment declined', metadata: { reason: 'fraud' } }));
  feed(rec({ service: 'payment', level: 'INFO', message: 'payment ok', trace_id: 'abc' }));
  feed(rec({ service: 'api', level: 'FATAL', message: 'payment failed' }));
  feed(rec({ service: 'api', level: 'ERROR', message: 'x', trace_id: 'def' }));
  const exp = await scrape();
  t.same(family(exp, 'payment_failures_total'), { 'payment_failures_total{reason="card_expired"}': 2, 'payment_failures_total{reason="fraud"}': 1 });
  t.equal(exp.help.get('payment_failures_total'), 'Failed payments.');
  t.same(family(exp, 'api_errors_total'), { 'api_errors_total{service="payment"}': 2, 'api_errors_total{service="api"}': 2 });
  t.match(exp.help.get('api_errors_total'), /User-defined counter/, 'a rule without help still gets help text');
  t.same(family(exp, 'traced_records_total'), { traced_records_total: 2 });
});

t.test('counter adding a field, gauge setting one, histogram observing a scaled one', async (t) => {
  const { feed, scrape } = stage([
    { name: 'uploaded_bytes_total', type: 'counter', value: 'metadata.file_size', labels: { service: 'service' } },
    { name: 'queue_depth', type: 'gauge', value: 'metadata.depth', labels: { queue: 'metadata.queue' } },
    { name: 'api_response_seconds', type: 'histogram', value: 'http.response_time', scale: 0.001, buckets: [0.1, 1], match: [{ field: 'http.status_code', exists: true }] },
  ]);
  feed(rec({ metadata: { file_size: 1024000 } }));
  feed(rec({ metadata: { file_size: '2048' } }));
  feed(rec({ metadata: { file_size: 'lots' } })); // counted as skipped, not as a value
  feed(rec({ metadata: { file_size: -5 } }));
  feed(rec({ metadata: { depth: 7, queue: 'mail' } }));
  feed(rec({ metadata: { depth: 3, queue: 'mail' } }));
  feed(rec({ http: { status_code: 200, response_time: 50 } }));
  feed(rec({ http: { status_code: 200, response_time: 500 } }));
  feed(rec({ http: { status_code: 200 } })); // no value field: not an observation
  const exp = await scrape();
  t.same(family(exp, 'uploaded_bytes_total'), { 'uploaded_bytes_total{service="api"}': 1026048 });
  t.same(family(exp, 'queue_depth'), { 'queue_depth{queue="mail"}': 3 });
  t.same(family(exp, 'api_response_seconds_bucket'), { 'api_response_seconds_bucket{le="0.1"}': 1, 'api_response_seconds_bucket{le="1"}': 2, 'api_response_seconds_bucket{le="+Inf"}': 2 });
  t.equal(exp.series.get('api_response_seconds_sum'), 0.55);
  t.same(family(exp, 'logship_metric_rule_skipped_total'), {
    'logship_metric_rule_skipped_total{metric="uploaded_bytes_total",reason="non_numeric"}': 1,
    'logship_metric_rule_skipped_total{metric="uploaded_bytes_total",reason="negative"}': 1,
  });
});

t.test('max_series: the least recently updated series is evicted', async (t) => {
  const { feed, scrape } = stage([{ name: 'logins_by_user_total', type: 'counter', labels: { user: 'user_id' }, max_series: 2 }]);
  feed(rec({ user_id: 'a' }));
  feed(rec({ user_id: 'b' }));
  feed(rec({ user_id: 'a' })); // a is now more recent than b
  feed(rec({ user_id: 'c' })); // evicts b
  let exp = await scrape();
  t.same(family(exp, 'logins_by_user_total'), { 'logins_by_user_total{user="a"}': 2, 'logins_by_user_total{user="c"}': 1 });
  t.same(family(exp, 'logship_metric_series_evicted_total'), { 'logship_metric_series_evicted_total{metric="logins_by_user_total",reason="max_series"}': 1 });
  for (let i = 0; i < 1000; i++) feed(rec({ user_id: `u${i}` }));
  exp = await scrape();
  t.equal(Object.keys(family(exp, 'logins_by_user_total')).length, 2, 'never more than max_series series');
});

t.test('idle_expiry: series not updated for that long disappear at the next scrape', async (t) => {
  const { feed, scrape, clock } = stage([{ name: 'jobs_total', type: 'counter', labels: { job: 'metadata.job' }, idle_expiry: '150ms' }]);
  feed(rec({ metadata: { job: 'old' } }));
  feed(rec({ metadata: { job: 'fresh' } }));
  clock.advance(100);
  feed(rec({ metadata: { job: 'fresh' } }));
  clock.advance(50);
  let exp = await scrape();
  t.same(family(exp, 'jobs_total'), { 'jobs_total{job="old"}': 1, 'jobs_total{job="fresh"}': 2 }, 'idle for exactly idle_expiry: kept');
  clock.advance(1);
  exp = await scrape();
  t.same(family(exp, 'jobs_total'), { 'jobs_total{job="fresh"}': 2 });
  exp = await scrape(); // the eviction counter is serialized before the family whose scrape expired it
  t.same(family(exp, 'logship_metric_series_evicted_total'), { 'logship_metric_series_evicted_total{metric="jobs_total",reason="idle"}': 1 });
  feed(rec({ metadata: { job: 'old' } }));
  exp = await scrape();
  t.equal(exp.series.get('jobs_total{job="old"}'), 1, 'a returning series starts over (a counter reset to Prometheus)');
});

function configWith(pipeline: string): string {
  return `
sources:
  - { name: app, paths: ["/tmp/none/*.log"] }
pipeline:
${pipeline}
sinks:
  - { type: stdout }
`;
}

function issuesOf(yaml: string): string[] {
  try {
    parseConfig(yaml);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}

t.test('invalid rules fail validation with the key path', async (t) => {
  const issues = issuesOf(configWith(`
  - type: metrics
    rules:
      - { name: requests, type: counter }
      - { name: depth_total, type: gauge, value: metadata.depth }
      - { name: lat_seconds, type: histogram }
      - { name: "bad-name", type: counter }
      - { name: x_total, type: counter, labels: { "a-b": service } }
      - { name: y_total, type: counter, match: [{ field: level }] }
      - { name: z_total, type: counter, match: [{ field: level, matches: "(" }] }
      - { name: h_seconds, type: histogram, value: duration, buckets: [1, 0.5], labels: { le: service } }
      - { name: logship_mine_total, type: counter }
      - { name: http_requests_total, type: counter }
      - { name: w_total, type: summary }
      - { name: v_total, type: counter, max_series: 0, idle_expiry: soon }
  - type: metrics
    rules:
      - { name: v_total, type: counter, frobnicate: 1 }
`));
  t.same(issues.filter((i) => i.startsWith('pipeline[1]')), ['pipeline[1].rules[0].frobnicate: unknown key']);
  const expect = [
    /^pipeline\[0\]\.rules\[0\]\.name: counter names end in "_total"/,
    /^pipeline\[0\]\.rules\[1\]\.name: only counter names end in "_total"/,
    /^pipeline\[0\]\.rules\[2\]\.value: a histogram needs value/,
    /^pipeline\[0\]\.rules\[3\]\.name: expected a Prometheus metric name/,
    /^pipeline\[0\]\.rules\[4\]\.labels\.a-b: expected a label name/,
    /^pipeline\[0\]\.rules\[5\]\.match\[0\]: a match condition needs exactly one of/,
    /^pipeline\[0\]\.rules\[6\]\.match\[0\]\.matches: invalid regular expression/,
    /^pipeline\[0\]\.rules\[7\]\.buckets: buckets must be strictly increasing/,
    /^pipeline\[0\]\.rules\[8\]\.name: names starting with "logship_" are reserved/,
    /^pipeline\[0\]\.rules\[9\]\.name: "http_requests_total" is a built-in derived metric/,
    /^pipeline\[0\]\.rules\[10\]\.type:/,
    /^pipeline\[0\]\.rules\[11\]\.max_series:/,
    /^pipeline\[0\]\.rules\[11\]\.idle_expiry: expected a duration/,
  ];
  for (const re of expect) t.ok(issues.some((i) => re.test(i)), re.source, { issues });
});

t.test('the le label of a histogram and duplicate names across stages are rejected', async (t) => {
  const le = issuesOf(configWith(`
  - type: metrics
    rules:
      - { name: h_seconds, type: histogram, value: duration, labels: { le: service } }
`));
  t.match(le, [/^pipeline\[0\]\.rules\[0\]\.labels\.le: "le" is reserved/]);
  const dup = issuesOf(configWith(`
  - type: metrics
    rules:
      - { name: a_total, type: counter }
  - { type: drop, levels: [DEBUG] }
  - type: metrics
    rules:
      - { name: b_total, type: counter }
      - { name: a_total, type: counter }
`));
  t.same(dup, ['pipeline[2].rules[1].name: metric "a_total" is already defined at pipeline[0].rules[0]']);
});

t.test('derived_metrics settings are validated with their key path', async (t) => {
  const issues = issuesOf(`
sources:
  - { name: app, paths: ["/tmp/none/*.log"] }
sinks:
  - { type: stdout }
derived_metrics:
  max_services: 0
  security: { brute_force: { threshold: 1, window: never, max_sources: -1, colour: red } }
  performance: { duration_buckets: [0.1, 0.05], status_label: digits }
`);
  for (const re of [
    /^derived_metrics\.max_services:/,
    /^derived_metrics\.security\.brute_force\.threshold:/,
    /^derived_metrics\.security\.brute_force\.window: expected a duration/,
    /^derived_metrics\.security\.brute_force\.max_sources:/,
    /^derived_metrics\.security\.brute_force\.colour: unknown key/,
    /^derived_metrics\.performance\.duration_buckets: buckets must be strictly increasing/,
    /^derived_metrics\.performance\.status_label:/,
  ]) t.ok(issues.some((i) => re.test(i)), re.source, { issues });
});

t.test('logship validate (the CLI) rejects a bad rule with its key path and exit code 2', async (t) => {
  const dir = tempDir();
  const cfg = await writeConfig(dir, configWith(`
  - type: metrics
    rules:
      - { name: slow_requests, type: counter, match: [{ field: http.response_time, exists: true }] }
`));
  const r = await runCli(['validate', '--config', cfg]);
  t.equal(r.code, 2);
  t.match(r.stderr, /pipeline\[0\]\.rules\[0\]\.name: counter names end in "_total"/);
  const good = await writeConfig(dir, configWith(`
  - type: metrics
    rules:
      - { name: slow_requests_total, type: counter, match: [{ field: http.response_time, exists: true }] }
`));
  const ok = await runCli(['validate', '--config', good]);
  t.equal(ok.code, 0, ok.stderr);
});
