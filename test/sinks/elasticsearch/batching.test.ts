import t from 'tap';
import { createServer, request, type Server } from 'node:http';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { EsServer } from '../../servers/es-server.ts';
import { event, makeSink, server, until } from './support.ts';

/** One `_bulk` exchange as it crossed the wire. */
interface Exchange {
  /** Decompressed NDJSON of the request. */
  ndjson: string;
  status: number;
  response: any;
}

/**
 * A transparent HTTP proxy in front of the ES test server that keeps every `_bulk` request
 * (decompressed) and its answer, so tests can check what the sink actually sent.
 */
async function recordingProxy(t: { teardown(fn: () => unknown): void }, target: EsServer): Promise<{ url: string; bulks: Exchange[] }> {
  const bulks: Exchange[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const up = request(`${target.url}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
        const out: Buffer[] = [];
        r.on('data', (c: Buffer) => out.push(c));
        r.on('end', () => {
          const text = Buffer.concat(out).toString('utf8');
          if (req.url?.includes('_bulk')) {
            const ndjson = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
            bulks.push({ ndjson, status: r.statusCode ?? 0, response: text ? JSON.parse(text) : null });
          }
          res.writeHead(r.statusCode ?? 502, r.headers);
          res.end(text);
        });
      });
      up.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => new Promise((r) => server.close(r)));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, bulks };
}

/** The items (action line + source line) of an NDJSON body. */
function items(ndjson: string): string[] {
  const lines = ndjson.split('\n');
  const out: string[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) out.push(`${lines[i]}\n${lines[i + 1]}\n`);
  return out;
}

t.test('a per-item 429 resends exactly the refused items, byte for byte, and nothing else', async (t) => {
  const es = await server(t, { seed: 11 });
  const proxy = await recordingProxy(t, es);
  const { sink } = makeSink(proxy.url, { batch: { max_wait: '50ms' }, max_inflight: 1 });
  await sink.start();
  es.failItems(429, 0.4, 60_000);
  const evs = Array.from({ length: 300 }, (_, i) => event({ message: `m${i} ünï ${'x'.repeat(i % 50)}` }, `9:1@${i * 100}`));
  for (const e of evs) sink.write(e);
  await until('some items refused', () => proxy.bulks.length >= 1);
  es.clearFaults();
  await until('all acked', () => evs.every((e) => e.ack.released === 1));
  t.equal(es.count(), 300, 'every document stored once');
  t.equal(es.stats.conflicts, 0, 'no item was resent after it was stored');
  t.ok(proxy.bulks.length >= 2, 'there were resends');
  // Every request after the first carries exactly the items the one before refused with 429.
  let checked = 0;
  for (let k = 1; k < proxy.bulks.length; k++) {
    const prev = proxy.bulks[k - 1];
    const refused = items(prev.ndjson).filter((_, i) => prev.response.items?.[i] && Object.values(prev.response.items[i] as Record<string, { status: number }>)[0].status === 429);
    if (refused.length === 0) continue; // a fresh batch, not a resend
    t.equal(proxy.bulks[k].ndjson, refused.join(''), `request ${k} = the 429 items of request ${k - 1}, unchanged`);
    checked++;
  }
  t.ok(checked >= 1, `${checked} resends compared`);
  const sent = proxy.bulks.reduce((n, b) => n + items(b.ndjson).length, 0);
  t.equal(sent, 300 + es.stats.injectedItemFailures, 'items sent = documents + refusals');
  await sink.stop(Date.now() + 1000);
});

t.test('batch.max_bytes bounds every request; a bigger document goes alone', async (t) => {
  const es = await server(t);
  const proxy = await recordingProxy(t, es);
  const { sink } = makeSink(proxy.url, { batch: { max_bytes: 2000, max_wait: '20ms' }, max_inflight: 1 }); // one at a time: the proxy records in send order
  await sink.start();
  const evs = Array.from({ length: 60 }, (_, i) => event({ message: `line ${i} ${'é'.repeat(i % 40)}` }, `9:2@${i * 100}`));
  const huge = event({ message: 'h'.repeat(5000) }, '9:2@99999');
  for (const e of evs.slice(0, 30)) sink.write(e);
  sink.write(huge);
  for (const e of evs.slice(30)) sink.write(e);
  await until('all acked', () => huge.ack.released === 1 && evs.every((e) => e.ack.released === 1));
  t.equal(es.count(), 61);
  const sizes = proxy.bulks.map((b) => Buffer.byteLength(b.ndjson));
  const alone = proxy.bulks.filter((b) => b.ndjson.includes('h'.repeat(5000)));
  t.equal(alone.length, 1);
  t.equal(items(alone[0].ndjson).length, 1, 'the big document was sent alone');
  t.ok(sizes.filter((s) => s < 5000).every((s) => s <= 2000), `requests within max_bytes: ${sizes.join(', ')}`);
  t.ok(proxy.bulks.length >= 10, 'split into many requests');
  const order = proxy.bulks.flatMap((b) => items(b.ndjson)).map((i) => JSON.parse(i.split('\n')[1]).message as string);
  t.same(order.filter((m) => m.startsWith('line ')), evs.map((e) => e.record.message), 'documents sent in write order');
  await sink.stop(Date.now() + 1000);
});

t.test('ids are stable across a restart: the resent batch is all 409s and nothing is stored twice', async (t) => {
  const es = await server(t);
  const proxy = await recordingProxy(t, es);
  const lines = Array.from({ length: 120 }, (_, i) => ({ message: `restart ${i}`, id: `77:5@${i * 64}` }));
  const first = makeSink(proxy.url);
  await first.sink.start();
  const a = lines.map((l) => event({ message: l.message }, l.id));
  for (const e of a) first.sink.write(e);
  await until('acked', () => a.every((e) => e.ack.released === 1));
  await first.sink.stop(Date.now() + 1000);
  const idsBefore = es.ids().sort();
  // A new process (new sink) reads the same bytes again; the read time (timestamp) differs.
  const second = makeSink(proxy.url);
  await second.sink.start();
  const b = lines.map((l) => event({ message: l.message, timestamp: '2024-05-01T11:11:11.111Z' }, l.id));
  for (const e of b) second.sink.write(e);
  await until('acked', () => b.every((e) => e.ack.released === 1));
  t.equal(es.stats.conflicts, 120, 'every resent item answered 409');
  t.same(es.ids().sort(), idsBefore, 'no new ids');
  t.equal(second.sink.status().sent, 120, 'duplicates count as delivered');
  t.equal(second.sink.status().dropped, 0);
  await second.sink.stop(Date.now() + 1000);
});
