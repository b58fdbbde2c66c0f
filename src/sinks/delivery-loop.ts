import { Backoff, sleep as abortableSleep } from './retry.ts';

/**
 * What one response (or connection error) means for the request that was sent, as the sink
 * classified it. Per-item outcomes (an ES bulk response) are settled by the sink inside its
 * classifier: it counts the delivered items, dead-letters the refused ones, and answers `retry`
 * with a narrower request for the rest, or `delivered` when nothing is left.
 */
export type Verdict<R, T> =
  /** Every item is final: delivered, or rejected-and-counted by the sink (Loki's 400). */
  | { kind: 'delivered' }
  /** Try again later; `request` replaces the one sent (the items still to deliver). */
  | {
      kind: 'retry';
      /** The metric label: an HTTP status, `network`, `bad_response`. */
      status: string;
      reason: string;
      /** The server's Retry-After in milliseconds: waited when longer than the backoff. */
      retryAfterMs?: number;
      /** A wait the sink chose itself (a slow credentials retry) instead of the backoff's. */
      waitMs?: number;
      /** The server refused our credentials: the sink reports `auth_error` while this retries. */
      authError?: boolean;
      request?: R;
    }
  /** Give up on this request now, for a reason the sink's give-up handler understands. */
  | { kind: 'terminal'; status: string; terminal: T }
  /** Too large: send the parts in order instead (they inherit the give-up clock). */
  | { kind: 'split'; parts: R[] };

/** Why a request is given up: the sink's terminal verdict, or retries past `maxRetryDurationMs`. */
export type GiveUp<T> =
  | { cause: 'terminal'; terminal: T }
  | { cause: 'exhausted'; failingForMs: number; lastReason: string };

/** One failed attempt that will be retried, for the sink's stats, metrics and logs. */
export interface RetryNotice<R> {
  request: R;
  status: string;
  reason: string;
  /** 1 for the first retry of this request (split parts count on from their parent). */
  attempt: number;
  waitMs: number;
  /** The verdict's `authError`: carried with the request, as concurrent requests may differ. */
  authError: boolean;
}

export interface DeliveryLoopOptions<Res, R, T> {
  /** Builds and sends one request; a connection error is a response too (the sink's `Res`). */
  attempt(request: R): Promise<Res>;
  classify(request: R, response: Res): Verdict<R, T> | Promise<Verdict<R, T>>;
  /**
   * Dead-letter (or count) every item of the request. False when that failed (the dead-letter
   * file is not writable): the loop keeps the request and retries it, never dropping silently.
   */
  giveUp(request: R, why: GiveUp<T>): Promise<boolean>;
  onRetry?(notice: RetryNotice<R>): void;
  /** 0 = retry until accepted. */
  maxRetryDurationMs: number;
  /** Aborted at shutdown past the grace period: the request then never settles (no ack). */
  signal: AbortSignal;
  now?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Per-request options: the backoff to use (a sink may share one between requests). */
export interface DeliverOptions {
  backoff: Backoff;
}

/** A request's give-up clock, shared by the parts of a split request. */
interface Clock {
  firstFailure: number | null;
  retries: number;
}

/**
 * The one send/retry loop of the HTTP sinks (Vector's request builder + service + retry logic):
 * the sink builds and sends (`attempt`) and says what a response means (`classify`); the loop
 * waits, retries, splits and decides when to give up.
 *
 * Give-up rule (README "Loki sink" / "Elasticsearch sink"): with `maxRetryDurationMs` > 0, the
 * clock starts at a request's first retryable failure — or its parent's, for the parts of a split
 * request — and the last wait is shortened to end at the deadline: the first failure at or after
 * `firstFailure + maxRetryDurationMs` gives the request up. A terminal verdict gives it up at once.
 */
export class DeliveryLoop<Res, R, T> {
  private readonly o: DeliveryLoopOptions<Res, R, T>;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(options: DeliveryLoopOptions<Res, R, T>) {
    this.o = options;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? abortableSleep;
  }

  /** Resolves once every item of the request is final; never resolves after the abort. */
  deliver(request: R, options: DeliverOptions): Promise<void> {
    return this.run(request, options.backoff, { firstFailure: null, retries: 0 });
  }

  private async run(first: R, backoff: Backoff, clock: Clock): Promise<void> {
    const { signal, maxRetryDurationMs: max } = this.o;
    let request = first;
    for (;;) {
      if (signal.aborted) return parkForever();
      const response = await this.o.attempt(request);
      if (signal.aborted) return parkForever();
      const verdict = await this.o.classify(request, response);
      if (verdict.kind === 'delivered') {
        backoff.reset();
        return;
      }
      if (verdict.kind === 'split') {
        for (const part of verdict.parts) await this.run(part, backoff, clock);
        return;
      }
      let status: string;
      let reason: string;
      let wait: number;
      let authError = false;
      if (verdict.kind === 'terminal') {
        if (await this.o.giveUp(request, { cause: 'terminal', terminal: verdict.terminal })) return;
        status = verdict.status;
        reason = 'the request was refused for good and could not be dead-lettered';
        wait = backoff.next();
      } else {
        if (verdict.request !== undefined) request = verdict.request;
        status = verdict.status;
        reason = verdict.reason;
        authError = verdict.authError === true;
        const backoffWait = backoff.next(verdict.retryAfterMs);
        wait = verdict.waitMs ?? backoffWait;
      }
      const now = this.now();
      clock.firstFailure ??= now;
      if (max > 0) {
        const failingFor = now - clock.firstFailure;
        if (failingFor >= max && (await this.o.giveUp(request, { cause: 'exhausted', failingForMs: failingFor, lastReason: reason }))) return;
        // Past the deadline (giving up failed: the dead-letter file is not writable) the backoff
        // paces the retries instead of a zero wait spinning on the server and the disk.
        const deadline = clock.firstFailure + max;
        if (deadline > now) wait = Math.min(wait, deadline - now);
      }
      clock.retries++;
      this.o.onRetry?.({ request, status, reason, attempt: clock.retries, waitMs: wait, authError });
      await this.sleep(wait, signal);
    }
  }
}

/** After shutdown gave up on a request: never resolve, so its acks are never released. */
function parkForever(): Promise<never> {
  return new Promise<never>(() => {});
}
