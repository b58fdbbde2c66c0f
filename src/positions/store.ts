import { mkdirSync } from 'node:fs';
import { copyFile, link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import type { PositionsLost } from '../core/status.ts';

/** What we remember about one file generation. Keyed by identity, never by path or labels. */
export interface PositionEntry {
  /** Last path the file was seen at (informational, and where to look for it after a restart). */
  path: string;
  /** Acknowledged byte offset: every byte before it reached every sink. */
  offset: number;
  dev: number;
  ino: number;
  /** Hex hash of the first `fp_len` bytes (the fingerprint), '' while the file is empty. */
  fingerprint: string;
  fp_len: number;
  /** Source name that owns the file. */
  source: string;
  /** Epoch ms of the last update; entries of vanished files expire. */
  updated: number;
  /**
   * For a journal source (key `journald:<source>`, offset/dev/ino 0): the cursor of the last
   * entry every sink acknowledged (with all entries before it).
   */
  cursor?: string;
}

interface PositionsFile {
  version: 1;
  files: Record<string, PositionEntry>;
}

/**
 * The positions file: JSON, written atomically every sync_interval and on shutdown
 * (tmp file + fsync, previous generation hard-linked as .bak, tmp renamed in, directory fsynced).
 * Promtail's non-atomic writes left NUL-filled files and crash loops (loki#1460, #6268), so a
 * corrupt file is never fatal here: we fall back to the tmp, then the .bak, then empty, loudly.
 */
export class PositionStore {
  readonly path: string;
  private entries = new Map<string, PositionEntry>();
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private snapshotHook: (() => void) | null = null;
  private writing: Promise<void> | null = null;
  private readonly log: Logger;
  private readonly writeErrors;
  private readonly corruptLoads;
  private readonly lastWrite;
  private readonly expired;
  /** True when this store started from nothing (first start: start_at applies). */
  firstStart = true;
  /**
   * Set when positions files existed but none could be trusted: where the files found at start
   * begin instead (positions.on_lost), and where the corrupt generations were set aside.
   */
  lost: PositionsLost | null = null;
  /** Epoch ms since when writes of the positions file fail (null while they succeed); /ready reports it. */
  writeFailingSince: number | null = null;
  lastWriteError: string | null = null;
  /** Epoch ms when the loaded positions were last written (about when logship last ran), null on first start. */
  savedAt: number | null = null;

  private readonly lostCount;
  private persist = true;
  private readonly onLost: 'beginning' | 'end';

  private constructor(path: string, log: Logger, metrics: MetricsRegistry, onLost: 'beginning' | 'end') {
    this.path = path;
    this.log = log;
    this.onLost = onLost;
    this.lostCount = metrics.counter('logship_positions_lost_total', 'Starts where positions files existed but none could be trusted (every generation corrupt or unreadable); files then started per positions.on_lost.');
    this.writeErrors = metrics.counter('logship_positions_write_errors_total', 'Failed writes of the positions file.');
    this.corruptLoads = metrics.counter('logship_positions_corrupt_total', 'Positions files found corrupt at start (fell back to an older generation).', ['file']);
    this.expired = metrics.counter('logship_positions_expired_total', 'Positions entries forgotten because their file was gone longer than positions.expire_after.');
    this.lastWrite = metrics.gauge('logship_positions_last_write_timestamp_seconds', 'Unix time of the last successful positions write.');
  }

  /**
   * `persist: false` (run --dry-run): positions are read, so a dry run shows what a real run would
   * ship next, but nothing is ever written (no file, no directory, no corrupt copies).
   */
  static async open(path: string, log: Logger, metrics: MetricsRegistry, opts: { onLost?: 'beginning' | 'end'; persist?: boolean } = {}): Promise<PositionStore> {
    const store = new PositionStore(path, log, metrics, opts.onLost ?? 'beginning');
    store.persist = opts.persist ?? true;
    if (store.persist) mkdirSync(dirname(path), { recursive: true });
    await store.load();
    return store;
  }

  private async load(): Promise<void> {
    const corrupt: string[] = [];
    for (const candidate of [this.path, `${this.path}.tmp`, `${this.path}.bak`]) {
      let text: string;
      try {
        text = await readFile(candidate, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.log.warn({ file: candidate, err: (e as Error).message }, 'positions file unreadable, trying older generation');
        this.corruptLoads.inc({ file: kindOf(candidate, this.path) });
        corrupt.push(candidate);
        continue;
      }
      const parsed = parsePositions(text);
      if (parsed === null) {
        this.log.error({ file: candidate, bytes: text.length }, 'positions file is corrupt (not valid positions JSON); falling back to an older generation');
        this.corruptLoads.inc({ file: kindOf(candidate, this.path) });
        corrupt.push(candidate);
        continue;
      }
      for (const [k, v] of Object.entries(parsed.files)) this.entries.set(k, v);
      this.firstStart = false;
      this.savedAt = await stat(candidate).then((st) => st.mtimeMs, () => Date.now());
      if (candidate !== this.path) {
        this.log.warn({ file: candidate, files: this.entries.size }, 'resumed from an older positions generation');
        this.dirty = true;
      }
      return;
    }
    if (corrupt.length > 0) await this.positionsLost(corrupt);
  }

  /**
   * Positions existed and none can be trusted: logship ran before, so treating this as a first
   * start (start_at: end) would skip, without a word, what was written while it was stopped.
   * The corrupt generations are copied aside for a post-mortem (the next write replaces them).
   */
  private async positionsLost(corrupt: string[]): Promise<void> {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const keptAside: string[] = [];
    for (const c of this.persist ? corrupt : []) {
      const aside = `${c}.corrupt-${stamp}`;
      try {
        await copyFile(c, aside);
        keptAside.push(aside);
      } catch (err) {
        this.log.error({ file: c, err: (err as Error).message }, 'could not keep a copy of the corrupt positions file');
      }
    }
    this.firstStart = false;
    this.lost = { startAt: this.onLost, keptAside };
    this.lostCount.inc();
    this.log.error(
      { corrupt, kept_aside: keptAside, start_at: this.onLost },
      this.onLost === 'beginning'
        ? 'no trustworthy positions: every positions generation is corrupt; reading every file from its beginning (lines already shipped are sent again; positions.on_lost: end skips them instead)'
        : 'no trustworthy positions: every positions generation is corrupt; starting every file at its end (positions.on_lost: end) — lines written while logship was stopped are skipped',
    );
  }

  get(key: string): PositionEntry | undefined {
    return this.entries.get(key);
  }

  set(key: string, entry: PositionEntry): void {
    this.entries.set(key, entry);
    this.dirty = true;
  }

  /** Move a file's acknowledged offset; cheap, called from the ack path. */
  advance(key: string, offset: number): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.offset = offset;
    e.updated = Date.now();
    this.dirty = true;
  }

  /** The acknowledged journal cursor of a journal source (PositionEntry.cursor). */
  cursor(key: string): string | undefined {
    return this.entries.get(key)?.cursor;
  }

  /** Records a journal source's acknowledged cursor; cheap, called from the ack path. */
  setCursor(key: string, source: string, cursor: string): void {
    const e = this.entries.get(key);
    if (e === undefined) this.entries.set(key, { path: '', offset: 0, dev: 0, ino: 0, fingerprint: '', fp_len: 0, source, updated: Date.now(), cursor });
    else {
      e.cursor = cursor;
      e.updated = Date.now();
    }
    this.dirty = true;
  }

  /** The file's first bytes grew (up to 1 KiB) or were rewritten: remember the new fingerprint. */
  setFingerprint(key: string, fingerprint: string, len: number): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.fingerprint = fingerprint;
    e.fp_len = len;
    e.updated = Date.now();
    this.dirty = true;
  }

  /** Marks an entry as seen now (its expiry clock restarts). */
  touch(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.updated = Date.now();
    this.dirty = true;
  }

  /**
   * Forgets entries of files that have been gone (not tailed) for longer than `maxAgeMs`, so the
   * file does not grow with every rotated generation. Returns how many were removed.
   */
  expire(maxAgeMs: number, isGone: (key: string, entry: PositionEntry) => boolean): number {
    const cutoff = Date.now() - maxAgeMs;
    let n = 0;
    for (const [k, e] of this.entries) {
      if (e.updated < cutoff && isGone(k, e)) {
        this.entries.delete(k);
        n++;
      }
    }
    if (n > 0) {
      this.dirty = true;
      this.expired.inc(n);
    }
    return n;
  }

  delete(key: string): void {
    if (this.entries.delete(key)) this.dirty = true;
  }

  all(): IterableIterator<[string, PositionEntry]> {
    return this.entries.entries();
  }

  /**
   * `fn` runs synchronously whenever a write takes its snapshot, before the file is written:
   * state that must never be older than the positions on disk (the derived metrics checkpoint)
   * saves itself then.
   */
  onSnapshot(fn: () => void): void {
    this.snapshotHook = fn;
  }

  startSync(intervalMs: number): void {
    if (!this.persist) return;
    this.timer = setInterval(() => {
      void this.flush();
    }, intervalMs);
    this.timer.unref();
  }

  /** Writes the file if anything changed; never throws (errors are logged and counted). */
  async flush(force = false): Promise<void> {
    if (!this.persist) return;
    // A loop, not an if: callers waiting on the same write all wake when it ends, and the first
    // to run starts the next one; the others must wait for that too. Two writes at once raced on
    // the .tmp file and the .bak link (EEXIST) and logged a failed write at shutdown.
    while (this.writing) await this.writing;
    if (!this.dirty && !force) return;
    this.dirty = false;
    const snapshot: PositionsFile = { version: 1, files: Object.fromEntries(this.entries) };
    this.snapshotHook?.();
    this.writing = this.writeAtomic(JSON.stringify(snapshot, null, 1)).then(() => {
      if (this.writeFailingSince !== null) this.log.info({ file: this.path, failed_for_ms: Date.now() - this.writeFailingSince }, 'positions file written again');
      this.writeFailingSince = null;
      this.lastWriteError = null;
    }, (e: Error) => {
      this.dirty = true;
      this.writeErrors.inc();
      this.writeFailingSince ??= Date.now();
      this.lastWriteError = e.message;
      this.log.error({ err: e.message, file: this.path }, 'failed to write positions file');
    }).finally(() => {
      this.writing = null;
    });
    await this.writing;
  }

  private async writeAtomic(text: string): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const fh = await open(tmp, 'w', 0o640);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // The previous generation becomes .bak by a hard link, so the current name never goes
    // missing: a kill between any two steps leaves a valid positions.json (or its .tmp).
    const bak = `${this.path}.bak`;
    const ignoreMissing = (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    };
    await unlink(bak).catch(ignoreMissing);
    await link(this.path, bak).catch(ignoreMissing);
    await rename(tmp, this.path);
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    this.lastWrite.set(Date.now() / 1000);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush(true);
    // Twice: after a clean shutdown the .bak generation holds the final offsets too, so a
    // positions file destroyed while logship is stopped costs no re-sent lines.
    await this.flush(true);
  }

  /** Test hook: remove leftovers. */
  static async removeFiles(path: string): Promise<void> {
    for (const p of [path, `${path}.tmp`, `${path}.bak`]) await unlink(p).catch(() => {});
  }
}

function kindOf(candidate: string, path: string): string {
  if (candidate === path) return 'current';
  return candidate.endsWith('.tmp') ? 'tmp' : 'bak';
}

function parsePositions(text: string): PositionsFile | null {
  try {
    const v = JSON.parse(text) as PositionsFile;
    if (v === null || typeof v !== 'object' || v.version !== 1 || typeof v.files !== 'object' || v.files === null) return null;
    for (const e of Object.values(v.files)) {
      if (typeof e !== 'object' || e === null || typeof e.offset !== 'number' || typeof e.path !== 'string') return null;
    }
    return v;
  } catch {
    return null;
  }
}
