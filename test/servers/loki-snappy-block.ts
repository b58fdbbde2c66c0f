/**
 * An independent decoder of the raw snappy block format (github.com/google/snappy
 * format_description.txt), written for the Loki test server so that the sink's compressor (the
 * native `snappy` package) is checked against a second implementation, as Loki's
 * `snappy.Decode` would check it.
 */
export class SnappyFormatError extends Error {}
/** The block declares a decoded length over the caller's limit (Loki answers 413). */
export class SnappyTooLargeError extends SnappyFormatError {}

/** Copies up to this long are done in JS: a native call costs more than copying a few bytes. */
const SHORT_COPY = 32;

export function decodeSnappyBlock(src: Uint8Array, maxLength = 5000 * 1024 * 1024): Buffer {
  let pos = 0;
  let length = 0;
  let shift = 0;
  for (;;) {
    if (pos >= src.length) throw new SnappyFormatError('snappy: corrupt input (truncated length)');
    const b = src[pos++];
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 32) throw new SnappyFormatError('snappy: corrupt input (length varint too long)');
  }
  if (length > maxLength) throw new SnappyTooLargeError(`snappy: decoded length ${length} exceeds the limit ${maxLength}`);
  const out = Buffer.allocUnsafe(length);
  // Short literals and copies move four bytes per step through DataViews (unaligned reads are fine).
  const outView = new DataView(out.buffer, out.byteOffset, out.length);
  const srcView = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let o = 0;
  while (pos < src.length) {
    const tag = src[pos++];
    const type = tag & 3;
    if (type === 0) {
      let len = tag >> 2;
      if (len >= 60) {
        const extra = len - 59;
        if (pos + extra > src.length) throw new SnappyFormatError('snappy: corrupt input (literal length)');
        len = 0;
        for (let i = 0; i < extra; i++) len += src[pos + i] * 2 ** (8 * i);
        pos += extra;
      }
      len += 1;
      if (pos + len > src.length || o + len > length) throw new SnappyFormatError('snappy: corrupt input (literal overruns)');
      if (len <= SHORT_COPY) {
        let i = 0;
        for (; i + 4 <= len; i += 4) outView.setUint32(o + i, srcView.getUint32(pos + i, true), true);
        for (; i < len; i++) out[o + i] = src[pos + i];
      } else out.set(src.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === 1) {
      if (pos >= src.length) throw new SnappyFormatError('snappy: corrupt input (copy1)');
      len = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | src[pos++];
    } else if (type === 2) {
      if (pos + 2 > src.length) throw new SnappyFormatError('snappy: corrupt input (copy2)');
      len = (tag >> 2) + 1;
      offset = src[pos] | (src[pos + 1] << 8);
      pos += 2;
    } else {
      if (pos + 4 > src.length) throw new SnappyFormatError('snappy: corrupt input (copy4)');
      len = (tag >> 2) + 1;
      offset = (src[pos] | (src[pos + 1] << 8) | (src[pos + 2] << 16)) + src[pos + 3] * 0x1000000;
      pos += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw new SnappyFormatError('snappy: corrupt input (bad copy)');
    if (offset >= len && len > SHORT_COPY) {
      out.copyWithin(o, o - offset, o - offset + len);
      o += len;
    } else if (offset >= 4) {
      // Four bytes per step: each read lies wholly before the write it feeds (offset >= 4), so an
      // overlapping copy still repeats its pattern; a short copy is cheaper here than a native call.
      const from = o - offset;
      let i = 0;
      for (; i + 4 <= len; i += 4) outView.setUint32(o + i, outView.getUint32(from + i, true), true);
      for (; i < len; i++) out[o + i] = out[from + i];
      o += len;
    } else {
      // A 1–3 byte pattern repeated: byte by byte.
      for (let i = 0; i < len; i++, o++) out[o] = out[o - offset];
    }
  }
  if (o !== length) throw new SnappyFormatError(`snappy: corrupt input (decoded ${o} of ${length} bytes)`);
  return out;
}
