import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { size } from './config-fields.ts';

/** The `memory:` section. */
export const memoryConfigSchema = z.strictObject({
  /**
   * Global budget over read-but-unacknowledged bytes; tailers pause when it is spent. 16 MiB
   * is ~40k JSON lines in flight, several times what the sinks' open and in-flight batches hold
   * at full speed (2 × 1 MiB Loki, 2 × 2 MiB Elasticsearch): a 200 MiB backlog with the sink down
   * for its first 20 s peaked at 185 MiB RSS with 64 MiB, 160–196 with 32 and 148–154 with 16,
   * same drain time; 1M lines at full speed, same rate and CPU with 16 as with 32. Lower buys
   * nothing: 256 MiB over 1,000 files, sink down 20 s, 8 MiB peaked at 127–132 MiB during the
   * outage and 168–186 over the run against 126–140 and 165–189 with 16 (interleaved), the heap's
   * slack and per-file state set those peaks. What 16 MiB charged holds for real (Loki down, heap
   * snapshot): ~8 MiB of buffers (the lines encoded into batches, read buffers), not records —
   * the charge (line + 128 B) is an upper bound (bench/RESULTS.md, "Memory: where each MiB goes").
   */
  max_buffer_bytes: size().default(16 * 1024 * 1024),
}).default({ max_buffer_bytes: 16 * 1024 * 1024 });

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
    }
  }

  /** Resolves once there is room again (immediately if there is). */
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
