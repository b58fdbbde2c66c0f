import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import type { Ack } from '../../core/record.ts';

const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);

/**
 * `_bulk` items as NDJSON bytes in one buffer, and where each one ends: item i is
 * `bytes[ends[i-1] .. ends[i])` (its action line and its source line). That is all a per-item
 * retry, a split or a dead letter needs, so batches keep no per-item objects.
 */
export class BulkItems {
  readonly bytes: Buffer;
  readonly ends: Uint32Array;
  readonly count: number;

  constructor(bytes: Buffer, ends: Uint32Array, count: number) {
    this.bytes = bytes;
    this.ends = ends;
    this.count = count;
  }

  start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1];
  }

  /** Item i's two lines, newlines included. */
  item(i: number): Buffer {
    return this.bytes.subarray(this.start(i), this.ends[i]);
  }

  /** A copy holding only the items at `indices` (ascending), in that order. */
  pick(indices: readonly number[]): BulkItems {
    let size = 0;
    for (const i of indices) size += this.ends[i] - this.start(i);
    const bytes = Buffer.allocUnsafe(size);
    const ends = new Uint32Array(indices.length);
    let off = 0;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      off += this.bytes.copy(bytes, off, this.start(i), this.ends[i]);
      ends[k] = off;
    }
    return new BulkItems(bytes, ends, indices.length);
  }

  /** Items [lo, hi) as a view (no copy). */
  slice(lo: number, hi: number): BulkItems {
    const base = this.start(lo);
    const ends = new Uint32Array(hi - lo);
    for (let i = lo; i < hi; i++) ends[i - lo] = this.ends[i] - base;
    return new BulkItems(this.bytes.subarray(base, this.ends[hi - 1]), ends, hi - lo);
  }
}

/** One request body ready to send: what goes on the wire, and how to get the items back. */
export class BulkBody {
  /** The bytes sent: gzip-compressed NDJSON, or the NDJSON itself. */
  readonly wire: Buffer;
  readonly gzipped: boolean;
  /** Uncompressed NDJSON size. */
  readonly rawBytes: number;
  readonly ends: Uint32Array;
  readonly count: number;

  private constructor(wire: Buffer, gzipped: boolean, rawBytes: number, ends: Uint32Array, count: number) {
    this.wire = wire;
    this.gzipped = gzipped;
    this.rawBytes = rawBytes;
    this.ends = ends;
    this.count = count;
  }

  /**
   * Encodes `items` for the wire. The result never refers to `items.bytes`, so the caller may
   * reuse that buffer once this resolves. Compression runs on libuv's threadpool.
   */
  static async of(items: BulkItems, gzipLevel: number | null): Promise<BulkBody> {
    const plain = items.bytes.subarray(0, items.count === 0 ? 0 : items.ends[items.count - 1]);
    const ends = items.ends.length === items.count ? items.ends : items.ends.slice(0, items.count);
    if (gzipLevel !== null) {
      try {
        // Output chunks sized to the expected result: the default 16 KiB means ~50 callbacks
        // and a concat per batch on the main thread.
        const chunkSize = Math.min(1 << 20, Math.max(16 * 1024, 2 ** Math.ceil(Math.log2(Math.max(1, plain.length >>> 2)))));
        const wire = await gzip(plain, { level: gzipLevel, chunkSize });
        return new BulkBody(wire, true, plain.length, ends, items.count);
      } catch {
        // Out of memory in zlib: send it uncompressed rather than not at all.
      }
    }
    return new BulkBody(Buffer.from(plain), false, plain.length, ends, items.count);
  }

  /** The NDJSON items back (decompressed when gzipped): for retries of some items, splits, dead letters. */
  async items(): Promise<BulkItems> {
    const bytes = this.gzipped ? await gunzip(this.wire) : this.wire;
    return new BulkItems(bytes, this.ends, this.count);
  }
}

/**
 * The open batch: each document's action and source lines are written into one byte buffer as
 * they arrive, so a queued batch costs its bytes (then its compressed bytes), not objects.
 */
export class BulkBatchBuilder {
  buf: Buffer;
  length = 0;
  count = 0;
  ends: Uint32Array = new Uint32Array(1024);
  readonly acks: Ack[] = [];

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  /** Whether `bytes` more fit in the buffer. */
  fits(bytes: number): boolean {
    return this.length + bytes <= this.buf.length;
  }

  /** Makes room for `bytes` more (a single document larger than a batch). */
  reserve(bytes: number): void {
    if (this.fits(bytes)) return;
    const grown = Buffer.allocUnsafeSlow(this.length + bytes);
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  /** Appends `action` + `source` + "\n"; the caller made room for them (see fits, reserve). */
  append(action: string, source: string, ack: Ack): void {
    let off = this.length;
    off += this.buf.write(action, off);
    off += this.buf.write(source, off);
    this.buf[off++] = 0x0a;
    if (this.count === this.ends.length) {
      const grown = new Uint32Array(this.ends.length * 2);
      grown.set(this.ends);
      this.ends = grown;
    }
    this.ends[this.count++] = off;
    this.length = off;
    this.acks.push(ack);
  }

  items(): BulkItems {
    return new BulkItems(this.buf, this.ends, this.count);
  }
}
