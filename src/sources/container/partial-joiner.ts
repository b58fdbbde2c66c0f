import type { LineReceiver, SourceLine } from '../../core/line.ts';
import type { SourceInfo } from '../../core/record.ts';
import type { ContainerMetrics } from './container-metrics.ts';

type Stream = 'stdout' | 'stderr';

/** One stream's record being joined from runtime pieces. */
interface PendingRecord {
  /** The first piece's line object; it carries the record out (its ack absorbed the others). */
  line: SourceLine;
  parts: string[];
  bytes: number;
  truncated: boolean;
  lastAt: number;
}

/**
 * Joins a container runtime's pieces of one log line (Docker's 16 KiB splits without a trailing
 * `\n`, CRI `P` pieces) per stream of one file, so stdout and stderr interleave freely. The
 * joined record keeps the first piece's place in the file's ack FIFO (`Ack.absorb`), so the
 * committed offset stays before its first piece until the whole record is final, and then moves
 * to the end of its last piece. A record longer than `maxBytes` is cut there (truncated flag,
 * counted); a record whose final piece never comes is emitted `timeoutMs` after its last piece.
 */
export class PartialJoiner {
  private readonly next: LineReceiver;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  private readonly metrics: ContainerMetrics;
  private stdout: PendingRecord | null = null;
  private stderr: PendingRecord | null = null;
  /** Per-stream copies of the file's SourceInfo, built once per file. */
  private infoFor: SourceInfo | null = null;
  private stdoutInfo: SourceInfo | null = null;
  private stderrInfo: SourceInfo | null = null;

  constructor(next: LineReceiver, maxBytes: number, timeoutMs: number, metrics: ContainerMetrics) {
    this.next = next;
    this.maxBytes = maxBytes;
    this.timeoutMs = timeoutMs;
    this.metrics = metrics;
  }

  /**
   * One decoded piece. `line` is the raw line from the tailer; it is reused as the record
   * (text, stream, timestamp rewritten) so a complete single-piece line allocates nothing more.
   */
  piece(line: SourceLine, stream: Stream, text: string, final: boolean, timestamp: string | undefined): void {
    const pending = stream === 'stderr' ? this.stderr : this.stdout;
    if (pending === null) {
      line.text = text;
      line.stream = stream;
      line.source = this.sourceFor(line.source, stream);
      line.runtimeTimestamp = timestamp;
      if (final) {
        // UTF-8 needs at most 3 bytes per UTF-16 unit: short lines skip counting their bytes
        if (text.length * 3 > this.maxBytes && Buffer.byteLength(text) > this.maxBytes) this.cut(line);
        this.next.receive(line);
        return;
      }
      const rec: PendingRecord = { line, parts: [text], bytes: Buffer.byteLength(text), truncated: line.truncated, lastAt: line.readTime };
      if (rec.bytes > this.maxBytes) this.truncate(rec);
      if (stream === 'stderr') this.stderr = rec;
      else this.stdout = rec;
      return;
    }
    pending.line.ack.absorb(line.ack);
    pending.lastAt = line.readTime;
    if (line.truncated) pending.truncated = true;
    if (pending.bytes < this.maxBytes) {
      pending.parts.push(text);
      pending.bytes += Buffer.byteLength(text);
      if (pending.bytes > this.maxBytes) this.truncate(pending);
    }
    if (final) this.emit(stream);
  }

  /** Emits records whose last piece is older than the timeout (all with `force`). */
  flush(force: boolean): void {
    const now = Date.now();
    if (this.stdout !== null && (force || now - this.stdout.lastAt >= this.timeoutMs)) {
      this.metrics.partialFlushed.inc();
      this.emit('stdout');
    }
    if (this.stderr !== null && (force || now - this.stderr.lastAt >= this.timeoutMs)) {
      this.metrics.partialFlushed.inc();
      this.emit('stderr');
    }
  }

  private emit(stream: Stream): void {
    const rec = stream === 'stderr' ? this.stderr! : this.stdout!;
    if (stream === 'stderr') this.stderr = null;
    else this.stdout = null;
    const line = rec.line;
    line.text = rec.parts.length === 1 ? rec.parts[0] : rec.parts.join('');
    line.truncated = rec.truncated;
    if (rec.parts.length > 1) this.metrics.joined.inc();
    this.next.receive(line);
  }

  private truncate(rec: PendingRecord): void {
    const joined = Buffer.from(rec.parts.join(''));
    rec.parts = [cutUtf8(joined, this.maxBytes)];
    rec.bytes = this.maxBytes;
    if (!rec.truncated) this.metrics.truncated.inc();
    rec.truncated = true;
  }

  private cut(line: SourceLine): void {
    line.text = cutUtf8(Buffer.from(line.text), this.maxBytes);
    line.truncated = true;
    this.metrics.truncated.inc();
  }

  private sourceFor(info: SourceInfo, stream: Stream): SourceInfo {
    if (this.infoFor !== info) {
      this.infoFor = info;
      // Frozen: shared by every record of the stream, and sinks cache per frozen source (Loki streams).
      this.stdoutInfo = Object.freeze({ ...info, stream: 'stdout' });
      this.stderrInfo = Object.freeze({ ...info, stream: 'stderr' });
    }
    return stream === 'stderr' ? this.stderrInfo! : this.stdoutInfo!;
  }
}

/** The first `max` bytes of `buf` as text, without splitting a UTF-8 character. */
function cutUtf8(buf: Buffer, max: number): string {
  if (buf.length <= max) return buf.toString('utf8');
  let len = max;
  for (let i = 0; i < 3 && len > 0 && (buf[len] & 0xc0) === 0x80; i++) len--;
  return buf.toString('utf8', 0, len);
}
