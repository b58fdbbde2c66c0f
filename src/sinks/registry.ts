import type { Logger } from 'pino';
import { z } from 'zod';
import { typed } from '../core/config-fields.ts';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import type { RecordFaults } from '../self-metrics/faults.ts';
import { elasticsearchSinkSchema } from './elasticsearch/config.ts';
import { FileSink } from './file.ts';
import { fileSinkSchema, stdoutSinkSchema } from './file-config.ts';
import { lokiSinkSchema } from './loki/config.ts';
import type { Sink } from '../core/sink.ts';
import { StdoutSink } from './stdout.ts';

/**
 * Every sink type the config accepts. New sinks add their schema here and a case in createSink.
 * The HTTP sinks' schemas (~100 zod objects each) are built only for a config that has one.
 */
export const sinkSchema = z.discriminatedUnion('type', [fileSinkSchema, stdoutSinkSchema, typed('loki', lokiSinkSchema), typed('elasticsearch', elasticsearchSinkSchema)]);
export type SinkConfig = z.infer<typeof sinkSchema>;

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
