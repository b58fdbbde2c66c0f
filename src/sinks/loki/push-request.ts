/**
 * Loki's push payload, in the two wire forms Loki's distributor accepts
 * (pkg/loghttp/push/push.go): `logproto.PushRequest` protobuf (to be snappy-block compressed by
 * the caller) and the JSON `{"streams":[{"stream":{..},"values":[[ns,line,{sm}]]}]}` shape.
 *
 * The protobuf encoder is hand-written for the four messages of pkg/push/push.proto:
 *   PushRequest      { repeated StreamAdapter streams = 1; }
 *   StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
 *   EntryAdapter     { Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
 *   LabelPairAdapter { string name = 1; string value = 2; }
 *   Timestamp        { int64 seconds = 1; int32 nanos = 2; }
 * The sink's hot path encodes each entry as it arrives (batch.ts, the same bytes); the
 * two-pass encoder here (sizes first, then one exact-size buffer) serves the rare re-encodes:
 * the halves of a batch Loki refused with 413, decoded back from the sealed body.
 */

/** One log entry as it goes on the wire. `lineBytes` is the UTF-8 length of `line`. */
export interface LokiEntry {
  /** Seconds since the epoch (may be negative for pre-1970 times). */
  sec: number;
  /** 0..999,999,999. */
  nanos: number;
  line: string;
  lineBytes: number;
  /** Structured metadata pairs (name, value), or null when there are none. */
  metadata: Array<[string, string]> | null;
}

export interface LokiStream {
  /** The label string exactly as Loki parses it: `{a="x", b="y"}`, names sorted. */
  labels: string;
  /** The same labels as pairs (sorted by name), for the JSON encoding. */
  pairs: Array<[string, string]>;
  entries: LokiEntry[];
}

export const TAG_1_LEN = 0x0a; // field 1, wire type 2
export const TAG_2_LEN = 0x12;
export const TAG_3_LEN = 0x1a;
export const TAG_1_VARINT = 0x08; // field 1, wire type 0
export const TAG_2_VARINT = 0x10;

export function varintSize(n: number): number {
  if (n < 0) return 10; // int64 two's complement always takes ten bytes
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 4;
  n = Math.floor(n / 0x10000000);
  while (n > 0) {
    size++;
    n = Math.floor(n / 0x80);
  }
  return size;
}

export function writeVarint(buf: Buffer, pos: number, n: number): number {
  if (n >= 0 && n <= 0xffffffff) {
    while (n > 0x7f) {
      buf[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[pos++] = n;
    return pos;
  }
  if (n < 0) {
    // int64 negative: 64-bit two's complement, ten bytes.
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 0; i < 9; i++) {
      buf[pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    buf[pos++] = Number(v);
    return pos;
  }
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
  return pos;
}

function stringField(bytes: number): number {
  return 1 + varintSize(bytes) + bytes;
}

function timestampSize(e: LokiEntry): number {
  return (e.sec !== 0 ? 1 + varintSize(e.sec) : 0) + (e.nanos !== 0 ? 1 + varintSize(e.nanos) : 0);
}

/** Byte sizes computed in pass one and consumed in order by pass two. */
class SizePlan {
  readonly sizes: number[] = [];
}

/** UTF-8 length; a JS loop beats the native call for the short strings metadata holds. */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > 64) return Buffer.byteLength(s);
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      if (c < 0x800) bytes += 1;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          bytes += 2; // surrogate pair: 4 bytes for 2 UTF-16 units
          i++;
        } else bytes += 2;
      } else bytes += 2;
    }
  }
  return bytes;
}

function entrySize(e: LokiEntry, plan: SizePlan): number {
  const ts = timestampSize(e);
  let size = 1 + varintSize(ts) + ts; // timestamp is non-nullable in Loki's gogo schema: always sent
  if (e.lineBytes > 0) size += stringField(e.lineBytes);
  const md = e.metadata;
  if (md !== null) {
    for (let i = 0; i < md.length; i++) {
      const nb = utf8Length(md[i][0]);
      const vb = utf8Length(md[i][1]);
      const p = stringField(nb) + stringField(vb);
      plan.sizes.push(p, nb, vb);
      size += 1 + varintSize(p) + p;
    }
  }
  return size;
}

/** Encodes a PushRequest. The result is uncompressed protobuf. */
export function encodePushRequest(streams: LokiStream[]): Buffer {
  const plan = new SizePlan();
  const streamSizes: number[] = new Array(streams.length);
  const entrySizes: number[] = [];
  let total = 0;
  const labelBytes: number[] = new Array(streams.length);
  for (let s = 0; s < streams.length; s++) {
    const st = streams[s];
    labelBytes[s] = Buffer.byteLength(st.labels);
    let size = stringField(labelBytes[s]);
    const entries = st.entries;
    for (let i = 0; i < entries.length; i++) {
      const es = entrySize(entries[i], plan);
      entrySizes.push(es);
      size += 1 + varintSize(es) + es;
    }
    streamSizes[s] = size;
    total += 1 + varintSize(size) + size;
  }

  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  let ei = 0;
  let pi = 0;
  for (let s = 0; s < streams.length; s++) {
    const st = streams[s];
    buf[pos++] = TAG_1_LEN;
    pos = writeVarint(buf, pos, streamSizes[s]);
    pos = writeString(buf, pos, TAG_1_LEN, st.labels, labelBytes[s]);
    const entries = st.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      buf[pos++] = TAG_2_LEN;
      pos = writeVarint(buf, pos, entrySizes[ei++]);
      const ts = timestampSize(e);
      buf[pos++] = TAG_1_LEN;
      pos = writeVarint(buf, pos, ts);
      if (e.sec !== 0) {
        buf[pos++] = TAG_1_VARINT;
        pos = writeVarint(buf, pos, e.sec);
      }
      if (e.nanos !== 0) {
        buf[pos++] = TAG_2_VARINT;
        pos = writeVarint(buf, pos, e.nanos);
      }
      if (e.lineBytes > 0) pos = writeString(buf, pos, TAG_2_LEN, e.line, e.lineBytes);
      const md = e.metadata;
      if (md !== null) {
        for (let m = 0; m < md.length; m++) {
          buf[pos++] = TAG_3_LEN;
          pos = writeVarint(buf, pos, plan.sizes[pi++]);
          pos = writeString(buf, pos, TAG_1_LEN, md[m][0], plan.sizes[pi++]);
          pos = writeString(buf, pos, TAG_2_LEN, md[m][1], plan.sizes[pi++]);
        }
      }
    }
  }
  if (pos !== total) throw new Error(`protobuf size mismatch: planned ${total}, wrote ${pos}`);
  return buf;
}

function writeString(buf: Buffer, pos: number, tag: number, s: string, bytes: number): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, bytes);
  if (bytes > 0) pos += buf.write(s, pos, bytes, 'utf8');
  return pos;
}

/** Unix nanoseconds as the decimal string Loki's JSON push expects (exceeds 2^53, so no Number). */
export function nanosString(sec: number, nanos: number): string {
  if (sec >= 0) return sec === 0 ? String(nanos) : `${sec}${String(nanos).padStart(9, '0')}`;
  return (BigInt(sec) * 1_000_000_000n + BigInt(nanos)).toString();
}

/** Encodes the JSON push body (Content-Type application/json). */
export function encodeJsonPush(streams: LokiStream[]): string {
  let out = '{"streams":[';
  for (let s = 0; s < streams.length; s++) {
    const st = streams[s];
    if (s > 0) out += ',';
    out += '{"stream":{';
    for (let i = 0; i < st.pairs.length; i++) {
      if (i > 0) out += ',';
      out += JSON.stringify(st.pairs[i][0]) + ':' + JSON.stringify(st.pairs[i][1]);
    }
    out += '},"values":[';
    const entries = st.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (i > 0) out += ',';
      out += '["' + nanosString(e.sec, e.nanos) + '",' + JSON.stringify(e.line);
      if (e.metadata !== null && e.metadata.length > 0) {
        out += ',{';
        for (let m = 0; m < e.metadata.length; m++) {
          if (m > 0) out += ',';
          out += JSON.stringify(e.metadata[m][0]) + ':' + JSON.stringify(e.metadata[m][1]);
        }
        out += '}';
      }
      out += ']';
    }
    out += ']}';
  }
  return out + ']}';
}

/** Sorts a stream's entries by timestamp in place, stable (Loki wants each stream in order). */
export function sortEntries(entries: LokiEntry[]): void {
  for (let i = 1; i < entries.length; i++) {
    const a = entries[i - 1];
    const b = entries[i];
    if (a.sec > b.sec || (a.sec === b.sec && a.nanos > b.nanos)) {
      entries.sort((x, y) => (x.sec - y.sec) || (x.nanos - y.nanos));
      return;
    }
  }
}

/**
 * An int64 varint at pos (two's complement: negatives take ten bytes). Beyond 2^53 a Number
 * cannot hold every value; those (and all negatives) go through BigInt.
 */
export function readInt64(buf: Uint8Array, pos: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 7; i++) {
    const b = buf[pos + i];
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 128;
  }
  let big = 0n;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos + i];
    big |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) break;
  }
  return Number(BigInt.asIntN(64, big));
}

/**
 * Reads back a PushRequest this module encoded (to split a batch Loki refused with 413, or to
 * dead-letter it after its payloads were dropped at seal time). Not a general protobuf decoder:
 * it knows our four messages and skips unknown fields.
 */
export function decodePushRequest(buf: Buffer): LokiStream[] {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
  };
  const skip = (wire: number): void => {
    if (wire === 0) varint();
    else if (wire === 2) pos += varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  };
  const str = (end: number): string => buf.toString('utf8', pos, (pos = end));
  const streams: LokiStream[] = [];
  while (pos < buf.length) {
    const tag = varint();
    if (tag !== TAG_1_LEN) {
      skip(tag & 7);
      continue;
    }
    const streamEnd = pos + varint();
    const st: LokiStream = { labels: '', pairs: [], entries: [] };
    while (pos < streamEnd) {
      const t = varint();
      if (t === TAG_1_LEN) {
        const len = varint();
        st.labels = str(pos + len);
      } else if (t === TAG_2_LEN) {
        const entryEnd = pos + varint();
        const e: LokiEntry = { sec: 0, nanos: 0, line: '', lineBytes: 0, metadata: null };
        while (pos < entryEnd) {
          const et = varint();
          if (et === TAG_1_LEN) {
            const tsEnd = pos + varint();
            while (pos < tsEnd) {
              const tt = varint();
              if (tt === TAG_1_VARINT) {
                e.sec = readInt64(buf, pos);
                while (buf[pos++] >= 0x80);
              } else if (tt === TAG_2_VARINT) e.nanos = varint();
              else skip(tt & 7);
            }
          } else if (et === TAG_2_LEN) {
            const len = varint();
            e.lineBytes = len;
            e.line = str(pos + len);
          } else if (et === TAG_3_LEN) {
            const pairEnd = pos + varint();
            let name = '';
            let value = '';
            while (pos < pairEnd) {
              const pt = varint();
              const len = varint();
              if (pt === TAG_1_LEN) name = str(pos + len);
              else if (pt === TAG_2_LEN) value = str(pos + len);
              else pos += len;
            }
            (e.metadata ??= []).push([name, value]);
          } else skip(et & 7);
        }
        st.entries.push(e);
      } else skip(t & 7);
    }
    streams.push(st);
  }
  return streams;
}

/** Reads back a JSON push body this module encoded. `format` rebuilds the label string. */
export function decodeJsonPush(text: string, format: (pairs: Array<[string, string]>) => string): LokiStream[] {
  const doc = JSON.parse(text) as { streams: Array<{ stream: Record<string, string>; values: Array<[string, string, Record<string, string>?]> }> };
  return doc.streams.map((s) => {
    const pairs = Object.entries(s.stream);
    return {
      labels: format(pairs),
      pairs,
      entries: s.values.map(([ns, line, md]) => {
        const big = BigInt(ns);
        const sec = Number(big / 1_000_000_000n);
        const nanos = Number(big - BigInt(sec) * 1_000_000_000n);
        return { sec, nanos, line, lineBytes: Buffer.byteLength(line), metadata: md ? Object.entries(md) : null };
      }),
    };
  });
}

/** Splits streams into two halves by entry count (413: the request was too large). */
export function splitStreams(streams: LokiStream[]): [LokiStream[], LokiStream[]] {
  let total = 0;
  for (const s of streams) total += s.entries.length;
  let left = total >> 1;
  const a: LokiStream[] = [];
  const b: LokiStream[] = [];
  for (const s of streams) {
    if (left >= s.entries.length) {
      a.push(s);
      left -= s.entries.length;
    } else if (left > 0) {
      a.push({ ...s, entries: s.entries.slice(0, left) });
      b.push({ ...s, entries: s.entries.slice(left) });
      left = 0;
    } else b.push(s);
  }
  return [a, b];
}
