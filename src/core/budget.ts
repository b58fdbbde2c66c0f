import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { size } from './config-fields.ts';

/** The `memory:` section. */
export const memoryConfigSchema = z.strictObject({
  /**
   * Global budget over read-but-unacknowledged bytes; tailers pause when it is spent. 16 MiB
   * is ~50k lines in flight, several times what the sinks' open and in-flight batches hold at
   * full speed (2 × 1 MiB Loki, 2 × 2 MiB Elasticsearch): a 200 MiB backlog with the sink down
   * for its first 20 s peaked at 185 MiB RSS with 64 MiB, 160–196 with 32 and 148–154 with 16,
   * same drain time; 1M lines at full speed, same rate and CPU with 16 as with 32.
   */
  max_buffer_bytes: size().default(16 * 1024 * 1024),
}).default({ max_buffer_bytes: 16 * 1024 * 1024 });

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
  private waiters: Array<() => void> = [];
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
      if (this.waiters.length > 0) {
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /** Resolves once there is room again (immediately if there is). */
  waitForRoom(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Current backpressure seconds including an ongoing pause. */
  backpressureSeconds(): number {
    return this.pausedSeconds + (this.pausedSince ? (performance.now() - this.pausedSince) / 1000 : 0);
  }
}
