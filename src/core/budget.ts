import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { size } from './config-fields.ts';

/** The `memory:` section. */
export const memoryConfigSchema = z.strictObject({
  /**
   * Global budget over read-but-unacknowledged bytes; readers pause when it is spent. What it
   * charges: each line's bytes + 128 B (twice its bytes when its read chunk is not ASCII) from the
   * read until every sink acknowledged it, the read buffers a tailer holds and up to an eighth of
   * the limit of buffers kept for reuse, journal entries and syslog messages as V8 holds them.
   * How that compares with what is held (bench/RESULTS.md, "Memory: the budget's queue and what
   * it holds"): it binds only while a sink is slower than the reading (at full speed into a sink
   * that keeps up, 1–6 MiB are in use); with Loki down and 16 MiB charged a heap snapshot holds
   * ~8 MiB of buffers for it (the lines are encoded into batches as they arrive), so the charge is
   * an upper bound for the lines; it is checked before each read, so the lines of the reads in
   * flight land over it (18–27 MiB in use at the highest while draining with 16). It does not
   * count the sinks' own copies (a batch's compressed body and request, and the Buffers of sent
   * batches until the GC frees them: external memory 25–31 MiB while draining whatever the
   * limit), the heap's slack, per-file state (~8 KiB of heap per watched file) or the code.
   * Hence 16 MiB: 1 GiB over 1,000 files with the sink down 30 s peaked at 126–130 MiB during
   * the outage and 162–163 over the run with 4, 8 or 16 MiB alike; 16 keeps the sinks' batches
   * full (2 × 1 MiB Loki, 2 × 2 MiB Elasticsearch in flight) and costs nothing at full speed.
   */
  max_buffer_bytes: size().default(16 * 1024 * 1024),
}).default({ max_buffer_bytes: 16 * 1024 * 1024 });

/**
 * Free room per queued waiter woken (see ByteBudget.onRoom): about a read chunk of a
 * tailer (256 KiB) and the lines it charges from it; a few more woken than fit costs a look each.
 */
const WAKE_SHARE = 256 * 1024;
/** How soon the next queued waiters are woken when room stayed free after the last ones. */
const WAKE_RETRY_MS = 50;

/** A character beyond Latin-1: V8 then stores the whole string two bytes per character. */
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;

/**
 * The bytes V8 holds for `text`'s characters: one per character when every character is
 * Latin-1 (a one-byte string), else two (a two-byte string). For what a budget charges for a
 * decoded message; one scan of the text, so not for per-line paths that know their raw bytes.
 */
export function heldStringBytes(text: string): number {
  return BEYOND_LATIN1.test(text) ? 2 * text.length : text.length;
}

/**
 * One global byte budget over everything read but not yet acknowledged by every sink
 * (read buffers, records in the pipeline, unacknowledged batches). When it is spent the
 * tailers stop reading: the files on disk are the buffer, so memory stays flat while a sink
 * is down. A single line larger than the whole budget is still let through when nothing else
 * is held, so a huge line can never wedge the daemon.
 */
export class ByteBudget extends EventEmitter {
  readonly limit: number;
  private used = 0;
  /**
   * One promise shared by everyone waiting for room, so waiting allocates nothing new. A caller
   * must subscribe to it once per pause, not race it against a timer on every wake-up: each
   * `Promise.race` leaves a reaction on this promise until room frees (313 B each, measured; 1,000
   * files paused through a 60 s outage, woken once a second, hold ~18 MiB of them).
   */
  private room: { promise: Promise<void>; resolve: () => void } | null = null;
  /**
   * The many that wait for room (file tailers, see onRoom), oldest first: a Set keeps insertion
   * order and holds a waiter once however often it asks.
   */
  private readonly queue = new Set<() => void>();
  /** Armed while room and queued waiters are both there (see wakeQueued). */
  private queueTimer: NodeJS.Timeout | null = null;
  private readonly onQueueTimer = (): void => {
    this.queueTimer = null;
    if (this.hasRoom()) this.wakeQueued();
  };
  /** Read buffers given back, kept for the next read (see takeReadBuffer); charged while kept. */
  private readonly spareBuffers: Buffer[] = [];
  private spareBytes = 0;
  private pausedSince = 0;
  /** Seconds spent with the budget exhausted (feeds logship_backpressure_seconds_total). */
  pausedSeconds = 0;

  constructor(limit: number) {
    super();
    this.limit = limit;
  }

  get inUse(): number {
    return this.used;
  }

  hasRoom(): boolean {
    return this.used < this.limit;
  }

  acquire(bytes: number): void {
    this.used += bytes;
    if (this.used >= this.limit && this.pausedSince === 0) this.pausedSince = performance.now();
  }

  release(bytes: number): void {
    this.used -= bytes;
    if (this.used < 0) this.used = 0;
    if (this.used < this.limit) {
      if (this.pausedSince !== 0) {
        this.pausedSeconds += (performance.now() - this.pausedSince) / 1000;
        this.pausedSince = 0;
      }
      const room = this.room;
      if (room !== null) {
        this.room = null;
        room.resolve();
      }
      if (this.queue.size > 0) this.wakeQueued();
    }
  }

  /**
   * Calls `wake` once there is room (now, if there is): for the many readers of one source that
   * would otherwise all resume at once (file tailers). Queued waiters are woken oldest first and
   * a few at a time, about one per WAKE_SHARE of free room: 1,000 files paused behind a sink
   * outage, all woken by every ack that freed room, each looked at its file (fstat, fingerprint
   * read), most found the room taken and paused again, and that churn (promises, Stats, buffers
   * per file per ack) set the draining peak. A waiter is held once however often it asks;
   * cancelRoom() takes it out. While room and waiters are both there one timer wakes the next
   * few every WAKE_RETRY_MS, so a woken waiter that had nothing to read never strands the rest.
   */
  onRoom(wake: () => void): void {
    if (this.hasRoom()) {
      wake();
      return;
    }
    this.queue.add(wake);
  }

  /** Takes a waiter out of the queue (it found room by itself, or it stopped). */
  cancelRoom(wake: () => void): void {
    this.queue.delete(wake);
  }

  private wakeQueued(): void {
    let n = Math.max(1, Math.floor((this.limit - this.used) / WAKE_SHARE));
    for (const wake of this.queue) {
      if (n-- === 0) break;
      this.queue.delete(wake);
      wake();
    }
    if (this.queue.size > 0 && this.queueTimer === null && this.hasRoom()) {
      this.queueTimer = setTimeout(this.onQueueTimer, WAKE_RETRY_MS);
      this.queueTimer.unref();
    }
  }

  /**
   * Resolves once there is room again (immediately if there is), for a waiter that stands for a
   * whole source (a receiver, the journal): every such waiter is resolved at once. The file
   * tailers, a thousand of one source, queue with onRoom().
   */
  waitForRoom(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    if (this.room === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.room = { promise, resolve };
    }
    return this.room.promise;
  }

  /**
   * A read buffer of `bytes`, charged to the budget until given back: the buffers a reader
   * holds are memory like the lines it read, and charging them makes the budget bound how many
   * readers hold one at once. Given-back buffers are reused (no allocation, no wait for the GC
   * to free the old one) and stay charged while kept, up to an eighth of the limit; beyond
   * that they are let go.
   */
  takeReadBuffer(bytes: number): Buffer {
    const i = this.spareBuffers.findIndex((b) => b.length === bytes);
    if (i >= 0) {
      this.spareBytes -= bytes;
      return this.spareBuffers.splice(i, 1)[0];
    }
    this.acquire(bytes);
    return Buffer.allocUnsafe(bytes);
  }

  giveBackReadBuffer(buf: Buffer): void {
    if (this.spareBytes + buf.length <= this.limit / 8) {
      this.spareBuffers.push(buf);
      this.spareBytes += buf.length;
    } else this.release(buf.length);
  }

  /** Current backpressure seconds including an ongoing pause. */
  backpressureSeconds(): number {
    return this.pausedSeconds + (this.pausedSince ? (performance.now() - this.pausedSince) / 1000 : 0);
  }
}
