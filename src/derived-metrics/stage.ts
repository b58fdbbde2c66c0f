import type { MetricsRegistry } from '../self-metrics/registry.ts';
import type { LogEvent } from '../core/record.ts';
import type { EmitEvent, Stage } from '../core/stage.ts';
import { BoundedValues } from './bounded-values.ts';
import type { DerivedMetricsCheckpoint } from './checkpoint.ts';
import type { DerivedMetricsConfig } from './config.ts';
import { PerformanceMetrics } from './performance.ts';
import type { BruteForceStatus } from '../core/status.ts';
import { SecurityMetrics } from './security.ts';

/** Self-metric: label values counted as "other" because their cap was reached. */
export const LABEL_OVERFLOW_METRIC = 'logship_derived_label_overflow_total';

/**
 * Every record field (dotted path) the derived metrics read, `source` aside: a pipeline worker
 * that rendered a record sends the main thread only these (and the sinks' fields) when nothing
 * else there reads the record (README "Pipeline workers"). Keep in step with performance.ts and
 * security.ts: test/workers/daemon-workers.test.ts compares /metrics with and without workers.
 */
export const DERIVED_METRICS_RECORD_FIELDS: readonly string[] = [
  'timestamp', 'service', 'level', 'duration', 'event_type', 'action', 'ip_address', 'user_id',
  'http.status_code', 'http.method', 'http.route', 'http.path', 'http.response_time',
  'metadata.repeat_count', 'metadata.threat', 'metadata.operation', 'metadata.threshold',
];

/**
 * The built-in derived metrics as the last pipeline stage: it observes every record that the
 * configured stages let through (after classification), never changes or drops it, and emits a
 * `security` record for each brute-force detection.
 */
export class DerivedMetricsStage implements Stage {
  readonly name = 'derived_metrics';
  private readonly services: BoundedValues;
  private readonly security: SecurityMetrics | null;
  private readonly performance: PerformanceMetrics | null;
  private readonly checkpoint: DerivedMetricsCheckpoint | null;

  /**
   * `knownServices`: the services named in the config (each source's `service`). Their counter
   * series that need no other label from a record are exported at 0 from the start: a series
   * that first appears with its first count hides that count from `increase()`/`rate()`, so a
   * burst right after logship starts (or on a service's first attack) would never alert.
   */
  constructor(cfg: DerivedMetricsConfig, deps: { metrics: MetricsRegistry; now?: () => number; knownServices?: readonly string[]; checkpoint?: DerivedMetricsCheckpoint }) {
    this.checkpoint = deps.checkpoint ?? null;
    const overflow = deps.metrics.counter(LABEL_OVERFLOW_METRIC, 'Values of a derived-metric label counted as "other" because the label reached its cap (max_services, max_routes, max_operations), by label.', ['label']);
    this.services = new BoundedValues('service', cfg.max_services, overflow);
    this.security = cfg.security.enabled ? new SecurityMetrics(cfg.security, deps) : null;
    this.performance = cfg.performance.enabled ? new PerformanceMetrics(cfg.performance, { metrics: deps.metrics, overflow }) : null;
    for (const name of new Set(deps.knownServices ?? [])) {
      const service = this.services.value(name);
      this.security?.zeroSeries(service);
      this.performance?.zeroSeries(service);
    }
  }

  /** The brute-force detector's figures (null when it is off), for /api/status. */
  bruteForceStatus(): BruteForceStatus | null {
    return this.security?.bruteForceStatus() ?? null;
  }

  process(event: LogEvent, emit?: EmitEvent): LogEvent {
    // a line re-read after a restart or reload that the metrics counted already
    if (this.checkpoint !== null && this.checkpoint.alreadyCounted(event)) return event;
    const service = this.services.value(event.record.service);
    this.performance?.observe(event.record, service);
    this.security?.observe(event, service, emit);
    return event;
  }
}
