import t from 'tap';
import { readFileSync } from 'node:fs';
import { event, makeSink, server, until } from './support.ts';

/**
 * The records poison-lines' hostile lines become (issue 22), through the real sink into the test
 * server, in one batch between normal records: each is stored or dead-lettered on its own and the
 * records after it are delivered. The `__proto__` record is the one that once stalled ES in the
 * poison-lines run (the test server answered every later request with a 500).
 */

/** metadata as the JSON parser leaves it: `__proto__` and `constructor` are own keys (JSON.parse makes them so). */
const protoMeta = () => JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"toString":"s"}') as Record<string, unknown>;

t.test("hostile records in one batch: each stored or dead-lettered alone, every normal record delivered, each ack released once", async (t) => {
  const es = await server(t);
  const { sink, deadLetterPath } = makeSink(es.url, { batch: { max_wait: '50ms' } });
  await sink.start();
  t.teardown(() => sink.stop(Date.now()));
  const hostile = [
    // `{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"msg":"proto"}`
    { message: 'proto', metadata: protoMeta() },
    // the same keys beside a dotted one, so the sink copies metadata to clean it
    { message: 'proto cleaned', metadata: { 'a.b': 1, ...protoMeta() } },
    // `{"n":1e400,"big":1234…789,"neg":-1e-400,"nan":"NaN"}`: JSON.parse gives Infinity, 1.23e38, -0
    { message: 'numbers', metadata: { n: Infinity, big: 123456789012345678901234567890123456789, neg: -0, nan: 'NaN' } },
    // 5,000 keys: over index.mapping.total_fields.limit (1,000)
    { message: 'many keys', metadata: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])) },
    { message: 'nul \u0000 and a lone \ud800 surrogate', metadata: { '\u0000': 'k', 'k\ud83d': 'v' } },
  ];
  const events: Array<ReturnType<typeof event>> = [];
  let offset = 0;
  for (let i = 0; i < hostile.length; i++) {
    for (let k = 0; k < 3; k++) events.push(event({ message: `between ${i * 3 + k}` }, `file-1@${offset++}`));
    events.push(event(hostile[i], `file-1@${offset++}`));
  }
  for (const e of events) sink.write(e);
  sink.flush();
  await until('every ack released', () => events.every((e) => e.ack.released > 0));
  t.same(events.filter((e) => e.ack.released !== 1).map((e) => e.record.message), [], 'each ack released exactly once');
  const stored = new Set(es.docs('*').map((d) => d._source.message));
  t.same(Array.from({ length: hostile.length * 3 }, (_, i) => `between ${i}`).filter((m) => !stored.has(m)), [], 'every normal record is stored');
  const proto = es.docs('*').find((d) => d._source.message === 'proto');
  t.ok(proto && Object.hasOwn(proto._source.metadata as object, '__proto__') && Object.hasOwn(proto._source.metadata as object, 'constructor'), 'the __proto__ record is stored with those keys as fields');
  const cleaned = es.docs('*').find((d) => d._source.message === 'proto cleaned');
  t.same(cleaned && Object.keys(cleaned._source.metadata as object).sort(), ['__proto__', 'a_b', 'constructor', 'toString'], 'a cleaned copy of metadata keeps __proto__ as a field (not as its prototype)');
  const dead = readFileSync(deadLetterPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; error: string; document: { message: string } });
  t.same(dead.map((d) => [d.document.message, d.reason]).sort(), [['many keys', 'illegal_argument_exception'], ['numbers', 'mapper_parsing_exception']], 'ES refused two, for their mapping: dead-lettered with the reason');
  t.match(sink.status(), { state: 'ok', queued: 0, dropped: 2, sent: events.length - 2 }, 'counted; nothing held');
});
