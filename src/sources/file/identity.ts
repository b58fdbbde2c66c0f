import { read, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';

const readAsync = promisify(read);

/** How many leading bytes identify a file's content; grows with the file up to this. */
export const FINGERPRINT_MAX = 1024;

/**
 * Fingerprints are `h64:` and 16 hex digits: MurmurHash3_x86_32 of the bytes under two seeds. They
 * tell one file's content from another's at the same inode (reuse, rewrite, copytruncate), as
 * Vector's checksum fingerprint does with a 64-bit CRC (checksum_ecma); nothing here defends against whoever
 * writes the log files. A hash in JavaScript instead of node:crypto's SHA-256: loading
 * crypto before the first file is tailed cost every start ~15-20 ms and ~1.7 MiB of RSS at /ready
 * (bench/RESULTS.md, "Start-up"), and zlib's crc32 (32 bits) still ~9 ms and ~2 MiB to load.
 * Positions written before (32 hex digits of SHA-256) are still honoured: fingerprintMatches()
 * computes the stored kind, so an upgrade resumes every file where it was.
 */
const HASH_PREFIX = 'h64:';

export function identityKey(st: Pick<Stats, 'dev' | 'ino'>): string {
  return `${st.dev}:${st.ino}`;
}

/** The two seeds of a fingerprint's lanes. */
const SEED_A = 0x9747b28c;
const SEED_B = 0x5bd1e995;

/**
 * MurmurHash3_x86_32 of `b[0..len)` under two seeds in one pass (a block's mixing does not depend
 * on the seed, only the running hash does): the reference algorithm, little-endian blocks.
 */
export function murmur3x2(b: Uint8Array, len: number, seedA: number, seedB: number): [number, number] {
  let h1 = seedA | 0;
  let h2 = seedB | 0;
  const blocksEnd = len & ~3;
  let i = 0;
  for (; i < blocksEnd; i += 4) {
    const k = mixBlock(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
    h1 ^= k;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    h2 ^= k;
    h2 = (h2 << 13) | (h2 >>> 19);
    h2 = (Math.imul(h2, 5) + 0xe6546b64) | 0;
  }
  if (i < len) {
    let tail = 0;
    for (let shift = 0; i < len; i++, shift += 8) tail |= b[i] << shift;
    const k = mixBlock(tail);
    h1 ^= k;
    h2 ^= k;
  }
  return [fmix(h1 ^ len), fmix(h2 ^ len)];
}

function mixBlock(k: number): number {
  const x = Math.imul(k, 0xcc9e2d51);
  return Math.imul((x << 15) | (x >>> 17), 0x1b873593);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function contentHash(b: Buffer, len: number): string {
  const [a, c] = murmur3x2(b, len, SEED_A, SEED_B);
  return HASH_PREFIX + hex8(a) + hex8(c);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** A fingerprint from positions written by an older logship (SHA-256, 32 hex digits). */
function isLegacy(stored: string): boolean {
  return stored.length === 32 && !stored.startsWith(HASH_PREFIX);
}

async function head(fd: number, len: number): Promise<{ buf: Buffer; n: number }> {
  const buf = Buffer.allocUnsafe(len);
  const { bytesRead } = await readAsync(fd, buf, 0, len, 0);
  return { buf, n: bytesRead };
}

/** Fingerprint of the first `len` bytes of an open file ('' for len 0). */
export async function fingerprint(fd: number, len: number): Promise<string> {
  if (len <= 0) return '';
  const { buf, n } = await head(fd, len);
  return contentHash(buf, n);
}

/** Whether the first `len` bytes of an open file still have the `stored` fingerprint, of either kind. */
export async function fingerprintMatches(fd: number, len: number, stored: string): Promise<boolean> {
  if (!isLegacy(stored)) return (await fingerprint(fd, len)) === stored;
  const { buf, n } = await head(fd, len);
  // node:crypto only for positions from before: loaded once, at an upgrade's first start
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(buf.subarray(0, n)).digest('hex').slice(0, 32) === stored;
}

/** fingerprintMatches() for the file at `path`; false when it cannot be read. */
export async function fingerprintOfMatches(path: string, len: number, stored: string): Promise<boolean> {
  try {
    const fh = await open(path, 'r');
    try {
      return await fingerprintMatches(fh.fd, len, stored);
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}
