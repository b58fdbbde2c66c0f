import type { Dirent, Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { PositionEntry, PositionStore } from '../../positions/store.ts';
import { fingerprintOfMatches, identityKey } from './identity.ts';

/**
 * What rotation looks like from beside a log: which names are its generations, which of them hold
 * compressed bytes, which files a directory holds by identity, the heads of truncated files that a
 * copytruncate copy starts with, and the scan that finds the generations to read
 * (RotatedGenerationScan). FileSource opens what the scan finds.
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
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    // A directory is never a generation: no stat for it (a log's directory may be /tmp, beside thousands).
    if (e.isDirectory()) continue;
    const p = join(dir, e.name);
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
      if (r.len > 0 && size >= r.len && (await fingerprintOfMatches(path, r.len, r.value))) {
        this.heads.splice(i, 1);
        return Math.min(r.lineOffset, size);
      }
    }
    return null;
  }
}

/** A rotated generation the scan found worth reading: from where, and why (for the log). */
export interface RotatedGeneration {
  path: string;
  key: string;
  st: Stats;
  /** Where to start; undefined: from the acknowledged offset of its position entry. */
  startAt: number | undefined;
  /** The offset it is read from, as logged. */
  offset: number | undefined;
  /** Created and renamed away before any tailer saw it at its path: still a rotation to count. */
  unseenRotation: boolean;
  why: string;
}

/** What the scan looks at and what it must leave alone. */
export interface RotatedGenerationScanOptions {
  source: string;
  positions: PositionStore;
  /** An unknown generation counts only when renamed or written after this (epoch ms). */
  since: number;
  retiredHeads: RetiredHeads;
  /** Identities tailed now (a copy of one of their heads is not read until it is truncated). */
  tailedKeys: () => Iterable<string>;
  /** True for a file the scan must not offer: already tailed or opening, or a path the globs match or exclude. */
  skip: (key: string, path: string) => boolean;
}

/**
 * Rotated generations found by identity in the directories of the source's known files, under
 * names the globs do not match (app.log.1, app-20240101.log; matching names are the rescan's):
 * - a known identity with unread bytes (rotated while logship was stopped): read from its
 *   acknowledged offset to EOF — neither skipped nor re-read;
 * - an unknown file named after a known one and renamed or written since `since`: a generation
 *   that was created and rotated away before discovery saw it (while logship was stopped, or
 *   within milliseconds): read whole;
 * - a copytruncate copy (its head is the head a truncated file had): read from where that
 *   file's last full line ended, so copytruncate loses nothing even when logship is behind.
 * Generations are yielded one at a time, so the caller opens each before the next is judged.
 */
export class RotatedGenerationScan {
  /** Identities seen in the scanned directories: their positions are kept. */
  private readonly present = new Set<string>();
  private readonly opts: RotatedGenerationScanOptions;

  constructor(opts: RotatedGenerationScanOptions) {
    this.opts = opts;
  }

  async *generations(): AsyncGenerator<RotatedGeneration> {
    for (const [dir, names] of this.knownNamesByDirectory()) {
      for (const [key, f] of await identitiesIn(dir)) {
        this.present.add(key);
        if (this.opts.skip(key, f.path) || isCompressedGeneration(f.path)) continue;
        const entry = this.opts.positions.get(key);
        const found = entry ? await this.unreadRest(key, f, entry) : await this.unseenOrCopy(key, f, names);
        if (found !== null) yield found;
      }
    }
  }

  /**
   * Forgets the positions of this source's files that are gone (not merely rotated: rotated
   * generations keep their entries while they exist, or the next rename of an old generation
   * would look like a new file) for longer than `expireAfter`; returns how many.
   */
  forgetGone(expireAfter: number, inUse: (key: string) => boolean): number {
    const { positions, source } = this.opts;
    for (const [key, e] of positions.all()) if (e.source === source && this.present.has(key)) e.updated = Date.now();
    return positions.expire(expireAfter, (k, e) => e.source === source && !this.present.has(k) && !inUse(k));
  }

  /** The basenames of the source's known files, by directory. */
  private knownNamesByDirectory(): Map<string, string[]> {
    const byDir = new Map<string, string[]>();
    for (const [, e] of this.opts.positions.all()) {
      if (e.source !== this.opts.source) continue;
      const dir = dirname(e.path);
      const names = byDir.get(dir);
      if (names) names.push(basename(e.path));
      else byDir.set(dir, [basename(e.path)]);
    }
    return byDir;
  }

  /** A known identity with bytes beyond its acknowledged offset, if its content is still the one read. */
  private async unreadRest(key: string, f: { path: string; st: Stats }, entry: PositionEntry): Promise<RotatedGeneration | null> {
    if (entry.source !== this.opts.source || f.st.size <= entry.offset) return null;
    // The same identity could be a reused inode: only the same content is the generation we read.
    if (entry.fp_len > 0 && (f.st.size < entry.fp_len || !(await fingerprintOfMatches(f.path, entry.fp_len, entry.fingerprint)))) return null;
    return { path: f.path, key, st: f.st, startAt: undefined, offset: entry.offset, unseenRotation: false, why: 'rotated generation with unread lines; reading the rest of it' };
  }

  /** An unknown file named as a rotation of a known one: an unseen generation (read whole) or a copytruncate copy. */
  private async unseenOrCopy(key: string, f: { path: string; st: Stats }, knownNames: string[]): Promise<RotatedGeneration | null> {
    const name = basename(f.path);
    // Only a rotation's name (app.log.1, app.log-20240101): app.log.lock, app.log.tmp or
    // app.log-backup.txt beside it are someone else's files, not lines logged to app.log.
    if (Math.max(f.st.ctimeMs, f.st.mtimeMs) <= this.opts.since || !knownNames.some((n) => isRotationOf(name, n))) return null;
    const copyOf = await this.copiedHead(f.path, f.st.size);
    if (copyOf === 'live') return null; // a copy of a file still being tailed: decide once it is truncated
    const start = copyOf ?? 0;
    const why = copyOf === null ? 'unseen rotated generation (created and rotated before discovery); reading it' : 'copy of a truncated file (copytruncate); reading it from where the original was read';
    return { path: f.path, key, st: f.st, startAt: start, offset: start, unseenRotation: copyOf === null, why };
  }

  /** Where a copy should be read from if its head is a truncated file's old head; 'live' if it is a tailed file's current head. */
  private async copiedHead(path: string, size: number): Promise<number | 'live' | null> {
    const copied = await this.opts.retiredHeads.takeCopyOf(path, size);
    if (copied !== null) return copied;
    for (const key of this.opts.tailedKeys()) {
      const e = this.opts.positions.get(key);
      if (e && e.fp_len > 0 && size >= e.fp_len && (await fingerprintOfMatches(path, e.fp_len, e.fingerprint))) return 'live';
    }
    return null;
  }
}
