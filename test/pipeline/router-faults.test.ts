import t from 'tap';
import pino from 'pino';
import { join } from 'node:path';
import { FanOutRouter } from '../../src/pipeline/router.ts';
import { RecordFaults } from '../../src/self-metrics/faults.ts';
import { MetricsRegistry } from '../../src/self-metrics/registry.ts';
import { ElasticsearchSink } from '../../src/sinks/elasticsearch/sink.ts';
import { elasticsearchSinkSchema } from '../../src/sinks/elasticsearch/config.ts';
import { FileSink } from '../../src/sinks/file.ts';
import { fileSinkSchema } from '../../src/sinks/file-config.ts';
import { readNdjson, tempDir } from '../support/daemon.ts';
import { event, server, until } from '../sinks/elasticsearch/support.ts';

/**
 * Issue 22, item 1, the encoders' side: a record no encoder can write (a cycle: no parser makes
 * one, so the record is built by hand) routed between two good ones to a real file sink and a
 * real Elasticsearch sink (the test server): the file gets a fallback record, ES a dead letter
 * with reason encode_error, every ack is released, the good records ship, the faults are counted.
 */
t.test('an unencodable record: fallback in the file sink, dead letter in Elasticsearch, the others ship', async (t) => {
  const es = await server(t);
  const dir = tempDir();
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const log = pino({ level: 'silent' });
  const faults = new RecordFaults({ metrics, log });
  const file = new FileSink('file', fileSinkSchema.parse({ type: 'file', path: join(dir, 'out.ndjson'), max_wait: '20ms' }), log, metrics, faults);
  const esSink = new ElasticsearchSink('es', elasticsearchSinkSchema.parse({ type: 'elasticsearch', url: es.url, dead_letter_path: join(dir, 'dead.ndjson'), batch: { max_wait: '20ms' } }), log, metrics, faults);
  await file.start();
  await esSink.start();
  const router = new FanOutRouter([file, esSink], faults);
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  const bad = event({ message: 'the bad one' }, 'dev:1@100');
  bad.record.metadata = { cyclic }; // after event(), which measures the record's JSON
  const evs = [event({ message: 'before' }, 'dev:1@0'), bad, event({ message: 'after' }, 'dev:1@200')];
  for (const e of evs) router.route(e);
  file.flush();
  esSink.flush();
  // the router's own reference and one per sink
  await until('every ack released by both sinks', () => evs.every((e) => e.ack.released === 3));
  const out = readNdjson<{ message: string; metadata?: Record<string, unknown> }>(join(dir, 'out.ndjson'));
  t.same(out.map((r) => r.message), ['before', 'the bad one', 'after'], 'the file sink ships all three, in order');
  t.match(out[1].metadata, { encode_error: /TypeError: Converting circular structure to JSON/, unencoded: /"self":"\[cycle\]"/ }, 'the bad one as its fallback record');
  t.same(es.docs().map((d) => d._source.message).sort(), ['after', 'before'], 'Elasticsearch indexes the good ones');
  const dead = readNdjson<{ reason: string; error: string; document: { message: string } }>(join(dir, 'dead.ndjson'));
  t.match(dead, [{ reason: 'encode_error', error: /circular/, document: { message: 'the bad one' } }], 'and dead-letters the bad one with its reason');
  const snap = faults.snapshot();
  t.match(snap.counts.sort((a, b) => a.where.localeCompare(b.where)), [
    { kind: 'encode', where: 'es', outcome: 'dead_lettered', count: 1 },
    { kind: 'encode', where: 'file', outcome: 'shipped_fallback', count: 1 },
  ]);
  await file.stop(Date.now() + 1000);
  await esSink.stop(Date.now() + 1000);
});
