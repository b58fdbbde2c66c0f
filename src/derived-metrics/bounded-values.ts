import type { Counter } from 'prom-client';

/** The label value every value past a cap is counted under. */
export const OVERFLOW_VALUE = 'other';

/**
 * Keeps a label's value set bounded: the first `max` distinct values seen are label values,
 * every later one is "other". First-come admission (rather than LRU eviction) keeps the admitted
 * series stable: evicting one would reset its counter and churn the series under a flood of junk
 * values, which is exactly when the bound matters. The overflow is counted so it is visible.
 */
export class BoundedValues {
  private readonly admitted = new Set<string>();
  private readonly max: number;
  private readonly overflow: ReturnType<Counter<'label'>['labels']>;

  constructor(label: string, max: number, overflow: Counter<'label'>) {
    this.max = max;
    this.overflow = overflow.labels(label);
  }

  /** The label value for `v`: itself when admitted (or admissible), else "other". */
  value(v: string): string {
    if (this.admitted.has(v)) return v;
    if (this.admitted.size < this.max && v !== OVERFLOW_VALUE) {
      this.admitted.add(v);
      return v;
    }
    this.overflow.inc();
    return OVERFLOW_VALUE;
  }

  /** Like value() but never admits: known values pass, anything else is "other" (uncounted). */
  known(v: string): string {
    return this.admitted.has(v) ? v : OVERFLOW_VALUE;
  }

  get size(): number {
    return this.admitted.size;
  }
}
