import type { Logger } from 'pino';
import type { SinkConfig } from '../config/schema.ts';
import { LogshipError } from '../errors.ts';
import type { MetricsRegistry } from '../metrics/registry.ts';
import type { RecordFaults } from '../pipeline/faults.ts';
import { FileSink } from './file.ts';
import type { Sink } from './sink.ts';
import { StdoutSink } from './stdout.ts';

export class SinkNotAvailableError extends LogshipError {}

export interface SinkContext {
  log: Logger;
  metrics: MetricsRegistry;
  /** Where a sink notes records its encoder failed on (shipped as a fallback or dead-lettered). */
  faults?: RecordFaults;
}

export async function createSink(name: string, cfg: SinkConfig, ctx: SinkContext): Promise<Sink> {
  switch (cfg.type) {
    case 'file':
      return new FileSink(name, cfg, ctx.log, ctx.metrics, ctx.faults);
    case 'stdout':
      return new StdoutSink(name, cfg, ctx.log, ctx.metrics, ctx.faults);
    case 'loki': {
      const { LokiSink } = await import('./loki/sink.ts');
      return new LokiSink(name, cfg, ctx.log, ctx.metrics);
    }
    case 'elasticsearch': {
      const { ElasticsearchSink } = await import('./elasticsearch/sink.ts');
      return new ElasticsearchSink(name, cfg, ctx.log, ctx.metrics, ctx.faults);
    }
  }
}
