import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** Seeded test data shared by the tests and bench/ (bench builds its corpora on these; tests never import bench/). */

/** mulberry32: tiny, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes line(i) for i in [from, from + count) in 1 MiB chunks; returns bytes written. */
export async function writeLines(path: string, from: number, count: number, line: (i: number) => string, flags = 'w'): Promise<number> {
  const out = createWriteStream(path, { flags });
  let bytes = 0;
  let chunk = '';
  for (let i = from; i < from + count; i++) {
    chunk += line(i) + '\n';
    if (chunk.length > 1 << 20) {
      bytes += Buffer.byteLength(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  bytes += Buffer.byteLength(chunk);
  out.end(chunk);
  await once(out, 'finish');
  return bytes;
}
