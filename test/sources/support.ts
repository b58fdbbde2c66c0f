import pino from 'pino';
import { ByteBudget } from '../../src/core/budget.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import type { LineReceiver, SourceLine } from '../../src/core/line.ts';
import { FileWatermark } from '../../src/positions/watermark.ts';
import type { Ack, SourceInfo } from '../../src/core/record.ts';
import { TailMetrics } from '../../src/sources/file/tail-metrics.ts';

export const silentLog = pino({ level: 'silent' });

/** The end of a line chain in tests: records what arrives; acks released at once unless held. */
export class CollectingReceiver implements LineReceiver {
  lines: SourceLine[] = [];
  flushes = 0;
  hold = false;
  held: Ack[] = [];

  receive(line: SourceLine): void {
    this.lines.push({ ...line });
    if (this.hold) this.held.push(line.ack);
    else line.ack.release();
  }

  flush(): void {
    this.flushes++;
  }

  releaseHeld(): void {
    const h = this.held;
    this.held = [];
    for (const a of h) a.release();
  }

  get texts(): string[] {
    return this.lines.map((l) => l.text);
  }
}

/** Feeds raw lines into a chain the way a tailer does: one ack token per line over a real watermark. */
export class LineFeeder {
  readonly watermark: FileWatermark;
  readonly commits: number[] = [];
  private offset = 0;
  readonly source: SourceInfo;

  constructor(source: SourceInfo = { type: 'file', name: 'test', file: '/x.log' }) {
    this.source = source;
    this.watermark = new FileWatermark(0, new ByteBudget(1 << 30), (o) => this.commits.push(o));
  }

  feed(chain: LineReceiver, text: string, readTime = Date.now()): { start: number; end: number } {
    const start = this.offset;
    const end = start + Buffer.byteLength(text) + 1;
    this.offset = end;
    chain.receive({ text, ack: this.watermark.issue(start, end, end - start), truncated: false, source: this.source, readTime });
    return { start, end };
  }

  get end(): number {
    return this.offset;
  }
}

export function tailMetrics(metrics = new MetricsRegistry({ defaultMetrics: false })): { metrics: MetricsRegistry; tm: TailMetrics } {
  return { metrics, tm: new TailMetrics(metrics, 'test') };
}
