import type { Ack, LogEvent } from '../core/record.ts';

/** Anything that carries one ack reference; a sink may batch its own prepared form of an event. */
export interface Batchable {
  ack: Ack;
}

/** Size and time bounds of a batch, and how many batches may be sending at once. */
export interface BatchLimits {
  maxBytes: number;
  maxWait: number;
  maxInflight: number;
}

/** The timers a BatchQueue arms (batch age, retry pause); a test passes a clock it moves by hand. */
export interface BatchTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const NODE_TIMERS: BatchTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface BatchQueueOptions<B> extends BatchLimits {
  /** A new, empty batch. */
  open(): B;
  /**
   * Optional: called once when a batch is closed, before it waits for a send slot. A sink can
   * encode (and compress) it here and drop its per-event payloads, so batches queued behind a
   * slow destination cost their wire size rather than their object size.
   */
  seal?(batch: B, bytes: number): void;
  /**
   * Sends one batch and resolves once every event in it is final (the sink retries inside).
   * Must not reject; a rejection is logged by onBug and the batch is retried after a pause so
   * nothing is lost.
   */
  send(batch: B, bytes: number): Promise<void>;
  /** Releases the acks of a batch whose send resolved. */
  settle(batch: B): void;
  onBug(err: unknown): void;
  /** Optional: the timers for the batch age and the retry pause (default: Node's). */
  timers?: BatchTimers;
}

interface ReadyBatch<B> {
  batch: B;
  bytes: number;
  items: number;
}

/**
 * Collects items into batches bounded by bytes and age, and keeps at most maxInflight sends
 * running. Batches wait in order; nothing here drops items, the global budget bounds them.
 *
 * The batch itself is the sink's own type (an array of events, or bytes already encoded for the
 * destination): the caller asks for the open batch with `reserve(size)`, appends to it, and
 * reports what it appended with `added(size)`.
 */
export class BatchQueue<B> {
  private current: B | null = null;
  private currentBytes = 0;
  private currentItems = 0;
  private timer: unknown = null;
  private readonly ready: Array<ReadyBatch<B>> = [];
  private inflight = 0;
  private queuedItems = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly opts: BatchQueueOptions<B>;
  private readonly timers: BatchTimers;

  constructor(opts: BatchQueueOptions<B>) {
    this.opts = opts;
    this.timers = opts.timers ?? NODE_TIMERS;
  }

  /** Items added and not yet settled (open, waiting and sending batches). */
  get queued(): number {
    return this.queuedItems;
  }

  get inflightRequests(): number {
    return this.inflight;
  }

  /** Bytes reported for the open batch so far (what `reserve` compares with maxBytes). */
  get openBytes(): number {
    return this.currentBytes;
  }

  /**
   * The open batch to append an item of about `size` bytes to: the current batch is closed
   * first when the item would take it over maxBytes (a batch always takes at least one item).
   */
  reserve(size: number): B {
    if (this.currentItems > 0 && this.currentBytes + size > this.opts.maxBytes) this.cut();
    return (this.current ??= this.opts.open());
  }

  /** Records that one item of `size` bytes was appended to the batch `reserve` returned. */
  added(size: number): void {
    this.currentBytes += size;
    this.currentItems++;
    this.queuedItems++;
    if (this.currentBytes >= this.opts.maxBytes) this.cut();
    else if (this.timer === null) this.timer = this.timers.setTimeout(this.onMaxWait, this.opts.maxWait);
  }

  /**
   * The batch-age timer's callback, made once: an arrow written inside added() would make every
   * call of it (one per line) allocate a context for `this`, timer armed or not.
   */
  private readonly onMaxWait = (): void => {
    this.timer = null;
    this.cut();
  };

  /** Closes the current batch now (shutdown, or size reached). */
  cut(): void {
    if (this.timer !== null) {
      this.timers.clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.current;
    if (batch === null || this.currentItems === 0) return;
    if (this.opts.seal) {
      try {
        this.opts.seal(batch, this.currentBytes);
      } catch (err) {
        this.opts.onBug(err);
      }
    }
    this.ready.push({ batch, bytes: this.currentBytes, items: this.currentItems });
    this.current = null;
    this.currentBytes = 0;
    this.currentItems = 0;
    this.pump();
  }

  private pump(): void {
    while (this.inflight < this.opts.maxInflight && this.ready.length > 0) {
      const next = this.ready.shift()!;
      this.inflight++;
      void this.run(next);
    }
  }

  private async run(r: ReadyBatch<B>): Promise<void> {
    for (;;) {
      try {
        await this.opts.send(r.batch, r.bytes);
        break;
      } catch (err) {
        this.opts.onBug(err);
        await new Promise<void>((res) => this.timers.setTimeout(res, 1000));
      }
    }
    this.opts.settle(r.batch);
    this.queuedItems -= r.items;
    this.inflight--;
    this.pump();
    if (this.inflight === 0 && this.ready.length === 0 && this.currentItems === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Cuts the open batch and resolves when everything is final, or at the deadline (false). */
  async drain(deadline: number): Promise<boolean> {
    this.cut();
    if (this.inflight === 0 && this.ready.length === 0) return true;
    const idle = new Promise<boolean>((r) => this.idleWaiters.push(() => r(true)));
    const wait = Math.max(0, deadline - Date.now());
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => { t = setTimeout(() => r(false), wait); });
    const ok = await Promise.race([idle, timeout]);
    clearTimeout(t);
    return ok;
  }
}

export interface BatcherOptions<E extends Batchable = LogEvent> extends BatchLimits {
  /** Bytes an event adds to a batch (the encoded size estimate). */
  sizeOf(event: E): number;
  /**
   * Sends one batch and resolves once every event in it is final (the sink retries inside).
   * The batcher then releases the acks. Must not reject (see BatchQueueOptions.send).
   */
  send(batch: E[], bytes: number): Promise<void>;
  onBug(err: unknown): void;
  /** Optional: called once when a batch is closed (see BatchQueueOptions.seal). */
  seal?(batch: E[], bytes: number): void;
  /** Optional: see BatchQueueOptions.timers. */
  timers?: BatchTimers;
}

/** A BatchQueue whose batches are arrays of events, each released after its batch was sent. */
export class Batcher<E extends Batchable = LogEvent> {
  private readonly q: BatchQueue<E[]>;
  private readonly sizeOf: (event: E) => number;

  constructor(opts: BatcherOptions<E>) {
    this.sizeOf = opts.sizeOf;
    this.q = new BatchQueue<E[]>({
      maxBytes: opts.maxBytes,
      maxWait: opts.maxWait,
      maxInflight: opts.maxInflight,
      open: () => [],
      seal: opts.seal,
      send: opts.send,
      settle: (events) => {
        for (let i = 0; i < events.length; i++) events[i].ack.release();
      },
      onBug: opts.onBug,
      timers: opts.timers,
    });
  }

  get queued(): number {
    return this.q.queued;
  }

  get inflightRequests(): number {
    return this.q.inflightRequests;
  }

  add(event: E): void {
    const size = this.sizeOf(event);
    this.q.reserve(size).push(event);
    this.q.added(size);
  }

  cut(): void {
    this.q.cut();
  }

  drain(deadline: number): Promise<boolean> {
    return this.q.drain(deadline);
  }
}
