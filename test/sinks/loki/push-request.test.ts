import t from 'tap';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { join } from 'node:path';
import { compressSync } from 'snappy';
import { decodeJsonPush, decodePushRequest, nanosString, splitStreams, type LokiEntry, type LokiStream } from '../../../src/sinks/loki/push-request.ts';
import { encodeStreams, JsonEntryEncoder, ProtobufEntryEncoder } from '../../../src/sinks/loki/batch.ts';
import { formatLabels } from '../../../src/sinks/loki/labels.ts';
import { EntryTimestamps } from '../../../src/sinks/loki/timestamp.ts';
import { TimeReader, TimeZone } from '../../../src/parse/time.ts';
import { decodeSnappyBlock } from '../../servers/loki-snappy-block.ts';

/** One reader for the file, as a sink keeps one (its minute memo included). */
const stamps = new EntryTimestamps();
const parseRfc3339 = (ts: string) => stamps.parseRfc3339(ts);
// entry() reuses its result object: copied, so two results can be compared.
const entryTimestamp = (ts: string, fallbackMs: number, knownMs?: number) => ({ ...stamps.entry(ts, fallbackMs, knownMs) });

const PushRequest = protobuf.loadSync(join(import.meta.dirname, '..', '..', 'servers', 'push.proto')).lookupType('logproto.PushRequest');

interface Decoded {
  labels: string;
  entries: Array<{ sec: number; nanos: number; line: string; md: Array<[string, string]> }>;
}

/** Decodes with the independent path: our test server's snappy decoder + protobufjs on Loki's push.proto. */
function decode(body: Buffer): Decoded[] {
  const msg = PushRequest.toObject(PushRequest.decode(decodeSnappyBlock(body)), { longs: Number, defaults: true }) as {
    streams: Array<{ labels: string; entries: Array<{ timestamp?: { seconds: number; nanos: number }; line: string; structuredMetadata: Array<{ name: string; value: string }> }> }>;
  };
  return msg.streams.map((s) => ({
    labels: s.labels,
    entries: s.entries.map((e) => ({ sec: e.timestamp?.seconds ?? 0, nanos: e.timestamp?.nanos ?? 0, line: e.line, md: e.structuredMetadata.map((p) => [p.name, p.value] as [string, string]) })),
  }));
}

function entry(sec: number, nanos: number, line: string, md: Array<[string, string]> | null = null): LokiEntry {
  return { sec, nanos, line, metadata: md };
}

/** The streams as Loki must get them: each one's entries in timestamp order (stable). */
function expected(streams: LokiStream[]): Decoded[] {
  return streams.map((s) => ({
    labels: s.labels,
    entries: s.entries.map((e) => ({ sec: e.sec, nanos: e.nanos, line: e.line, md: e.metadata ?? [] })).sort((a, b) => a.sec - b.sec || a.nanos - b.nanos),
  }));
}

/** The sink's one protobuf encoder, on whole streams. */
const encodePushRequest = (streams: LokiStream[]): Buffer => encodeStreams(new ProtobufEntryEncoder(), streams);
/** The sink's one JSON encoder, on whole streams. */
const encodeJsonPush = (streams: LokiStream[]): string => encodeStreams(new JsonEntryEncoder(), streams).toString('utf8');

t.test('protobuf + snappy block round-trips through protobufjs and an independent snappy decoder', async (t) => {
  const long = 'x'.repeat(70_000) + 'ünïcødé ✓ 𝄞';
  const streams: LokiStream[] = [
    { labels: '{job="app", level="INFO"}', pairs: [['job', 'app'], ['level', 'INFO']], entries: [
      entry(1_705_312_800, 123_456_789, '{"message":"hello"}', [['trace_id', 'abc123'], ['user_id', 'user-ü']]),
      entry(1_705_312_800, 0, ''),
      entry(0, 5, 'epoch'),
      entry(4_102_444_800, 999_999_999, long),
    ] },
    { labels: '{job="app", level="ERROR", note="quote \\" and \\\\ and \\n"}', pairs: [['job', 'app'], ['level', 'ERROR'], ['note', 'quote " and \\ and \n']], entries: [
      entry(1_705_312_801, 1, 'a\nmulti\nline', [['span_id', '']]),
    ] },
  ];
  const raw = encodePushRequest(streams);
  t.same(decode(compressSync(raw)), expected(streams));
  // protobufjs agrees on the exact bytes' meaning when it encodes the same message itself.
  t.same(decode(compressSync(Buffer.from(PushRequest.encode(PushRequest.fromObject({
    streams: streams.map((s) => ({ labels: s.labels, entries: s.entries.map((e) => ({ timestamp: { seconds: e.sec, nanos: e.nanos }, line: e.line, structuredMetadata: (e.metadata ?? []).map(([name, value]) => ({ name, value })) })) })),
  })).finish()))), streams.map((s) => ({ labels: s.labels, entries: s.entries.map((e) => ({ sec: e.sec, nanos: e.nanos, line: e.line, md: e.metadata ?? [] })) })), 'in the order given');
  t.equal(encodePushRequest([]).length, 0, 'an empty request is zero bytes');
});

t.test('property: any streams encode to what protobufjs decodes', async (t) => {
  const text = fc.string({ unit: 'grapheme', maxLength: 300 });
  const arbEntry = fc.record({
    sec: fc.integer({ min: 0, max: 2 ** 40 }),
    nanos: fc.integer({ min: 0, max: 999_999_999 }),
    line: text,
    md: fc.option(fc.array(fc.tuple(fc.stringMatching(/^[a-z_]{1,10}$/), text), { maxLength: 4 }), { nil: null }),
  });
  fc.assert(fc.property(fc.array(fc.record({ labels: text, entries: fc.array(arbEntry, { maxLength: 20 }) }), { maxLength: 5 }), (specs) => {
    const streams: LokiStream[] = specs.map((s) => ({ labels: s.labels, pairs: [], entries: s.entries.map((e) => entry(e.sec, e.nanos, e.line, e.md)) }));
    const got = decode(compressSync(encodePushRequest(streams)));
    t.same(got, expected(streams));
    return true;
  }), { numRuns: 200 });
});

t.test('independent snappy decoder handles every element type the compressor emits', async (t) => {
  const samples = [
    Buffer.alloc(0),
    Buffer.from('a'),
    Buffer.from('abcabcabcabcabcabcabcabcabcabcabcabc'.repeat(1000)),
    Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)),
    Buffer.concat([Buffer.from('x'.repeat(100_000)), Buffer.from('y'.repeat(70_000))]),
  ];
  for (const s of samples) t.same(decodeSnappyBlock(compressSync(s)), s);
  t.throws(() => decodeSnappyBlock(Buffer.from([10, 0x00])), /corrupt/);
  // Repeated fragments of every length make copies of every length and offset, overlapping ones
  // (offset < length, patterns of 1-3 bytes) included; a pooled input exercises a non-zero byteOffset.
  const fragment = fc.uint8Array({ minLength: 1, maxLength: 70 });
  fc.assert(fc.property(fc.array(fc.tuple(fragment, fc.integer({ min: 1, max: 40 })), { maxLength: 30 }), (parts) => {
    const plain = Buffer.concat(parts.map(([f, n]) => Buffer.concat(Array.from({ length: n }, () => f))));
    const packed = compressSync(plain);
    const pooled = Buffer.from(packed);
    const got = decodeSnappyBlock(pooled.length < 4096 ? pooled : packed);
    if (!got.equals(plain)) throw new Error(`decoded ${got.length} bytes differ from ${plain.length}`);
  }), { numRuns: 2000 });
});

t.test('JSON push body: nanosecond strings, labels object, structured metadata as the 3rd element', async (t) => {
  const streams: LokiStream[] = [{ labels: '{job="a"}', pairs: [['job', 'a']], entries: [entry(1_570_818_238, 1, 'line 2', [['trace_id', 'abc']]), entry(1_570_818_238, 0, 'line 1')] }];
  const doc = JSON.parse(encodeJsonPush(streams));
  t.same(doc, { streams: [{ stream: { job: 'a' }, values: [['1570818238000000000', 'line 1'], ['1570818238000000001', 'line 2', { trace_id: 'abc' }]] }] }, 'entries in timestamp order');
  t.equal(nanosString(0, 5), '5');
  t.equal(nanosString(-1, 500_000_000), '-500000000');
});

t.test('a stream\'s entries go out in timestamp order, stable for equal timestamps', async (t) => {
  const streams: LokiStream[] = [{ labels: '{job="a"}', pairs: [['job', 'a']], entries: [entry(2, 0, 'c'), entry(1, 5, 'b'), entry(1, 5, 'b2'), entry(1, 1, 'a')] }];
  t.same(decode(compressSync(encodePushRequest(streams)))[0].entries.map((e) => e.line), ['a', 'b', 'b2', 'c']);
});

t.test('timestamps keep nanosecond precision from RFC 3339', async (t) => {
  t.same(parseRfc3339('2024-01-15T10:00:00.123456789Z'), { sec: 1_705_312_800, nanos: 123_456_789 });
  t.same(parseRfc3339('2024-01-15T10:00:00Z'), { sec: 1_705_312_800, nanos: 0 });
  t.same(parseRfc3339('2024-01-15T10:00:00.5Z'), { sec: 1_705_312_800, nanos: 500_000_000 });
  t.same(parseRfc3339('2024-01-15T11:00:00.000001+01:00'), { sec: 1_705_312_800, nanos: 1000 });
  t.same(parseRfc3339('2024-01-15T10:00:00.1234567891234Z'), { sec: 1_705_312_800, nanos: 123_456_789 }, 'beyond ns is cut');
  t.equal(parseRfc3339('yesterday'), undefined);
  t.same(entryTimestamp('not a time', 1_700_000_000_123), { sec: 1_700_000_000, nanos: 123_000_000 }, 'falls back to read time');
});

t.test('sealed bodies decode back (413 split, dead letter) and split by entry count', async (t) => {
  const streams: LokiStream[] = [
    { labels: '{job="a"}', pairs: [['job', 'a']], entries: [entry(10, 1, 'a1', [['trace_id', 't']]), entry(10, 2, 'a2'), entry(11, 0, 'ü3')] },
    { labels: '{job="b"}', pairs: [['job', 'b']], entries: [entry(12, 0, 'b1')] },
  ];
  const back = decodePushRequest(encodePushRequest(streams));
  t.same(back.map((s) => ({ labels: s.labels, entries: s.entries })), streams.map((s) => ({ labels: s.labels, entries: s.entries })));
  const json = decodeJsonPush(encodeJsonPush(streams), formatLabels);
  t.same(json.map((s) => [s.labels, s.entries]), streams.map((s) => [s.labels, s.entries]));
  const [a, b] = splitStreams(streams);
  t.same(a.map((s) => [s.labels, s.entries.map((e) => e.line)]), [['{job="a"}', ['a1', 'a2']]]);
  t.same(b.map((s) => [s.labels, s.entries.map((e) => e.line)]), [['{job="a"}', ['ü3']], ['{job="b"}', ['b1']]]);
});

t.test('property: the fast UTC timestamp path agrees with Date for millisecond times', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.integer({ min: 0, max: 999_999 }), (ms, extra) => {
    const iso = new Date(ms).toISOString();
    t.same(parseRfc3339(iso), { sec: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 });
    const ns = iso.replace('Z', String(extra).padStart(6, '0') + 'Z');
    t.same(parseRfc3339(ns), { sec: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 + extra });
    return true;
  }), { numRuns: 300 });
  t.equal(parseRfc3339('2024-13-15T10:00:00Z'), undefined);
  t.equal(parseRfc3339('2024-01-15T10:00:00.Z'), undefined);
  t.equal(parseRfc3339('2024-01-15T10:00:00.12xZ'), undefined, 'a millisecond field that is not digits');
  t.equal(parseRfc3339('2024-01-15T10:00:7x.123Z'), undefined, 'seconds that are not digits');
  t.equal(parseRfc3339('2024-01-15T10:00:61.123Z'), undefined, 'seconds past a leap second');
  t.same(parseRfc3339('2024-01-15T10:00:00,123Z'), { sec: 1_705_312_800, nanos: 123_000_000 }, 'a decimal comma (RFC 3339 allows it)');
  t.same(parseRfc3339('2016-12-31T23:59:60.500Z'), { sec: 1_483_228_800, nanos: 500_000_000 }, 'a leap second rolls into the next minute, as Date.UTC does');
  t.same(parseRfc3339('2024-01-15T10:00:00.000000000123Z'), { sec: 1_705_312_800, nanos: 0 });
});



t.test('property: an entry timestamp the parser already read is the time of the text, as parsing it gives', async (t) => {
  // What a parser hands on (ParseContext.timestampText/timestampMs): its TimeReader's last canonical time.
  const reader = new TimeReader();
  const known = (ts: string) => (ts === reader.lastCanonical ? reader.lastCanonicalMs : NaN);
  fc.assert(fc.property(fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), fc.integer({ min: 0, max: 3 }), (ms, other) => {
    const iso = new Date(ms).toISOString();
    if (iso.length !== 24) return true; // six-digit years are not the canonical form
    t.equal(reader.parseTimestampValue(iso, TimeZone.UTC, ms), iso, 'canonical: kept as given');
    const at = (x: number) => ({ sec: Math.floor(x / 1000), nanos: (x - Math.floor(x / 1000) * 1000) * 1_000_000 });
    const want = at(ms);
    t.same(entryTimestamp(iso, 0, known(iso)), want);
    // another timestamp than the last one parsed is parsed
    const n = Math.min(ms + other * 1234, Date.UTC(9999, 11, 31, 23, 59, 59, 999));
    t.same(entryTimestamp(new Date(n).toISOString(), 0), at(n));
    return true;
  }), { numRuns: 500 });
  // a leap second, as Date.UTC and the parse path roll it
  t.equal(reader.parseTimestampValue('2016-12-31T23:59:60.250Z', TimeZone.UTC, 0), '2016-12-31T23:59:60.250Z');
  t.same(entryTimestamp('2016-12-31T23:59:60.250Z', 0, known('2016-12-31T23:59:60.250Z')), { sec: 1_483_228_800, nanos: 250_000_000 });
  t.equal(reader.parseTimestampValue('2016-02-30T10:00:00.000Z', TimeZone.UTC, 0), undefined, 'no Feb 30');
  t.same(entryTimestamp('2016-02-30T10:00:00.000Z', 7_000, known('2016-02-30T10:00:00.000Z')), parseRfc3339('2016-02-30T10:00:00.000Z'), 'parsed, not taken from the last accepted time');
});

t.test('property: a time the reader formats (epoch numbers, asctime, offsets) is handed on with its ms only when the text has no finer digits', async (t) => {
  const reader = new TimeReader();
  const known = (ts: string) => (ts === reader.lastCanonical ? reader.lastCanonicalMs : NaN);
  const shapes = [
    (ms: number) => ms, // pino: epoch ms
    (ms: number) => ms / 1000, // epoch seconds with a fraction
    (ms: number) => String(ms * 1000), // epoch µs digits
    (ms: number) => `${ms}123456`, // epoch ns digits: finer than ms
    (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('.', ','), // python asctime
    (ms: number) => new Date(ms + 7_200_000).toISOString().replace('Z', '+02:00'),
    (ms: number) => new Date(ms).toISOString().replace('Z', '789Z'), // microseconds: finer than ms
  ];
  let handedOn = 0;
  fc.assert(fc.property(fc.integer({ min: Date.UTC(2001, 0, 1), max: Date.UTC(2099, 11, 31) }), fc.integer({ min: 0, max: shapes.length - 1 }), (ms, k) => {
    const ts = reader.parseTimestampValue(shapes[k](ms), TimeZone.UTC, ms);
    t.ok(ts !== undefined, `shape ${k} is read`);
    if (!Number.isNaN(known(ts!))) handedOn++;
    // the same instant, to the nanosecond, whether the sink takes the ms handed on or reads the text
    t.same(entryTimestamp(ts!, 0, known(ts!)), parseRfc3339(ts!), `shape ${k}: ${ts}`);
    return true;
  }), { numRuns: 700 });
  t.ok(handedOn > 200, `most formatted times are handed on (${handedOn})`);
  t.ok(Number.isNaN(known(reader.parseTimestampValue('2024-01-15T10:00:00.123456Z', TimeZone.UTC, 0)!)), 'microseconds are not handed on as ms');
  t.equal(known(reader.parseTimestampValue(1_705_312_800_123, TimeZone.UTC, 0)!), 1_705_312_800_123, 'epoch ms are');
});
