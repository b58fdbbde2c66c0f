import t from 'tap';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { ChunkPool, encodeStreams, JsonEntryEncoder, LokiBatch, ProtobufEntryEncoder, type EntryEncoder } from '../../../src/sinks/loki/batch.ts';
import { formatLabels, type EntryMetadata, type ResolvedStream } from '../../../src/sinks/loki/labels.ts';
import { decodeJsonPush, decodePushRequest, splitStreams, type LokiEntry, type LokiStream } from '../../../src/sinks/loki/push-request.ts';
import { decodeSnappyBlock } from '../../servers/loki-snappy-block.ts';
import type { Ack } from '../../../src/core/record.ts';

const PushRequest = protobuf.loadSync(join(import.meta.dirname, '..', '..', 'servers', 'push.proto')).lookupType('logproto.PushRequest');

interface Entry {
  sec: number;
  nanos: number;
  line: string;
  md: Array<[string, string]>;
}

interface Stream {
  labels: string;
  entries: Entry[];
}

/** The independent path: our test server's snappy decoder + protobufjs on Loki's push.proto. */
function decodeProtobuf(body: Buffer): Stream[] {
  const msg = PushRequest.toObject(PushRequest.decode(decodeSnappyBlock(compressSync(body))), { longs: Number, defaults: true }) as {
    streams: Array<{ labels: string; entries: Array<{ timestamp?: { seconds: number; nanos: number }; line: string; structuredMetadata: Array<{ name: string; value: string }> }> }>;
  };
  return msg.streams.map((s) => ({
    labels: s.labels,
    entries: s.entries.map((e) => ({ sec: e.timestamp?.seconds ?? 0, nanos: e.timestamp?.nanos ?? 0, line: e.line, md: e.structuredMetadata.map((p) => [p.name, p.value] as [string, string]) })),
  }));
}

/** Lone surrogates as Go's JSON decoder (Loki) reads a `\udXXX` escape: U+FFFD. */
function wellFormed(s: string): string {
  return (s as string & { toWellFormed(): string }).toWellFormed();
}

/** JSON.parse, independent of decodeJsonPush. */
function decodeJson(body: Buffer): Stream[] {
  const doc = JSON.parse(body.toString('utf8')) as { streams: Array<{ stream: Record<string, string>; values: Array<[string, string, Record<string, string>?]> }> };
  return doc.streams.map((s) => ({
    labels: formatLabels(Object.entries(s.stream)),
    entries: s.values.map(([ns, line, md]) => {
      const big = BigInt(ns);
      let sec = big / 1_000_000_000n;
      if (big < 0n && sec * 1_000_000_000n !== big) sec -= 1n;
      return { sec: Number(sec), nanos: Number(big - sec * 1_000_000_000n), line: wellFormed(line), md: Object.entries(md ?? {}).map(([n, v]) => [n, wellFormed(v)] as [string, string]) };
    }),
  }));
}

function stream(labels: Record<string, string>): ResolvedStream {
  const pairs = Object.entries(labels).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return { labels: formatLabels(pairs), pairs, touched: 0 };
}

function metadata(pairs: Array<[string, string]>): EntryMetadata {
  return { count: pairs.length, names: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]) };
}

interface Arrival {
  stream: ResolvedStream;
  entry: Entry;
}

/** Appends entries in arrival order into one batch; returns the raw body. */
function encode(encoder: EntryEncoder, arrivals: Arrival[], pool = new ChunkPool(1 << 20), maxLine = 0): { body: Buffer; batch: LokiBatch<unknown>; sizes: number } {
  const batch = new LokiBatch<unknown>();
  let sizes = 0;
  for (const a of arrivals) {
    sizes += encoder.append(batch.chunkFor(a.stream, pool), a.entry.sec, a.entry.nanos, a.entry.line, metadata(a.entry.md), maxLine);
  }
  const body = encoder.body(batch.chunks, (n) => Buffer.alloc(n + 7)); // a larger scratch buffer is cut to size
  return { body, batch, sizes };
}

/** What Loki should receive: streams in first-arrival order, each stably sorted by timestamp, text as UTF-8 makes it. */
function expected(arrivals: Arrival[]): Stream[] {
  const out = new Map<string, Stream>();
  for (const a of arrivals) {
    let s = out.get(a.stream.labels);
    if (s === undefined) out.set(a.stream.labels, (s = { labels: a.stream.labels, entries: [] }));
    const wf = (x: string) => Buffer.from(x).toString('utf8');
    s.entries.push({ sec: a.entry.sec, nanos: a.entry.nanos, line: wf(a.entry.line), md: a.entry.md.map(([n, v]) => [n, wf(v)]) });
  }
  for (const s of out.values()) s.entries.sort((x, y) => x.sec - y.sec || x.nanos - y.nanos);
  return [...out.values()];
}

function asLokiStreams(streams: Stream[]): LokiStream[] {
  return streams.map((s) => ({
    labels: s.labels, pairs: [],
    entries: s.entries.map((e): LokiEntry => ({ sec: e.sec, nanos: e.nanos, line: e.line, metadata: e.md.length > 0 ? e.md : null })),
  }));
}

const STREAMS = [stream({ job: 'app', level: 'INFO' }), stream({ job: 'app', level: 'ERROR', note: 'quote " ü' }), stream({ job: 'other' })];
const lone = fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)), maxLength: 50 });
const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), lone, fc.string({ maxLength: 20 }).map((s) => s.repeat(20)));
const arbEntry = fc.record({
  sec: fc.oneof(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.constantFrom(0, -1, 1, 1_705_312_800)),
  nanos: fc.oneof(fc.integer({ min: 0, max: 999_999_999 }), fc.constant(0)),
  line: text,
  // Names are unique per entry (the config rejects two fields with the same sanitized name).
  md: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z_]{1,12}$/), text.filter((v) => v.length > 0)), { maxLength: 4, selector: (p) => p[0] }),
});
const arbArrivals = fc.array(fc.record({ stream: fc.constantFrom(...STREAMS), entry: arbEntry }), { maxLength: 60 });

t.test('property: entries encoded as they arrive decode with protobufjs to the sorted streams; whole streams re-encode to the same bytes', async (t) => {
  const encoder = new ProtobufEntryEncoder();
  const pool = new ChunkPool(1 << 20); // shared across runs: chunks are reused
  fc.assert(fc.property(arbArrivals, (arrivals) => {
    const { body, batch, sizes } = encode(encoder, arrivals, pool);
    const want = expected(arrivals);
    t.same(decodeProtobuf(body), want);
    t.same(encodeStreams(new ProtobufEntryEncoder(), asLokiStreams(want)), body, 'encodeStreams (413 halves) writes the same bytes');
    t.equal(sizes, [...batch.chunks].reduce((n, c) => n + c.len, 0), 'append returns the bytes it wrote');
    t.same(Object.fromEntries(batch.streamCounts()), Object.fromEntries(want.map((s) => [s.labels, s.entries.length])));
    batch.release(pool);
    return true;
  }), { numRuns: 300 });
});

t.test('property: the JSON encoder produces Loki JSON with the same content, sorted per stream', async (t) => {
  const encoder = new JsonEntryEncoder();
  fc.assert(fc.property(arbArrivals, (arrivals) => {
    const { body } = encode(encoder, arrivals);
    const want = expected(arrivals);
    t.same(decodeJson(body), want);
    const back = decodeJsonPush(body.toString('utf8'), formatLabels);
    t.same(back.map((s) => s.labels), want.map((s) => s.labels), 'decodeJsonPush (dead letter, 413 split) reads it back');
    return true;
  }), { numRuns: 200 });
});

t.test('length prefixes at varint boundaries: multi-byte text that crosses 128 and 16384 bytes', async (t) => {
  const encoder = new ProtobufEntryEncoder();
  const arrivals: Arrival[] = [];
  const s = STREAMS[0];
  let sec = 1_705_312_800;
  // Lines and metadata values whose UTF-16 length and UTF-8 length straddle a varint boundary.
  for (const n of [42, 43, 63, 64, 125, 126, 127, 128, 5460, 5462, 8191, 8192, 16383, 16384]) {
    for (const unit of ['a', 'é', '€', '𝄞']) {
      const str = unit.repeat(Math.max(1, Math.floor(n / unit.length)));
      arrivals.push({ stream: s, entry: { sec: sec++, nanos: n, line: str, md: [['trace_id', str.slice(0, 200)]] } });
    }
  }
  const { body } = encode(encoder, arrivals);
  t.same(decodeProtobuf(body), expected(arrivals));
  t.same(encodeStreams(new ProtobufEntryEncoder(), asLokiStreams(expected(arrivals))), body);
});

t.test('max_line_size cuts on a UTF-8 character boundary, in the bytes, and reports it', async (t) => {
  for (const encoder of [new ProtobufEntryEncoder(), new JsonEntryEncoder()]) {
    const batch = new LokiBatch<unknown>();
    const pool = new ChunkPool(1 << 20);
    const c = batch.chunkFor(STREAMS[0], pool);
    const cases: Array<[string, number, string]> = [
      ['é'.repeat(800), 1000, 'é'.repeat(500)],
      ['é'.repeat(800), 999, 'é'.repeat(499)],
      ['𝄞'.repeat(100), 10, '𝄞'.repeat(2)],
      ['abc', 3, 'abc'],
      ['𝄞', 3, ''],
      ['x'.repeat(200), 130, 'x'.repeat(130)],
      ['x'.repeat(200), 100, 'x'.repeat(100)],
    ];
    const got: boolean[] = [];
    for (const [i, [line, max]] of cases.entries()) {
      encoder.append(c, 10, i, line, metadata([]), max);
      got.push(encoder.truncated);
    }
    t.same(got, [true, true, true, false, true, true, true]);
    const body = encoder.body(batch.chunks, (n) => Buffer.allocUnsafe(n));
    const decoded = encoder instanceof JsonEntryEncoder ? decodeJson(body) : decodeProtobuf(body);
    t.same(decoded[0].entries.map((e) => e.line), cases.map((x) => x[2]));
  }
});

t.test('a line given in three pieces (head + mid + tail) is the same entry as the joined line, cut at max_line_size alike', async (t) => {
  for (const encoder of [new ProtobufEntryEncoder(), new JsonEntryEncoder()]) {
    const encodeAll = (pieces: Array<[string, string, string]>, max: number) => {
      const batch = new LokiBatch<unknown>();
      const c = batch.chunkFor(STREAMS[0], new ChunkPool(1 << 20));
      const truncated: boolean[] = [];
      for (const [i, [head, mid, tail]] of pieces.entries()) {
        encoder.append(c, 10, i, head, metadata([['trace_id', 'abc']]), max, mid, tail);
        truncated.push(encoder.truncated);
      }
      return { body: encoder.body(batch.chunks, (n) => Buffer.allocUnsafe(n)), truncated };
    };
    const source = ',"source":{"type":"file"}}';
    const pieces: Array<[string, string, string]> = [
      ['{"message":"a"', '', source],
      ['{"message":"é𝄞"', '', ',"source":{"file":"/var/log/ü.log"}}'],
      ['x'.repeat(150), '', 'y'.repeat(10)],
      ['', '', 'tail only'],
      ['head only', '', ''],
      ['{"message":"b"', ',"action":"failed_login"', source],
      ['{"message":"c"', '', source],
      ['{"message":"d"', ',"user_id":"ü"', ''],
      ['', 'mid only', ''],
      ['{"message":"e"', '', ',"source":{"type":"file"}}'.slice(0)],
    ];
    for (const max of [0, 155, 20]) {
      const split = encodeAll(pieces, max);
      const joined = encodeAll(pieces.map(([h, m, tl]) => [h + m + tl, '', '']), max);
      t.same(split.body, joined.body, `${encoder.constructor.name}, max_line_size ${max}: same bytes`);
      t.same(split.truncated, joined.truncated);
      if (max === 155) t.same(split.truncated, [false, false, true, false, false, false, false, false, false, false], 'the cut falls in the tail');
    }
  }
});

t.test('out-of-order streams are reordered at seal time, stable for equal timestamps; in-order streams are copied as is', async (t) => {
  for (const encoder of [new ProtobufEntryEncoder(), new JsonEntryEncoder()]) {
    const [a, b] = STREAMS;
    const arrivals: Arrival[] = [
      { stream: a, entry: { sec: 5, nanos: 0, line: 'a3', md: [] } },
      { stream: b, entry: { sec: 1, nanos: 0, line: 'b1', md: [] } },
      { stream: a, entry: { sec: 1, nanos: 500, line: 'a1', md: [['trace_id', 'x']] } },
      { stream: a, entry: { sec: 1, nanos: 500, line: 'a2', md: [] } },
      { stream: b, entry: { sec: 2, nanos: 0, line: 'b2', md: [] } },
      { stream: a, entry: { sec: -3, nanos: 1, line: 'a0', md: [] } },
      { stream: a, entry: { sec: 0, nanos: 0, line: 'a-zero', md: [] } },
    ];
    const { body, batch } = encode(encoder, arrivals);
    t.same(batch.chunks.map((c) => c.ordered), [false, true]);
    const decoded = encoder instanceof JsonEntryEncoder ? decodeJson(body) : decodeProtobuf(body);
    t.same(decoded.map((s) => s.entries.map((e) => e.line)), [['a0', 'a-zero', 'a1', 'a2', 'a3'], ['b1', 'b2']]);
    t.same(decoded[0].entries[0], { sec: -3, nanos: 1, line: 'a0', md: [] }, 'negative seconds survive');
  }
});

t.test('a body built incrementally splits (413) into halves that together carry every entry once', async (t) => {
  const encoder = new ProtobufEntryEncoder();
  fc.assert(fc.property(arbArrivals.filter((a) => a.length >= 2), (arrivals) => {
    const { body } = encode(encoder, arrivals);
    const [x, y] = splitStreams(decodePushRequest(body));
    const halves = [...decodeProtobuf(encodeStreams(encoder, x)), ...decodeProtobuf(encodeStreams(encoder, y))];
    const merged = new Map<string, Entry[]>();
    for (const s of halves) merged.set(s.labels, [...(merged.get(s.labels) ?? []), ...s.entries]);
    t.same([...merged].map(([labels, entries]) => ({ labels, entries })), expected(arrivals));
    const total = arrivals.length;
    t.equal(x.reduce((n, s) => n + s.entries.length, 0), total >> 1);
    return true;
  }), { numRuns: 100 });
});

t.test('chunk pool: a stream gets its own buffer back, without old bytes; idle buffers are capped, longest idle evicted first', async (t) => {
  const encoder = new ProtobufEntryEncoder();
  const pool = new ChunkPool(1 << 20);
  const first = encode(encoder, [
    { stream: STREAMS[0], entry: { sec: 1, nanos: 1, line: 'x'.repeat(40_000), md: [] } },
    { stream: STREAMS[1], entry: { sec: 1, nanos: 1, line: 'small', md: [] } },
  ], pool);
  const [big, small] = first.batch.chunks.map((c) => c.buf);
  first.batch.release(pool);
  const second = encode(encoder, [
    { stream: STREAMS[1], entry: { sec: 2, nanos: 2, line: 'short', md: [] } },
    { stream: STREAMS[0], entry: { sec: 3, nanos: 3, line: 'y', md: [] } },
  ], pool);
  t.equal(second.batch.chunks[0].buf, small, 'the quiet stream got its small buffer back');
  t.equal(second.batch.chunks[1].buf, big, 'the busy stream got its grown buffer back');
  t.same(decodeProtobuf(second.body), [
    { labels: STREAMS[1].labels, entries: [{ sec: 2, nanos: 2, line: 'short', md: [] }] },
    { labels: STREAMS[0].labels, entries: [{ sec: 3, nanos: 3, line: 'y', md: [] }] },
  ]);
  second.batch.release(pool);
  t.equal(pool.bytes, big.length + small.length);
  const tight = new ChunkPool(big.length + 10);
  second.batch.chunks.length = 0;
  const third = encode(encoder, [
    { stream: STREAMS[0], entry: { sec: 1, nanos: 0, line: 'z'.repeat(40_000), md: [] } },
    { stream: STREAMS[1], entry: { sec: 1, nanos: 0, line: 'z', md: [] } },
    { stream: STREAMS[2], entry: { sec: 1, nanos: 0, line: 'z', md: [] } },
  ], tight);
  third.batch.release(tight);
  t.ok(tight.bytes <= big.length + 10, 'over the cap, the longest idle buffers were dropped');
  t.equal(tight.take(STREAMS[0]).buf.length < 40_000, true, 'the big buffer was evicted for the later ones');
});

t.test('a batch releases each entry\'s ack reference exactly once, however entries share acks', async (t) => {
  const released = new Map<string, number>();
  const ack = (name: string): Ack => ({ retain() {}, release() { released.set(name, (released.get(name) ?? 0) + 1); }, absorb() {} });
  const [a, b, c] = [ack('a'), ack('b'), ack('c')];
  const batch = new LokiBatch<unknown>();
  for (const x of [a, a, a, b, a, c, c, b]) batch.addAck(x);
  t.equal(batch.entries, 8);
  t.same([...released], [], 'nothing released before the batch is final');
  batch.releaseAcks();
  t.same(Object.fromEntries(released), { a: 4, b: 2, c: 2 });
  batch.releaseAcks();
  t.same(Object.fromEntries(released), { a: 4, b: 2, c: 2 }, 'settling twice releases nothing more');
});
