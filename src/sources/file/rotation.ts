import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fingerprintOf, identityKey } from './identity.ts';

/**
 * What rotation looks like from beside a log: which names are its generations, which of them hold
 * compressed bytes, which files a directory holds by identity, and the heads of truncated files
 * that a copytruncate copy starts with. FileSource decides what to read from these.
 */

/** Rotated names that hold compressed bytes, never lines. */
const COMPRESSED = /\.(gz|bz2|xz|zst|lz4|zip)$/;

export function isCompressedGeneration(path: string): boolean {
  return COMPRESSED.test(path);
}

/**
 * The suffixes rotation appends to a log's name: logrotate's `.1` (and `.1` after a compressed
 * generation is excluded by COMPRESSED), dateext's `-20240101` (`-%Y%m%d`, optionally with
 * `%H`/`%M`/`%S`), and `.2024-01-01` (logback, Python's TimedRotatingFileHandler, optionally
 * with a time). Nothing else: `.lock`, `.tmp`, `-backup.txt` are not rotations.
 */
const ROTATION_SUFFIX = /^[.\-_](?:\d{1,6}|\d{8}(?:[-_.]?\d{2,6})?|\d{10}|\d{4}-\d{2}-\d{2}(?:[-_T.]?\d{2}(?:[-:.]?\d{2}){0,2})?)$/;

/** True when `name` is `base` plus a rotation suffix (see ROTATION_SUFFIX). */
export function isRotationOf(name: string, base: string): boolean {
  return name.length > base.length && name.startsWith(base) && ROTATION_SUFFIX.test(name.slice(base.length));
}

/** Every regular file directly in `dir`, by identity. */
export async function identitiesIn(dir: string): Promise<Map<string, { path: string; st: Stats }>> {
  const out = new Map<string, { path: string; st: Stats }>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    try {
      const st = await stat(p);
      if (st.isFile()) out.set(identityKey(st), { path: p, st });
    } catch {
      // vanished meanwhile
    }
  }
  return out;
}

/** How many truncated heads are remembered (the oldest is forgotten first). */
const MAX_RETIRED_HEADS = 32;

/**
 * The heads of recently truncated files (copytruncate): a copy whose first bytes are such a head
 * is that file's content, to be read from where its last full line ended.
 */
export class RetiredHeads {
  private readonly heads: Array<{ value: string; len: number; lineOffset: number }> = [];

  add(head: { value: string; len: number }, lineOffset: number): void {
    this.heads.push({ value: head.value, len: head.len, lineOffset });
    if (this.heads.length > MAX_RETIRED_HEADS) this.heads.shift();
  }

  /** Where a copy at `path` should be read from if its head is a retired one (forgotten then), else null. */
  async takeCopyOf(path: string, size: number): Promise<number | null> {
    for (let i = this.heads.length - 1; i >= 0; i--) {
      const r = this.heads[i];
      if (r.len > 0 && size >= r.len && (await fingerprintOf(path, r.len).catch(() => '')) === r.value) {
        this.heads.splice(i, 1);
        return Math.min(r.lineOffset, size);
      }
    }
    return null;
  }
}
