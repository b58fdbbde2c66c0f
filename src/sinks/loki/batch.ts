import type { Ack } from '../../core/record.ts';
import type { EntryMetadata, ResolvedStream } from './labels.ts';
import { nanosString, readInt64, TAG_1_LEN, TAG_1_VARINT, TAG_2_LEN, TAG_2_VARINT, TAG_3_LEN, varintSize, writeVarint, type LokiStream } from './push-request.ts';

/**
 * A Loki batch held as wire bytes: each entry is encoded when it arrives, into a growable buffer
 * of its stream, so an open batch holds bytes, acks and counters, not an object per line (which
 * would live long enough to be promoted to the old generation). Sealing writes each stream's
 * header and copies its bytes into one request body.
 *
 * Loki wants each stream's entries in timestamp order. They almost always arrive that way (a
 * file is read in order); a stream that did not is reordered at seal time.
 */

/** One stream's entries in the open batch. */
export class StreamChunk {
  stream: ResolvedStream;
  buf: Buffer;
  len = 0;
  entries = 0;
  /** Start of each entry in buf (for the rare reorder at seal time). */
  offsets: Uint32Array;
  ordered = true;
  private lastSec = -Infinity;
  private lastNanos = 0;

  constructor(stream: ResolvedStream, buf: Buffer, offsets: Uint32Array) {
    this.stream = stream;
    this.buf = buf;
    this.offsets = offsets;
  }

  reset(stream: ResolvedStream): void {
    this.stream = stream;
    this.len = 0;
    this.entries = 0;
    this.ordered = true;
    this.lastSec = -Infinity;
    this.lastNanos = 0;
  }

  /** Makes room for `bytes` more bytes and one more entry starting at `len`. */
  begin(bytes: number, sec: number, nanos: number): void {
    const need = this.len + bytes;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    if (this.entries === this.offsets.length) {
      const grown = new Uint32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.entries] = this.len;
    if (sec < this.lastSec || (sec === this.lastSec && nanos < this.lastNanos)) this.ordered = false;
    this.lastSec = sec;
    this.lastNanos = nanos;
  }

  /** Entry i's bytes: [offsets[i], end). */
  entryEnd(i: number): number {
    return i + 1 < this.entries ? this.offsets[i + 1] : this.len;
  }
}

const CHUNK_INITIAL_BYTES = 4 * 1024;
const CHUNK_INITIAL_ENTRIES = 64;

/**
 * Chunks of sealed batches, reused by the next batches: a batch's buffers are copied into its
 * request body at seal time and are free right after. A stream gets its own chunk back (sized
 * by its own rate, so a busy stream's large buffer is not handed to a quiet one); streams not
 * seen for a while are evicted first once the idle buffers exceed `maxBytes`.
 */
export class ChunkPool {
  private readonly idle = new Map<string, StreamChunk>();
  private idleBytes = 0;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  take(stream: ResolvedStream): StreamChunk {
    const c = this.idle.get(stream.labels);
    if (c === undefined) return new StreamChunk(stream, Buffer.allocUnsafe(CHUNK_INITIAL_BYTES), new Uint32Array(CHUNK_INITIAL_ENTRIES));
    this.idle.delete(stream.labels);
    this.idleBytes -= c.buf.length;
    c.reset(stream);
    return c;
  }

  give(c: StreamChunk): void {
    const size = c.buf.length;
    if (size > this.maxBytes) return;
    const key = c.stream.labels;
    const prev = this.idle.get(key);
    if (prev !== undefined) {
      this.idle.delete(key);
      this.idleBytes -= prev.buf.length;
    }
    // Map order is insertion order: the first entries are the streams idle the longest.
    for (const [k, old] of this.idle) {
      if (this.idleBytes + size <= this.maxBytes) break;
      this.idle.delete(k);
      this.idleBytes -= old.buf.length;
    }
    this.idle.set(key, c);
    this.idleBytes += size;
  }

  /** Bytes of idle buffers held. */
  get bytes(): number {
    return this.idleBytes;
  }
}

/** An open (or sealed) batch of one tenant. `S` is what the sink keeps once it is sealed. */
export class LokiBatch<S> {
  /**
   * Its entries' acks, run-length: the lines of one read share an ack (a reference per line),
   * so a batch holds a few runs instead of an array of thousands that outlives young-generation
   * GCs while the request is in flight.
   */
  private readonly ackRuns: Ack[] = [];
  private readonly ackCounts: number[] = [];
  /** Entries added. */
  entries = 0;
  readonly chunks: StreamChunk[] = [];
  private readonly byLabels = new Map<string, StreamChunk>();
  private lastStream: ResolvedStream | null = null;
  private lastChunk: StreamChunk | null = null;
  /** Set at seal time: the request body; the chunks are then back in the pool. */
  sealed: S | null = null;

  /** Takes the entry's reference to `ack`, released by releaseAcks(). */
  addAck(ack: Ack): void {
    const last = this.ackRuns.length - 1;
    if (last >= 0 && this.ackRuns[last] === ack) this.ackCounts[last]++;
    else {
      this.ackRuns.push(ack);
      this.ackCounts.push(1);
    }
    this.entries++;
  }

  /** Releases every entry's reference (once the batch is final). */
  releaseAcks(): void {
    const runs = this.ackRuns;
    const counts = this.ackCounts;
    for (let i = 0; i < runs.length; i++) for (let k = counts[i]; k > 0; k--) runs[i].release();
    runs.length = 0;
    counts.length = 0;
  }

  chunkFor(stream: ResolvedStream, pool: ChunkPool): StreamChunk {
    // Consecutive lines mostly go to the same stream (the labeler hands back the same object).
    if (stream === this.lastStream && this.lastChunk !== null) return this.lastChunk;
    let c = this.byLabels.get(stream.labels);
    if (c === undefined) {
      c = pool.take(stream);
      this.byLabels.set(stream.labels, c);
      this.chunks.push(c);
    }
    this.lastStream = stream;
    this.lastChunk = c;
    return c;
  }

  /** Entries per stream label string (to count stream-level 400 rejections). */
  streamCounts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const c of this.chunks) m.set(c.stream.labels, c.entries);
    return m;
  }

  /** Hands the chunk buffers back once the body is built; the batch keeps only its acks. */
  release(pool: ChunkPool): void {
    for (const c of this.chunks) pool.give(c);
    this.chunks.length = 0;
    this.byLabels.clear();
    this.lastStream = null;
    this.lastChunk = null;
  }
}

/** How entries are written into chunks and chunks into a request body. */
export interface EntryEncoder {
  /**
   * Appends one entry, whose line is `line + lineMid + lineTail`, to the chunk; returns the bytes
   * it took. `maxLine` > 0 cuts the line to that many UTF-8 bytes on a character boundary (then
   * `truncated` is true until the next call). `lineTail` is expected to repeat (a source's JSON):
   * an encoder may keep its bytes.
   */
  append(c: StreamChunk, sec: number, nanos: number, line: string, md: EntryMetadata, maxLine: number, lineMid?: string, lineTail?: string): number;
  truncated: boolean;
  /** The uncompressed request body of these chunks, written into `alloc(size)` (which may be larger). */
  body(chunks: readonly StreamChunk[], alloc: (size: number) => Buffer): Buffer;
}

/** Index order of a chunk's entries by timestamp, stable. */
function sortedOrder(c: StreamChunk, timestampOf: (c: StreamChunk, i: number, out: Float64Array) => void): Uint32Array {
  const n = c.entries;
  const order = new Uint32Array(n);
  const sec = new Float64Array(n);
  const nanos = new Float64Array(n);
  const ts = new Float64Array(2);
  for (let i = 0; i < n; i++) {
    order[i] = i;
    timestampOf(c, i, ts);
    sec[i] = ts[0];
    nanos[i] = ts[1];
  }
  order.sort((a, b) => sec[a] - sec[b] || nanos[a] - nanos[b] || a - b);
  return order;
}

/** Cuts n bytes of UTF-8 at buf[start..] to at most max bytes without splitting a character. */
function cutUtf8(buf: Buffer, start: number, max: number): number {
  let end = max;
  while (end > 0 && (buf[start + end] & 0xc0) === 0x80) end--;
  return end;
}

/**
 * Writes `tag, varint(len), utf8(s)` at pos; the caller made room for 3 bytes per UTF-16 unit
 * plus 16. The length is written after the text (one pass over the string): room for the
 * smallest possible varint is left first and the text moved in the rare case it needs more.
 */
function putString(buf: Buffer, pos: number, tag: number, s: string): number {
  buf[pos++] = tag;
  const len = s.length;
  if (len < 0x80) {
    // Structured metadata values are mostly short ASCII ids (trace_id, request_id...): copied by
    // char code, they skip buf.write's native call, which costs more than the copy at this size.
    const text = pos + 1;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[text + i] = c;
    }
    if (i === len) {
      buf[pos] = len;
      return text + len;
    }
  }
  const reserved = varintSize(s.length);
  const n = buf.write(s, pos + reserved);
  const need = varintSize(n);
  if (need !== reserved) buf.copyWithin(pos + need, pos + reserved, pos + reserved + n);
  pos = writeVarint(buf, pos, n);
  return pos + n;
}

/** Name plus value characters of a pair whose framing is all one-byte varints when both are ASCII (4 + 123 < 128). */
const MAX_SHORT_PAIR_CHARS = 123;

/**
 * Writes a structured metadata pair `TAG_3_LEN size TAG_1_LEN nl name TAG_2_LEN vl value` at pos
 * when the value is ASCII (names are: label-sanitized) and nl + vl <= MAX_SHORT_PAIR_CHARS, so
 * every length is one byte and known before the text: no reservation, no move. Returns the end,
 * or 0 at the first non-ASCII character (the caller then writes the pair its general way, over
 * what was written here). Most pairs are short ASCII ids (trace_id, span_id, request_id...): this
 * is ~2x cheaper per pair than the general path's length bookkeeping.
 */
function putShortAsciiPair(buf: Buffer, pos: number, name: string, value: string): number {
  const nl = name.length;
  const vl = value.length;
  buf[pos] = TAG_3_LEN;
  buf[pos + 1] = 4 + nl + vl;
  buf[pos + 2] = TAG_1_LEN;
  buf[pos + 3] = nl;
  let p = pos + 4;
  for (let i = 0; i < nl; i++) buf[p + i] = name.charCodeAt(i);
  p += nl;
  buf[p] = TAG_2_LEN;
  buf[p + 1] = vl;
  p += 2;
  for (let i = 0; i < vl; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x80) return 0;
    buf[p + i] = c;
  }
  return p + vl;
}

/**
 * EntryAdapter { Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
 * framed as field 2 of StreamAdapter; chunks become StreamAdapter { labels = 1; entries = 2 }
 * inside PushRequest { streams = 1 }. The only protobuf encoder of pushes (see encodeStreams).
 */
export class ProtobufEntryEncoder implements EntryEncoder {
  truncated = false;
  /** The last `lineTail` and its UTF-8 bytes: copying bytes is several times cheaper than encoding the string again. */
  private tailText = '';
  private tailBytes: Buffer = Buffer.alloc(0);

  append(c: StreamChunk, sec: number, nanos: number, line: string, md: EntryMetadata, maxLine: number, lineMid = '', lineTail = ''): number {
    this.truncated = false;
    const tsSize = (sec !== 0 ? 1 + varintSize(sec) : 0) + (nanos !== 0 ? 1 + varintSize(nanos) : 0);
    const lineLen = line.length + lineMid.length + lineTail.length;
    // A lower bound of the entry's size (exact for ASCII), to reserve its length varint.
    let estimate = 2 + tsSize + (lineLen > 0 ? 1 + varintSize(lineLen) + (maxLine > 0 && maxLine < lineLen ? Math.max(0, maxLine - 3) : lineLen) : 0);
    let room = 32 + tsSize + 3 * lineLen;
    for (let m = 0; m < md.count; m++) {
      const nl = md.names[m].length;
      const vl = md.values[m].length;
      const p = 2 + nl + 1 + varintSize(vl) + vl;
      estimate += 1 + varintSize(p) + p;
      room += 24 + nl + 3 * vl;
    }
    c.begin(room, sec, nanos);
    const buf = c.buf;
    const start = c.len;
    const lenBytes = varintSize(estimate);
    const bodyStart = start + 1 + lenBytes;
    let pos = bodyStart;
    // Timestamp is non-nullable in Loki's gogo schema: always sent, even when zero.
    buf[pos++] = TAG_1_LEN;
    buf[pos++] = tsSize;
    if (sec !== 0) {
      buf[pos++] = TAG_1_VARINT;
      pos = writeVarint(buf, pos, sec);
    }
    if (nanos !== 0) {
      buf[pos++] = TAG_2_VARINT;
      pos = writeVarint(buf, pos, nanos);
    }
    if (lineLen > 0) {
      buf[pos] = TAG_2_LEN;
      const reserved = varintSize(lineLen);
      const textStart = pos + 1 + reserved;
      let n = buf.write(line, textStart);
      if (lineMid.length > 0) n += buf.write(lineMid, textStart + n);
      if (lineTail.length > 0) {
        if (lineTail !== this.tailText) {
          this.tailText = lineTail;
          this.tailBytes = Buffer.from(lineTail);
        }
        buf.set(this.tailBytes, textStart + n);
        n += this.tailBytes.length;
      }
      if (maxLine > 0 && n > maxLine) {
        n = cutUtf8(buf, textStart, maxLine);
        this.truncated = true;
      }
      if (n > 0) {
        const need = varintSize(n);
        if (need !== reserved) buf.copyWithin(pos + 1 + need, textStart, textStart + n);
        pos = writeVarint(buf, pos + 1, n) + n;
      }
    }
    for (let m = 0; m < md.count; m++) {
      const name = md.names[m];
      const nl = name.length;
      const value = md.values[m];
      const vl = value.length;
      if (nl + vl <= MAX_SHORT_PAIR_CHARS) {
        const end = putShortAsciiPair(buf, pos, name, value);
        if (end > 0) {
          pos = end;
          continue;
        }
      }
      buf[pos] = TAG_3_LEN;
      const guess = 1 + varintSize(nl) + nl + 1 + varintSize(vl) + vl;
      const reserved = varintSize(guess);
      const pairStart = pos + 1 + reserved;
      // Names are label-sanitized, so ASCII: one byte per char code, no UTF-8 encoder call.
      let p = pairStart;
      buf[p++] = TAG_1_LEN;
      p = writeVarint(buf, p, nl);
      for (let i = 0; i < nl; i++) buf[p++] = name.charCodeAt(i);
      p = putString(buf, p, TAG_2_LEN, value);
      const size = p - pairStart;
      const need = varintSize(size);
      if (need !== reserved) buf.copyWithin(pos + 1 + need, pairStart, p);
      pos = writeVarint(buf, pos + 1, size) + size;
    }
    const size = pos - bodyStart;
    const need = varintSize(size);
    if (need !== lenBytes) {
      buf.copyWithin(start + 1 + need, bodyStart, pos);
      pos += need - lenBytes;
    }
    buf[start] = TAG_2_LEN;
    writeVarint(buf, start + 1, size);
    c.len = pos;
    c.entries++;
    return pos - start;
  }

  body(chunks: readonly StreamChunk[], alloc: (size: number) => Buffer): Buffer {
    const labels: Buffer[] = new Array(chunks.length);
    const sizes: number[] = new Array(chunks.length);
    let total = 0;
    for (let i = 0; i < chunks.length; i++) {
      labels[i] = Buffer.from(chunks[i].stream.labels);
      const size = 1 + varintSize(labels[i].length) + labels[i].length + chunks[i].len;
      sizes[i] = size;
      total += 1 + varintSize(size) + size;
    }
    const out = alloc(total);
    let pos = 0;
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i];
      out[pos++] = TAG_1_LEN;
      pos = writeVarint(out, pos, sizes[i]);
      out[pos++] = TAG_1_LEN;
      pos = writeVarint(out, pos, labels[i].length);
      pos += labels[i].copy(out, pos);
      if (c.ordered) pos += c.buf.copy(out, pos, 0, c.len);
      else {
        const order = sortedOrder(c, protobufTimestamp);
        for (let k = 0; k < order.length; k++) pos += c.buf.copy(out, pos, c.offsets[order[k]], c.entryEnd(order[k]));
      }
    }
    if (pos !== total) throw new Error(`protobuf size mismatch: planned ${total}, wrote ${pos}`);
    return out.length === total ? out : out.subarray(0, total);
  }
}

/** Reads back entry i's timestamp from the bytes ProtobufEntryEncoder wrote. */
function protobufTimestamp(c: StreamChunk, i: number, out: Float64Array): void {
  const buf = c.buf;
  let pos = c.offsets[i] + 1;
  while (buf[pos] >= 0x80) pos++; // entry length
  pos += 3; // its last byte, TAG_1_LEN and the timestamp's one-byte length
  const end = pos + buf[pos - 1];
  out[0] = 0;
  out[1] = 0;
  while (pos < end) {
    const tag = buf[pos++];
    const v = readInt64(buf, pos);
    while (buf[pos++] >= 0x80);
    if (tag === TAG_1_VARINT) out[0] = v;
    else if (tag === TAG_2_VARINT) out[1] = v;
  }
}

/**
 * Loki's JSON push: each chunk holds the `values` array's elements, comma-separated:
 * `["<unix ns>","<line>",{"<name>":"<value>"}]`.
 */
export class JsonEntryEncoder implements EntryEncoder {
  truncated = false;

  append(c: StreamChunk, sec: number, nanos: number, line: string, md: EntryMetadata, maxLine: number, lineMid = '', lineTail = ''): number {
    this.truncated = false;
    if (lineMid.length > 0) line += lineMid;
    if (lineTail.length > 0) line += lineTail;
    if (maxLine > 0 && line.length * 3 > maxLine && Buffer.byteLength(line) > maxLine) {
      const b = Buffer.from(line);
      line = b.toString('utf8', 0, cutUtf8(b, 0, maxLine));
      this.truncated = true;
    }
    let s = `["${nanosString(sec, nanos)}",${JSON.stringify(line)}`;
    if (md.count > 0) {
      s += ',{';
      for (let m = 0; m < md.count; m++) {
        if (m > 0) s += ',';
        s += `"${md.names[m]}":${JSON.stringify(md.values[m])}`;
      }
      s += '}';
    }
    s += ']';
    const sep = c.entries > 0 ? 1 : 0;
    c.begin(sep + 3 * s.length, sec, nanos);
    const start = c.len;
    if (sep) c.buf[c.len++] = 0x2c; // ,
    c.offsets[c.entries] = c.len;
    c.len += c.buf.write(s, c.len);
    c.entries++;
    return c.len - start;
  }

  body(chunks: readonly StreamChunk[], alloc: (size: number) => Buffer): Buffer {
    const heads: Buffer[] = new Array(chunks.length);
    let total = '{"streams":[]}'.length;
    for (let i = 0; i < chunks.length; i++) {
      const pairs = chunks[i].stream.pairs;
      let h = `${i > 0 ? ',' : ''}{"stream":{`;
      for (let p = 0; p < pairs.length; p++) h += `${p > 0 ? ',' : ''}${JSON.stringify(pairs[p][0])}:${JSON.stringify(pairs[p][1])}`;
      heads[i] = Buffer.from(h + '},"values":[');
      total += heads[i].length + chunks[i].len + 2;
    }
    const out = alloc(total);
    let pos = out.write('{"streams":[');
    for (let i = 0; i < chunks.length; i++) {
      const c = chunks[i];
      pos += heads[i].copy(out, pos);
      if (c.ordered) pos += c.buf.copy(out, pos, 0, c.len);
      else {
        const order = sortedOrder(c, jsonTimestamp);
        for (let k = 0; k < order.length; k++) {
          if (k > 0) out[pos++] = 0x2c;
          const e = order[k];
          // Each entry's range ends before the next entry's separating comma.
          pos += c.buf.copy(out, pos, c.offsets[e], e + 1 < c.entries ? c.offsets[e + 1] - 1 : c.len);
        }
      }
      pos += out.write(']}', pos);
    }
    pos += out.write(']}', pos);
    if (pos !== total) throw new Error(`JSON size mismatch: planned ${total}, wrote ${pos}`);
    return out.length === total ? out : out.subarray(0, total);
  }
}

/** Entry i's timestamp from its `["<ns>"` prefix. */
function jsonTimestamp(c: StreamChunk, i: number, out: Float64Array): void {
  const start = c.offsets[i] + 2;
  const end = c.buf.indexOf(0x22, start);
  const ns = BigInt(c.buf.toString('latin1', start, end));
  let sec = ns / 1_000_000_000n;
  if (ns < 0n && sec * 1_000_000_000n !== ns) sec -= 1n;
  out[0] = Number(sec);
  out[1] = Number(ns - sec * 1_000_000_000n);
}

/**
 * The uncompressed push body of whole streams (the halves of a batch Loki refused with 413,
 * decoded back from its body), written by the same encoder as entries that arrive one by one.
 */
export function encodeStreams(encoder: EntryEncoder, streams: readonly LokiStream[]): Buffer {
  const chunks: StreamChunk[] = [];
  const md = { count: 0, names: [] as string[], values: [] as string[] };
  for (const s of streams) {
    const c = new StreamChunk({ labels: s.labels, pairs: s.pairs, touched: 0 }, Buffer.allocUnsafe(CHUNK_INITIAL_BYTES), new Uint32Array(CHUNK_INITIAL_ENTRIES));
    for (const e of s.entries) {
      const pairs = e.metadata ?? [];
      md.count = pairs.length;
      for (let i = 0; i < pairs.length; i++) {
        md.names[i] = pairs[i][0];
        md.values[i] = pairs[i][1];
      }
      encoder.append(c, e.sec, e.nanos, e.line, md, 0);
    }
    chunks.push(c);
  }
  return encoder.body(chunks, (size) => Buffer.allocUnsafe(size));
}
