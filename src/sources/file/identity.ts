import { read, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';

const readAsync = promisify(read);

/** How many leading bytes identify a file's content; grows with the file up to this. */
export const FINGERPRINT_MAX = 1024;

export function identityKey(st: Pick<Stats, 'dev' | 'ino'>): string {
  return `${st.dev}:${st.ino}`;
}

/** Hash of the first `len` bytes of an open file ('' for len 0). */
export async function fingerprint(fd: number, len: number): Promise<string> {
  if (len <= 0) return '';
  const buf = Buffer.allocUnsafe(len);
  const { bytesRead } = await readAsync(fd, buf, 0, len, 0);
  // node:crypto at the first fingerprint, not at every start: loading it compiles ~20 internal
  // modules and initializes OpenSSL (~2 MiB, ~15 ms), which a start with no file to tail yet
  // does not need (bench/RESULTS.md, "Start-up"). Node caches the module after the first call.
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex').slice(0, 32);
}

/** Fingerprint of the first `len` bytes of the file at `path`. */
export async function fingerprintOf(path: string, len: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    return await fingerprint(fh.fd, len);
  } finally {
    await fh.close();
  }
}
