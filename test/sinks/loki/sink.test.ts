import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { MetricsRegistry } from '../../../src/self-metrics/registry.ts';
import type { Ack, LogEvent, LogRecord } from '../../../src/core/record.ts';
import { lokiSinkSchema } from '../../../src/sinks/loki/config.ts';
import { LokiSink } from '../../../src/sinks/loki/sink.ts';
import { LokiTestServer, type LokiServerOptions } from '../../servers/loki-server.ts';
import { tempDir, waitFor } from '../../support/daemon.ts';

const silent = pino({ level: 'silent' });

/** An ack that records when and how often it was released. */
class CountingAck implements Ack {
  released = 0;
  releasedAt = 0;
  retain(): void {}
  release(): void {
    this.released++;
    this.releasedAt = Date.now();
  }
  absorb(o: Ack): void {
    o.release();
  }
}

function event(i: number, over: Partial<LogRecord> = {}, labels: Record<string, string> = { job: 'app' }): LogEvent & { ack: CountingAck } {
  const record: LogRecord = {
    timestamp: new Date(Date.now() - 60_000 + i).toISOString().replace('Z', '123Z'),
    level: i % 3 === 0 ? 'ERROR' : 'INFO', service: 'api', message: `line ${i}`,
    trace_id: `trace-${i}`, user_id: 'user123',
    source: { type: 'file', name: 'app', host: 'node-1', file: '/var/log/app.log' },
    ...over,
  };
  return { record, labels, ack: new CountingAck(), size: 100 };
}

interface Harness {
  server: LokiTestServer;
  sink: LokiSink;
  metrics: MetricsRegistry;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

async function harness(t: { teardown(fn: () => unknown): void }, sinkCfg: Record<string, unknown> = {}, serverOpts: LokiServerOptions = {}): Promise<Harness> {
  const server = new LokiTestServer(serverOpts);
  await server.start();
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const cfg = lokiSinkSchema.parse({ type: 'loki', url: server.url, batch: { max_wait: '50ms' }, ...sinkCfg, retry: { min_backoff: '50ms', max_backoff: '400ms', ...(sinkCfg.retry as object ?? {}) } });
  const sink = new LokiSink('loki', cfg, silent, metrics);
  await sink.start();
  t.teardown(async () => {
    await sink.stop(Date.now() + 100);
    await server.stop();
  });
  return {
    server, sink, metrics,
    async metric(name, labels = {}) {
      const text = await metrics.metrics();
      let total = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return total;
    },
  };
}

t.test('ships protobuf+snappy: labels from the allowlist, trace_id in structured metadata, JSON lines, sorted, acked once after 2xx', async (t) => {
  const pw = join(tempDir(), 'pw');
  writeFileSync(pw, 's3cret\n');
  const h = await harness(t, { tenant_id: 'team-a', basic_auth: { username: 'u', password_file: pw }, headers: { 'x-extra': '1' } });
  const events = Array.from({ length: 60 }, (_, i) => event(59 - i)); // written newest first
  for (const e of events) h.sink.write(e);
  await waitFor('all acked', () => events.every((e) => e.ack.released === 1));
  const streams = h.server.streams('team-a');
  t.same(streams.map((s) => s.labels).sort(), ['{host="node-1", job="app", level="ERROR", service="api"}', '{host="node-1", job="app", level="INFO", service="api"}']);
  t.equal(h.server.entries, 60);
  for (const s of streams) {
    const ts = s.entries.map((e) => BigInt(e.ts));
    t.same(ts, [...ts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), 'entries sorted by timestamp within the stream');
    for (const e of s.entries) {
      const rec = JSON.parse(e.line) as LogRecord;
      t.equal(e.metadata.trace_id, rec.trace_id);
      t.equal(e.metadata.user_id, 'user123');
      t.equal(e.ts.slice(-6), '123000', 'nanosecond precision from the record timestamp');
    }
  }
  const hdr = h.server.headersSeen[0];
  t.equal(hdr['x-scope-orgid'], 'team-a');
  t.equal(hdr.authorization, `Basic ${Buffer.from('u:s3cret').toString('base64')}`);
  t.equal(hdr['x-extra'], '1');
  t.equal(hdr['content-type'], 'application/x-protobuf');
  t.equal(h.server.bodies[0].contentEncoding, '');
  t.equal(await h.metric('logship_sink_sent_entries_total', { sink: 'loki' }), 60);
  t.ok(await h.metric('logship_sink_sent_bytes_total') > await h.metric('logship_sink_sent_compressed_bytes_total'), 'snappy made it smaller');
  t.equal(await h.metric('logship_streams_active'), 2);
  t.ok(await h.metric('logship_sink_batch_entries_count') >= 1);
  t.ok(await h.metric('logship_sink_request_duration_seconds_count', { status_code: '204' }) >= 1);
  t.equal(h.sink.status().state, 'ok');
});

t.test('5xx, 429 (Retry-After), dropped and hung connections: retried, acked only after the 2xx, stored once', async (t) => {
  // timeout: long enough that no answered request times out on a loaded machine (that retry
  // would store a duplicate), short enough for the hung request below.
  const h = await harness(t, { timeout: '3s', retry: { max_backoff: '1500ms' } });
  // Loki fails until the test heals it, after the sink has retried at least once: no race
  // between a failure window and the sink's first request.
  h.server.fail({ mode: 'status', status: 503 });
  const a = Array.from({ length: 10 }, (_, i) => event(i));
  for (const e of a) h.sink.write(e);
  await waitFor('a 503 retried', () => (h.server.statuses[503] ?? 0) >= 2);
  t.ok(a.every((e) => e.ack.released === 0), 'nothing acknowledged while Loki fails');
  t.equal(h.sink.status().state, 'retrying');
  const healed = Date.now();
  h.server.clearFailure();
  await waitFor('recovered', () => a.every((e) => e.ack.released === 1));
  t.ok(a.every((e) => e.ack.releasedAt >= healed), 'acknowledged only after Loki accepted');
  t.ok(await h.metric('logship_sink_retries_total', { status: '503' }) >= 1);

  h.server.fail({ mode: 'status', status: 429, times: 1, retryAfter: '1' });
  const b = [event(100)];
  const t429 = Date.now();
  h.sink.write(b[0]);
  await waitFor('429 retried', () => b[0].ack.released === 1);
  t.ok(Date.now() - t429 >= 950, 'Retry-After: 1 honoured');
  t.equal(await h.metric('logship_sink_retries_total', { status: '429' }), 1);

  h.server.fail({ mode: 'drop', times: 2 });
  const c = [event(200)];
  h.sink.write(c[0]);
  await waitFor('drop retried', () => c[0].ack.released === 1);
  h.server.fail({ mode: 'hang', times: 1 });
  const d = [event(300)];
  h.sink.write(d[0]);
  await waitFor('hang timed out and retried', () => d[0].ack.released === 1);
  t.ok(await h.metric('logship_sink_retries_total', { status: 'network' }) >= 3);
  t.equal(h.server.entries, 13);
  t.equal(h.server.duplicates, 0);
  t.equal(h.sink.status().state, 'ok');
  t.equal(h.sink.status().failingSince, null);
});

t.test('400 is terminal: valid streams stored, rejected entries counted per reason, everything acked, no retry', async (t) => {
  const h = await harness(t, { reject_old_samples_max_age: 0, max_line_size: 0 }, { limits: { maxLineSize: 2000 } });
  const old = event(1, { timestamp: '2020-01-01T00:00:00Z' });
  const long = event(2, { message: 'x'.repeat(3000) });
  const ok = [event(3), event(4)];
  for (const e of [old, long, ...ok]) h.sink.write(e);
  await waitFor('acked', () => [old, long, ...ok].every((e) => e.ack.released === 1));
  t.equal(h.server.entries, 2);
  t.equal(h.server.statuses[400], 1);
  t.equal(await h.metric('logship_sink_dropped_entries_total', { reason: 'greater_than_max_sample_age' }), 1);
  t.equal(await h.metric('logship_sink_dropped_entries_total', { reason: 'line_too_long' }), 1);
  t.equal(await h.metric('logship_sink_sent_entries_total'), 2);
  t.equal(await h.metric('logship_sink_retries_total'), 0);
  t.equal(h.sink.status().dropped, 2);
});

t.test('before sending: lines over max_line_size truncated, entries older than reject_old_samples_max_age dropped and counted', async (t) => {
  const h = await harness(t, { max_line_size: 1000, line_format: 'message', reject_old_samples_max_age: '1h' });
  const long = event(1, { message: 'é'.repeat(800) });
  const old = event(2, { timestamp: new Date(Date.now() - 2 * 3600_000).toISOString() });
  h.sink.write(long);
  h.sink.write(old);
  t.equal(old.ack.released, 1, 'a dropped entry is final at once');
  await waitFor('acked', () => long.ack.released === 1);
  const stored = h.server.allEntries();
  t.equal(stored.length, 1);
  t.equal(stored[0].line, 'é'.repeat(500), 'cut at 1000 bytes on a character boundary');
  t.equal(await h.metric('logship_sink_truncated_entries_total', { reason: 'line_too_long' }), 1);
  t.equal(await h.metric('logship_sink_dropped_entries_total', { reason: 'greater_than_max_sample_age' }), 1);
});

t.test('413 splits the batch until it fits; a single entry Loki refuses goes to the dead-letter file', async (t) => {
  const dir = tempDir();
  const dlq = join(dir, 'dead.ndjson');
  const h = await harness(t, { batch: { max_wait: '100ms' }, dead_letter_path: dlq, line_format: 'message', max_line_size: 0 }, { limits: { maxRecvMsgSize: 2500, maxLineSize: 0 } });
  const rnd = (n: number) => Array.from({ length: n }, () => Math.random().toString(36).slice(2)).join('');
  const events = Array.from({ length: 40 }, (_, i) => event(i, { message: rnd(20) }));
  for (const e of events) h.sink.write(e);
  await waitFor('acked', () => events.every((e) => e.ack.released === 1));
  t.equal(h.server.entries, 40);
  t.ok(h.server.statuses[413] >= 1);
  const huge = event(99, { message: rnd(400) });
  h.sink.write(huge);
  await waitFor('dead-lettered', () => huge.ack.released === 1);
  const dl = readFileSync(dlq, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(dl.length, 1);
  t.match(dl[0], { sink: 'loki', reason: /413/, labels: '{host="node-1", job="app", level="ERROR", service="api"}', line: huge.record.message, structured_metadata: { trace_id: 'trace-99' } });
  t.equal(await h.metric('logship_sink_dropped_entries_total', { reason: 'dead_lettered' }), 1);
});

t.test('401/403: auth_error state, slow retries, delivered once credentials are accepted', async (t) => {
  const h = await harness(t, { bearer_token: 'tok', auth_retry_interval: '300ms' }, { authorization: 'Bearer other' });
  const e = event(1);
  h.sink.write(e);
  await waitFor('auth_error', () => h.sink.status().state === 'auth_error');
  t.equal(e.ack.released, 0);
  t.match(h.sink.status().lastError, /401/);
  (h.server as unknown as { opts: LokiServerOptions }).opts.authorization = 'Bearer tok';
  await waitFor('delivered', () => e.ack.released === 1);
  t.equal(h.sink.status().state, 'ok');
  t.ok(await h.metric('logship_sink_retries_total', { status: '401' }) >= 1);
});

t.test('max_retry_duration: the batch goes to the dead-letter file with the reason, never silently dropped', async (t) => {
  const dlq = join(tempDir(), 'dlq', 'loki.ndjson');
  const h = await harness(t, { retry: { max_retry_duration: '400ms' }, dead_letter_path: dlq });
  h.server.fail({ mode: 'status', status: 500 });
  const events = [event(1), event(2), event(3)];
  for (const e of events) h.sink.write(e);
  await waitFor('dead-lettered', () => events.every((e) => e.ack.released === 1));
  const dl = readFileSync(dlq, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; line: string });
  t.equal(dl.length, 3);
  t.match(dl[0].reason, /retries exhausted after \ds: 500/);
  t.same(dl.map((d) => (JSON.parse(d.line) as LogRecord).message).sort(), ['line 1', 'line 2', 'line 3']);
  t.equal(await h.metric('logship_sink_dropped_entries_total', { reason: 'dead_lettered' }), 3);
  t.equal(h.server.entries, 0);
});

t.test('JSON encoding with gzip; tenants from __tenant_id__ batch separately', async (t) => {
  const h = await harness(t, { encoding: 'json', gzip: true, tenant_id: 'default-tenant' });
  const a = event(1);
  const b = event(2, {}, { job: 'app', __tenant_id__: 'team-b' });
  h.sink.write(a);
  h.sink.write(b);
  await waitFor('acked', () => a.ack.released === 1 && b.ack.released === 1);
  t.equal(h.server.streams('default-tenant').length, 1);
  t.equal(h.server.streams('team-b').length, 1);
  t.same(h.server.streams('team-b')[0].entries[0].metadata, { trace_id: 'trace-2', user_id: 'user123' });
  t.ok(h.server.bodies.every((x) => x.contentType === 'application/json' && x.contentEncoding === 'gzip'));
  t.notOk(h.server.streams('team-b')[0].labels.includes('tenant'), 'the tenant label is not a stream label');
});

t.test('stop() with Loki hanging: returns by the deadline and does not acknowledge', async (t) => {
  const server = new LokiTestServer();
  await server.start();
  t.teardown(() => server.stop());
  server.fail({ mode: 'hang' });
  const cfg = lokiSinkSchema.parse({ type: 'loki', url: server.url, batch: { max_wait: '20ms' }, timeout: '30s' });
  const sink = new LokiSink('loki', cfg, silent, new MetricsRegistry({ defaultMetrics: false }));
  await sink.start();
  const e = event(1);
  sink.write(e);
  await waitFor('the push hanging in Loki', () => server.hanging === 1);
  const t0 = Date.now();
  await sink.stop(Date.now() + 300);
  // Far below the 30 s request timeout, with room for a loaded machine: stop did not wait for it.
  t.ok(Date.now() - t0 < 15_000, 'stop returned without waiting for the request timeout');
  server.clearFailure(); // the hung request fails now; a stopped sink must not count that as delivered
  // A grace for a wrong, late ack: it can only miss such a bug, never fail a correct sink.
  await new Promise((r) => setTimeout(r, 100));
  t.equal(e.ack.released, 0, 'undelivered lines stay unacknowledged (re-read after restart)');
});

t.test('TLS: CA file verifies the server, client certificates, insecure_skip_verify only when asked (with a warning)', async (t) => {
  const dir = tempDir();
  const cert = (name: string) => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`), '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, `${name}.key`)), cert: readFileSync(join(dir, `${name}.pem`)) };
  };
  const server = cert('loki-server');
  const client = cert('logship-client');
  const loki = new LokiTestServer({ tls: { ...server, ca: client.cert } });
  await loki.start();
  t.teardown(() => loki.stop());
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
  const run = async (tls: Record<string, unknown>) => {
    const cfg = lokiSinkSchema.parse({ type: 'loki', url: loki.url, batch: { max_wait: '20ms' }, retry: { min_backoff: '50ms', max_backoff: '100ms' }, tls });
    const sink = new LokiSink('loki', cfg, log, new MetricsRegistry({ defaultMetrics: false }));
    await sink.start();
    const e = event(1);
    sink.write(e);
    return { sink, e };
  };
  const verified = await run({ ca_file: join(dir, 'loki-server.pem'), cert_file: join(dir, 'logship-client.pem'), key_file: join(dir, 'logship-client.key') });
  await waitFor('delivered over verified TLS with a client certificate', () => verified.e.ack.released === 1);
  t.equal(loki.clientCerts.at(-1), 'logship-client');
  await verified.sink.stop(Date.now() + 100);

  const untrusted = await run({ cert_file: join(dir, 'logship-client.pem'), key_file: join(dir, 'logship-client.key') });
  await waitFor('certificate error retried', () => untrusted.sink.status().state === 'retrying');
  t.match(untrusted.sink.status().lastError, /certificate|self.signed/i);
  t.equal(untrusted.e.ack.released, 0);
  await untrusted.sink.stop(Date.now() + 100);
  t.notOk(lines.some((l) => l.includes('verification is disabled')), 'no warning when verification is on');

  const insecure = await run({ insecure_skip_verify: true, cert_file: join(dir, 'logship-client.pem'), key_file: join(dir, 'logship-client.key') });
  await waitFor('delivered without verification', () => insecure.e.ack.released === 1);
  t.ok(lines.some((l) => l.includes('"level":40') && l.includes('TLS certificate verification is disabled')), 'warned');
  await insecure.sink.stop(Date.now() + 100);
});

t.test('many small batches (chunks reused), two tenants, lines out of order: every entry stored once and intact (protobuf and JSON)', async (t) => {
  for (const encoding of ['protobuf', 'json'] as const) {
    const h = await harness(t, { encoding, batch: { max_bytes: 4096, max_wait: '30ms' }, max_inflight: 3, tenant_id: 'a' });
    const events: Array<LogEvent & { ack: CountingAck }> = [];
    for (let i = 0; i < 3000; i++) {
      // Each tenant's lines arrive in shuffled time order; lines carry multi-byte text of varied length.
      const skew = ((i * 7919) % 3000) - 1500;
      const msg = `line ${i} ` + 'é€𝄞'.repeat(i % 50) + 'x'.repeat((i * 31) % 200);
      events.push(event(i + skew, { message: msg, trace_id: `trace-${i}-ü` }, i % 4 === 0 ? { job: 'app', __tenant_id__: 'b' } : { job: 'app' }));
    }
    for (const e of events) h.sink.write(e);
    await waitFor(`${encoding}: all acked`, () => events.every((e) => e.ack.released === 1), 20_000);
    t.equal(h.server.entries, 3000, `${encoding}: all stored`);
    t.equal(h.server.duplicates, 0);
    t.ok(h.server.requests > 20, `${encoding}: many requests (${h.server.requests})`);
    const byMessage = new Map(events.map((e) => [e.record.message, e]));
    let matched = 0;
    for (const tenant of ['a', 'b']) {
      for (const s of h.server.streams(tenant)) {
        for (const e of s.entries) {
          const rec = JSON.parse(e.line) as LogRecord;
          const src = byMessage.get(rec.message)!;
          t.ok(src !== undefined && (tenant === 'b') === (src.labels.__tenant_id__ === 'b'));
          if (JSON.stringify({ ...src.record, source: undefined }) === e.line && e.metadata.trace_id === src.record.trace_id && BigInt(e.ts) === BigInt(Date.parse(src.record.timestamp)) * 1_000_000n + 123_000n) matched++;
        }
      }
    }
    t.equal(matched, 3000, `${encoding}: every line (the record without source) and its metadata intact`);
  }
});
