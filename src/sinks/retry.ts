import type { RetryConfig } from './http-config.ts';

/**
 * Exponential backoff with full jitter (AWS architecture blog's "full jitter"): the n-th wait is
 * uniform in [min/2, min(max, min·2ⁿ)], so a fleet of shippers does not retry in lockstep
 * after a Loki/ES outage. A server's Retry-After wins when it asks for longer.
 */
export class Backoff {
  private attempt = 0;
  private readonly min: number;
  private readonly max: number;
  private readonly random: () => number;

  constructor(cfg: Pick<RetryConfig, 'min_backoff' | 'max_backoff'>, random: () => number = Math.random) {
    this.min = Math.max(1, cfg.min_backoff);
    this.max = Math.max(this.min, cfg.max_backoff);
    this.random = random;
  }

  get attempts(): number {
    return this.attempt;
  }

  /** Milliseconds to wait before the next try. */
  next(retryAfterMs?: number): number {
    const cap = Math.min(this.max, this.min * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const jittered = this.min / 2 + this.random() * (cap - this.min / 2);
    return retryAfterMs !== undefined && retryAfterMs > jittered ? Math.min(retryAfterMs, this.max) : Math.round(jittered);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** A cancellable sleep: resolves early when the signal aborts (shutdown past the grace period). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', done);
      clearTimeout(t);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
