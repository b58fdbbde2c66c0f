import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DaemonProcess, freePort, ROOT, tempDir, waitFor, writeConfig } from '../support/daemon.ts';
import { exportedNames, parseExposition } from '../derived-metrics/exposition.ts';
import { dashboards, metricNames, queries } from '../derived-metrics/dashboard-queries.ts';
import { AlertmanagerServer, PrometheusServer, stackBinaries, WebhookReceiver, type ReceivedAlert } from './prometheus-stack.ts';
import { scaleRuleDurations } from './rules-time-scale.ts';
import { append, appRequestLine, nginxLine, slowOperationEvent, sshdAcceptedSession, sshdInvalidUserSession, sshdOneAttemptSession } from './traffic.ts';

/**
 * The shipped alert rules, end to end: the real logship daemon tails files this test writes,
 * a real Prometheus scrapes its /metrics every second and evaluates config/alerts/logship-rules.yml
 * (time-scaled, see rules-time-scale.ts: 1 minute of rule time = 1 s here), a real Alertmanager
 * routes the alerts to a real webhook receiver on 127.0.0.1. Each scenario asserts the alerts the
 * webhook received (name, severity, labels) and their resolve notification after the traffic
 * stopped, and prints how long each alert took to arrive after its traffic began.
 */

/** Rule time / test time: 5m of rule time passes in 5 s. */
const FACTOR = 60;
const RULES = join(ROOT, 'config', 'alerts', 'logship-rules.yml');

const bins = stackBinaries();
const ci = process.env.CI === 'true';
if ('missing' in bins && ci) {
  t.fail(`CI=true but ${bins.missing}`);
}
const skip = 'missing' in bins ? bins.missing : false;
if (skip) t.comment(`SKIPPING alerting end-to-end test: ${skip}`);

/** Deadline for any one alert or resolve notification (scaled windows are 5-15 s). */
const ALERT_DEADLINE = 45_000;

interface Figure { scenario: string; alert: string; firedAfterMs: number; resolvedAfterMs: number }

t.test('the shipped alert rules fire and resolve end to end (logship → Prometheus → Alertmanager → webhook)', { skip, timeout: 280_000 }, async (t) => {
  if ('missing' in bins) return;
  const started = Date.now();
  const dir = tempDir('logship-alerting-');
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const file = (name: string) => join(logs, name);

  // logship: one source per log file; the brute-force window scaled like the rules (5m → 5s).
  const port = await freePort();
  const sources = [
    { name: 'auth', file: 'auth.log', parser: 'syslog', service: 'sshd' },
    { name: 'www', file: 'www-access.log', parser: 'nginx', service: 'nginx-www' },
    { name: 'admin', file: 'admin-access.log', parser: 'nginx', service: 'nginx-admin' },
    { name: 'api', file: 'api-access.log', parser: 'nginx', service: 'nginx-api' },
    { name: 'shop', file: 'shop-access.log', parser: 'nginx', service: 'nginx-shop' },
    { name: 'app', file: 'app.ndjson', parser: 'json', service: 'app' },
  ];
  for (const s of sources) writeFileSync(file(s.file), '');
  const cfg = await writeConfig(dir, `
server: { listen: "127.0.0.1:${port}" }
positions: { path: "${dir}/data/positions.json", sync_interval: 1s }
sources:
${sources.map((s) => `  - { name: ${s.name}, paths: ["${file(s.file)}"], parser: ${s.parser}, service: ${s.service}, start_at: beginning }`).join('\n')}
pipeline:
  # an operator's own metric (README "Your own metrics"), so the Operations dashboard's
  # metric-rule panels have their families
  - type: metrics
    rules:
      - name: payment_failures_total
        type: counter
        help: Failed payment requests by route.
        match: [{ field: service, equals: cf1-payments }, { field: message, equals: Request failed }]
        labels: { route: http.route }
derived_metrics:
  security: { brute_force: { threshold: 10, window: ${300_000 / FACTOR}ms, expose_top_sources: 5 } }
sinks:
  - { type: file, path: "${dir}/data/shipped.ndjson" }
`);
  const daemon = new DaemonProcess(['run', '--config', cfg]);
  t.teardown(() => daemon.kill('SIGKILL'));
  await daemon.waitHttp(port, '/healthz', 60_000); // a loaded CI machine starts node slowly

  const webhook = await WebhookReceiver.start();
  t.teardown(() => webhook.close());
  const am = await AlertmanagerServer.start({ bin: bins.found.alertmanager, dir, webhookUrl: webhook.url });
  t.teardown(() => am.stop());
  const rulesFile = join(dir, 'logship-rules.scaled.yml');
  writeFileSync(rulesFile, scaleRuleDurations(readFileSync(RULES, 'utf8'), FACTOR));
  const prom = await PrometheusServer.start({ bin: bins.found.prometheus, dir, targets: [`127.0.0.1:${port}`], ruleFiles: [rulesFile], alertmanager: am.address });
  t.teardown(() => prom.stop());
  await waitFor('Prometheus scraped logship', () => prom.targetUp(), 30_000, 200);
  const rules = await waitFor('rules evaluated', async () => {
    const r = await prom.rules();
    return r.length > 0 && r.every((x) => x.health === 'ok') ? r : null;
  }, 30_000, 200);
  t.ok(rules.some((r) => r.name === 'BruteForceSource') && rules.length >= 20, `the shipped rules are loaded (${rules.length})`);
  t.comment(`stack up after ${Date.now() - started} ms`);

  const figures: Figure[] = [];
  /** Waits for the alert's firing and then (after `stop()` ended its traffic) its resolved notification. */
  async function expectAlert(scenario: string, labels: Record<string, string>, severity: string, trafficStart: number, stopped: Promise<number>): Promise<ReceivedAlert> {
    const what = `${labels.alertname} (${scenario})`;
    const firing = await webhook.waitFor(what, labels, 'firing', { after: trafficStart, timeoutMs: ALERT_DEADLINE });
    t.equal(firing.labels.severity, severity, `${what}: severity ${severity}`);
    t.ok(firing.annotations.summary, `${what}: has a summary`);
    const stop = await stopped;
    const resolved = await webhook.waitFor(what, labels, 'resolved', { after: stop, timeoutMs: ALERT_DEADLINE });
    figures.push({ scenario, alert: labels.alertname, firedAfterMs: firing.receivedAt - trafficStart, resolvedAfterMs: resolved.receivedAt - stop });
    t.pass(`${what}: fired ${firing.receivedAt - trafficStart} ms after the traffic began, resolved ${resolved.receivedAt - stop} ms after it stopped; labels ${JSON.stringify(firing.labels)}`);
    return firing;
  }

  // Background traffic, 10 lines a second per service, for the whole run: the healthy baseline
  // (nginx-www, cf1-frontend) and the services whose error/latency steps come on top.
  const appMix = new Map<string, { slowShare: number; errorShare: number }>([
    ['cf1-frontend', { slowShare: 0, errorShare: 0 }],
    ['cf1-backend', { slowShare: 0, errorShare: 0 }],
    ['cf1-payments', { slowShare: 0, errorShare: 0 }],
  ]);
  let tick = 0;
  const background = setInterval(() => {
    const now = Date.now();
    tick++;
    append(file('www-access.log'), [nginxLine({ ms: now, ip: `192.0.2.${10 + (tick % 50)}`, path: `/products/${tick % 97}`, status: 200, seconds: 0.02 + (tick % 7) / 100 })]);
    const lines: string[] = [];
    for (const [service, mix] of appMix) {
      // every tenth request of a step is slow / failing for a 10% share: above the rules' 5%
      const slow = mix.slowShare > 0 && tick % Math.round(1 / mix.slowShare) === 0;
      const failed = mix.errorShare > 0 && tick % Math.round(1 / mix.errorShare) === 0;
      lines.push(appRequestLine({ ms: now, service, method: tick % 3 === 0 ? 'POST' : 'GET', route: '/api/documents/:id', path: `/api/documents/${4000 + (tick % 300)}`, status: failed ? 503 : 200, seconds: slow ? 3.5 : 0.05 + (tick % 10) / 40 }));
    }
    append(file('app.ndjson'), lines);
    if (tick % 20 === 0) append(file('auth.log'), sshdAcceptedSession({ ms: now, host: 'web1', pid: 20_000 + tick, ip: '192.0.2.10', port: 50_000 + tick, user: 'deploy' }));
  }, 100);
  t.teardown(() => clearInterval(background));

  /** Runs `step` `times` times, the first now and then every `everyMs`; resolves with the time of the last. */
  function repeat(times: number, everyMs: number, step: (i: number) => void): Promise<number> {
    return new Promise((resolve) => {
      let i = 0;
      const once = () => {
        step(i++);
        if (i >= times) {
          clearInterval(timer);
          resolve(Date.now());
        }
      };
      const timer = setInterval(once, everyMs);
      once();
    });
  }

  const sshd = async () => {
    // 4 connections from one address, 3 wrong passwords each (MaxAuthTries-style), within ~1.5 s.
    const ip = '203.0.113.77';
    const start = Date.now();
    const burst = repeat(4, 400, (i) => {
      append(file('auth.log'), sshdInvalidUserSession({ ms: Date.now(), host: 'web1', pid: 4100 + i, ip, port: 50_100 + i, user: ['admin', 'oracle', 'test', 'ubuntu'][i], attempts: 3 }));
    });
    await Promise.all([
      expectAlert('sshd brute force', { alertname: 'FailedAuthenticationBurst', service: 'sshd' }, 'warning', start, burst),
      expectAlert('sshd brute force', { alertname: 'BruteForceDetected', service: 'sshd' }, 'warning', start, burst),
      expectAlert('sshd brute force', { alertname: 'BruteForceSource', source_ip: ip }, 'warning', start, burst),
    ]);
    // The same 12 attempts spread over an hour of rule time (60 s here): one connection every
    // 5 min (5 s), from another address. Nothing may fire or even go pending.
    const slowIp = '198.51.100.23';
    const spreadStart = Date.now();
    const spreadEnd = await repeat(12, 300_000 / FACTOR, (i) => {
      append(file('auth.log'), sshdOneAttemptSession({ ms: Date.now(), host: 'web1', pid: 5200 + i, ip: slowIp, port: 40_000 + i }));
    });
    // Let Prometheus scrape the last attempts and evaluate past a whole window afterwards.
    const settled = spreadEnd + 2 * 300_000 / FACTOR + 2000;
    await waitFor('rules evaluated after the spread attempts', async () => Date.now() > settled && (await prom.rules()).every((r) => Date.parse(r.lastEvaluation) > settled), 30_000, 250);
    // from just after the spread began (the burst's alerts had resolved before it)
    const rangeS = Math.floor((Date.now() - spreadStart) / 1000) - 1;
    const seen = await prom.query(`count_over_time(ALERTS{alertname=~"FailedAuthenticationBurst|BruteForceDetected|BruteForceSource|BruteForceOngoing"}[${rangeS}s]) or count_over_time(ALERTS{source_ip="${slowIp}"}[${rangeS}s])`);
    t.same(seen.map((s) => s.metric.alertname), [], 'attempts spread over an hour: no brute-force or failed-auth alert fired or went pending');
    t.same(webhook.matching({ alertname: 'FailedAuthenticationBurst' }, 'firing', spreadStart).concat(webhook.matching({ source_ip: slowIp })), [], 'attempts spread over an hour: nothing reached the webhook');
    figures.push({ scenario: '12 sshd attempts over 1 h (scaled)', alert: '(none, as expected)', firedAfterMs: -1, resolvedAfterMs: -1 });
  };

  const forbidden = async () => {
    // 60 forbidden requests for admin pages from one client in 3 s.
    const start = Date.now();
    const stop = repeat(60, 50, (i) => append(file('admin-access.log'), [nginxLine({ ms: Date.now(), ip: '203.0.113.9', path: `/admin/users/${i}`, status: 403, seconds: 0.004 })]));
    await expectAlert('403 burst', { alertname: 'UnusualForbiddenRate', service: 'nginx-admin' }, 'warning', start, stop);
  };

  const rateLimited = async () => {
    // A 429 wave: 8 throttled requests a second for 15 s (RateLimitingActive needs > 1/s for 5m = 5 s).
    const start = Date.now();
    const stop = repeat(120, 125, (i) => append(file('api-access.log'), [nginxLine({ ms: Date.now(), ip: `198.51.100.${i % 20}`, method: 'POST', path: '/api/v1/orders', status: 429, seconds: 0.001 })]));
    await expectAlert('429 wave', { alertname: 'RateLimitingActive', service: 'nginx-api' }, 'warning', start, stop);
  };

  const probes = async () => {
    // A scanner: path traversal and SQL injection probes, 15 of each in 3 s, answered 404.
    const start = Date.now();
    const traversal = ['/static/../../../../etc/passwd', '/download?file=../../../../etc/shadow', '/..%2f..%2f..%2fetc%2fpasswd'];
    const sqli = ["/products?id=1%27%20OR%20%271%27%3D%271", '/search?q=1+UNION+SELECT+username,password+FROM+users--', "/items?id=1;DROP%20TABLE%20users"];
    const stop = repeat(15, 200, (i) => append(file('shop-access.log'), [
      nginxLine({ ms: Date.now(), ip: '198.51.100.7', path: traversal[i % traversal.length], status: 404, seconds: 0.002 }),
      nginxLine({ ms: Date.now(), ip: '198.51.100.7', path: sqli[i % sqli.length], status: 404, seconds: 0.002 }),
    ]));
    await Promise.all([
      expectAlert('suspicious requests', { alertname: 'SuspiciousRequests', service: 'nginx-shop', kind: 'traversal' }, 'warning', start, stop),
      expectAlert('suspicious requests', { alertname: 'SuspiciousRequests', service: 'nginx-shop', kind: 'sqli' }, 'warning', start, stop),
    ]);
  };

  /** A step in one app service's mix for `forMs`, back to healthy after; resolves with the time it ended. */
  function step(service: string, mix: { slowShare: number; errorShare: number }, forMs: number): Promise<number> {
    appMix.set(service, mix);
    return new Promise((resolve) => setTimeout(() => {
      appMix.set(service, { slowShare: 0, errorShare: 0 });
      resolve(Date.now());
    }, forMs));
  }

  const latency = async () => {
    // 10% of cf1-backend's requests take 3.5 s for 20 s (HighLatencyP95 holds for 5m = 5 s).
    const start = Date.now();
    const stop = step('cf1-backend', { slowShare: 0.1, errorShare: 0 }, 20_000);
    await expectAlert('p95 latency', { alertname: 'HighLatencyP95', service: 'cf1-backend' }, 'warning', start, stop);
  };

  const errors = async () => {
    // cf1-payments answers 10% of its requests with 503 for 20 s (HighErrorRatio, for: 5m = 5 s, fired after ~11 s in the measured runs).
    const start = Date.now();
    const stop = step('cf1-payments', { slowShare: 0, errorShare: 0.1 }, 20_000);
    await Promise.all([
      expectAlert('error-rate step', { alertname: 'HighErrorRatio', service: 'cf1-payments' }, 'critical', start, stop),
      expectAlert('error-rate step', { alertname: 'HighErrorRate', service: 'cf1-payments' }, 'critical', start, stop),
    ]);
  };

  const slowOperation = async () => {
    // The seed's performance event: document_processing took 30.5 s against a 10 s threshold.
    const start = Date.now();
    append(file('app.ndjson'), [slowOperationEvent({ ms: start, service: 'cf1-docs', operation: 'document_processing', seconds: 30.5, threshold: 10 })]);
    await expectAlert('slow operation', { alertname: 'SlowOperations', service: 'cf1-docs', operation: 'document_processing' }, 'warning', start, Promise.resolve(start));
  };

  const results = await Promise.allSettled([sshd(), forbidden(), rateLimited(), probes(), latency(), errors(), slowOperation()]);
  clearInterval(background);
  for (const r of results) if (r.status === 'rejected') t.fail(String((r.reason as Error).stack ?? r.reason));

  // The healthy baseline: nothing ever fired or went pending for the services that stayed healthy.
  const rangeS = Math.ceil((Date.now() - started) / 1000);
  const healthy = await prom.query(`count_over_time(ALERTS{service=~"nginx-www|cf1-frontend|app"}[${rangeS}s])`);
  t.same(healthy.map((s) => s.metric), [], 'healthy baseline (nginx-www, cf1-frontend): no alert fired or went pending');
  t.same(webhook.received.filter((a) => ['nginx-www', 'cf1-frontend', 'app'].includes(a.labels.service)), [], 'healthy baseline: nothing reached the webhook');
  const unexpected = webhook.received.filter((a) => !/^(FailedAuthenticationBurst|BruteForce\w+|UnusualForbiddenRate|RateLimitingActive|SuspiciousRequests|HighLatencyP95|HighErrorRatio|HighErrorRate|SlowOperations|ErrorLogRate)$/.test(a.labels.alertname));
  t.same(unexpected.map((a) => a.labels), [], 'no alert outside the scenarios (logship health alerts stay quiet)');

  // The dashboards: every panel query parses and runs in Prometheus, every metric they name is
  // on logship's /metrics after the scenarios. Variables get the values Grafana would give them
  // here: $job the scrape job, $service all services, $__rate_interval 4 × the 1 s scrape interval.
  const exposition = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const exported = exportedNames(parseExposition(exposition));
  for (const [f, dash] of dashboards()) {
    for (const q of queries(dash)) {
      const expr = substituteDashboardVariables(q.expr);
      const err = await prom.query(expr).then(() => null, (e: Error) => e.message);
      t.equal(err, null, `${f} ${q.where}: Prometheus accepts the query`);
      for (const n of metricNames(q.expr)) t.ok(exported.has(n), `${f} ${q.where}: ${n} is on logship's /metrics`);
    }
  }

  t.comment('alert latencies (rule time scaled 60x: 5m windows = 5 s; scrape and evaluation every 1 s; Alertmanager group_wait 1 s):');
  for (const f of figures) t.comment(`  ${f.scenario.padEnd(36)} ${f.alert.padEnd(26)} fired ${f.firedAfterMs < 0 ? '-' : `${(f.firedAfterMs / 1000).toFixed(1)} s`} after the traffic began, resolved ${f.resolvedAfterMs < 0 ? '-' : `${(f.resolvedAfterMs / 1000).toFixed(1)} s`} after it stopped`);
  t.comment(`whole scenario run: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

/**
 * Grafana's variables as a dashboard viewer here would get them: `$job`/`${job}` the scrape job
 * (regex matchers), `$service` every service (`.*`), `$__rate_interval` 4 s (Grafana's
 * max(4 × scrape interval, $__interval + scrape interval) with a 1 s scrape), `$__interval` 1 s,
 * `$__range` 5m.
 */
export function substituteDashboardVariables(expr: string): string {
  const values: Record<string, string> = { job: 'logship', service: '.*', __rate_interval: '4s', __interval: '1s', __range: '5m' };
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (m, a: string | undefined, b: string | undefined) => {
    const v = values[(a ?? b)!];
    if (v === undefined) throw new Error(`unknown dashboard variable ${m} in ${expr}`);
    return v;
  });
}
