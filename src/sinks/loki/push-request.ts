/**
 * Loki's push payload, in the two wire forms Loki's distributor accepts
 * (pkg/loghttp/push/push.go): `logproto.PushRequest` protobuf (to be snappy-block compressed by
 * the caller) and the JSON `{"streams":[{"stream":{..},"values":[[ns,line,{sm}]]}]}` shape.
 *
 * The wire format's messages (pkg/push/push.proto):
 *   PushRequest      { repeated StreamAdapter streams = 1; }
 *   StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
 *   EntryAdapter     { Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
 *   LabelPairAdapter { string name = 1; string value = 2; }
 *   Timestamp        { int64 seconds = 1; int32 nanos = 2; }
 * There is one encoder of each form, in batch.ts (entries as they arrive; encodeStreams for the
 * rare re-encode of streams decoded back from a body). This module holds the wire primitives,
 * and the decoders that read a sealed body back (to split it on 413, or to dead-letter it).
 */

/** One log entry as it goes on the wire. */
export interface LokiEntry {
  /** Seconds since the epoch (may be negative for pre-1970 times). */
  sec: number;
  /** 0..999,999,999. */
  nanos: number;
  line: string;
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

/** Unix nanoseconds as the decimal string Loki's JSON push expects (exceeds 2^53, so no Number). */
export function nanosString(sec: number, nanos: number): string {
  if (sec >= 0) return sec === 0 ? String(nanos) : `${sec}${String(nanos).padStart(9, '0')}`;
  return (BigInt(sec) * 1_000_000_000n + BigInt(nanos)).toString();
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
        const e: LokiEntry = { sec: 0, nanos: 0, line: '', metadata: null };
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
        return { sec, nanos, line, metadata: md ? Object.entries(md) : null };
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
