import { LRUCache } from 'lru-cache';

/** The longest source key kept (an IPv6 address with zone fits); longer "addresses" are ignored. */
const MAX_SOURCE_LENGTH = 64;

/** Failure history of one source: the times of its last `threshold` failures, in a ring. */
class SourceFailures {
  /** A plain array of doubles: on the JS heap (a small Float64Array would put each ring in malloc'd memory). */
  readonly times: number[];
  /** Next slot to write: after `threshold` writes, the oldest remembered failure. */
  next = 0;
  seen = 0;
  /** Set when the source crossed the threshold; cleared when a failure finds it below again. */
  over = false;
  /** Failures since the source crossed the threshold (counting the `threshold` that crossed it). */
  burst = 0;
  constructor(threshold: number) {
    this.times = new Array<number>(threshold).fill(0.5);
  }
  /** Time of the newest failure. */
  newest(): number {
    const n = this.times.length;
    return this.times[(this.next + n - 1) % n];
  }
  /** Time of the oldest of the last `threshold` failures (meaningful once seen >= threshold). */
  oldest(): number {
    return this.times[this.next];
  }
}

export interface Detection {
  source: string;
  /** Failures counted: the threshold. */
  failures: number;
  /** Epoch ms of the first and last failure of the burst that crossed the threshold. */
  firstFailure: number;
  lastFailure: number;
}

export interface BruteForceOptions {
  threshold: number;
  /** Milliseconds. */
  window: number;
  maxSources: number;
}

/**
 * Sliding-window failed-login counting per source IP. A source is over the threshold at time T
 * when at least `threshold` of its failures lie in (T - window, T]. Each source keeps only the
 * times of its last `threshold` failures, and at most `maxSources` sources are kept (an
 * lru-cache: the source that failed least recently is forgotten first), so memory is bounded by
 * maxSources × threshold whatever the number of distinct addresses.
 *
 * Time is the failure's event time (the log timestamp), so catching up on an hour of old logs
 * does not compress it into a false burst; the "currently over" view uses the wall clock.
 */
export class BruteForceDetector {
  private readonly threshold: number;
  private readonly window: number;
  private readonly sources: LRUCache<string, SourceFailures>;
  /** Sources whose `over` flag is set; a subset of `sources` (evicted ones leave it). */
  private readonly overSources = new Set<string>();
  private readonly free: SourceFailures[] = [];

  constructor(opts: BruteForceOptions) {
    this.threshold = opts.threshold;
    this.window = opts.window;
    this.sources = new LRUCache<string, SourceFailures>({
      max: opts.maxSources,
      dispose: (value, key, reason) => {
        if (reason === 'set') return;
        this.overSources.delete(key);
        // Reuse evicted rings: under a flood of new addresses the cache churns at full size.
        if (this.free.length < 64) this.free.push(value);
      },
    });
  }

  /**
   * Records a failed login from `source` at `time` (epoch ms). Returns a Detection when this
   * failure takes the source over the threshold; a source stays detected (no new detection)
   * until a later failure finds it below the threshold again.
   */
  failure(source: string, time: number, count = 1): Detection | null {
    if (source.length === 0 || source.length > MAX_SOURCE_LENGTH) return null;
    // N failures at one time (a "message repeated N times" line): past `threshold` of them the
    // ring holds the same times; the rest only lengthen the burst.
    let detection: Detection | null = null;
    const rounds = Math.min(count, this.threshold);
    for (let i = 0; i < rounds; i++) detection = this.one(source, time) ?? detection;
    if (count > rounds) {
      const s = this.sources.peek(source);
      if (s !== undefined && s.over) s.burst += count - rounds;
    }
    return detection;
  }

  private one(source: string, time: number): Detection | null {
    let s = this.sources.get(source);
    if (s === undefined) {
      s = this.free.pop();
      if (s === undefined) s = new SourceFailures(this.threshold);
      else { s.next = 0; s.seen = 0; s.over = false; s.burst = 0; }
      this.sources.set(source, s);
    }
    s.times[s.next] = time;
    s.next = (s.next + 1) % this.threshold;
    if (s.seen < this.threshold) s.seen++;
    const over = s.seen === this.threshold && time - s.oldest() < this.window;
    if (!over) {
      if (s.over) {
        s.over = false;
        s.burst = 0;
        this.overSources.delete(source);
      }
      return null;
    }
    if (s.over) {
      s.burst++;
      return null;
    }
    s.over = true;
    s.burst = this.threshold;
    this.overSources.add(source);
    return { source, failures: this.threshold, firstFailure: s.oldest(), lastFailure: time };
  }

  /** Whether `s` still has `threshold` failures within the window ending at `now`. */
  private currentlyOver(s: SourceFailures, now: number): boolean {
    return s.over && now - s.oldest() < this.window && s.newest() <= now + this.window;
  }

  /** Sources over the threshold at `now` (epoch ms). Read-only: detection state is event-time. */
  overThreshold(now: number): number {
    let n = 0;
    for (const key of this.overSources) {
      const s = this.sources.peek(key);
      if (s !== undefined && this.currentlyOver(s, now)) n++;
    }
    return n;
  }

  /** The `k` sources over the threshold at `now` with the most failures in their current burst. */
  top(k: number, now: number): Array<{ source: string; failures: number }> {
    const out: Array<{ source: string; failures: number }> = [];
    for (const key of this.overSources) {
      const s = this.sources.peek(key);
      if (s === undefined || !this.currentlyOver(s, now)) continue;
      out.push({ source: key, failures: s.burst });
    }
    out.sort((a, b) => b.failures - a.failures || (a.source < b.source ? -1 : 1));
    if (out.length > k) out.length = k;
    return out;
  }

  /**
   * The `k` remembered sources with the most failed logins at `now`, over the threshold or not:
   * a source over it counts its current burst, any other the failures it remembers within the
   * window (at most threshold - 1). Reads every remembered source: for scrapes, not per line.
   */
  topByFailures(k: number, now: number): Array<{ source: string; failures: number; over: boolean }> {
    const out: Array<{ source: string; failures: number; over: boolean }> = [];
    if (k <= 0) return out;
    const from = now - this.window;
    for (const [key, s] of this.sources.entries()) {
      if (this.currentlyOver(s, now)) {
        out.push({ source: key, failures: s.burst, over: true });
        continue;
      }
      let n = 0;
      for (let i = 0; i < s.seen; i++) {
        const t = s.times[i];
        if (t > from && t <= now + this.window) n++;
      }
      if (n > 0) out.push({ source: key, failures: n, over: false });
    }
    out.sort((a, b) => b.failures - a.failures || (a.source < b.source ? -1 : 1));
    if (out.length > k) out.length = k;
    return out;
  }

  /** Sources currently remembered (at most maxSources). */
  get tracked(): number {
    return this.sources.size;
  }
}
