import type { Counter } from 'prom-client';
import { SECURITY_ACTIONS, THREAT_KINDS } from '../core/events.ts';
import { NO_ACK, type LogEvent, type LogRecord } from '../core/record.ts';
import type { BruteForceStatus } from '../core/status.ts';
import type { EmitEvent } from '../core/stage.ts';
import type { LocalCounter, MetricsRegistry } from '../self-metrics/registry.ts';
import { OVERFLOW_VALUE } from './bounded-values.ts';
import { BruteForceDetector, type Detection } from './brute-force.ts';
import type { SecurityMetricsConfig } from './config.ts';

/** Names of the security metric families (the platform's names where it has one). */
export const SECURITY_METRIC_NAMES = {
  authAttempts: 'auth_attempts_total',
  authFailures: 'auth_failures_total',
  deniedResponses: 'http_denied_responses_total',
  securityEvents: 'security_events_total',
  suspiciousRequests: 'suspicious_requests_total',
  rateLimitEvents: 'rate_limit_events_total',
  uploadRejected: 'file_upload_rejected_total',
  bruteForceDetections: 'brute_force_detections_total',
  bruteForceOver: 'brute_force_sources_over_threshold',
  bruteForceTracked: 'brute_force_tracked_sources',
  bruteForceTop: 'brute_force_source_failed_logins',
  bruteForceTopFailing: 'brute_force_top_source_failed_logins',
} as const;

const ACTIONS: ReadonlySet<string> = new Set(Object.values(SECURITY_ACTIONS));
const THREATS: ReadonlySet<string> = new Set(THREAT_KINDS);

/**
 * The log lines a record stands for: `metadata.repeat_count` of a syslog "message repeated N
 * times: [ ... ]" line (set by the syslog parser), else 1.
 */
export function linesOf(r: LogRecord): number {
  const n = r.metadata?.repeat_count;
  return typeof n === 'number' && Number.isInteger(n) && n > 1 ? n : 1;
}

/**
 * Counts the security classification of records (src/core/events.ts) and the 401/403/429 responses,
 * and runs brute-force detection on failed logins. Every label is bounded: `service` by the
 * caller's cap, `action`/`kind` by the contract's fixed sets (anything else is "other"),
 * `status` by the three codes. Source IPs are labels only with expose_top_sources > 0, and then
 * only the top K.
 */
export class SecurityMetrics {
  private readonly detector: BruteForceDetector | null;
  private readonly threshold: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly metrics: MetricsRegistry;
  /** Locally counted series (see MetricsRegistry.count), by family, service, then the second label's value ('' when none): no per-record label hashing or key building. */
  private readonly series = new Map<string, Map<string, Map<string, LocalCounter>>>();
  /**
   * The detector's clock: the newest failure's own timestamp, advanced by the wall time since it
   * arrived. Live, that is the wall clock; replaying last week's file, it is last week's time plus
   * the time since the replay's last failure, so both give the same answer (README "Derived metrics").
   */
  private clockEvent = Number.NaN;
  private clockWall = 0;

  constructor(cfg: SecurityMetricsConfig, deps: { metrics: MetricsRegistry; now?: () => number }) {
    const m = deps.metrics;
    this.metrics = m;
    const N = SECURITY_METRIC_NAMES;
    this.now = deps.now ?? Date.now;
    m.counter(N.authAttempts, 'Authentication attempts seen in logs, by service and result (success, failure).', ['service', 'result']);
    m.counter(N.authFailures, 'Failed authentication attempts seen in logs (failed_login events: app events, sshd, PAM, 401 on auth routes), by service.', ['service']);
    m.counter(N.deniedResponses, 'HTTP responses 401 (unauthorized), 403 (forbidden) and 429 (too many requests) seen in logs, by service and status.', ['service', 'status']);
    m.counter(N.securityEvents, 'Security events (event_type "security") seen in logs, by service and action.', ['service', 'action']);
    m.counter(N.suspiciousRequests, 'Suspicious requests seen in logs, by service and kind (sqli, traversal, scanner, xss, command_injection, other).', ['service', 'kind']);
    m.counter(N.rateLimitEvents, 'Rate limiting events seen in logs (rate_limited events and HTTP 429 responses), by service.', ['service']);
    m.counter(N.uploadRejected, 'Rejected file uploads seen in logs (upload_rejected events), by service.', ['service']);
    m.counter(N.bruteForceDetections, 'Brute-force detections: a source IP crossed the failed-login threshold within the window, by service of the failure that crossed it.', ['service']);
    const bf = cfg.brute_force;
    this.threshold = bf.threshold;
    this.windowMs = bf.window;
    // Scrape-time gauges read the current detector: re-register them so a reloaded stage's
    // detector replaces the previous one's.
    for (const name of [N.bruteForceOver, N.bruteForceTracked, N.bruteForceTop, N.bruteForceTopFailing]) m.remove(name);
    if (!bf.enabled) {
      this.detector = null;
      return;
    }
    const detector = new BruteForceDetector({ threshold: bf.threshold, window: bf.window, maxSources: bf.max_sources });
    this.detector = detector;
    const now = () => this.clock();
    m.gauge(N.bruteForceOver, 'Source IPs currently over the brute-force threshold (threshold failed logins within the window).', [], function () {
      this.set(detector.overThreshold(now()));
    });
    m.gauge(N.bruteForceTracked, 'Source IPs with failed logins remembered by the brute-force detector (bounded by max_sources).', [], function () {
      this.set(detector.tracked);
    });
    const k = bf.expose_top_sources;
    if (k > 0) {
      m.gauge(N.bruteForceTop, `Failed logins in the current burst of the top ${k} source IPs over the brute-force threshold (at most expose_top_sources series).`, ['source_ip'], function () {
        this.reset();
        for (const t of detector.top(k, now())) this.set({ source_ip: t.source }, t.failures);
      });
      m.gauge(N.bruteForceTopFailing, `Failed logins of the top ${k} source IPs by failures, over the threshold or not: the current burst of one over it, else its failures within the window (at most expose_top_sources series).`, ['source_ip'], function () {
        this.reset();
        for (const t of detector.topByFailures(k, now())) this.set({ source_ip: t.source }, t.failures);
      });
    }
  }

  /** Counts one record; `service` is its already-bounded service label value. */
  observe(event: LogEvent, service: string, emit: EmitEvent | undefined): void {
    const r = event.record;
    const status = r.http?.status_code;
    if (status === 401 || status === 403 || status === 429) {
      this.inc(SECURITY_METRIC_NAMES.deniedResponses, service, status === 401 ? '401' : status === 403 ? '403' : '429');
    }
    let rateLimited = status === 429;
    if (r.event_type === 'security' && r.action !== undefined) {
      // here only: metadata's shape differs from line to line, so reading it costs on every line
      const n = linesOf(r);
      const action = ACTIONS.has(r.action) ? r.action : OVERFLOW_VALUE;
      this.inc(SECURITY_METRIC_NAMES.securityEvents, service, action, n);
      switch (action) {
        case SECURITY_ACTIONS.failedLogin:
          this.inc(SECURITY_METRIC_NAMES.authAttempts, service, 'failure', n);
          this.inc(SECURITY_METRIC_NAMES.authFailures, service, undefined, n);
          if (this.detector !== null && r.ip_address) this.failedLogin(event, service, r.ip_address, n, emit);
          break;
        case SECURITY_ACTIONS.successfulLogin:
          this.inc(SECURITY_METRIC_NAMES.authAttempts, service, 'success', n);
          break;
        case SECURITY_ACTIONS.rateLimited:
          rateLimited = true;
          break;
        case SECURITY_ACTIONS.suspiciousRequest: {
          const threat = r.metadata?.threat;
          this.inc(SECURITY_METRIC_NAMES.suspiciousRequests, service, typeof threat === 'string' && THREATS.has(threat) ? threat : OVERFLOW_VALUE);
          break;
        }
        case SECURITY_ACTIONS.uploadRejected:
          this.inc(SECURITY_METRIC_NAMES.uploadRejected, service);
          break;
      }
    }
    if (rateLimited) this.inc(SECURITY_METRIC_NAMES.rateLimitEvents, service);
  }

  /** Epoch ms on the detector's clock (see clockEvent). */
  clock(): number {
    const wall = this.now();
    return Number.isNaN(this.clockEvent) ? wall : this.clockEvent + (wall - this.clockWall);
  }

  /** The brute-force figures for the status page: sources over the threshold now, the top ones, sources remembered. */
  bruteForceStatus(k = 10): BruteForceStatus | null {
    if (this.detector === null) return null;
    const now = this.clock();
    return {
      threshold: this.threshold,
      window_seconds: this.windowMs / 1000,
      sources_over_threshold: this.detector.overThreshold(now),
      tracked_sources: this.detector.tracked,
      top_sources: this.detector.topByFailures(k, now).map((t) => ({ source_ip: t.source, failed_logins: t.failures, over_threshold: t.over })),
      clock: new Date(now).toISOString(),
    };
  }

  /** Exports the service's series that need no record to name them at 0 (see DerivedMetricsStage). */
  zeroSeries(service: string): void {
    const N = SECURITY_METRIC_NAMES;
    this.series0(N.authFailures, service);
    for (const result of ['failure', 'success']) this.series0(N.authAttempts, service, result);
    for (const status of ['401', '403', '429']) this.series0(N.deniedResponses, service, status);
    for (const kind of [...THREAT_KINDS, OVERFLOW_VALUE]) this.series0(N.suspiciousRequests, service, kind);
    this.series0(N.rateLimitEvents, service);
    this.series0(N.uploadRejected, service);
    this.series0(N.bruteForceDetections, service);
  }

  /** Counts one in the family's series (service, and the second label's value if it has one). */
  private inc(family: string, service: string, second?: string, n = 1): void {
    this.series0(family, service, second).inc(n);
  }

  /** The family's series for (service, second), made (and so exported at 0) if it was not. */
  private series0(family: string, service: string, second?: string): LocalCounter {
    let byService = this.series.get(family);
    if (byService === undefined) this.series.set(family, (byService = new Map()));
    let bySecond = byService.get(service);
    if (bySecond === undefined) byService.set(service, (bySecond = new Map()));
    const key = second ?? '';
    let c = bySecond.get(key);
    if (c === undefined) {
      c = this.metrics.count(family, second === undefined ? [service] : [service, second]);
      bySecond.set(key, c);
    }
    return c;
  }

  private failedLogin(event: LogEvent, service: string, ip: string, n: number, emit: EmitEvent | undefined): void {
    const now = this.now();
    let t = Date.parse(event.record.timestamp);
    // Unreadable or far-future stamps count at arrival time rather than poisoning the window.
    if (Number.isNaN(t) || t > now + this.windowMs) t = now;
    if (!(t < this.clockEvent)) {
      this.clockEvent = t;
      this.clockWall = now;
    }
    const d = this.detector!.failure(ip, t, n);
    if (d === null) return;
    this.inc(SECURITY_METRIC_NAMES.bruteForceDetections, service);
    if (emit) emit(this.detectionEvent(event, d));
  }

  /** The `security` record a detection ships as, so Loki and Elasticsearch have it too. */
  private detectionEvent(trigger: LogEvent, d: Detection): LogEvent {
    const r = trigger.record;
    const windowSeconds = this.windowMs / 1000;
    const record: LogRecord = {
      timestamp: r.timestamp,
      level: 'WARN',
      service: r.service,
      message: `brute force detected: ${d.failures} failed logins from ${d.source} within ${windowSeconds}s`,
      event_type: 'security',
      action: SECURITY_ACTIONS.bruteForceDetected,
      ip_address: d.source,
      metadata: {
        failures: d.failures,
        threshold: this.threshold,
        window_seconds: windowSeconds,
        first_failure: new Date(d.firstFailure).toISOString(),
        last_failure: new Date(d.lastFailure).toISOString(),
        detector: 'logship',
        ...(r.user_id ? { last_user_id: r.user_id } : {}),
      },
      source: { type: 'internal', name: 'brute_force_detector', ...(r.source.host ? { host: r.source.host } : {}) },
    };
    return { record, labels: { ...trigger.labels }, ack: NO_ACK, size: record.message.length };
  }
}
