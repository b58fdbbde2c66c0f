import type { Logger } from 'pino';
import type { MetricsRegistry } from '../../metrics/registry.ts';
import type { LogEvent } from '../../record.ts';
import { SinkNotAvailableError } from '../registry.ts';
import type { Sink, SinkStatus } from '../sink.ts';
import type { ElasticsearchSinkConfig } from './config.ts';

/** Not built yet: refuses to start with a clear error rather than pretending to ship. */
export class ElasticsearchSink implements Sink {
  readonly type = 'elasticsearch';
  readonly name: string;
  constructor(name: string, _cfg: ElasticsearchSinkConfig, _log: Logger, _metrics: MetricsRegistry) {
    this.name = name;
  }
  async start(): Promise<void> {
    throw new SinkNotAvailableError('SINK_NOT_AVAILABLE', 'the elasticsearch sink is not implemented in this build yet', { sink: this.name });
  }
  write(event: LogEvent): void {
    event.ack.release();
  }
  async stop(): Promise<void> {}
  status(): SinkStatus {
    return { name: this.name, type: this.type, state: 'ok', lastSuccess: null, lastError: null, failingSince: null, retries: 0, queued: 0, inflight: 0, sent: 0, dropped: 0 };
  }
}
