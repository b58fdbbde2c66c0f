/**
 * A clock a test moves by hand, for code that takes its timers or its clock through an options
 * object (BatchQueue's `timers`, SeriesCap's `perf`). Nothing fires on its own: `advance(ms)` runs
 * the timers that fall due, in due order (ties in the order they were set), each seeing `now()` at
 * its due time. So a timing test states exactly what happens at which millisecond, and a loaded
 * machine cannot reorder it.
 */
export class ManualClock {
  private current: number;
  private nextHandle = 1;
  private readonly pending = new Map<number, { due: number; fn: () => void }>();

  constructor(startMs = 0) {
    this.current = startMs;
  }

  readonly now = (): number => this.current;

  readonly setTimeout = (fn: () => void, ms: number): number => {
    const handle = this.nextHandle++;
    this.pending.set(handle, { due: this.current + Math.max(0, ms), fn });
    return handle;
  };

  readonly clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };

  /** Timers set and not yet run or cleared. */
  get timers(): number {
    return this.pending.size;
  }

  /** Moves the clock `ms` forward, running every timer due by then (also ones those timers set). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next = -1;
      let due = Infinity;
      for (const [handle, timer] of this.pending) {
        if (timer.due <= target && timer.due < due) {
          next = handle;
          due = timer.due;
        }
      }
      if (next < 0) break;
      const timer = this.pending.get(next)!;
      this.pending.delete(next);
      this.current = due;
      timer.fn();
    }
    this.current = target;
  }
}

/**
 * Resolves once every promise continuation already queued has run (a macrotask turn: Node runs
 * all microtasks before it). For awaiting work that is chained on promises only, without a sleep.
 */
export function microtasksSettled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
