import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import type { LogEvent } from '../core/record.ts';
import { Batcher } from './batcher.ts';
import type { FileSinkConfig } from './file-config.ts';
import type { Sink, SinkStatus } from '../core/sink.ts';
import { SinkMetrics } from './sink-metrics.ts';
import type { RecordFaults } from '../self-metrics/faults.ts';
import { RecordJson, recordJsonIsolated } from './record-json.ts';

/**
 * Appends normalized records as NDJSON to a local file. Records are acknowledged after the
 * write (and fsync, unless disabled) so positions never pass what is on disk.
 */
export class FileSink implements Sink {
  readonly type = 'file';
  readonly name: string;
  private readonly cfg: FileSinkConfig;
  private readonly log: Logger;
  private readonly m: SinkMetrics;
  private fh: FileHandle | null = null;
  private readonly batcher: Batcher;
  private readonly json = new RecordJson();
  private stats = { sent: 0, dropped: 0, retries: 0, lastSuccess: null as number | null, lastError: null as string | null, failingSince: null as number | null };

  private readonly faults: RecordFaults | undefined;

  constructor(name: string, cfg: FileSinkConfig, log: Logger, metrics: MetricsRegistry, faults?: RecordFaults) {
    this.name = name;
    this.faults = faults;
    this.cfg = cfg;
    this.log = log.child({ sink: name });
    this.m = new SinkMetrics(metrics);
    this.batcher = new Batcher({
      maxBytes: 1024 * 1024,
      maxWait: cfg.max_wait,
      maxInflight: 1,
      sizeOf: (e) => e.size + 64,
      send: (batch) => this.send(batch),
      onBug: (err) => this.log.error({ err }, 'file sink send failed unexpectedly'),
    });
  }

  async start(): Promise<void> {
    mkdirSync(dirname(this.cfg.path), { recursive: true });
    this.fh = await open(this.cfg.path, 'a', 0o640);
    // A kill -9 mid-write can leave a torn last line; start on a fresh line so the re-sent
    // record is not glued to the fragment (the fragment stays a lone invalid line).
    const st = await this.fh.stat();
    if (st.isFile() && st.size > 0) {
      const last = Buffer.alloc(1);
      const r = await open(this.cfg.path, 'r');
      try {
        await r.read(last, 0, 1, st.size - 1);
      } finally {
        await r.close();
      }
      if (last[0] !== 10) await this.fh.write('\n');
    }
  }

  write(event: LogEvent): void {
    this.batcher.add(event);
  }

  private async send(batch: LogEvent[]): Promise<void> {
    let text = '';
    for (let i = 0; i < batch.length; i++) text += recordJsonIsolated(this.json, batch[i], this.name, this.faults) + '\n';
    for (let attempt = 0; ; attempt++) {
      try {
        await this.fh!.write(text);
        if (this.cfg.fsync) await this.fh!.datasync();
        break;
      } catch (e) {
        // A full disk is transient from our point of view: hold the batch (and the files) and retry.
        this.stats.retries++;
        this.stats.lastError = (e as Error).message;
        this.stats.failingSince ??= Date.now();
        this.m.retries.inc({ sink: this.name, status: 'io_error' });
        this.log.error({ err: (e as Error).message, attempt }, 'writing the output file failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt)));
      }
    }
    this.stats.sent += batch.length;
    this.stats.lastSuccess = Date.now();
    this.stats.failingSince = null;
    this.m.sent.inc({ sink: this.name }, batch.length);
    this.m.sentBytes.inc({ sink: this.name }, Buffer.byteLength(text));
    this.m.batchEntries.observe({ sink: this.name }, batch.length);
    this.m.lastSuccess.set({ sink: this.name }, Date.now() / 1000);
  }

  flush(): void {
    this.batcher.cut();
  }

  async stop(deadline: number): Promise<void> {
    const drained = await this.batcher.drain(deadline);
    if (!drained) this.log.warn({ queued: this.batcher.queued }, 'file sink did not drain before the grace period ended');
    await this.fh?.close();
    this.fh = null;
  }

  status(): SinkStatus {
    return {
      name: this.name, type: this.type, state: this.stats.failingSince ? 'retrying' : 'ok',
      lastSuccess: this.stats.lastSuccess, lastError: this.stats.lastError, failingSince: this.stats.failingSince,
      retries: this.stats.retries, queued: this.batcher.queued, inflight: this.batcher.inflightRequests,
      sent: this.stats.sent, dropped: this.stats.dropped,
    };
  }
}
