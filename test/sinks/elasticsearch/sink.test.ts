import t from 'tap';
import { dirname } from 'node:path';
import { graceForLateEvents, readNdjson } from '../../support/daemon.ts';
import { EsServer } from '../../servers/es-server.ts';
import { event, makeSink, metricValue, server, until } from './support.ts';

t.test('delivers NDJSON+gzip creates; documents answer the Kibana runbook queries', async (t) => {
  const es = await server(t);
  const { sink, metrics } = makeSink(es.url);
  await sink.start();
  const evs = [
    event({ level: 'ERROR', message: 'authentication failed', http: { method: 'POST', path: '/login', status_code: 401, response_time: 6001.5 }, duration: 6.0015 }, 'dev:1@0'),
    event({ service: 'Pay Ment/EU', metadata: { 'user.name': 'bob', deep: { a: { b: { c: { d: { e: { f: 1 } } } } } } } }, 'dev:1@100'),
    event({ timestamp: '2024-05-02T23:59:59.999+00:00' }, 'dev:1@200'),
  ];
  for (const e of evs) sink.write(e);
  await until('all acked', () => evs.every((e) => e.ack.released === 1));
  t.equal(es.stats.gzipRequests, es.stats.bulkRequests, 'every request gzip-encoded');
  t.equal(es.count(), 3);
  const byMsg = new Map(es.docs().map((d) => [d._source.message as string, d]));
  const err = byMsg.get('authentication failed')!;
  t.equal(err._index, 'logstash-payment-2024.05.01', 'date-named index from the record timestamp (UTC)');
  t.equal(err._source['@timestamp'], '2024-05-01T10:00:00.123Z');
  t.equal(err._source.level, 'ERROR');
  t.equal(err._source.service, 'payment');
  t.equal(err._source.response_time, 6001.5, 'top-level response_time in ms');
  t.equal(err._source.duration, 6.0015);
  t.same(err._source.labels, { job: 'app' });
  t.notOk('timestamp' in err._source, '@timestamp replaces timestamp');
  const odd = es.docs().find((d) => (d._source.service as string) === 'Pay Ment/EU')!;
  t.equal(odd._index, 'logstash-pay_ment_eu-2024.05.01', 'index name sanitized: lower case, no illegal characters');
  const meta = odd._source.metadata as Record<string, any>;
  t.equal(meta.user_name, 'bob', 'dotted keys sanitized');
  t.equal(typeof meta.deep.a.b.c.d, 'string', 'metadata deeper than metadata_max_depth is stringified');
  t.same(JSON.parse(meta.deep.a.b.c.d), { e: { f: 1 } });
  t.ok(es.indices.has('logstash-payment-2024.05.02'), 'an offset timestamp lands on its UTC day');
  t.equal(await metricValue(metrics, 'logship_sink_sent_entries_total', { sink: 'es' }), 3);
  t.ok(await metricValue(metrics, 'logship_sink_sent_compressed_bytes_total', { sink: 'es' }) > 0);
  t.equal(sink.status().state, 'ok');
  await sink.stop(Date.now() + 1000);
});

t.test('idempotent ids: a resend of the same file bytes is a 409 duplicate, acked, not stored twice', async (t) => {
  const es = await server(t);
  const first = makeSink(es.url);
  await first.sink.start();
  const a = [event({ message: 'one' }, '64:7@0'), event({ message: 'two' }, '64:7@10')];
  for (const e of a) first.sink.write(e);
  await until('acked', () => a.every((e) => e.ack.released === 1));
  await first.sink.stop(Date.now() + 1000);
  // "After a crash": the same lines from the same offsets, plus one new line; the read time differs.
  const second = makeSink(es.url);
  await second.sink.start();
  const b = [event({ message: 'one', timestamp: '2024-05-01T10:00:09.000Z' }, '64:7@0'), event({ message: 'two' }, '64:7@10'), event({ message: 'three' }, '64:7@20')];
  for (const e of b) second.sink.write(e);
  await until('acked', () => b.every((e) => e.ack.released === 1));
  t.equal(es.stats.conflicts, 2, 'two 409s');
  t.equal(es.count(), 3, 'no duplicates');
  t.equal(new Set(es.ids()).size, 3);
  t.equal(second.sink.status().dropped, 0, '409 is success, not a drop');
  // Records without a file position are named by their content.
  const c = [event({ message: 'stdin line' }), event({ message: 'stdin line' })];
  for (const e of c) second.sink.write(e);
  await until('acked', () => c.every((e) => e.ack.released === 1));
  t.equal(es.count(), 4, 'identical stdin records share one id');
  await second.sink.stop(Date.now() + 1000);
});

t.test('per-item 429/503 are resent alone with backoff; acks wait for every item', async (t) => {
  const es = await server(t, { seed: 7 });
  const { sink, metrics } = makeSink(es.url);
  await sink.start();
  // Items fail until some failed, then the test heals ES: no time window the first bulk could
  // miss on a loaded machine.
  es.failItems(429, 0.5);
  const evs = Array.from({ length: 200 }, (_, i) => event({ message: `m${i}` }, `1:1@${i * 10}`));
  for (const e of evs) sink.write(e);
  await until('item failures injected', () => es.stats.injectedItemFailures > 0);
  es.clearFaults();
  await until('all acked', () => evs.every((e) => e.ack.released === 1));
  t.equal(es.count(), 200, 'every item stored once');
  t.ok(es.stats.injectedItemFailures > 0, 'failures were injected');
  t.equal(es.stats.conflicts, 0, 'only failed items were resent (no 409 from resending successful ones)');
  t.equal(es.stats.items, 200 + es.stats.injectedItemFailures, 'resends carried exactly the failed items');
  t.ok(await metricValue(metrics, 'logship_sink_retries_total', { sink: 'es', status: '429' }) > 0);
  const injectedBefore = es.stats.injectedItemFailures;
  es.failItems(503, 0.3);
  const more = Array.from({ length: 50 }, (_, i) => event({ message: `n${i}` }, `1:1@${5000 + i}`));
  for (const e of more) sink.write(e);
  await until('item failures injected', () => es.stats.injectedItemFailures > injectedBefore);
  es.clearFaults();
  await until('acked', () => more.every((e) => e.ack.released === 1));
  t.ok(await metricValue(metrics, 'logship_sink_retries_total', { sink: 'es', status: '503' }) > 0, 'retried 503 items');
  t.equal(es.count(), 250);
  await sink.stop(Date.now() + 1000);
});

t.test('other 4xx items go to the dead-letter file with the reason and a metric', async (t) => {
  const es = await server(t);
  await fetch(`${es.url}/_component_template/strict`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ template: { mappings: { properties: { user_id: { type: 'long' } } } } }) });
  await fetch(`${es.url}/_index_template/strict`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ index_patterns: ['logstash-*'], priority: 300, composed_of: ['strict'] }) });
  const { sink, metrics, deadLetterPath } = makeSink(es.url);
  await sink.start();
  const good = event({ user_id: '12345', message: 'fine' }, '2:2@0');
  const bad = event({ user_id: 'bob', message: 'unmappable' }, '2:2@10');
  sink.write(good);
  sink.write(bad);
  await until('acked', () => good.ack.released === 1 && bad.ack.released === 1);
  t.equal(es.count(), 1);
  const dead = readNdjson<Record<string, any>>(deadLetterPath);
  t.equal(dead.length, 1);
  t.equal(dead[0].reason, 'mapper_parsing_exception');
  t.equal(dead[0].status, 400);
  t.match(dead[0].error, /failed to parse field \[user_id\] of type \[long\]/);
  t.equal(dead[0].document.message, 'unmappable', 'the document is kept for replay');
  t.equal(dead[0].index, 'logstash-payment-2024.05.01');
  t.ok(dead[0]._id);
  t.equal(await metricValue(metrics, 'logship_sink_dropped_entries_total', { sink: 'es', reason: 'mapper_parsing_exception' }), 1);
  t.equal(sink.status().dropped, 1);
  await sink.stop(Date.now() + 1000);
  // After a crash the same line is resent and refused again: it is final, but not dead-lettered twice.
  const again = makeSink(es.url, {}, dirname(deadLetterPath));
  await again.sink.start();
  const resent = event({ user_id: 'bob', message: 'unmappable' }, '2:2@10');
  again.sink.write(resent);
  await until('acked', () => resent.ack.released === 1);
  t.equal(readNdjson(deadLetterPath).length, 1, 'still one dead letter');
  await again.sink.stop(Date.now() + 1000);
});

t.test('whole-request 503 and connection errors are retried; 413 splits', async (t) => {
  const es = await server(t, { maxContentLength: 4000 });
  const { sink, metrics, deadLetterPath } = makeSink(es.url, { gzip: false });
  await sink.start();
  es.failRequests(503, { count: 3 });
  const evs = Array.from({ length: 40 }, (_, i) => event({ message: `line ${i} ${'x'.repeat(100)}` }, `3:3@${i * 200}`));
  for (const e of evs) sink.write(e);
  await until('acked', () => evs.every((e) => e.ack.released === 1));
  t.equal(es.count(), 40);
  t.ok(es.stats.requestsTooLarge > 0, 'a 413 happened');
  t.ok(es.stats.maxItemsPerRequest < 40, 'the batch was split');
  t.equal(await metricValue(metrics, 'logship_sink_retries_total', { sink: 'es', status: '503' }), 3);
  // One document larger than the server accepts: dead-lettered as request_too_large, not held forever.
  const huge = event({ message: 'y'.repeat(5000) }, '3:3@99999');
  sink.write(huge);
  await until('acked', () => huge.ack.released === 1);
  t.equal(readNdjson<any>(deadLetterPath)[0].reason, 'request_too_large');
  await sink.stop(Date.now() + 1000);

  // Connection refused, then the server comes up on that port.
  const port = es.port;
  await es.stop();
  const again = makeSink(`http://127.0.0.1:${port}`);
  await again.sink.start();
  const late = event({ message: 'late' }, '3:4@0');
  again.sink.write(late);
  await until('retrying', () => again.sink.status().state === 'retrying');
  t.equal(late.ack.released, 0, 'not acked while ES is down');
  const es2 = new EsServer({ port });
  await es2.start();
  t.teardown(() => es2.stop());
  await until('acked', () => late.ack.released === 1);
  t.equal(es2.count(), 1);
  t.equal(again.sink.status().state, 'ok');
  t.ok(await metricValue(again.metrics, 'logship_sink_retries_total', { sink: 'es', status: 'network' }) > 0);
  await again.sink.stop(Date.now() + 1000);
});

t.test('401/403 hold the batch as auth_error until credentials work', async (t) => {
  const key = Buffer.from('id1:secret').toString('base64');
  const es = await server(t, { authorization: `ApiKey ${Buffer.from('id1:wrong').toString('base64')}` });
  const { sink } = makeSink(es.url, { api_key: 'id1:secret' });
  await sink.start();
  const e = event({ message: 'held' }, '5:5@0');
  sink.write(e);
  await until('auth_error', () => sink.status().state === 'auth_error');
  t.equal(e.ack.released, 0);
  t.match(sink.status().lastError, /credentials rejected/);
  es.opts.authorization = `ApiKey ${key}`;
  await until('acked', () => e.ack.released === 1);
  t.equal(es.count(), 1);
  t.equal(sink.status().state, 'ok');
  await sink.stop(Date.now() + 1000);
});

t.test('basic auth and bearer tokens', async (t) => {
  const es = await server(t, { authorization: `Basic ${Buffer.from('elastic:pw').toString('base64')}` });
  const { sink } = makeSink(es.url, { basic_auth: { username: 'elastic', password: 'pw' } });
  await sink.start();
  const e = event({}, '6:6@0');
  sink.write(e);
  await until('acked', () => e.ack.released === 1);
  await sink.stop(Date.now() + 1000);
  es.opts.authorization = 'Bearer tok';
  const b = makeSink(es.url, { bearer_token: 'tok' });
  await b.sink.start();
  const e2 = event({}, '6:6@1');
  b.sink.write(e2);
  await until('acked', () => e2.ack.released === 1);
  t.equal(es.count(), 2);
  t.equal(es.stats.unauthorized, 0);
  await b.sink.stop(Date.now() + 1000);
});

t.test('data streams: logs-{dataset}-{namespace}, create only', async (t) => {
  const es = await server(t);
  const { sink } = makeSink(es.url, { mode: 'data_stream', data_stream: { namespace: 'prod' } });
  await sink.start();
  const e = event({ service: 'cf1-frontend' }, '7:7@0');
  sink.write(e);
  await until('acked', () => e.ack.released === 1);
  const ds = es.indices.get('logs-cf1_frontend-prod');
  t.ok(ds, 'dataset "-" replaced: the data stream naming scheme reserves it');
  t.ok(ds!.dataStream, 'created as a data stream (built-in logs-*-* template)');
  t.equal(sink.status().dropped, 0);
  await sink.stop(Date.now() + 1000);
});

t.test('ECS schema', async (t) => {
  const es = await server(t);
  const { sink } = makeSink(es.url, { schema: 'ecs' });
  await sink.start();
  const e = event({ level: 'WARN', user_id: 'u1', trace_id: 'abc', ip_address: '10.0.0.1', http: { method: 'GET', status_code: 503, response_time: 12 }, metadata: { k: 1 } }, '8:8@0');
  sink.write(e);
  await until('acked', () => e.ack.released === 1);
  const d = es.docs()[0]._source as any;
  t.equal(d.log.level, 'WARN');
  t.equal(d.service.name, 'payment');
  t.equal(d.user.id, 'u1');
  t.equal(d.trace.id, 'abc');
  t.equal(d.client.ip, '10.0.0.1');
  t.equal(d.http.request.method, 'GET');
  t.equal(d.http.response.status_code, 503);
  t.equal(d.event.duration, 12_000_000, 'ECS event.duration is nanoseconds');
  t.equal(d.log.file.path, '/var/log/app.log');
  t.same(d.logship.metadata, { k: 1 });
  await sink.stop(Date.now() + 1000);
});

t.test('shutdown past the deadline leaves unsent events unacknowledged', async (t) => {
  const es = await server(t);
  es.failRequests(503, { forMs: 60_000 });
  const { sink } = makeSink(es.url);
  await sink.start();
  const e = event({}, '9:9@0');
  sink.write(e);
  await until('retrying', () => sink.status().state === 'retrying');
  await sink.stop(Date.now() + 100);
  await graceForLateEvents(200);
  t.equal(e.ack.released, 0, 'never acked: the position stays before it and it is resent after restart');
});
