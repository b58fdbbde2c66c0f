import { close, fstat, open, read, stat } from 'node:fs';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { ByteBudget } from '../../budget.ts';
import type { LineReceiver } from '../../pipeline/line.ts';
import { FileWatermark } from '../../positions/watermark.ts';
import type { SourceInfo } from '../../record.ts';
import type { TailMetrics } from './tail-metrics.ts';

const openAsync = promisify(open);
const readAsync = promisify(read);
const fstatAsync = promisify(fstat);
const statAsync = promisify(stat);
const closeAsync = promisify(close);

export type TailerState = 'active' | 'idle' | 'paused' | 'rotated' | 'closed';

export interface TailerOptions {
  path: string;
  key: string;
  startOffset: number;
  maxLineBytes: number;
  partialLineTimeout: number;
  rotateWait: number;
  readChunkBytes: number;
  pollInterval: number;
  source: SourceInfo;
  receiver: LineReceiver;
  budget: ByteBudget;
  metrics: TailMetrics;
  log: Logger;
  /** Called with each new acknowledged offset of this generation. */
  onCommit(offset: number): void;
  /** Called once when the tailer closed for good (rotated away and drained, or stopped). */
  onClose(reason: string): void;
}

/**
 * Follows one file generation (one identity) from an offset: reads chunks, splits lines,
 * issues an ack token per line, and pauses while the global budget is spent.
 * Rename/delete: keeps its fd and reads to EOF, then waits rotate_wait for late writes.
 * Truncation (size < read offset): starts a new generation at 0.
 */
export class Tailer {
  path: string;
  readonly key: string;
  state: TailerState = 'active';
  private fd = -1;
  private readOffset: number;
  private lineStart: number;
  private watermark: FileWatermark;
  private generation = 0;
  private carry: Buffer | null = null;
  private overflow = false;
  private lastDataAt = Date.now();
  private rotatedAt = 0;
  private stopped = false;
  /** Stopping gracefully: read what is already in the file, then stop (unless the deadline passes). */
  private drainUntil = 0;
  private wakeUp: (() => void) | null = null;
  private readonly buf: Buffer;
  private readonly o: TailerOptions;
  size = 0;
  done: Promise<void> = Promise.resolve();

  constructor(o: TailerOptions) {
    this.o = o;
    this.path = o.path;
    this.key = o.key;
    this.readOffset = o.startOffset;
    this.lineStart = o.startOffset;
    this.buf = Buffer.allocUnsafe(o.readChunkBytes);
    this.watermark = this.newWatermark(o.startOffset);
  }

  get committedOffset(): number {
    return this.watermark.committed;
  }

  get offset(): number {
    return this.readOffset;
  }

  private newWatermark(start: number): FileWatermark {
    const gen = ++this.generation;
    return new FileWatermark(start, this.o.budget, (off) => {
      // Acks of a truncated generation's lines must not move the new generation's position.
      if (gen === this.generation) this.o.onCommit(off);
    }, this.o.key);
  }

  async start(): Promise<void> {
    this.fd = await openAsync(this.path, 'r');
    this.done = this.loop().catch((err: Error) => {
      this.o.log.error({ err: err.message, file: this.path }, 'tailer failed');
    }).finally(() => this.close('error_or_stop'));
  }

  /** A change event for this file: read now instead of at the next poll. */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  /** Marks the path as no longer pointing at this file; read to EOF, then close after rotate_wait. */
  markRotated(): void {
    if (this.rotatedAt === 0) {
      this.rotatedAt = Date.now();
      this.o.metrics.rotations.inc();
    }
    this.wake();
  }

  /**
   * Stops the tailer. With a deadline, lines already written to the file are read and emitted
   * first (a graceful shutdown ships what was logged before the signal); without, it stops now.
   */
  stop(deadline = 0): Promise<void> {
    if (deadline > Date.now()) this.drainUntil = deadline;
    else this.stopped = true;
    this.wake();
    return this.done;
  }

  private async loop(): Promise<void> {
    const { budget } = this.o;
    while (!this.stopped) {
      if (this.drainUntil !== 0 && Date.now() >= this.drainUntil) break;
      if (!budget.hasRoom()) {
        this.state = 'paused';
        await Promise.race([budget.waitForRoom(), this.sleep(this.drainUntil !== 0 ? 100 : 1000)]);
        continue;
      }
      const { bytesRead } = await readAsync(this.fd, this.buf, 0, this.buf.length, this.readOffset);
      if (bytesRead > 0) {
        this.state = 'active';
        this.lastDataAt = Date.now();
        this.split(bytesRead);
        this.o.metrics.readBytes.inc(bytesRead);
        // Let timers, HTTP and acks run between chunks.
        await new Promise<void>((r) => setImmediate(r));
        continue;
      }
      // EOF
      if (this.drainUntil !== 0) break;
      if (await this.checkTruncated()) continue;
      if (this.carry !== null && Date.now() - this.lastDataAt >= this.o.partialLineTimeout) this.emitPartial();
      if (this.rotatedAt !== 0 && Date.now() - Math.max(this.rotatedAt, this.lastDataAt) >= this.o.rotateWait) {
        if (this.carry !== null) this.emitPartial();
        break;
      }
      if (this.rotatedAt === 0) await this.checkRotated();
      this.state = this.rotatedAt !== 0 ? 'rotated' : 'idle';
      this.o.receiver.flush(false);
      await this.sleep(this.o.pollInterval);
    }
  }

  /** Waits up to `ms`, or until wake(). */
  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Splits the chunk into lines; a line's token spans [lineStart, end of its newline). */
  private split(n: number): void {
    const buf = this.buf;
    const max = this.o.maxLineBytes;
    const readTime = Date.now();
    let pos = 0;
    while (pos < n) {
      const nl = buf.indexOf(10, pos);
      if (nl === -1 || nl >= n) break;
      const end = this.readOffset + nl + 1;
      let lineEnd = nl;
      let text: string;
      let truncated = false;
      if (this.carry === null) {
        if (lineEnd > pos && buf[lineEnd - 1] === 13) lineEnd--;
        if (lineEnd - pos > max) {
          truncated = true;
          lineEnd = pos + max;
        }
        text = buf.toString('utf8', pos, lineEnd);
      } else {
        const joined = this.overflow ? this.carry : Buffer.concat([this.carry, buf.subarray(pos, lineEnd)]);
        truncated = this.overflow || joined.length > max;
        let len = Math.min(joined.length, max);
        if (!truncated && len > 0 && joined[len - 1] === 13) len--;
        text = joined.toString('utf8', 0, len);
        this.carry = null;
        this.overflow = false;
      }
      this.emit(text, end, truncated, readTime);
      pos = nl + 1;
    }
    if (pos < n) {
      const rest = buf.subarray(pos, n);
      if (this.overflow) {
        // still inside an over-long line: keep discarding until its newline
      } else if (this.carry === null) {
        this.carry = Buffer.from(rest);
      } else {
        this.carry = Buffer.concat([this.carry, rest]);
      }
      if (this.carry !== null && this.carry.length > max) {
        this.carry = this.carry.subarray(0, max);
        this.overflow = true;
      }
    }
    this.readOffset += n;
  }

  private emit(text: string, end: number, truncated: boolean, readTime: number): void {
    const token = this.watermark.issue(this.lineStart, end, end - this.lineStart);
    this.lineStart = end;
    this.o.metrics.readLines.inc();
    if (truncated) this.o.metrics.linesTruncated.inc();
    this.o.receiver.receive({ text, ack: token, truncated, source: this.o.source, readTime });
  }

  /** A final line without newline, once the file has been idle (it is complete as far as we can tell). */
  private emitPartial(): void {
    const carry = this.carry!;
    this.carry = null;
    const truncated = this.overflow;
    this.overflow = false;
    let len = carry.length;
    if (len > 0 && carry[len - 1] === 13) len--;
    this.emit(carry.toString('utf8', 0, len), this.readOffset, truncated, Date.now());
  }

  private async checkTruncated(): Promise<boolean> {
    const st = await fstatAsync(this.fd);
    this.size = st.size;
    if (st.size >= this.readOffset) return false;
    this.o.log.warn({ file: this.path, size: st.size, offset: this.readOffset }, 'file truncated; reading from the start');
    this.o.metrics.truncations.inc();
    this.carry = null;
    this.overflow = false;
    this.readOffset = 0;
    this.lineStart = 0;
    this.watermark = this.newWatermark(0);
    this.o.onCommit(0);
    return true;
  }

  private async checkRotated(): Promise<void> {
    try {
      const st = await statAsync(this.path);
      if (`${st.dev}:${st.ino}` !== this.key) this.markRotated();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.markRotated();
    }
  }

  private async close(reason: string): Promise<void> {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    this.state = 'closed';
    await closeAsync(fd).catch(() => {});
    this.o.onClose(reason);
  }

  pendingAcks(): number {
    return this.watermark.pending;
  }
}
