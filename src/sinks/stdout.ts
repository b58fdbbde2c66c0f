import type { Logger } from 'pino';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import type { LogEvent } from '../core/record.ts';
import { Batcher } from './batcher.ts';
import type { StdoutSinkConfig } from './file-config.ts';
import type { Sink, SinkStatus } from '../core/sink.ts';
import { SinkMetrics } from './sink-metrics.ts';
import { boundedJson } from '../core/fallback-record.ts';
import type { RecordFaults } from '../self-metrics/faults.ts';
import { RecordJson, recordJsonIsolated } from './record-json.ts';

/** Prints records as NDJSON on stdout (`run --dry-run`, debugging). */
export class StdoutSink implements Sink {
  readonly type = 'stdout';
  readonly name: string;
  private readonly cfg: StdoutSinkConfig;
  private readonly m: SinkMetrics;
  private readonly batcher: Batcher;
  private readonly json = new RecordJson();
  private sent = 0;
  private lastSuccess: number | null = null;

  private readonly faults: RecordFaults | undefined;

  constructor(name: string, cfg: StdoutSinkConfig, log: Logger, metrics: MetricsRegistry, faults?: RecordFaults) {
    this.name = name;
    this.faults = faults;
    this.cfg = cfg;
    this.m = new SinkMetrics(metrics);
    this.batcher = new Batcher({
      maxBytes: 256 * 1024,
      maxWait: 50,
      maxInflight: 1,
      sizeOf: (e) => e.size + 64,
      send: (batch) => this.send(batch),
      onBug: (err) => log.error({ err, sink: name }, 'stdout sink send failed unexpectedly'),
    });
  }

  async start(): Promise<void> {}

  write(event: LogEvent): void {
    this.batcher.add(event);
  }

  private send(batch: LogEvent[]): Promise<void> {
    let text = '';
    for (const e of batch) text += (this.cfg.pretty ? prettyJson(e) : recordJsonIsolated(this.json, e, this.name, this.faults)) + '\n';
    return new Promise((resolve) => {
      process.stdout.write(text, () => {
        this.sent += batch.length;
        this.lastSuccess = Date.now();
        this.m.sent.inc({ sink: this.name }, batch.length);
        resolve();
      });
    });
  }

  flush(): void {
    this.batcher.cut();
  }

  async stop(deadline: number): Promise<void> {
    await this.batcher.drain(deadline);
  }

  status(): SinkStatus {
    return {
      name: this.name, type: this.type, state: 'ok', lastSuccess: this.lastSuccess, lastError: null, failingSince: null,
      retries: 0, queued: this.batcher.queued, inflight: this.batcher.inflightRequests, sent: this.sent, dropped: 0,
    };
  }
}

/** Indented JSON of the record; bounded (and one line) when the record cannot be encoded. */
function prettyJson(e: LogEvent): string {
  try {
    return JSON.stringify(e.record, null, 2);
  } catch {
    return boundedJson(e.record);
  }
}
