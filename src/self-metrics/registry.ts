import { Counter, Gauge, Histogram, Registry, registerDefaultMetrics } from './prom-client.ts';

/**
 * The daemon's one Prometheus registry. Modules ask for their metric families by name; asking
 * twice returns the same family, so a reloaded sink or a second tailer never double-registers.
 * Self-metrics are prefixed `logship_`; derived metrics use their documented names.
 */
export class MetricsRegistry {
  readonly registry = new Registry();
  /** Per counter family: its series counted locally, by label values joined with NUL. */
  private readonly local = new Map<string, Map<string, LocalCount>>();
  /** Per shared gauge family: the owners' fill functions (see sharedGauge). */
  private readonly fillers = new Map<string, Set<() => void>>();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) {
      // The event-loop lag sampler wakes the process every `precision` ms (prom-client's 10 ms
      // default alone kept an idle daemon at ~0.7% of a core); one sample a second still shows a
      // blocked loop, and logship runs on every host.
      registerDefaultMetrics(this.registry, { eventLoopMonitoringPrecision: 1000 });
      // prom-client exports these gauges with a "_total" suffix, which promtool flags; the
      // per-type nodejs_active_{handles,requests,resources} gauges carry the same numbers.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    }
  }

  counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Counter<L>;
    // Series counted locally (see `count`) are added to the family whenever it is read.
    return new Counter<L>({ name, help, labelNames, registers: [this.registry], collect: () => this.flush(name) });
  }

  /**
   * One series of the counter family `name` (created by `counter()` first) for per-line hot
   * paths: `inc` adds to a plain number, which is added to the prom-client series whenever the
   * family is read (scrape, `metrics()`, `get()`), so a line costs no label hashing or prom-client
   * bookkeeping. Asking twice for the same series returns the same counter. Label values are in
   * the family's label order.
   */
  count(name: string, values: readonly string[]): LocalCounter {
    const family = this.registry.getSingleMetric(name);
    if (!(family instanceof Counter)) throw new Error(`count(): no counter family ${name}`);
    let series = this.local.get(name);
    if (series === undefined) {
      series = new Map();
      this.local.set(name, series);
    }
    const key = values.length === 1 ? values[0] : values.join('\u0000');
    let c = series.get(key);
    if (c === undefined) {
      const child = family.labels(...values);
      // The series is exported from now on, at 0 until its first count is flushed: a series
      // made ahead of its first count (zeroSeries) gives Prometheus the 0 that increase() needs.
      child.inc(0);
      c = new LocalCount(child);
      series.set(key, c);
    }
    return c;
  }

  /**
   * A counter family labelled by `source` alone (registered on first use) and that source's
   * series of it, counted locally (see `count`): what every per-source counter of the sources is.
   */
  sourceCount(name: string, help: string, source: string): LocalCounter {
    this.counter(name, help, ['source']);
    return this.count(name, [source]);
  }

  /**
   * Every series of the counter family `name` counted through `count`, with its total (flushed
   * or not): what a checkpoint saves. Restore a total with `count(name, values).inc(total)`.
   */
  countedSeries(name: string): Array<{ values: string[]; total: number }> {
    const series = this.local.get(name);
    if (series === undefined) return [];
    const out: Array<{ values: string[]; total: number }> = [];
    for (const [key, c] of series) out.push({ values: key.split('\u0000'), total: c.total });
    return out;
  }

  private flush(name: string): void {
    const series = this.local.get(name);
    if (series === undefined) return;
    for (const c of series.values()) c.flush();
  }

  gauge<L extends string = string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (this: Gauge<L>) => void): Gauge<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Gauge<L>;
    return new Gauge<L>({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  /**
   * A gauge family whose series several owners fill when it is read (each file source its files):
   * on every read the family is reset, then each owner's `fill` sets its series, so the series of
   * a file gone or an owner removed disappear. Returns the family and the function that removes
   * `fill` (an owner that stops).
   */
  sharedGauge<L extends string = string>(name: string, help: string, labelNames: readonly L[], fill: () => void): { gauge: Gauge<L>; remove(): void } {
    let fills = this.fillers.get(name);
    if (fills === undefined) {
      const all = new Set<() => void>();
      fills = all;
      this.fillers.set(name, all);
      this.gauge<L>(name, help, labelNames, function () {
        this.reset();
        for (const f of all) f();
      });
    }
    const set = fills;
    set.add(fill);
    return { gauge: this.registry.getSingleMetric(name) as Gauge<L>, remove: () => set.delete(fill) };
  }

  histogram<L extends string = string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Histogram<L>;
    return new Histogram<L>({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) });
  }

  remove(name: string): void {
    this.flush(name);
    this.local.delete(name);
    this.registry.removeSingleMetric(name);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * The series of a two-label counter family (created by `counter()` first), found by their two
 * label values with two Map lookups: per-line callers build no key string.
 */
export class CounterTable {
  private readonly rows = new Map<string, Map<string, LocalCounter>>();
  private readonly metrics: MetricsRegistry;
  private readonly name: string;

  constructor(metrics: MetricsRegistry, name: string) {
    this.metrics = metrics;
    this.name = name;
  }

  get(a: string, b: string): LocalCounter {
    let row = this.rows.get(a);
    if (row === undefined) {
      row = new Map();
      this.rows.set(a, row);
    }
    let c = row.get(b);
    if (c === undefined) {
      c = this.metrics.count(this.name, [a, b]);
      row.set(b, c);
    }
    return c;
  }
}

/** A counter series incremented on a hot path; see MetricsRegistry.count. */
export interface LocalCounter {
  inc(n?: number): void;
  /** Everything counted into this series (flushed or not). */
  readonly total: number;
}

class LocalCount implements LocalCounter {
  private pending = 0;
  /** What was flushed into the prom-client series so far. */
  private flushed = 0;
  private readonly series: { inc(n: number): void };

  constructor(series: { inc(n: number): void }) {
    this.series = series;
  }

  inc(n = 1): void {
    this.pending += n;
  }

  /** Everything counted into this series. */
  get total(): number {
    return this.flushed + this.pending;
  }

  flush(): void {
    if (this.pending === 0) return;
    const n = this.pending;
    this.pending = 0;
    this.flushed += n;
    this.series.inc(n);
  }
}
