import { isAscii } from 'node:buffer';
import { close, fstat, open, read, stat } from 'node:fs';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { ByteBudget } from '../../core/budget.ts';
import type { LineReceiver } from '../../core/line.ts';
import { FileWatermark, type AckToken } from '../../positions/watermark.ts';
import type { SourceInfo } from '../../core/record.ts';
import { FINGERPRINT_MAX, fingerprint, identityKey } from './identity.ts';
import type { TailMetrics } from './tail-metrics.ts';

const openAsync = promisify(open);
const readAsync = promisify(read);
const fstatAsync = promisify(fstat);
const statAsync = promisify(stat);
const closeAsync = promisify(close);

/**
 * Charged to the budget per record beyond its bytes: the record, its ack and its share of a
 * batch cost ~100 B of heap however short the line, so 32 MiB of 50-byte lines must not mean
 * 670,000 records in memory.
 */
const RECORD_OVERHEAD_BYTES = 128;

/** While reading without reaching EOF, re-check size and head this often. */
const HEAD_CHECK_MS = 1000;

/** Lines announced and handed over together (see Tailer.split). */
const ANNOUNCE = 64;

export type TailerState = 'active' | 'idle' | 'paused' | 'rotated' | 'closed';

export interface TailerOptions {
  path: string;
  key: string;
  startOffset: number;
  /** The fingerprint stored for this identity (first `len` bytes). */
  fingerprint: { value: string; len: number };
  maxLineBytes: number;
  partialLineTimeout: number;
  rotateWait: number;
  readChunkBytes: number;
  /** Poll delay right after data arrived; doubles while the file stays idle, up to maxPollInterval. */
  pollInterval: number;
  /**
   * The slowest poll of an idle file. Change events (chokidar) wake a tailer at once, so the poll
   * is only the safety net for file systems without inotify (and lost events); backing off keeps
   * 1,000 idle files at ~1% of a core instead of 8,000 fstat/stat calls per second.
   */
  maxPollInterval: number;
  /** Opened as a generation that already left its path (found at start under a rotated name). */
  rotated?: boolean;
  source: SourceInfo;
  receiver: LineReceiver;
  budget: ByteBudget;
  metrics: TailMetrics;
  log: Logger;
  /** Called before a truncation resets the file: the head it had and where its last full line ended. */
  onTruncated?(head: { value: string; len: number }, lineOffset: number): void;
  /** Called when the tailer saw its path stop pointing at its file. */
  onRotated?(): void;
  /** Called with each new acknowledged offset of this identity. */
  onCommit(offset: number): void;
  /** Called when a read comes up short after full chunks: the backlog is read, lines are in the pipeline. */
  onCaughtUp?(): void;
  /** Called when the stored fingerprint grew or changed (truncation). */
  onFingerprint(value: string, len: number): void;
  /** Called once when the tailer closed for good (rotated away, read, acknowledged; or stopped). */
  onClose(reason: string): void;
}

/**
 * Follows one file identity (device + inode) from an offset: reads chunks, splits lines,
 * gives the lines of each read one shared ack token, and pauses while the global budget is spent.
 *
 * - Rename/delete: keeps its fd and reads to EOF; closes only once it has been idle for
 *   rotate_wait AND every line it emitted is acknowledged, so a generation rotated twice while a
 *   sink is down is still read completely and never re-read.
 * - Truncation (size < read offset, or the first bytes changed — copytruncate followed by fast
 *   regrowth): starts a new generation at 0; acks of the old generation no longer move the position.
 * - Lines: `\n` separated, a trailing `\r` stripped, cut at max_line_bytes (on a UTF-8 character
 *   boundary) with the offset still advancing past the whole line; invalid UTF-8 becomes U+FFFD.
 */
export class Tailer {
  path: string;
  readonly key: string;
  readonly receiver: LineReceiver;
  state: TailerState = 'active';
  private fd = -1;
  private readOffset: number;
  private lineStart: number;
  /** The token the lines of the read being split share (see emit). */
  private readToken: AckToken | null = null;
  /** The lines of the read being split, not handed over yet (see split). */
  private readonly texts: string[] = [];
  private readonly ends: number[] = [];
  private readonly cut: boolean[] = [];
  private watermark: FileWatermark;
  private generation = 0;
  private carry: Buffer | null = null;
  private overflow = false;
  private lastDataAt = Date.now();
  private rotatedAt = 0;
  private stopped = false;
  private atEof = false;
  private lastHeadCheck = Date.now();
  /** The modification time at the last fstat (a same-size rewrite changes it). */
  seenMtimeMs = 0;
  private pollDelay: number;
  private fpValue: string;
  private fpLen: number;
  /** Stopping gracefully: read what is already in the file, then stop (unless the deadline passes). */
  private drainUntil = 0;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  /** Queued on the budget for room (see loop()). */
  private waitingForRoom = false;
  /** Room in the budget again: end the paused tailer's sleep (or the next one, if it is not asleep). */
  private readonly roomFreed = (): void => {
    this.waitingForRoom = false;
    const w = this.wakeUp;
    this.wakeUp = null;
    if (w !== null) w();
    else this.woken = true;
  };
  /**
   * The read buffer, held only while reading: allocated (and its size charged to the budget)
   * for a read, dropped (and released) when the tailer goes idle or pauses. A tailer that kept
   * its buffer for life held 256 KiB resident per file once read: a backlog over 1,000 files
   * peaked at 521 MiB RSS (bench/memory.ts, bench/RESULTS.md "Memory"); charging it makes the
   * budget bound how many files read at once, since the check and the charge happen in one turn
   * of the event loop.
   */
  private buf: Buffer | null = null;
  /**
   * Double buffering while behind: a full chunk starts the read of the next one into `spare`
   * before it is split, so the copy out of the page cache (on libuv's pool) overlaps parsing
   * instead of the event loop waiting for it each chunk (1M JSON lines: ~9% less wall time,
   * median of 5 A/B runs). Charged like `buf`; dropped at EOF and on pause.
   */
  private spare: Buffer | null = null;
  /** The read into `spare` (bytes read, -1 on error) and the file offset it reads at. */
  private ahead: Promise<number> | null = null;
  private aheadOffset = -1;
  /** The chunk being split has a non-ASCII byte: its lines are charged as two-byte strings (see split). */
  private wideChunk = false;
  /** The last read filled the buffer: more was waiting. */
  private behind = false;
  private readonly o: TailerOptions;
  size = 0;
  done: Promise<void> = Promise.resolve();

  constructor(o: TailerOptions) {
    this.o = o;
    this.path = o.path;
    this.key = o.key;
    this.receiver = o.receiver;
    this.readOffset = o.startOffset;
    this.lineStart = o.startOffset;
    this.fpValue = o.fingerprint.value;
    this.fpLen = o.fingerprint.len;
    this.pollDelay = o.pollInterval;
    this.watermark = this.newWatermark(o.startOffset);
    if (o.rotated) this.rotatedAt = Date.now();
  }

  get committedOffset(): number {
    return this.watermark.committed;
  }

  get offset(): number {
    return this.readOffset;
  }

  get isRotated(): boolean {
    return this.rotatedAt !== 0;
  }

  private newWatermark(start: number): FileWatermark {
    const gen = ++this.generation;
    return new FileWatermark(start, this.o.budget, (off) => {
      // Acks of a truncated generation's lines must not move the new generation's position.
      if (gen === this.generation) this.o.onCommit(off);
    }, this.o.key);
  }

  /** Starts following; `fd` is the caller's open descriptor of this identity (taken over), else the path is opened. */
  async start(fd?: number): Promise<void> {
    this.fd = fd ?? (await openAsync(this.path, 'r'));
    const st = await fstatAsync(this.fd);
    if (identityKey(st) !== this.key) {
      await closeAsync(this.fd).catch(() => {});
      this.fd = -1;
      throw new Error(`file at ${this.path} changed identity while opening`);
    }
    this.size = st.size;
    this.done = this.loop().catch((err: Error) => {
      this.o.log.error({ err: err.message, file: this.path }, 'tailer failed');
    }).finally(() => this.close(this.stopped || this.drainUntil !== 0 ? 'stopped' : 'rotated'));
  }

  /** A change event for this file: read now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.pollDelay = this.o.pollInterval;
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  /** Marks the path as no longer pointing at this file; read to EOF, then close after rotate_wait. */
  markRotated(): void {
    if (this.rotatedAt === 0) {
      this.rotatedAt = Date.now();
      this.o.metrics.rotations.inc();
      this.o.log.info({ file: this.path, key: this.key }, 'file rotated; reading the old generation to its end');
      this.o.onRotated?.();
    }
    this.wake();
  }

  /** The file was found again at a path that matches the globs (renamed within them): keep tailing it. */
  renamedTo(path: string): void {
    this.path = path;
    this.rotatedAt = 0;
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
      // A file that outgrew its small buffer (see readSize) reads full chunks from here on.
      if (this.behind && this.buf !== null && this.buf.length < this.o.readChunkBytes) await this.dropBuffers();
      if (!budget.hasRoom()) {
        this.state = 'paused';
        await this.dropBuffers();
        // Queued once per pause (racing a shared promise at every wake-up left a reaction on it
        // each time: ~300 B per file per second of outage). The budget wakes paused files a few
        // at a time as room frees, so a paused file needs no timer of its own; wake() (a change
        // event, stop) ends the wait too. Only a graceful stop's deadline is watched by timer.
        if (!this.waitingForRoom) {
          this.waitingForRoom = true;
          budget.onRoom(this.roomFreed);
        }
        await this.sleep(this.drainUntil !== 0 ? 100 : -1);
        continue;
      }
      if (this.waitingForRoom) {
        // Room came without the budget waking this file (a change event woke it): leave the queue.
        this.waitingForRoom = false;
        budget.cancelRoom(this.roomFreed);
      }
      if (this.atEof || Date.now() - this.lastHeadCheck >= HEAD_CHECK_MS) {
        const look = await this.lookAtFile();
        if (look === 'truncated') continue;
        if (look === 'no news') {
          if (await this.idle()) break;
          continue;
        }
        // Looked across an await: check again, so the charge below is in the same turn as a check.
        if (!budget.hasRoom()) continue;
      }
      // Charged in the same turn as the room check: a thousand tailers woken at once by freed
      // room must not all pass the check before any of them charges its read.
      this.buf ??= this.takeBuffer(this.readSize());
      const bytesRead = await this.readChunk();
      if (bytesRead > 0) {
        await this.consume(bytesRead);
        continue;
      }
      if (this.behind) {
        // the backlog ended exactly at a chunk boundary
        this.behind = false;
        this.o.onCaughtUp?.();
      }
      this.atEof = true;
      if (await this.idle()) break;
    }
  }

  /**
   * Coming back after EOF (or every second while busy behind): looks before reading, so a
   * truncated-and-regrown file is not read from the middle of its new content. 'truncated': it
   * was (and is handled); 'no news': nothing beyond what was read; 'grown': read on.
   */
  private async lookAtFile(): Promise<'truncated' | 'no news' | 'grown'> {
    this.lastHeadCheck = Date.now();
    const st = await fstatAsync(this.fd);
    this.size = st.size;
    // Written since the last look but not longer than what we read: either we already read the
    // appends, or it was truncated and regrown to exactly our offset (same line count and
    // lengths — seen under load). Only the head tells them apart.
    const modified = st.mtimeMs !== this.seenMtimeMs;
    this.seenMtimeMs = st.mtimeMs;
    if (st.size < this.readOffset || ((st.size > this.readOffset || modified) && !(await this.headUnchanged()))) {
      this.truncated(st.size);
      return 'truncated';
    }
    if (st.size === this.readOffset) return 'no news';
    this.atEof = false;
    return 'grown';
  }

  /** A chunk of `bytesRead` bytes was read: hands its lines on, notes whether a backlog ended. */
  private async consume(bytesRead: number): Promise<void> {
    this.state = 'active';
    this.lastDataAt = Date.now();
    this.pollDelay = this.o.pollInterval;
    this.split(bytesRead);
    this.o.metrics.readBytes.inc(bytesRead);
    if (bytesRead === this.buf!.length) this.behind = true;
    else if (this.behind) {
      this.behind = false;
      this.o.onCaughtUp?.();
    }
    if (this.fpLen < FINGERPRINT_MAX) await this.growFingerprint();
    // Let timers, HTTP and acks run between chunks.
    await new Promise<void>((r) => setImmediate(r));
  }

  /** A read buffer, charged to the budget until given back (see `buf`). */
  private takeBuffer(bytes: number): Buffer {
    return this.o.budget.takeReadBuffer(bytes);
  }

  private giveBack(buf: Buffer): void {
    this.o.budget.giveBackReadBuffer(buf);
  }

  /**
   * The size of the next read buffer: a full chunk while behind, else what the file grew by,
   * rounded up to a power of two between 16 KiB and a chunk. A file appended a line at a time
   * reads into 16 KiB, not 256 KiB: with 1,000 such files the full-size buffers taken and given
   * back each poll grew peak RSS from ~130 to ~185 MiB (malloc kept what they touched).
   */
  private readSize(): number {
    const chunk = this.o.readChunkBytes;
    if (this.behind) return chunk;
    const grown = this.size - this.readOffset;
    let bytes = Math.min(16 * 1024, chunk);
    while (bytes < grown && bytes < chunk) bytes *= 2;
    return Math.min(bytes, chunk);
  }

  /** Gives both read buffers back to the budget (the read ahead settled first). */
  private async dropBuffers(): Promise<void> {
    await this.settleAhead();
    if (this.buf !== null) this.giveBack(this.buf);
    if (this.spare !== null) this.giveBack(this.spare);
    this.buf = null;
    this.spare = null;
  }

  /** The chunk at readOffset, into buf; bytes read. */
  private async readChunk(): Promise<number> {
    let n = -1;
    this.buf ??= this.takeBuffer(this.readSize());
    if (this.ahead !== null) {
      const got = await this.ahead;
      this.ahead = null;
      // A truncation (or anything else that moved readOffset) since it started makes it stale.
      if (got >= 0 && this.aheadOffset === this.readOffset) {
        const b = this.buf;
        this.buf = this.spare!;
        this.spare = b;
        n = got;
      }
    }
    if (n < 0) n = (await readAsync(this.fd, this.buf, 0, this.buf.length, this.readOffset)).bytesRead;
    // Read ahead only with room left: past the limit the next turn pauses anyway, and the
    // read-ahead's chunk would be one more past it.
    if (n === this.buf.length && !this.stopped && this.o.budget.hasRoom()) {
      this.spare ??= this.takeBuffer(this.buf.length);
      this.aheadOffset = this.readOffset + n;
      this.ahead = readAsync(this.fd, this.spare, 0, this.spare.length, this.aheadOffset).then((r) => r.bytesRead, () => -1);
    }
    return n;
  }

  /** Waits for a read ahead still in flight (before the fd is closed, so it never reads a reused fd). */
  private async settleAhead(): Promise<void> {
    if (this.ahead === null) return;
    await this.ahead;
    this.ahead = null;
  }

  /** At EOF: partial lines, fingerprint growth, rotation, then sleep. Returns true to stop. */
  private async idle(): Promise<boolean> {
    await this.dropBuffers();
    if (this.drainUntil !== 0) return true;
    const now = Date.now();
    if (this.carry !== null && now - this.lastDataAt >= this.o.partialLineTimeout) this.emitPartial();
    await this.growFingerprint();
    if (this.rotatedAt !== 0) {
      if (now - Math.max(this.rotatedAt, this.lastDataAt) >= this.o.rotateWait && this.watermark.pending === 0) {
        if (this.carry !== null) {
          this.emitPartial();
          return false; // wait for its ack before closing
        }
        return true;
      }
    } else {
      await this.checkRotated();
    }
    this.state = this.rotatedAt !== 0 ? 'rotated' : 'idle';
    // A file untouched for a long time (most of 1,000 watched files) starts its backoff far out:
    // change events and rescans wake it when it is written.
    const quietFor = this.seenMtimeMs > 0 ? now - this.seenMtimeMs : 0;
    const delay = Math.min(Math.max(this.pollDelay, quietFor / 4), this.o.maxPollInterval);
    this.pollDelay = Math.min(delay * 2, this.o.maxPollInterval);
    // A pending partial line or a rotated generation needs its timer on time, not after backoff.
    const cap = this.carry !== null ? this.o.partialLineTimeout : this.rotatedAt !== 0 ? Math.min(this.o.rotateWait, 1000) : delay;
    await this.sleep(Math.max(this.o.pollInterval, Math.min(delay, cap)));
    return false;
  }

  /** Waits up to `ms` (no timer when negative), or until wake(). */
  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const t = ms < 0 ? undefined : setTimeout(() => {
        this.wakeUp = null;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        this.woken = false;
        resolve();
      };
    });
  }

  /** Splits the chunk into lines; a line's token spans [lineStart, end of its newline). */
  private split(n: number): void {
    this.readToken = null;
    const buf = this.buf!;
    // V8 keeps a decoded line as one byte per character only when every character is Latin-1;
    // one character beyond makes the whole string two bytes per character. A chunk with any
    // non-ASCII byte charges its lines twice their UTF-8 bytes (the upper bound: a line of b
    // bytes decodes to at most b UTF-16 units); one check per chunk (~10 µs per 256 KiB).
    this.wideChunk = !isAscii(buf.subarray(0, n));
    const max = this.o.maxLineBytes;
    const readTime = Date.now();
    // Lines are cut ANNOUNCE at a time, announced (LineReceiver.upcoming), then handed over:
    // a few at once, so that they are not all alive at once (young-generation GC copies them).
    const texts = this.texts;
    const ends = this.ends;
    const cut = this.cut;
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
          lineEnd = pos + utf8Boundary(buf, pos, max);
        }
        text = buf.toString('utf8', pos, lineEnd);
      } else {
        truncated = this.overflow || this.carry.length + (lineEnd - pos) > max;
        text = this.joinCarry(pos, lineEnd, { truncated });
      }
      texts.push(text);
      ends.push(end);
      cut.push(truncated);
      pos = nl + 1;
      if (texts.length === ANNOUNCE) this.handOver(readTime);
    }
    this.handOver(readTime);
    if (pos < n) this.carryOver(buf.subarray(pos, n));
    this.readOffset += n;
    this.readToken = null;
  }

  /**
   * The line that began in an earlier chunk (`carry`) and ends at buf[lineEnd], as text (cut at
   * max_line_bytes when `truncated`: over it, or already discarding); forgets the carry.
   */
  private joinCarry(pos: number, lineEnd: number, { truncated }: { truncated: boolean }): string {
    const carry = this.carry!;
    const max = this.o.maxLineBytes;
    const joined = this.overflow ? carry : Buffer.concat([carry, this.buf!.subarray(pos, lineEnd)]);
    let len = truncated ? utf8Boundary(joined, 0, Math.min(joined.length, max)) : joined.length;
    if (!truncated && len > 0 && joined[len - 1] === 13) len--;
    this.carry = null;
    this.overflow = false;
    return joined.toString('utf8', 0, len);
  }

  /** Keeps a chunk's unfinished last line for the next chunk (at most max + 1 bytes of it). */
  private carryOver(rest: Buffer): void {
    const max = this.o.maxLineBytes;
    if (this.overflow) {
      // still inside an over-long line: keep discarding until its newline
    } else if (this.carry === null) {
      this.carry = Buffer.from(rest);
    } else {
      this.carry = Buffer.concat([this.carry, rest]);
    }
    if (this.carry !== null && this.carry.length > max) {
      // Keep one byte more than max so the join above still sees "longer than max".
      this.carry = this.carry.subarray(0, max + 1);
      this.overflow = true;
    }
  }

  /** Announces the lines cut so far, hands them to the receiver and forgets them. */
  private handOver(readTime: number): void {
    const { texts, ends, cut } = this;
    const receiver = this.o.receiver;
    if (receiver.upcoming !== undefined && texts.length > 1) receiver.upcoming(texts);
    for (let i = 0; i < texts.length; i++) this.emit(texts[i], ends[i], cut[i], readTime);
    texts.length = 0;
    ends.length = 0;
    cut.length = 0;
  }

  private emit(text: string, end: number, truncated: boolean, readTime: number): void {
    const start = this.lineStart;
    const bytes = (this.wideChunk ? 2 : 1) * (end - start) + RECORD_OVERHEAD_BYTES;
    // The lines of one read share a token: a token per line (allocated, promoted and settled
    // one by one) cost 8–12% of the CPU of shipping JSON lines (A/B, bench/RESULTS.md).
    let token = this.readToken;
    if (token === null || !this.watermark.extend(token, end, bytes)) {
      token = this.watermark.issue(start, end, bytes);
      this.readToken = token;
    }
    this.lineStart = end;
    this.o.metrics.readLines.inc();
    if (truncated) this.o.metrics.linesTruncated.inc();
    this.o.receiver.receive({ text, ack: token, truncated, source: this.o.source, readTime, offset: start });
  }

  /** A final line without newline, once the file has been idle (it is complete as far as we can tell). */
  private emitPartial(): void {
    this.readToken = null;
    const carry = this.carry!;
    this.carry = null;
    const truncated = this.overflow;
    this.overflow = false;
    let len = truncated ? utf8Boundary(carry, 0, Math.min(carry.length, this.o.maxLineBytes)) : carry.length;
    if (!truncated && len > 0 && carry[len - 1] === 13) len--;
    this.wideChunk = !isAscii(carry);
    this.emit(carry.toString('utf8', 0, len), this.readOffset, truncated, Date.now());
  }

  /** The fingerprint covers the first min(read bytes, 1 KiB): identity gets sharper as the file grows. */
  private async growFingerprint(): Promise<void> {
    if (this.fpLen >= FINGERPRINT_MAX || this.readOffset <= this.fpLen) return;
    const len = Math.min(this.readOffset, FINGERPRINT_MAX);
    this.fpValue = await fingerprint(this.fd, len);
    this.fpLen = len;
    this.o.onFingerprint(this.fpValue, len);
  }

  /** True when the first fingerprinted bytes are still what we saw (no rewrite under our offset). */
  private async headUnchanged(): Promise<boolean> {
    if (this.fpLen === 0) return true;
    return (await fingerprint(this.fd, this.fpLen)) === this.fpValue;
  }

  private truncated(size: number): void {
    this.o.log.warn({ file: this.path, size, offset: this.readOffset }, 'file truncated (copytruncate or rewrite); reading from the start');
    this.o.metrics.truncations.inc();
    this.o.onTruncated?.({ value: this.fpValue, len: this.fpLen }, this.lineStart);
    this.carry = null;
    this.overflow = false;
    this.readOffset = 0;
    this.lineStart = 0;
    this.atEof = false;
    this.fpValue = '';
    this.fpLen = 0;
    this.o.onFingerprint('', 0);
    this.watermark = this.newWatermark(0);
    this.o.onCommit(0);
  }

  private async checkRotated(): Promise<void> {
    try {
      const st = await statAsync(this.path);
      if (identityKey(st) !== this.key) this.markRotated();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.markRotated();
    }
  }

  private async close(reason: string): Promise<void> {
    if (this.waitingForRoom) {
      this.waitingForRoom = false;
      this.o.budget.cancelRoom(this.roomFreed);
    }
    if (this.fd < 0) return;
    await this.dropBuffers();
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

/** Largest length ≤ max (from start) that does not split a UTF-8 sequence. */
function utf8Boundary(buf: Buffer, start: number, max: number): number {
  let len = max;
  // Step back over continuation bytes (10xxxxxx), at most 3, to the start of the cut character.
  for (let i = 0; i < 3 && len > 0 && (buf[start + len] & 0xc0) === 0x80; i++) len--;
  return len;
}
