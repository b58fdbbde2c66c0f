import type { Metric } from 'prom-client';
import type { MetricsRegistry } from '../self-metrics/registry.ts';

/**
 * A histogram family for per-line hot paths, exported exactly as prom-client's Histogram
 * exports one (same families, series, label order and values). prom-client's `observe` builds
 * and validates a label object and hashes it on every call — a large share of the CPU per
 * access-log line; here the caller looks a series up once (`series()`) and keeps it, and an
 * observation is a bucket search and three additions.
 *
 * It registers itself in the daemon's prom-client registry, which only needs `get()` /
 * `getForPromString()` and `reset()` from a metric.
 */
/** One exported sample, in prom-client's shape. */
interface Sample {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName: string;
  /** prom-client's buckets carry `exemplar: null` (no exemplars here); kept so the JSON form matches. */
  exemplar?: null;
}

/** A family's samples, in the shape prom-client's Registry formats. */
interface FamilySamples {
  name: string;
  help: string;
  type: 'histogram';
  values: Sample[];
  aggregator: 'sum';
}

export class LocalHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly labelNames: readonly string[];
  private readonly upperBounds: readonly number[];
  private readonly bySeries = new Map<string, HistogramSeries>();

  private constructor(name: string, help: string, labelNames: readonly string[], upperBounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.upperBounds = upperBounds;
  }

  /**
   * The family `name` of `metrics`: the one registered before (a reloaded stage keeps counting
   * into it), else a new one. `upperBounds` strictly increasing, without +Inf.
   */
  static family(metrics: MetricsRegistry, name: string, help: string, labelNames: readonly string[], upperBounds: readonly number[]): LocalHistogram {
    const existing: unknown = metrics.registry.getSingleMetric(name);
    if (existing instanceof LocalHistogram) return existing;
    if (existing !== undefined) metrics.registry.removeSingleMetric(name);
    const h = new LocalHistogram(name, help, labelNames, upperBounds);
    metrics.registry.registerMetric(h as unknown as Metric);
    return h;
  }

  /** The series for these label values (in labelNames order); the same object on every call. */
  series(values: readonly string[]): HistogramSeries {
    const key = values.length === 1 ? values[0] : values.join('\u0000');
    let s = this.bySeries.get(key);
    if (s === undefined) {
      const labels: Record<string, string> = {};
      for (let i = 0; i < this.labelNames.length; i++) labels[this.labelNames[i]] = values[i];
      s = new HistogramSeries(this.upperBounds, labels);
      this.bySeries.set(key, s);
    }
    return s;
  }

  /** What prom-client's Registry formats: bucket values carry `le`, the series labels are shared. */
  async getForPromString(): Promise<FamilySamples> {
    const bucketName = `${this.name}_bucket`;
    const values: Sample[] = [];
    for (const s of this.bySeries.values()) {
      // a prom-client series exists from its first observation on (and not after a reset)
      if (s.count === 0) continue;
      let acc = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        acc += s.buckets[i];
        values.push({ labels: { le: this.upperBounds[i] }, sharedLabels: s.labels, value: acc, metricName: bucketName, exemplar: null });
      }
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucketName, exemplar: null },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The JSON form (registry.getMetricsAsJSON): labels merged, as prom-client's Histogram.get(). */
  async get(): Promise<FamilySamples> {
    const data = await this.getForPromString();
    return { ...data, values: data.values.map(({ sharedLabels, labels, ...v }) => ({ ...v, labels: { ...labels, ...sharedLabels } })) };
  }

  reset(): void {
    for (const s of this.bySeries.values()) s.reset();
  }

  /** The bucket upper bounds (without +Inf). */
  get bounds(): readonly number[] {
    return this.upperBounds;
  }

  /** Every series with observations: label values (labelNames order), per-bucket counts, sum, count. */
  snapshot(): Array<{ values: string[]; buckets: number[]; sum: number; count: number }> {
    const out: Array<{ values: string[]; buckets: number[]; sum: number; count: number }> = [];
    for (const s of this.bySeries.values()) {
      if (s.count === 0) continue;
      out.push({ values: this.labelNames.map((n) => s.labels[n]), buckets: [...s.buckets], sum: s.sum, count: s.count });
    }
    return out;
  }

  /** Adds a snapshot's series (same bounds) to this family's. */
  restore(saved: { values: string[]; buckets: number[]; sum: number; count: number }): void {
    const s = this.series(saved.values);
    for (let i = 0; i < s.buckets.length; i++) s.buckets[i] += saved.buckets[i];
    s.sum += saved.sum;
    s.count += saved.count;
  }
}

/** One series: per-bucket (not cumulative) counts, sum and count. */
export class HistogramSeries {
  readonly labels: Record<string, string>;
  private readonly upperBounds: readonly number[];
  /** A plain array of numbers: counts past 2^31 stay exact, as prom-client's do. */
  readonly buckets: number[];
  sum = 0;
  count = 0;

  constructor(upperBounds: readonly number[], labels: Record<string, string>) {
    this.upperBounds = upperBounds;
    this.labels = labels;
    this.buckets = new Array<number>(upperBounds.length).fill(0);
  }

  /** `value` must be finite (the caller checks; prom-client would throw). */
  observe(value: number): void {
    const b = this.upperBounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]) {
        this.buckets[i]++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }

  reset(): void {
    this.buckets.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
