import t from 'tap';
import { derivedMetricsSchema, type DerivedMetricsConfig } from '../../src/derived-metrics/config.ts';
import { DerivedMetricsStage } from '../../src/derived-metrics/stage.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { createParser } from '../../parsers/index.ts';
import { LabelsStage } from '../../src/pipeline/labels.ts';
import { LineProcessor } from '../../src/pipeline/processor.ts';
import { NO_ACK, type LogEvent, type LogRecord } from '../../src/core/record.ts';
import { pino } from 'pino';
import { family, parseExposition, sameFamilies } from './exposition.ts';

const T0 = Date.parse('2024-01-15T10:00:00.000Z');

function rec(p: Partial<LogRecord>): LogRecord {
  return { timestamp: new Date(T0).toISOString(), level: 'INFO', service: 'api', message: '', source: { type: 'file', name: 'app' }, ...p };
}
function ev(r: LogRecord): LogEvent {
  return { record: r, labels: { job: 'app' }, ack: NO_ACK, size: 1 };
}
function cfg(over: Record<string, unknown> = {}): DerivedMetricsConfig {
  return derivedMetricsSchema.parse(over);
}
async function scrape(m: MetricsRegistry) {
  return parseExposition(await m.metrics());
}
function stageWith(over: Record<string, unknown> = {}, now = () => T0) {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const emitted: LogEvent[] = [];
  const stage = new DerivedMetricsStage(cfg(over), { metrics, now });
  const feed = (r: LogRecord) => {
    const out = stage.process(ev(r), (e) => emitted.push(e));
    if (out.record !== r) throw new Error('the stage must pass every event through unchanged');
  };
  return { metrics, stage, emitted, feed };
}

t.test('security counters, per series', async (t) => {
  const { metrics, feed } = stageWith();
  const failed = (service: string, ip: string) => feed(rec({ service, level: 'WARN', event_type: 'security', action: 'failed_login', ip_address: ip }));
  failed('api', '10.0.0.1');
  failed('api', '10.0.0.2');
  failed('api', '10.0.0.3');
  failed('sshd', '203.0.113.9');
  feed(rec({ event_type: 'security', action: 'successful_login', user_id: 'u1' }));
  feed(rec({ event_type: 'security', action: 'successful_login', user_id: 'u2' }));
  feed(rec({ event_type: 'security', action: 'rate_limited' })); // app event, no HTTP status
  feed(rec({ service: 'nginx', event_type: 'security', action: 'rate_limited', http: { status_code: 429, path: '/api/login', method: 'POST' } }));
  feed(rec({ service: 'nginx', http: { status_code: 429, path: '/api/login', method: 'POST' } })); // unclassified 429
  feed(rec({ service: 'nginx', http: { status_code: 401, path: '/api/me', method: 'GET' } }));
  feed(rec({ service: 'nginx', event_type: 'security', action: 'access_denied', http: { status_code: 403, path: '/admin', method: 'GET' } }));
  feed(rec({ service: 'nginx', http: { status_code: 403, path: '/admin', method: 'GET' } }));
  feed(rec({ service: 'nginx', event_type: 'security', action: 'suspicious_request', metadata: { threat: 'sqli' }, http: { status_code: 400, path: '/q', method: 'GET' } }));
  feed(rec({ service: 'nginx', event_type: 'security', action: 'suspicious_request', metadata: { threat: 'sqli' } }));
  feed(rec({ service: 'nginx', event_type: 'security', action: 'suspicious_request', metadata: { threat: 'traversal' } }));
  feed(rec({ service: 'nginx', event_type: 'security', action: 'suspicious_request', metadata: { threat: 'made-up' } }));
  feed(rec({ event_type: 'security', action: 'upload_rejected' }));
  feed(rec({ event_type: 'security', action: 'something_new' }));
  feed(rec({ event_type: 'business', action: 'failed_login' })); // not a security event: not counted

  const exp = await scrape(metrics);
  sameFamilies(t, exp, {
    auth_attempts_total: {
      'auth_attempts_total{result="failure",service="api"}': 3,
      'auth_attempts_total{result="failure",service="sshd"}': 1,
      'auth_attempts_total{result="success",service="api"}': 2,
    },
    auth_failures_total: { 'auth_failures_total{service="api"}': 3, 'auth_failures_total{service="sshd"}': 1 },
    http_denied_responses_total: {
      'http_denied_responses_total{service="nginx",status="401"}': 1,
      'http_denied_responses_total{service="nginx",status="403"}': 2,
      'http_denied_responses_total{service="nginx",status="429"}': 2,
    },
    rate_limit_events_total: { 'rate_limit_events_total{service="api"}': 1, 'rate_limit_events_total{service="nginx"}': 2 },
    suspicious_requests_total: {
      'suspicious_requests_total{kind="sqli",service="nginx"}': 2,
      'suspicious_requests_total{kind="traversal",service="nginx"}': 1,
      'suspicious_requests_total{kind="other",service="nginx"}': 1,
    },
    file_upload_rejected_total: { 'file_upload_rejected_total{service="api"}': 1 },
    security_events_total: {
      'security_events_total{action="failed_login",service="api"}': 3,
      'security_events_total{action="failed_login",service="sshd"}': 1,
      'security_events_total{action="successful_login",service="api"}': 2,
      'security_events_total{action="rate_limited",service="api"}': 1,
      'security_events_total{action="rate_limited",service="nginx"}': 1,
      'security_events_total{action="access_denied",service="nginx"}': 1,
      'security_events_total{action="suspicious_request",service="nginx"}': 4,
      'security_events_total{action="upload_rejected",service="api"}': 1,
      'security_events_total{action="other",service="api"}': 1,
    },
    brute_force_detections_total: {},
  });
  t.equal(exp.series.get('brute_force_tracked_sources'), 4);
  t.equal(exp.series.get('brute_force_sources_over_threshold'), 0);
  // Source IPs are label values only in the two top-source gauges (bounded by expose_top_sources, default 10)
  t.same([...exp.series.keys()].filter((k) => k.includes('10.0.0.1')).map((k) => k.slice(0, k.indexOf('{'))), ['brute_force_top_source_failed_logins'], 'an IP appears only in the top-sources gauge');
  const off = stageWith({ security: { brute_force: { expose_top_sources: 0 } } });
  off.feed(rec({ service: 'api', level: 'WARN', event_type: 'security', action: 'failed_login', ip_address: '10.0.0.1' }));
  t.notOk([...(await scrape(off.metrics)).series.keys()].some((k) => k.includes('10.0.0.1')), 'expose_top_sources: 0: no IP in any label');
});

t.test('performance counters and the duration histogram, per series', async (t) => {
  const { metrics, feed } = stageWith();
  feed(rec({ http: { method: 'GET', path: '/users/123?tab=1', status_code: 200, response_time: 120 } }));
  feed(rec({ http: { method: 'GET', path: '/users/456', status_code: 200, response_time: 2500 } }));
  feed(rec({ http: { method: 'get', path: '/users/789', status_code: 404, response_time: 3 } })); // known route, lower-case verb
  feed(rec({ http: { method: 'GET', path: '/wp-login.php', status_code: 404, response_time: 1 } })); // 404 never admits a route
  feed(rec({ http: { method: 'POST', route: '/orders/:orderId', path: '/orders/77', status_code: 503, response_time: 10_000 } })); // route given by the parser wins
  feed(rec({ http: { method: 'BREW', path: '/pot', status_code: 700 } })); // bad verb and status: bounded, no duration
  feed(rec({ level: 'ERROR', service: 'worker', message: 'boom' }));
  feed(rec({ level: 'WARN', service: 'worker', event_type: 'performance', duration: 30.5, metadata: { operation: 'document_processing', threshold: 10 } }));
  feed(rec({ level: 'WARN', service: 'worker', event_type: 'performance', duration: 5, metadata: { operation: 'document_processing', threshold: 10 } })); // under threshold
  feed(rec({ level: 'WARN', service: 'worker', event_type: 'performance', action: 'slow_operation', metadata: { operation: 'pdf_render' } }));
  feed(rec({ level: 'WARN', service: 'worker', event_type: 'performance', action: 'slow_operation' }));
  feed(rec({ level: 'WARN', service: 'worker', event_type: 'performance', action: 'slow_operation', metadata: { operation: 'GET /users/123' } }));
  feed(rec({ level: 'WARN', service: 'worker', event_type: 'performance', action: 'slow_operation', metadata: { operation: 'GET /users/456' } }));

  const exp = await scrape(metrics);
  t.same(family(exp, 'http_requests_total'), {
    'http_requests_total{method="GET",route="/users/:id",service="api",status="200"}': 2,
    'http_requests_total{method="GET",route="/users/:id",service="api",status="404"}': 1,
    'http_requests_total{method="GET",route="other",service="api",status="404"}': 1,
    'http_requests_total{method="POST",route="/orders/:orderId",service="api",status="503"}': 1,
    'http_requests_total{method="other",route="/pot",service="api",status="other"}': 1,
  });
  t.same(family(exp, 'http_errors_total'), { 'http_errors_total{method="POST",route="/orders/:orderId",service="api"}': 1 });
  const users = (le: string) => exp.series.get(`http_request_duration_seconds_bucket{le="${le}",method="GET",route="/users/:id",service="api"}`);
  t.same([users('0.005'), users('0.1'), users('0.25'), users('2'), users('2.5'), users('10'), users('+Inf')], [1, 1, 2, 2, 3, 3, 3]);
  t.equal(exp.series.get('http_request_duration_seconds_count{method="GET",route="/users/:id",service="api"}'), 3);
  t.equal(exp.series.get('http_request_duration_seconds_sum{method="GET",route="/users/:id",service="api"}'), 2.623);
  t.equal(exp.series.get('http_request_duration_seconds_bucket{le="10",method="POST",route="/orders/:orderId",service="api"}'), 1, '10 s is in the le="10" bucket');
  t.same(Object.keys(family(exp, 'http_request_duration_seconds_bucket')).map((k) => /le="([^"]+)"/.exec(k)![1]).slice(0, 13),
    ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2', '2.5', '5', '10', '+Inf'], 'default buckets include the platform\'s 0.1/0.5/1/2/5/10');
  t.same(family(exp, 'slow_operations_total'), {
    'slow_operations_total{operation="document_processing",service="worker"}': 1,
    'slow_operations_total{operation="pdf_render",service="worker"}': 1,
    'slow_operations_total{operation="unknown",service="worker"}': 1,
    'slow_operations_total{operation="GET /users/:id",service="worker"}': 2,
  });
  t.same(family(exp, 'log_lines_total'), {
    'log_lines_total{level="INFO",service="api"}': 6,
    'log_lines_total{level="ERROR",service="worker"}': 1,
    'log_lines_total{level="WARN",service="worker"}': 6,
  });
});

t.test('every (service, method, route, status) and (service, level) is its own series: verbs in any case, no verb, levels outside the schema', async (t) => {
  const { metrics, feed } = stageWith();
  const verbs = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'];
  for (const [i, v] of verbs.entries()) {
    feed(rec({ http: { method: v, route: '/r', status_code: 200 + i } }));
    feed(rec({ http: { method: v.toLowerCase(), route: '/r', status_code: 200 + i } }));
  }
  feed(rec({ http: { route: '/r', status_code: 200 } })); // no verb
  feed(rec({ http: { method: 'Get', route: '/r', status_code: 200 } }));
  feed(rec({ service: 'web', http: { method: 'GET', route: '/r', status_code: 200 } })); // the same route in another service
  feed(rec({ http: { method: 'GET', route: '/r', status_code: 216 } })); // 216 = 200 + 16: not GET's 200 nor any other verb's
  feed(rec({ http: { method: 'BREW', route: '/r', status_code: 500 } }));
  feed(rec({ level: 'NOTICE' as LogRecord['level'] }));
  feed(rec({ level: 'info' as LogRecord['level'] }));
  feed(rec({ level: 'TRACE' }));
  const exp = await scrape(metrics);
  const want: Record<string, number> = {};
  for (const [i, v] of verbs.entries()) want[`http_requests_total{method="${v}",route="/r",service="api",status="${200 + i}"}`] = v === 'GET' ? 3 : 2;
  want['http_requests_total{method="unknown",route="/r",service="api",status="200"}'] = 1;
  want['http_requests_total{method="GET",route="/r",service="web",status="200"}'] = 1;
  want['http_requests_total{method="GET",route="/r",service="api",status="216"}'] = 1;
  want['http_requests_total{method="other",route="/r",service="api",status="500"}'] = 1;
  t.same(family(exp, 'http_requests_total'), want);
  t.same(family(exp, 'http_errors_total'), { 'http_errors_total{method="other",route="/r",service="api"}': 1 });
  t.same(family(exp, 'log_lines_total'), {
    'log_lines_total{level="INFO",service="api"}': 22,
    'log_lines_total{level="INFO",service="web"}': 1,
    'log_lines_total{level="other",service="api"}': 2,
    'log_lines_total{level="TRACE",service="api"}': 1,
  });
});

t.test('label caps: services, routes and operations overflow to "other" and are counted', async (t) => {
  const { metrics, feed } = stageWith({ max_services: 2, performance: { max_routes: 2, max_operations: 1 } });
  for (const s of ['a', 'b', 'c', 'd', 'a']) feed(rec({ service: s }));
  for (const p of ['/x', '/y', '/z', '/x']) feed(rec({ service: 'a', http: { method: 'GET', path: p, status_code: 200 } }));
  for (const op of ['one', 'two', 'one']) feed(rec({ service: 'a', event_type: 'performance', action: 'slow_operation', metadata: { operation: op } }));
  const exp = await scrape(metrics);
  sameFamilies(t, exp, {
    log_lines_total: {
      'log_lines_total{level="INFO",service="a"}': 9,
      'log_lines_total{level="INFO",service="b"}': 1,
      'log_lines_total{level="INFO",service="other"}': 2,
    },
    http_requests_total: {
      'http_requests_total{method="GET",route="/x",service="a",status="200"}': 2,
      'http_requests_total{method="GET",route="/y",service="a",status="200"}': 1,
      'http_requests_total{method="GET",route="other",service="a",status="200"}': 1,
    },
    slow_operations_total: { 'slow_operations_total{operation="one",service="a"}': 2, 'slow_operations_total{operation="other",service="a"}': 1 },
    logship_derived_label_overflow_total: {
      'logship_derived_label_overflow_total{label="service"}': 2,
      'logship_derived_label_overflow_total{label="route"}': 1,
      'logship_derived_label_overflow_total{label="operation"}': 1,
    },
  });
});

t.test('slow operations: each service counts its own series, repeats and overflows alike', async (t) => {
  const { metrics, feed } = stageWith({ performance: { max_operations: 2 } });
  const slow = (service: string, operation?: string) => feed(rec({ service, level: 'WARN', event_type: 'performance', action: 'slow_operation', ...(operation === undefined ? {} : { metadata: { operation } }) }));
  // Interleaved, so a series kept for one service or one operation would be handed to the next.
  for (let i = 0; i < 3; i++) {
    slow('a', 'pdf_render');
    slow('b', 'pdf_render');
    slow('a', `GET /users/${i}`);
    slow('b');
    slow('a', 'unknown');
    slow('b', `export_${i}`);
  }
  const exp = await scrape(metrics);
  t.same(family(exp, 'slow_operations_total'), {
    'slow_operations_total{operation="pdf_render",service="a"}': 3,
    'slow_operations_total{operation="pdf_render",service="b"}': 3,
    'slow_operations_total{operation="GET /users/:id",service="a"}': 3,
    'slow_operations_total{operation="unknown",service="b"}': 3,
    'slow_operations_total{operation="other",service="a"}': 3,
    'slow_operations_total{operation="other",service="b"}': 3,
  });
  // 'unknown' named by a record is a value like any other (the third, over the cap); every
  // line over the cap is counted, not only the first of each value.
  t.same(family(exp, 'logship_derived_label_overflow_total'), { 'logship_derived_label_overflow_total{label="operation"}': 6 });
});

t.test('status as class, route label off, custom buckets', async (t) => {
  const { metrics, feed } = stageWith({ performance: { status_label: 'class', route_label: false, duration_buckets: [0.5, 1] } });
  feed(rec({ http: { method: 'GET', path: '/a/1', status_code: 503, response_time: 700 } }));
  feed(rec({ http: { method: 'GET', path: '/b', status_code: 502, response_time: 100 } }));
  const exp = await scrape(metrics);
  t.same(family(exp, 'http_requests_total'), { 'http_requests_total{method="GET",route="",service="api",status="5xx"}': 2 });
  t.same(family(exp, 'http_request_duration_seconds_bucket'), {
    'http_request_duration_seconds_bucket{le="0.5",method="GET",route="",service="api"}': 1,
    'http_request_duration_seconds_bucket{le="1",method="GET",route="",service="api"}': 2,
    'http_request_duration_seconds_bucket{le="+Inf",method="GET",route="",service="api"}': 2,
  });
});

t.test('brute force: detection record, detections counter, gauge over threshold, opt-in top sources', async (t) => {
  let now = T0;
  const { metrics, feed, emitted } = stageWith({ security: { brute_force: { threshold: 3, window: '1m', expose_top_sources: 2 } } }, () => now);
  const fail = (ip: string, atSec: number, service = 'sshd') => {
    now = T0 + atSec * 1000;
    feed(rec({ service, timestamp: new Date(now).toISOString(), level: 'WARN', event_type: 'security', action: 'failed_login', ip_address: ip, user_id: 'root' }));
  };
  fail('198.51.100.7', 0);
  fail('198.51.100.7', 20);
  t.equal(emitted.length, 0, 'two failures are under the threshold of 3');
  fail('198.51.100.7', 40);
  t.equal(emitted.length, 1, 'the third failure within 1m is a detection');
  const d = emitted[0];
  t.match(d.record, {
    timestamp: new Date(T0 + 40_000).toISOString(),
    level: 'WARN',
    service: 'sshd',
    event_type: 'security',
    action: 'brute_force_detected',
    ip_address: '198.51.100.7',
    metadata: { failures: 3, threshold: 3, window_seconds: 60, first_failure: new Date(T0).toISOString(), last_failure: new Date(T0 + 40_000).toISOString(), detector: 'logship', last_user_id: 'root' },
    source: { type: 'internal', name: 'brute_force_detector' },
  });
  t.equal(d.ack, NO_ACK, 'a detection covers no file bytes');
  t.same(d.labels, { job: 'app' }, 'it carries the labels of the failure that triggered it');
  fail('198.51.100.7', 45);
  fail('198.51.100.7', 50);
  t.equal(emitted.length, 1, 'a source stays detected while it keeps failing: one record per burst');
  // Another source fails slowly: never 3 within a minute.
  fail('192.0.2.1', 100, 'api');
  fail('192.0.2.1', 170, 'api');
  fail('192.0.2.1', 240, 'api');
  t.equal(emitted.length, 1, 'three failures spread over 4 minutes are no burst');

  now = T0 + 55_000;
  let exp = await scrape(metrics);
  t.equal(exp.series.get('brute_force_detections_total{service="sshd"}'), 1);
  t.equal(exp.series.get('brute_force_sources_over_threshold'), 1);
  t.same(family(exp, 'brute_force_source_failed_logins'), { 'brute_force_source_failed_logins{source_ip="198.51.100.7"}': 5 });
  t.equal(exp.series.get('brute_force_tracked_sources'), 2);

  now = T0 + 50_000 + 60_000; // the last three failures (40, 45, 50 s) are now older than the window
  exp = await scrape(metrics);
  t.equal(exp.series.get('brute_force_sources_over_threshold'), 0, 'no longer over the threshold once its failures leave the window');
  t.same(family(exp, 'brute_force_source_failed_logins'), {});

  // A new burst after a quiet spell is a new detection.
  fail('198.51.100.7', 300);
  fail('198.51.100.7', 301);
  fail('198.51.100.7', 302);
  t.equal(emitted.length, 2);
  exp = await scrape(metrics);
  t.equal(exp.series.get('brute_force_detections_total{service="sshd"}'), 2);
});

t.test('failures with unreadable timestamps count at arrival time', async (t) => {
  let now = T0;
  const { feed, emitted } = stageWith({ security: { brute_force: { threshold: 2, window: '10s' } } }, () => now);
  feed(rec({ timestamp: 'garbage', event_type: 'security', action: 'failed_login', ip_address: '192.0.2.8' }));
  now += 1000;
  feed(rec({ timestamp: '2999-01-01T00:00:00.000Z', event_type: 'security', action: 'failed_login', ip_address: '192.0.2.8' }));
  t.equal(emitted.length, 1);
  t.equal(emitted[0].record.metadata!.last_failure, new Date(now).toISOString());
});

t.test('derived metrics can be switched off per group', async (t) => {
  const { metrics, feed, emitted } = stageWith({ security: { enabled: false }, performance: { enabled: false } });
  for (let i = 0; i < 20; i++) feed(rec({ event_type: 'security', action: 'failed_login', ip_address: '192.0.2.1', http: { status_code: 401 } }));
  t.equal(emitted.length, 0);
  const exp = await scrape(metrics);
  t.notOk(exp.types.has('auth_failures_total'));
  t.notOk(exp.types.has('http_requests_total'));
});

t.test('an emitted detection runs through the stages after the emitting one, then reaches the router', async (t) => {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const routed: LogEvent[] = [];
  const processor = new LineProcessor({
    sourceName: 'auth',
    service: 'auth-api',
    parserName: 'json',
    parser: createParser('json'),
    stages: [
      new DerivedMetricsStage(cfg({ security: { brute_force: { threshold: 2, window: '1m' } } }), { metrics }),
      new LabelsStage({ type: 'labels', from: { action: 'action' }, values: { stage: 'after' } }),
    ],
    router: { route: (e) => routed.push(e) },
    labels: { job: 'auth' },
    metrics,
    log: pino({ level: 'silent' }),
  });
  const now = new Date().toISOString();
  for (let i = 0; i < 2; i++) {
    processor.receive({
      text: JSON.stringify({ timestamp: now, level: 'WARN', service: 'auth-api', event_type: 'security', action: 'failed_login', ip_address: '192.168.1.100', user_id: 'user123' }),
      ack: NO_ACK, truncated: false, source: { type: 'file', name: 'auth', file: '/var/log/auth.log' }, readTime: Date.now(),
    });
  }
  t.equal(routed.length, 3, 'two failures and one detection reach the sinks');
  const detection = routed.find((e) => e.record.action === 'brute_force_detected');
  t.ok(detection);
  t.same(detection!.labels, { job: 'auth', action: 'brute_force_detected', stage: 'after' }, 'the labels stage after the emitter processed the detection');
  t.equal(routed.filter((e) => e.record.action === 'failed_login').length, 2);
});

t.test('seed-format app request lines (details in metadata or context, duration in seconds) feed the HTTP metrics', async (t) => {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const routed: LogEvent[] = [];
  const processor = new LineProcessor({
    sourceName: 'app', service: 'app', parserName: 'json', parser: createParser('json'),
    stages: [new DerivedMetricsStage(cfg(), { metrics })],
    router: { route: (e) => routed.push(e) }, labels: { job: 'app' }, metrics, log: pino({ level: 'silent' }),
  });
  // The two request lines of shared/notes/seed-log-formats.md 1d, and a TypeScript service's
  // line with its details in `context` (statusCode/url as Express loggers write them).
  const lines = [
    '{"timestamp":"2024-01-15T10:00:02.104Z","level":"INFO","service":"cf1-backend","message":"Request completed","trace_id":"abc123","span_id":"def456","user_id":"user123","request_id":"req-7f3a","duration":0.184,"metadata":{"method":"GET","route":"/api/documents/:id","path":"/api/documents/4411","status_code":200}}',
    '{"timestamp":"2024-01-15T10:00:02.990Z","level":"ERROR","service":"cf1-backend","message":"Request failed","request_id":"req-7f3b","duration":3.912,"metadata":{"method":"POST","route":"/api/payments","path":"/api/payments","status_code":503,"error":"upstream timeout"}}',
    '{"timestamp":"2024-01-15T10:00:03.000Z","level":"INFO","service":"cf1-frontend","message":"Request completed","context":{"method":"GET","url":"/dashboard/17","statusCode":200},"duration":0.05}',
    '{"timestamp":"2024-01-15T10:00:04.000Z","level":"INFO","service":"api","message":"Document uploaded successfully","metadata":{"document_id":"doc123","status":"stored"}}',
  ];
  for (const text of lines) processor.receive({ text, ack: NO_ACK, truncated: false, source: { type: 'file', name: 'app', file: '/var/log/app.log' }, readTime: Date.now() });
  t.same(routed.map((e) => e.record.http), [
    { method: 'GET', route: '/api/documents/:id', path: '/api/documents/4411', status_code: 200 },
    { method: 'POST', route: '/api/payments', path: '/api/payments', status_code: 503 },
    { method: 'GET', path: '/dashboard/17', status_code: 200 },
    undefined,
  ], 'the http group from metadata/context; a metadata "status" that is no HTTP status makes none');
  t.equal(routed[1].record.metadata?.error, 'upstream timeout', 'the logger\'s own keys stay in metadata');
  const exp = await scrape(metrics);
  t.same(family(exp, 'http_requests_total'), {
    'http_requests_total{method="GET",route="/api/documents/:id",service="cf1-backend",status="200"}': 1,
    'http_requests_total{method="POST",route="/api/payments",service="cf1-backend",status="503"}': 1,
    'http_requests_total{method="GET",route="/dashboard/:id",service="cf1-frontend",status="200"}': 1,
  });
  t.same(family(exp, 'http_errors_total'), { 'http_errors_total{method="POST",route="/api/payments",service="cf1-backend"}': 1 });
  const h = family(exp, 'http_request_duration_seconds_sum');
  t.equal(h['http_request_duration_seconds_sum{method="POST",route="/api/payments",service="cf1-backend"}'], 3.912, 'duration (s) is the latency');
  t.equal(family(exp, 'http_request_duration_seconds_bucket')['http_request_duration_seconds_bucket{le="2",method="POST",route="/api/payments",service="cf1-backend"}'], 0);
  t.equal(family(exp, 'http_request_duration_seconds_bucket')['http_request_duration_seconds_bucket{le="5",method="POST",route="/api/payments",service="cf1-backend"}'], 1);
});

t.test('the configured services\' counter series are exported at 0 before their first event', async (t) => {
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  new DerivedMetricsStage(cfg(), { metrics, knownServices: ['sshd', 'nginx', 'sshd'] });
  const exp = await scrape(metrics);
  t.same(family(exp, 'auth_failures_total'), { 'auth_failures_total{service="sshd"}': 0, 'auth_failures_total{service="nginx"}': 0 });
  t.same(family(exp, 'brute_force_detections_total'), { 'brute_force_detections_total{service="sshd"}': 0, 'brute_force_detections_total{service="nginx"}': 0 });
  t.equal(family(exp, 'http_denied_responses_total')['http_denied_responses_total{service="nginx",status="403"}'], 0);
  t.equal(family(exp, 'suspicious_requests_total')['suspicious_requests_total{kind="traversal",service="nginx"}'], 0);
  t.equal(family(exp, 'rate_limit_events_total')['rate_limit_events_total{service="nginx"}'], 0);
  t.equal(family(exp, 'log_lines_total')['log_lines_total{level="ERROR",service="sshd"}'], 0);
  t.equal(Object.keys(family(exp, 'auth_attempts_total')).length, 4, 'failure and success per service');
});
