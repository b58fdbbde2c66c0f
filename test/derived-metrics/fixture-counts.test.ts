import t from 'tap';
import { readNdjson, waitFor } from '../support/daemon.ts';
import { family, parseExposition } from './exposition.ts';
import { startFixtureDaemon } from './live-daemon.ts';

/**
 * Acceptance: the real CLI tails test/fixtures/metrics/ — sshd syslog lines (auth.log), nginx
 * access lines with $request_time (access.log) and the platform's app JSON events (app.ndjson) —
 * through the real parsers, the built-in classification and the derived metrics. Every counter
 * below was counted by hand from the fixture files (the comments say which lines).
 */
t.test('derived metrics on /metrics equal the hand-counted fixture expectations, per series', async (t) => {
  const d = await startFixtureDaemon({ auth: 'syslog', nginx: 'nginx', app: 'json' }, (fn) => t.teardown(fn));
  const exp = parseExposition(d.metrics);
  // The configured services' (sshd, nginx, app) counter series are exported at 0 before their
  // first event (DerivedMetricsStage knownServices); the hand counts below are the non-zero series.
  const f = (name: string) => Object.fromEntries(Object.entries(family(exp, name)).filter(([, v]) => v !== 0));
  t.equal(exp.series.get('auth_failures_total{service="app"}'), 0, 'a configured service without failures has its series at 0');

  t.same(f('auth_failures_total'), {
    // 6 × "Failed password for root", "Failed password for invalid user oracle"; the "Invalid user
    // oracle" line before it is context of that same attempt (README "What counts as a failed authentication")
    'auth_failures_total{service="sshd"}': 7,
    'auth_failures_total{service="nginx"}': 1, // POST /api/login 401 (an auth route)
    'auth_failures_total{service="api"}': 3, // three failed_login app events
  }, 'auth_failures_total');
  t.same(f('auth_attempts_total'), {
    'auth_attempts_total{result="failure",service="sshd"}': 7,
    'auth_attempts_total{result="success",service="sshd"}': 1, // "Accepted publickey for deploy"
    'auth_attempts_total{result="failure",service="nginx"}': 1,
    'auth_attempts_total{result="success",service="cf1-frontend"}': 1, // "User logged in"
    'auth_attempts_total{result="failure",service="api"}': 3,
  }, 'auth_attempts_total');
  t.same(f('http_denied_responses_total'), {
    'http_denied_responses_total{service="nginx",status="401"}': 1,
    'http_denied_responses_total{service="nginx",status="403"}': 2, // /admin, /admin/settings
    'http_denied_responses_total{service="nginx",status="429"}': 1,
  }, 'http_denied_responses_total');
  t.same(f('rate_limit_events_total'), {
    'rate_limit_events_total{service="nginx"}': 1, // the 429
    'rate_limit_events_total{service="api"}': 1, // "client throttled" rate_limited event
  }, 'rate_limit_events_total');
  t.same(f('suspicious_requests_total'), {
    'suspicious_requests_total{kind="sqli",service="nginx"}': 1, // ?id=1' OR 1=1--
    'suspicious_requests_total{kind="traversal",service="nginx"}': 1, // /static/../../../../etc/passwd
    'suspicious_requests_total{kind="scanner",service="nginx"}': 1, // sqlmap user agent
  }, 'suspicious_requests_total');
  t.same(f('file_upload_rejected_total'), { 'file_upload_rejected_total{service="api"}': 1 }, 'file_upload_rejected_total');
  t.same(f('security_events_total'), {
    'security_events_total{action="failed_login",service="sshd"}': 7,
    'security_events_total{action="auth_context",service="sshd"}': 1, // "Invalid user oracle"
    'security_events_total{action="successful_login",service="sshd"}': 1,
    'security_events_total{action="failed_login",service="nginx"}': 1,
    'security_events_total{action="access_denied",service="nginx"}': 2,
    'security_events_total{action="rate_limited",service="nginx"}': 1,
    'security_events_total{action="suspicious_request",service="nginx"}': 3,
    'security_events_total{action="successful_login",service="cf1-frontend"}': 1,
    'security_events_total{action="failed_login",service="api"}': 3,
    'security_events_total{action="upload_rejected",service="api"}': 1,
    'security_events_total{action="rate_limited",service="api"}': 1,
  }, 'security_events_total');
  // 203.0.113.5 fails 6 times in 15 s (threshold 5 per minute): one detection. 198.51.100.23 (2),
  // 192.168.1.100 (3) and 192.0.2.12 (1) stay below.
  t.same(f('brute_force_detections_total'), { 'brute_force_detections_total{service="sshd"}': 1 }, 'brute_force_detections_total');
  t.equal(exp.series.get('brute_force_tracked_sources'), 4, 'four source IPs failed');
  // The detector's clock is the records' time (the newest failure, plus the seconds since it was
  // read): right after the replay, 203.0.113.5's burst is as current as it was when written.
  t.equal(exp.series.get('brute_force_sources_over_threshold'), 1);
  t.same(f('brute_force_source_failed_logins'), { 'brute_force_source_failed_logins{source_ip="203.0.113.5"}': 6 });

  t.same(f('http_requests_total'), {
    'http_requests_total{method="GET",route="/users/:id",service="nginx",status="200"}': 2,
    'http_requests_total{method="POST",route="/api/login",service="nginx",status="401"}': 1,
    'http_requests_total{method="GET",route="/admin",service="nginx",status="403"}': 1,
    'http_requests_total{method="GET",route="/admin/settings",service="nginx",status="403"}': 1,
    'http_requests_total{method="POST",route="/api/orders",service="nginx",status="429"}': 1,
    'http_requests_total{method="GET",route="/api/orders/:id",service="nginx",status="500"}': 1,
    'http_requests_total{method="GET",route="/api/orders/:id",service="nginx",status="502"}': 1,
    // Suspicious requests never claim a route of their own.
    'http_requests_total{method="GET",route="other",service="nginx",status="200"}': 1,
    'http_requests_total{method="GET",route="other",service="nginx",status="400"}': 1,
    'http_requests_total{method="GET",route="other",service="nginx",status="404"}': 1,
    'http_requests_total{method="GET",route="/health",service="nginx",status="200"}': 1,
  }, 'http_requests_total');
  t.same(f('http_errors_total'), { 'http_errors_total{method="GET",route="/api/orders/:id",service="nginx"}': 2 }, 'http_errors_total');
  const h = (route: string, suffix: string, le?: string) =>
    exp.series.get(`http_request_duration_seconds_${suffix}{${le ? `le="${le}",` : ''}method="GET",route="${route}",service="nginx"}`);
  t.same([h('/users/:id', 'count'), h('/users/:id', 'sum'), h('/users/:id', 'bucket', '0.1'), h('/users/:id', 'bucket', '0.25'), h('/users/:id', 'bucket', '2'), h('/users/:id', 'bucket', '2.5')], [2, 2.62, 0, 1, 1, 2], '/users/:id took 0.120 s and 2.500 s');
  t.same([h('/api/orders/:id', 'count'), h('/api/orders/:id', 'bucket', '1'), h('/api/orders/:id', 'bucket', '2.5'), h('/api/orders/:id', 'bucket', '5')], [2, 1, 1, 2], '/api/orders/:id took 0.900 s and 4.200 s');
  t.equal(exp.series.get('http_request_duration_seconds_count{method="GET",route="other",service="nginx"}'), 3);

  t.same(f('slow_operations_total'), { 'slow_operations_total{operation="document_processing",service="api"}': 1 }, 'slow_operations_total');
  t.same(f('log_lines_total'), {
    'log_lines_total{level="INFO",service="sshd"}': 12,
    // Access lines take their level from the status: 2xx INFO, 4xx WARN, 5xx ERROR.
    'log_lines_total{level="INFO",service="nginx"}': 4,
    'log_lines_total{level="WARN",service="nginx"}': 6, // 401, 403, 403, 429, 400, 404
    'log_lines_total{level="ERROR",service="nginx"}': 2, // 500, 502
    'log_lines_total{level="INFO",service="cf1-frontend"}': 1,
    'log_lines_total{level="ERROR",service="cf1-frontend"}': 1,
    'log_lines_total{level="INFO",service="api"}': 2,
    'log_lines_total{level="WARN",service="api"}': 6,
    'log_lines_total{level="ERROR",service="payment"}': 3,
    'log_lines_total{level="DEBUG",service="payment"}': 1,
  }, 'log_lines_total');

  // The user-defined rules of the fixture config.
  t.same(f('payment_failures_total'), {
    'payment_failures_total{reason="card_declined",service="payment"}': 2,
    'payment_failures_total{reason="insufficient_funds",service="payment"}': 1,
  }, 'payment_failures_total');
  t.equal(exp.series.get('uploaded_document_size_bytes_count{service="api"}'), 1);
  t.equal(exp.series.get('uploaded_document_size_bytes_bucket{le="1000000",service="api"}'), 0);
  t.equal(exp.series.get('uploaded_document_size_bytes_bucket{le="10000000",service="api"}'), 1);

  // The detection also ships as a record, like any log line (Loki/Elasticsearch get it too).
  const shipped = await waitFor('the detection record in the file sink', () => {
    const recs = readNdjson<{ action?: string }>(d.shippedPath);
    return recs.some((r) => r.action === 'brute_force_detected') ? recs : null;
  });
  const detections = shipped.filter((r) => r.action === 'brute_force_detected');
  t.equal(detections.length, 1);
  t.match(detections[0], {
    level: 'WARN', service: 'sshd', event_type: 'security', action: 'brute_force_detected', ip_address: '203.0.113.5',
    metadata: { failures: 5, threshold: 5, window_seconds: 60, detector: 'logship', last_user_id: 'root' },
    source: { type: 'internal', name: 'brute_force_detector' },
  });
});
