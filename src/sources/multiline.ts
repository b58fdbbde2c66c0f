import type { LocalCounter, MetricsRegistry } from '../self-metrics/registry.ts';
import type { LineReceiver, SourceLine } from '../core/line.ts';
import type { MultilineConfig } from './config.ts';

/** A record being assembled from several lines of one stream. */
interface OpenRecord {
  /** The first line's object; it carries the record out (its ack absorbed the others). */
  line: SourceLine;
  parts: string[];
  lines: number;
  bytes: number;
  truncated: boolean;
  /** Reached max_lines / max_bytes: further lines are only absorbed. */
  capped: boolean;
  /** When the last line was appended (the flush timeout counts from here). */
  lastAt: number;
}

/**
 * Joins multiline records (stack traces of Java, Python, Node, Go; anything with a `start`
 * regex): a line matching `start` begins a record, other lines are appended to the open record
 * of the same stream. State is per (file, stream) — one joiner per file, one slot per stream —
 * and it runs after the container rejoin, before parsing. A record past max_lines / max_bytes
 * keeps its head and is flagged truncated (the rest is counted and its bytes still committed);
 * an open record is emitted `timeout` after its last line.
 */
export class MultilineJoiner implements LineReceiver {
  private readonly next: LineReceiver;
  private readonly start: RegExp;
  private readonly maxLines: number;
  private readonly maxBytes: number;
  private readonly timeout: number;
  /** Slots: 0 = no stream (plain files), 1 = stdout, 2 = stderr. */
  private readonly open: Array<OpenRecord | null> = [null, null, null];
  /** Counted locally (MetricsRegistry.count): this runs once per continuation line. */
  private readonly joinedLines: LocalCounter;
  private readonly truncatedRecords: LocalCounter;

  constructor(cfg: MultilineConfig, next: LineReceiver, metrics: MetricsRegistry, sourceName: string) {
    this.next = next;
    this.start = cfg.start;
    this.maxLines = cfg.max_lines;
    this.maxBytes = cfg.max_bytes;
    this.timeout = cfg.timeout;
    metrics.counter('logship_multiline_lines_joined_total', 'Lines appended to a multiline record.', ['source']);
    metrics.counter('logship_multiline_truncated_total', 'Multiline records cut at max_lines or max_bytes.', ['source']);
    this.joinedLines = metrics.count('logship_multiline_lines_joined_total', [sourceName]);
    this.truncatedRecords = metrics.count('logship_multiline_truncated_total', [sourceName]);
  }

  receive(line: SourceLine): void {
    const slot = line.stream === 'stdout' ? 1 : line.stream === 'stderr' ? 2 : 0;
    const rec = this.open[slot];
    if (rec === null || this.start.test(line.text)) {
      if (rec !== null) this.emit(slot);
      // A continuation line with nothing open (e.g. the head was read before a restart) opens a record too.
      this.open[slot] = { line, parts: [line.text], lines: 1, bytes: Buffer.byteLength(line.text), truncated: line.truncated, capped: false, lastAt: line.readTime };
      return;
    }
    rec.line.ack.absorb(line.ack);
    rec.lastAt = line.readTime;
    if (rec.capped) return;
    const bytes = Buffer.byteLength(line.text) + 1;
    if (rec.lines >= this.maxLines || rec.bytes + bytes > this.maxBytes) {
      this.truncatedRecords.inc();
      rec.truncated = true;
      rec.capped = true;
      return;
    }
    rec.parts.push(line.text);
    rec.lines++;
    rec.bytes += bytes;
    if (line.truncated) rec.truncated = true;
    this.joinedLines.inc();
  }

  flush(force: boolean): void {
    const now = Date.now();
    for (let slot = 0; slot < 3; slot++) {
      const rec = this.open[slot];
      if (rec !== null && (force || now - rec.lastAt >= this.timeout)) this.emit(slot);
    }
    this.next.flush(force);
  }

  private emit(slot: number): void {
    const rec = this.open[slot]!;
    this.open[slot] = null;
    const line = rec.line;
    if (rec.parts.length > 1) line.text = rec.parts.join('\n');
    line.truncated = rec.truncated;
    this.next.receive(line);
  }
}
