import type { Counter } from 'prom-client';
import { PERFORMANCE_ACTIONS } from '../core/events.ts';
import { LEVELS, type LogRecord } from '../core/record.ts';
import { CounterTable, type LocalCounter, type MetricsRegistry } from '../self-metrics/registry.ts';
import { BoundedValues, OVERFLOW_VALUE } from './bounded-values.ts';
import type { PerformanceMetricsConfig } from './config.ts';
import { LocalHistogram, type HistogramSeries } from './local-histogram.ts';
import { templateRoute } from './route-template.ts';

/** Names of the performance metric families (the platform's names where it has one). */
export const PERFORMANCE_METRIC_NAMES = {
  httpRequests: 'http_requests_total',
  httpErrors: 'http_errors_total',
  httpDuration: 'http_request_duration_seconds',
  slowOperations: 'slow_operations_total',
  logLines: 'log_lines_total',
} as const;

const METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE'];
/** The method label's values past METHODS, by their index in METHOD_LABELS. */
const METHOD_UNKNOWN = METHODS.length;
const METHOD_OTHER = METHODS.length + 1;
const METHOD_LABELS: readonly string[] = [...METHODS, 'unknown', OVERFLOW_VALUE];
/** The level label of LEVELS[i]; index LEVELS.length is anything else. */
const LEVEL_LABELS: readonly string[] = [...LEVELS, OVERFLOW_VALUE];
const STATUS_CODES: readonly string[] = Array.from({ length: 600 }, (_, i) => String(i));
const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx'];


/**
 * What one service's lines update: its log_lines_total series by level index (LEVEL_LABELS), its
 * request series by route, then by method and status (requestKey), and its slow_operations_total
 * series by operation label (bounded by max_operations, so this map is too).
 */
interface ServiceRow {
  lines: Array<LocalCounter | undefined>;
  routes: Map<string, Map<number, RequestSeries>>;
  slow: Map<string, LocalCounter>;
}

/** What one request updates, for one (service, method, route, status). */
interface RequestSeries {
  requests: LocalCounter;
  /** http_errors_total{service,method,route}: made on the first 5xx. */
  errors: LocalCounter | undefined;
  duration: HistogramSeries;
}

/**
 * HTTP request counts, errors and durations (from any record with `http.status_code`, e.g.
 * access-log lines or app request logs), slow operations and log lines per service and level.
 * Labels are bounded: method to the standard verbs (else "other"), status to 100–599, route to
 * the first `max_routes` templated routes (404s and suspicious requests never admit a new route,
 * so scanners cannot fill the set), operation to `max_operations`.
 */
export class PerformanceMetrics {
  private readonly duration: LocalHistogram;
  /**
   * service → what its lines update: a line costs two string-keyed lookups (service, and route
   * for a request), whose hashes the bounded label sets computed already, and one numeric one;
   * no label objects, no key strings.
   */
  private readonly services = new Map<string, ServiceRow>();
  /** log_lines_total{service,level}, counted locally: no allocation or hashing per line for the one family every record hits. */
  private readonly lines: CounterTable;
  private readonly metrics: MetricsRegistry;
  private readonly routes: BoundedValues | null;
  private readonly operations: BoundedValues;
  private readonly statusClass: boolean;

  constructor(cfg: PerformanceMetricsConfig, deps: { metrics: MetricsRegistry; overflow: Counter<'label'> }) {
    const m = deps.metrics;
    this.metrics = m;
    const N = PERFORMANCE_METRIC_NAMES;
    // counted through MetricsRegistry.count (see seriesOf)
    m.counter(N.httpRequests, 'HTTP requests seen in logs (access logs, app request logs), by service, method, templated route and status.', ['service', 'method', 'route', 'status']);
    m.counter(N.httpErrors, 'HTTP requests seen in logs that were answered with a 5xx status, by service, method and templated route.', ['service', 'method', 'route']);
    this.duration = LocalHistogram.family(m, N.httpDuration, 'Duration of HTTP requests seen in logs (http.response_time, else the request line\'s duration), by service, method and templated route.', ['service', 'method', 'route'], cfg.duration_buckets);
    m.counter(N.slowOperations, 'Operations that exceeded their threshold (slow_operation events, or performance events with duration > threshold), by service and operation.', ['service', 'operation']);
    m.counter(N.logLines, 'Log lines seen, by service and level.', ['service', 'level']);
    this.lines = new CounterTable(m, N.logLines);
    this.routes = cfg.route_label ? new BoundedValues('route', cfg.max_routes, deps.overflow) : null;
    this.operations = new BoundedValues('operation', cfg.max_operations, deps.overflow);
    this.statusClass = cfg.status_label === 'class';
  }

  /** Exports the service's log_lines_total series at 0 for every level (see DerivedMetricsStage). */
  zeroSeries(service: string): void {
    for (const level of LEVELS) this.lines.get(service, level);
  }

  /** Counts one record; `service` is its already-bounded service label value. */
  observe(r: LogRecord, service: string): void {
    let row = this.services.get(service);
    if (row === undefined) {
      row = { lines: [], routes: new Map(), slow: new Map() };
      this.services.set(service, row);
    }
    const level = levelIndex(r.level);
    (row.lines[level] ??= this.lines.get(service, LEVEL_LABELS[level])).inc();
    const http = r.http;
    if (http !== undefined && typeof http.status_code === 'number') this.request(r, service, row, http.status_code);
    if (r.action === PERFORMANCE_ACTIONS.slowOperation || (r.event_type === 'performance' && overThreshold(r))) this.slowOperation(r, service, row);
  }

  private slowOperation(r: LogRecord, service: string, row: ServiceRow): void {
    const op = r.metadata?.operation;
    // Slow HTTP requests are named "GET /users/123" by classification: template the ids away.
    const label = typeof op === 'string' && op.length > 0 ? this.operations.value(op.includes('/') ? templateRoute(op) : op) : 'unknown';
    // The series by its label, held per service: a slow line (3% of the seed corpus) then makes
    // no label array and no NUL-joined key for MetricsRegistry.count.
    let c = row.slow.get(label);
    if (c === undefined) {
      c = this.metrics.count(PERFORMANCE_METRIC_NAMES.slowOperations, [service, label]);
      row.slow.set(label, c);
    }
    c.inc();
  }

  private request(r: LogRecord, service: string, row: ServiceRow, code: number): void {
    const http = r.http!;
    const valid = Number.isInteger(code) && code >= 100 && code <= 599;
    // the status label's index: the code or its class, 0 for "other" (no valid code or class is 0)
    const statusKey = !valid ? 0 : this.statusClass ? Math.floor(code / 100) : code;
    const method = methodIndex(http.method);
    const route = this.routeLabel(r, code);
    const series = this.seriesOf(service, row, method, route, statusKey);
    series.requests.inc();
    if (valid && code >= 500) (series.errors ??= this.metrics.count(PERFORMANCE_METRIC_NAMES.httpErrors, [service, METHOD_LABELS[method], route])).inc();
    // A request's latency: the access log's response time (ms), else the app request line's
    // `duration` (seconds, the seed's LogEntry), which is all the platform's app logs carry.
    const ms = http.response_time;
    if (typeof ms === 'number') {
      if (ms >= 0 && Number.isFinite(ms)) series.duration.observe(ms / 1000);
    } else if (typeof r.duration === 'number' && r.duration >= 0 && Number.isFinite(r.duration)) series.duration.observe(r.duration);
  }

  private seriesOf(service: string, row: ServiceRow, method: number, route: string, statusKey: number): RequestSeries {
    let byKey = row.routes.get(route);
    if (byKey === undefined) row.routes.set(route, (byKey = new Map()));
    // method index below 16, status key below 600
    const key = statusKey * 16 + method;
    let series = byKey.get(key);
    if (series === undefined) {
      const status = statusKey === 0 ? OVERFLOW_VALUE : this.statusClass ? STATUS_CLASSES[statusKey] : STATUS_CODES[statusKey];
      const methodLabel = METHOD_LABELS[method];
      series = {
        requests: this.metrics.count(PERFORMANCE_METRIC_NAMES.httpRequests, [service, methodLabel, route, status]),
        errors: undefined,
        duration: this.duration.series([service, methodLabel, route]),
      };
      byKey.set(key, series);
    }
    return series;
  }

  private routeLabel(r: LogRecord, code: number): string {
    const routes = this.routes;
    if (routes === null) return '';
    const http = r.http!;
    const raw = http.route ?? (http.path !== undefined ? templateRoute(http.path) : undefined);
    if (raw === undefined || raw.length === 0) return 'unknown';
    // Scanners probe thousands of paths that do not exist: they may use a route others made
    // known, never claim a new one.
    if (code === 404 || r.action === 'suspicious_request') return routes.known(raw);
    return routes.value(raw);
  }
}

/** The index in METHOD_LABELS of a method's label: a standard verb (as written or upper-cased), else unknown or other. */
function methodIndex(m: string | undefined): number {
  if (m === undefined) return METHOD_UNKNOWN;
  let i = verbIndex(m);
  if (i < 0) i = verbIndex(m.toUpperCase());
  return i >= 0 ? i : METHOD_OTHER;
}

/** The index of `m` in METHODS, -1 if it is none of them (a switch: no hashing of the line's string). */
function verbIndex(m: string): number {
  switch (m) {
    case 'GET': return 0;
    case 'HEAD': return 1;
    case 'POST': return 2;
    case 'PUT': return 3;
    case 'DELETE': return 4;
    case 'PATCH': return 5;
    case 'OPTIONS': return 6;
    case 'CONNECT': return 7;
    case 'TRACE': return 8;
    default: return -1;
  }
}

/** The index in LEVEL_LABELS of a record's level (LEVELS.length for anything else). */
function levelIndex(level: string): number {
  switch (level) {
    case 'TRACE': return 0;
    case 'DEBUG': return 1;
    case 'INFO': return 2;
    case 'WARN': return 3;
    case 'ERROR': return 4;
    case 'FATAL': return 5;
    default: return LEVELS.length;
  }
}

/** A performance event whose duration (seconds) exceeds its metadata.threshold (seconds). */
function overThreshold(r: LogRecord): boolean {
  const t = r.metadata?.threshold;
  return typeof r.duration === 'number' && typeof t === 'number' && r.duration > t;
}
