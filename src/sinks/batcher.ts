import type { Ack, LogEvent } from '../record.ts';

/** Anything that carries one ack reference; a sink may batch its own prepared form of an event. */
export interface Batchable {
  ack: Ack;
}

export interface BatcherOptions<E extends Batchable = LogEvent> {
  maxBytes: number;
  maxWait: number;
  maxInflight: number;
  /** Bytes an event adds to a batch (the encoded size estimate). */
  sizeOf(event: E): number;
  /**
   * Sends one batch and resolves once every event in it is final (the sink retries inside).
   * The batcher then releases the acks. Must not reject; a rejection is logged by the caller's
   * onBug and the batch is retried after a pause so nothing is lost.
   */
  send(batch: E[], bytes: number): Promise<void>;
  onBug(err: unknown): void;
  /**
   * Optional: called once when a batch is closed, before it waits for a send slot. A sink can
   * encode (and compress) it here and drop its per-event payloads, so batches queued behind a
   * slow destination cost their wire size rather than their object size.
   */
  seal?(batch: E[], bytes: number): void;
}

/**
 * Collects events into batches bounded by bytes and age, and keeps at most maxInflight sends
 * running. Batches wait in order; nothing here drops events, the global budget bounds them.
 */
export class Batcher<E extends Batchable = LogEvent> {
  private current: E[] = [];
  private currentBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly ready: Array<{ events: E[]; bytes: number }> = [];
  private inflight = 0;
  private queuedEvents = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly opts: BatcherOptions<E>;

  constructor(opts: BatcherOptions<E>) {
    this.opts = opts;
  }

  get queued(): number {
    return this.queuedEvents;
  }

  get inflightRequests(): number {
    return this.inflight;
  }

  add(event: E): void {
    const size = this.opts.sizeOf(event);
    if (this.current.length > 0 && this.currentBytes + size > this.opts.maxBytes) this.cut();
    this.current.push(event);
    this.currentBytes += size;
    this.queuedEvents++;
    if (this.currentBytes >= this.opts.maxBytes) this.cut();
    else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.cut();
      }, this.opts.maxWait);
    }
  }

  /** Closes the current batch now (shutdown, or size reached). */
  cut(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.current.length === 0) return;
    if (this.opts.seal) {
      try {
        this.opts.seal(this.current, this.currentBytes);
      } catch (err) {
        this.opts.onBug(err);
      }
    }
    this.ready.push({ events: this.current, bytes: this.currentBytes });
    this.current = [];
    this.currentBytes = 0;
    this.pump();
  }

  private pump(): void {
    while (this.inflight < this.opts.maxInflight && this.ready.length > 0) {
      const batch = this.ready.shift()!;
      this.inflight++;
      void this.run(batch.events, batch.bytes);
    }
  }

  private async run(events: E[], bytes: number): Promise<void> {
    for (;;) {
      try {
        await this.opts.send(events, bytes);
        break;
      } catch (err) {
        this.opts.onBug(err);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    for (let i = 0; i < events.length; i++) events[i].ack.release();
    this.queuedEvents -= events.length;
    this.inflight--;
    this.pump();
    if (this.inflight === 0 && this.ready.length === 0 && this.current.length === 0) {
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
