import { LRUCache } from 'lru-cache';
import type { Counter } from 'prom-client';

/** Anything prom-client can remove a series from by label values. */
export interface SeriesOwner {
  remove(...values: string[]): void;
}

/**
 * Bounds one metric family's series: at most `maxSeries` label sets (an lru-cache: admitting
 * one more removes the least recently updated series from the family) and, with `idleMs` > 0,
 * series not updated for that long are removed at the next scrape. Removing a counter series is
 * a counter reset to Prometheus, which rate() and increase() handle.
 */
export class SeriesCap {
  private readonly series: LRUCache<string, string[]>;
  private readonly owner: SeriesOwner;

  constructor(opts: { metric: string; maxSeries: number; idleMs: number; owner: SeriesOwner; evicted: Counter<'metric' | 'reason'>; perf?: { now(): number } }) {
    this.owner = opts.owner;
    const byReason = { evict: opts.evicted.labels(opts.metric, 'max_series'), expire: opts.evicted.labels(opts.metric, 'idle') };
    this.series = new LRUCache<string, string[]>({
      max: opts.maxSeries,
      ...(opts.idleMs > 0 ? { ttl: opts.idleMs, updateAgeOnGet: true, ttlAutopurge: false, allowStale: false } : {}),
      // An injected clock is read on every check: lru-cache's default caches a reading for 1 ms
      // of real time, which would hide a manual clock's step.
      ...(opts.perf ? { perf: opts.perf, ttlResolution: 0 } : {}),
      dispose: (values, _key, reason) => {
        if (reason !== 'evict' && reason !== 'expire') return;
        this.owner.remove(...values);
        byReason[reason].inc();
      },
    });
  }

  /**
   * Marks the series `values` as updated now, admitting it (and evicting the least recently
   * updated one when full). `key` must identify `values` (e.g. their join with NUL); `values`
   * is copied only when the series is new.
   */
  touch(key: string, values: readonly string[]): void {
    if (this.series.get(key) === undefined) this.series.set(key, values.slice());
  }

  /** Removes series idle for longer than the expiry; called at scrape time. */
  expire(): void {
    this.series.purgeStale();
  }

  get size(): number {
    return this.series.size;
  }
}
