import type { Logger } from 'pino';
import type { LineReceiver, SourceLine } from '../../core/line.ts';
import type { ContainerMetrics } from './container-metrics.ts';
import { PartialJoiner } from './partial-joiner.ts';

export interface ContainerDecoderOptions {
  maxPartialBytes: number;
  partialTimeout: number;
  metrics: ContainerMetrics;
  log: Logger;
}

/**
 * What the Docker and CRI decoders share: split pieces go to a PartialJoiner (per stream), and a
 * line that is not in the runtime's format is passed on as plain text and counted — warned about
 * once per file, never dropped.
 */
export abstract class ContainerDecoder implements LineReceiver {
  protected readonly joiner: PartialJoiner;
  protected readonly next: LineReceiver;
  private readonly metrics: ContainerMetrics;
  private readonly log: Logger;
  private warned = false;
  /** The runtime's format, for the warning ("Docker json-file", "CRI log"). */
  protected abstract readonly format: string;

  constructor(next: LineReceiver, opts: ContainerDecoderOptions) {
    this.next = next;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.joiner = new PartialJoiner(next, opts.maxPartialBytes, opts.partialTimeout, opts.metrics);
  }

  abstract receive(line: SourceLine): void;

  flush(force: boolean): void {
    this.joiner.flush(force);
    this.next.flush(force);
  }

  protected invalid(line: SourceLine, why?: string): void {
    this.metrics.decodeErrors.inc();
    if (!this.warned) {
      this.warned = true;
      this.log.warn({ file: line.source.file, ...(why !== undefined ? { why } : {}) }, `line is not ${this.format} format; shipping it as plain text (further ones only counted)`);
    }
    this.next.receive(line);
  }
}
