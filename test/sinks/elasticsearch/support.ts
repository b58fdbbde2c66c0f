import { join } from 'node:path';
import pino from 'pino';
import { MetricsRegistry } from '../../../src/self-metrics/registry.ts';
import type { Ack, LogEvent, LogRecord } from '../../../src/core/record.ts';
import { elasticsearchSinkSchema } from '../../../src/sinks/elasticsearch/config.ts';
import { ElasticsearchSink } from '../../../src/sinks/elasticsearch/sink.ts';
import { tempDir } from '../../support/daemon.ts';
import { EsServer } from '../../servers/es-server.ts';

/** An ack that records releases (and refuses to be released twice). */
export class CountingAck implements Ack {
  released = 0;
  readonly identity: string | undefined;
  constructor(identity?: string) {
    this.identity = identity;
  }
  retain(): void {}
  release(): void {
    this.released++;
  }
  absorb(other: Ack): void {
    other.release();
  }
}

export function record(over: Partial<LogRecord> = {}): LogRecord {
  return { timestamp: '2024-05-01T10:00:00.123Z', level: 'INFO', service: 'payment', message: 'hello', source: { type: 'file', name: 'app', file: '/var/log/app.log' }, ...over };
}

/** An event; `at` names where a file record's bytes are, `<file identity>@<offset>`. */
export function event(over: Partial<LogRecord> = {}, at?: string, labels: Record<string, string> = { job: 'app' }): LogEvent & { ack: CountingAck } {
  const r = record(over);
  const sep = at?.lastIndexOf('@') ?? -1;
  const ack = new CountingAck(at === undefined ? undefined : at.slice(0, sep));
  return { record: r, labels, ack, size: JSON.stringify(r).length, ...(at === undefined ? {} : { offset: Number(at.slice(sep + 1)) }) };
}

export function makeSink(url: string, over: Record<string, unknown> = {}, dir = tempDir('logship-es-')) {
  const cfg = elasticsearchSinkSchema.parse({
    type: 'elasticsearch', url, dead_letter_path: join(dir, 'dead.ndjson'),
    batch: { max_wait: '20ms' }, retry: { min_backoff: '20ms', max_backoff: '200ms' }, ...over,
  });
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const sink = new ElasticsearchSink('es', cfg, pino({ level: 'silent' }), metrics);
  return { sink, metrics, cfg, dir, deadLetterPath: join(dir, 'dead.ndjson') };
}

/** Polls `fn` until true; the deadline only bounds a failing test (generous: the machine is loaded). */
export async function until(what: string, fn: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A metric sample's value from the exposition text (0 when absent). */
export async function metricValue(metrics: MetricsRegistry, name: string, labels: Record<string, string>): Promise<number> {
  const text = await metrics.metrics();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** An Elasticsearch test server on 127.0.0.1, stopped at teardown. */
export async function server(t: { teardown(fn: () => unknown): void }, opts: ConstructorParameters<typeof EsServer>[0] = {}): Promise<EsServer> {
  const es = new EsServer(opts);
  await es.start();
  t.teardown(() => es.stop());
  return es;
}
