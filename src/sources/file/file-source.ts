import type { Stats } from 'node:fs';
import { close, fstat, open } from 'node:fs';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { ByteBudget } from '../../core/budget.ts';
import type { MetricsRegistry } from '../../self-metrics/registry.ts';
import type { LineReceiver } from '../../core/line.ts';
import type { PositionStore } from '../../positions/store.ts';
import type { SourceInfo } from '../../core/record.ts';
import type { FileSourceConfig } from '../config.ts';
import { containerFields } from '../container/metadata.ts';
import { GlobMatcher, type PathProblem } from './discovery.ts';
import type { FileErrorStatus } from '../../core/status.ts';
import { FileErrors } from './file-errors.ts';
import { FINGERPRINT_MAX, fingerprint, fingerprintMatches, identityKey } from './identity.ts';
import { TailMetrics } from './tail-metrics.ts';
import { Tailer } from './tailer.ts';
import { FileWatcher } from './watcher.ts';
import type { Source } from '../../core/source.ts';
import { RetiredHeads, RotatedGenerationScan, type RotatedGeneration } from './rotation.ts';

export interface FileSourceDeps {
  host: string;
  /** The line chain for a newly opened file (per-file state such as container joins lives there). */
  receiverFor: (source: SourceInfo) => LineReceiver;
  budget: ByteBudget;
  /** A tailer read to the end of a backlog (see TailerOptions.onCaughtUp). */
  onCaughtUp?: () => void;
  positions: PositionStore;
  metrics: MetricsRegistry;
  log: Logger;
  /** Forget positions of files gone longer than this (positions.expire_after). */
  positionsExpireAfter?: number;
  /**
   * At the first start, the offset another shipper reached in a file logship has no position
   * for (positions.import_promtail), or undefined; `fd` is the open file, `size` its size.
   */
  importOffset?: (path: string, size: number, fd: number) => Promise<number | undefined>;
}

export interface FileStatus {
  path: string;
  key: string;
  offset: number;
  committed: number;
  size: number;
  state: string;
}

const openAsync = promisify(open);
const fstatAsync = promisify(fstat);
const closeAsync = promisify(close);

/**
 * Opens `path` for a file first seen under identity `key` (device:inode), or fails when the path
 * now holds another file.
 */
async function openAs(path: string, key: string): Promise<number> {
  const fd = await openAsync(path, 'r');
  const now = await fstatAsync(fd).catch(() => null);
  if (now === null || identityKey(now) !== key) {
    await closeAsync(fd).catch(() => {});
    throw new Error(`file at ${path} changed identity while opening`);
  }
  return fd;
}

/** How often per-file chains are asked to emit timed-out partial / multiline records. */
const CHAIN_FLUSH_MS = 250;

/** How discovery came to a path. */
interface FoundBy {
  /** By the first scan of a start: start_at applies to files never seen. */
  readonly initial: boolean;
}
const FIRST_SCAN: FoundBy = Object.freeze({ initial: true });
const LATER: FoundBy = Object.freeze({ initial: false });

/** What openFile needs to start tailing one file. */
interface OpenFileOptions {
  path: string;
  /** The identity (device:inode) the file was opened under. */
  key: string;
  st: Stats;
  initial: boolean;
  rotated: boolean;
  startAt?: number;
  fd?: number;
}

/**
 * One configured file source. Finds files (chokidar change events on the glob base directories,
 * a periodic rescan as the safety net), keeps one Tailer per file identity (device + inode, the
 * content checked by fingerprint), decides where each file starts, and at start resumes
 * generations that were rotated away while logship was stopped.
 */
export class FileSource implements Source {
  readonly name: string;
  private readonly cfg: FileSourceConfig;
  private readonly matcher: GlobMatcher;
  private readonly watcher: FileWatcher;
  private readonly tailers = new Map<string, Tailer>();
  private readonly byPath = new Map<string, Tailer>();
  private readonly opening = new Set<string>();
  private rescanTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private scanning = false;
  private scanAgain = false;
  private startedAt = Date.now();
  /** Heads of recently truncated files, to recognise their copytruncate copies. */
  private readonly retiredHeads = new RetiredHeads();
  private readonly tailMetrics: TailMetrics;
  private readonly errors: FileErrors;
  /** Removes this source's series from the shared file gauges (set while running). */
  private unregisterGauges: Array<() => void> = [];
  private readonly deps: FileSourceDeps;

  constructor(cfg: FileSourceConfig, deps: FileSourceDeps) {
    this.deps = deps;
    this.name = cfg.name;
    this.cfg = cfg;
    this.matcher = new GlobMatcher(cfg.paths, cfg.exclude);
    this.watcher = new FileWatcher(this.matcher, deps.log);
    this.tailMetrics = new TailMetrics(deps.metrics, cfg.name);
    this.errors = new FileErrors(cfg.name, deps);
  }

  /**
   * Adds this source's series to the file gauge families (shared by all sources of the
   * registry, filled by each running source when read); returns what removes them again.
   */
  private registerFileGauges(metrics: MetricsRegistry): Array<() => void> {
    const size = metrics.sharedGauge('logship_file_size_bytes', 'Size of each tailed file.', ['source', 'path'], () => {
      for (const t of this.tailers.values()) size.gauge.set({ source: this.name, path: t.path }, t.size);
    });
    const offset = metrics.sharedGauge('logship_file_offset_bytes', 'Acknowledged offset of each tailed file (lag = size - offset).', ['source', 'path'], () => {
      for (const t of this.tailers.values()) offset.gauge.set({ source: this.name, path: t.path }, t.committedOffset);
    });
    const active = metrics.sharedGauge('logship_files_active', 'Files currently tailed.', ['source'], () => active.gauge.set({ source: this.name }, this.tailers.size));
    return [size.remove, offset.remove, active.remove];
  }

  async start(): Promise<void> {
    this.unregisterGauges = this.registerFileGauges(this.deps.metrics);
    const watching = this.watcher.start({
      added: (p) => void this.consider(p, LATER),
      changed: (p, st) => {
        const t = this.byPath.get(p);
        if (t !== undefined && st !== undefined && identityKey(st) === t.key) t.wake();
        else {
          t?.wake();
          void this.consider(p, LATER);
        }
      },
      removed: (p) => {
        this.byPath.get(p)?.wake();
        void this.consider(p, LATER);
      },
    });
    this.startedAt = Date.now();
    await this.scanRotated(this.deps.positions.savedAt ?? this.startedAt);
    await this.rescan(FIRST_SCAN);
    // Files created between the initial scan and the watcher being ready.
    void watching.then(() => (this.stopped ? undefined : this.rescan(LATER))).catch((err: Error) => this.deps.log.error({ err: err.message, source: this.name }, 'rescan failed'));
    const tick = () => {
      if (this.stopped) return;
      this.rescan(LATER).catch((err: Error) => this.deps.log.error({ err: err.message, source: this.name }, 'rescan failed')).finally(() => {
        if (!this.stopped) this.rescanTimer = setTimeout(tick, this.cfg.rescan_interval);
      });
    };
    this.rescanTimer = setTimeout(tick, this.cfg.rescan_interval);
    this.flushTimer = setInterval(() => {
      for (const t of this.tailers.values()) t.receiver.flush(false);
    }, CHAIN_FLUSH_MS);
    this.flushTimer.unref();
  }

  private async rescan(found: FoundBy): Promise<void> {
    const problems: PathProblem[] = [];
    const paths = await this.matcher.scan((p) => problems.push(p));
    this.errors.scanDone(problems);
    let changed = false;
    for (const path of paths) {
      if (this.stopped) return;
      if (await this.consider(path, found)) changed = true;
    }
    // The rotated-generation scan stats every file of the directories: only worth it when the
    // rescan saw something new (an idle host with 1,000 files would otherwise pay it every time).
    if (!found.initial && changed) this.requestScan();
  }

  /**
   * A path that matches the globs: tail it if its identity is new, else follow a rename.
   * Returns false when the path still holds the file already tailed there (nothing changed).
   */
  private async consider(path: string, found: FoundBy): Promise<boolean> {
    if (this.stopped) return false;
    let st: Stats;
    try {
      st = await stat(path);
    } catch (err) {
      this.openFailed(path, err);
      return false;
    }
    if (!st.isFile()) return false;
    const known = this.tailers.get(identityKey(st));
    if (known !== undefined && known.path === path) {
      // The rescan is the safety net for lost change events: it wakes a tailer whose file moved
      // on since its last look, so idle tailers need not poll on their own.
      if (st.size !== known.size || st.mtimeMs !== known.seenMtimeMs) known.wake();
      return false;
    }
    if (this.followRename(path, identityKey(st))) return true;
    await this.openNew(path, found);
    return true;
  }

  /** Tails the file at `path` unless its identity, read from the open descriptor, is tailed or opening already. */
  private async openNew(path: string, found: FoundBy): Promise<void> {
    // Open first and take the identity from the descriptor: the path can be replaced between a
    // stat and an open (rename + create), and a generation must never be confused with the next.
    // Raw descriptors, not FileHandles: the tailer owns the fd from here and a FileHandle would
    // close "its" number again when garbage collected.
    let fd: number;
    try {
      fd = await openAsync(path, 'r');
    } catch (err) {
      // ENOENT: renamed away meanwhile: its tailer (if any) or the next event handles it.
      this.openFailed(path, err);
      return;
    }
    let st: Stats;
    try {
      st = await fstatAsync(fd);
    } catch {
      await closeAsync(fd).catch(() => {});
      return;
    }
    const key = identityKey(st);
    if (this.followRename(path, key) || this.opening.has(key)) {
      await closeAsync(fd).catch(() => {});
      return;
    }
    this.opening.add(key);
    try {
      await this.openFile({ path, key, st, initial: found.initial, rotated: false, fd });
      this.errors.cleared(path);
    } catch (err) {
      this.openFailed(path, err);
    } finally {
      this.opening.delete(key);
    }
  }

  /** A vanished file is no error (it was rotated or deleted); anything else is listed until it opens. */
  private openFailed(path: string, err: unknown): void {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.errors.cleared(path);
    else this.errors.openFailed(path, err);
  }

  /** True when `key` is already tailed; follows it to `path` if it was renamed within the globs. */
  private followRename(path: string, key: string): boolean {
    const existing = this.tailers.get(key);
    if (!existing) return false;
    if (existing.path !== path) {
      void this.stillAt(existing.path, key).then((there) => {
        if (there && !existing.isRotated) return; // a second name (link) of the same file
        // Renamed within the globs (e.g. app.log → app.log.1 with `app.log*`): the same file, not re-read.
        if (this.byPath.get(existing.path) === existing) this.byPath.delete(existing.path);
        existing.renamedTo(path);
        this.byPath.set(path, existing);
      });
    }
    return true;
  }

  private async stillAt(path: string, key: string): Promise<boolean> {
    try {
      return identityKey(await stat(path)) === key;
    } catch {
      return false;
    }
  }

  /**
   * Opens the rotated generations a RotatedGenerationScan finds (see there), each closed after EOF
   * + rotate_wait once everything it emitted is acknowledged; then forgets positions of files gone
   * longer than positions.expire_after.
   */
  private async scanRotated(since: number): Promise<void> {
    const { positions, log } = this.deps;
    const scan = new RotatedGenerationScan({
      source: this.name,
      positions,
      since,
      retiredHeads: this.retiredHeads,
      tailedKeys: () => this.tailers.keys(),
      skip: (key, path) => this.stopped || this.tailers.has(key) || this.opening.has(key) || this.matcher.matches(path) || this.matcher.excludes(path),
    });
    for await (const generation of scan.generations()) await this.openRotated(generation);
    const n = scan.forgetGone(this.deps.positionsExpireAfter ?? 3_600_000, (k) => this.tailers.has(k) || this.opening.has(k));
    if (n > 0) log.info({ source: this.name, entries: n }, 'forgot positions of files gone longer than positions.expire_after');
  }

  private async openRotated(g: RotatedGeneration): Promise<void> {
    const { log } = this.deps;
    this.opening.add(g.key);
    try {
      await this.openFile({ path: g.path, key: g.key, st: g.st, initial: false, rotated: true, startAt: g.startAt });
      // It was renamed away before any tailer saw it at its path: still a rotation.
      if (g.unseenRotation) this.tailMetrics.rotations.inc();
      log.info({ file: g.path, size: g.st.size, offset: g.offset }, g.why);
    } catch (err) {
      log.warn({ err: (err as Error).message, file: g.path }, 'cannot open rotated file');
    } finally {
      this.opening.delete(g.key);
    }
  }

  /** Coalesces scan requests: one scan at a time, one more after it if asked meanwhile. */
  private requestScan(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.scanAgain = true;
      return;
    }
    this.scanning = true;
    void this.scanRotated(this.startedAt).catch((err: Error) => this.deps.log.error({ err: err.message, source: this.name }, 'rotated-generation scan failed')).finally(() => {
      this.scanning = false;
      if (this.scanAgain) {
        this.scanAgain = false;
        this.requestScan();
      }
    });
  }

  /**
   * Starts tailing one file. `initial`: found by the first scan (start_at applies to files never
   * seen); `rotated`: a generation renamed away from its path (read to EOF, then closed);
   * `startAt`: where to start instead of the known position; `fd`: already open (consider()).
   */
  private async openFile(opts: OpenFileOptions): Promise<void> {
    const { path, key, st, initial, rotated } = opts;
    const fd = opts.fd ?? (await openAs(path, key));
    const fpLen = Math.min(st.size, FINGERPRINT_MAX);
    let fp: string;
    let start: number;
    try {
      fp = await fingerprint(fd, fpLen);
      start = await this.startOffset(opts, { fd, fingerprint: { value: fp, len: fpLen } });
    } catch (err) {
      // Nobody owns the descriptor yet: a failed read here (or a failed Promtail import) must not leak it.
      await closeAsync(fd).catch(() => {});
      throw err;
    }
    this.deps.positions.set(key, { path, offset: start, dev: st.dev, ino: st.ino, fingerprint: fp, fp_len: fpLen, source: this.name, updated: Date.now() });
    const tailer = this.createTailer(opts, { start, fingerprint: { value: fp, len: fpLen } });
    await this.startTailer(tailer, fd, opts);
    this.deps.log.info({ file: path, offset: start, size: st.size, source: this.name, rotated }, 'tailing file');
    // A new generation at a path: one before it may have come and gone unseen.
    if (!initial && !rotated) this.requestScan();
  }

  /**
   * Where a newly opened file starts: `startAt` if given; else its position when the content is
   * still the one read; else the start, or the end per positions.on_lost (positions lost), an
   * imported Promtail offset or start_at (first start); else 0.
   */
  private async startOffset(opts: OpenFileOptions, open: { fd: number; fingerprint: { value: string; len: number } }): Promise<number> {
    const { path, key, st, initial, startAt } = opts;
    const { positions, log } = this.deps;
    if (startAt !== undefined) return startAt;
    const size = st.size;
    const known = positions.get(key);
    if (known) {
      const fp = open.fingerprint;
      // the head just hashed answers when it is as long as the stored one and equal; else the stored
      // length is hashed again, in the stored kind (positions from before hold SHA-256)
      const sameContent = known.fp_len <= size && ((known.fp_len === fp.len && known.fingerprint === fp.value) || (await fingerprintMatches(open.fd, known.fp_len, known.fingerprint)));
      if (sameContent && known.offset <= size) return known.offset;
      log.info({ file: path, known: known.path, offset: known.offset, size }, 'inode reused or file rewritten since last seen; reading from the start');
      this.tailMetrics.truncations.inc();
      return 0;
    }
    if (initial && positions.lost !== null) {
      // Possibly tailed before; its position is lost with the rest (positions.on_lost).
      return positions.lost.startAt === 'end' ? size : 0;
    }
    if (initial && positions.firstStart) {
      const imported = await this.deps.importOffset?.(path, size, open.fd);
      if (imported !== undefined) return imported;
      if (this.cfg.start_at === 'end') return size;
    }
    return 0;
  }

  private createTailer(opts: OpenFileOptions, read: { start: number; fingerprint: { value: string; len: number } }): Tailer {
    const { path, key, rotated } = opts;
    const { positions, log } = this.deps;
    const info = this.sourceInfo(path);
    const receiver = this.deps.receiverFor(info);
    const tailer: Tailer = new Tailer({
      path, key, startOffset: read.start,
      fingerprint: read.fingerprint,
      maxLineBytes: this.cfg.max_line_bytes,
      partialLineTimeout: this.cfg.partial_line_timeout,
      rotateWait: this.cfg.rotate_wait,
      readChunkBytes: 256 * 1024,
      pollInterval: 250,
      // Change events wake a tailer at once and every rescan wakes one whose size or mtime moved:
      // its own poll is a last resort, so it can back off far.
      maxPollInterval: 60_000,
      rotated,
      source: info,
      receiver,
      budget: this.deps.budget,
      metrics: this.tailMetrics,
      log,
      // The path now holds another file (or none): look at it now, not at the next rescan, so a
      // generation that lives shorter than rescan_interval is still found.
      onRotated: () => {
        void this.consider(tailer.path, LATER);
        this.requestScan();
      },
      onTruncated: (head, lineOffset) => {
        this.retiredHeads.add(head, lineOffset);
        this.requestScan();
      },
      onCommit: (off) => positions.advance(key, off),
      onCaughtUp: this.deps.onCaughtUp,
      onFingerprint: (value, len) => positions.setFingerprint(key, value, len),
      onClose: (reason) => this.tailerClosed(tailer, reason),
    });
    return tailer;
  }

  /** Registers the tailer under its identity (and its path, unless rotated away) and starts it on `fd`. */
  private async startTailer(tailer: Tailer, fd: number, opts: OpenFileOptions): Promise<void> {
    const { path, key, rotated } = opts;
    this.tailers.set(key, tailer);
    if (!rotated) {
      // The path's previous file (found replaced by a rescan, not an event): let it notice now.
      this.byPath.get(path)?.wake();
      this.byPath.set(path, tailer);
    }
    try {
      await tailer.start(fd); // takes the descriptor over (closes it on failure)
    } catch (err) {
      this.tailers.delete(key);
      if (this.byPath.get(path) === tailer) this.byPath.delete(path);
      throw err;
    }
  }

  private tailerClosed(tailer: Tailer, reason: string): void {
    if (this.tailers.get(tailer.key) === tailer) this.tailers.delete(tailer.key);
    if (this.byPath.get(tailer.path) === tailer) this.byPath.delete(tailer.path);
    // Nothing more comes from this file: emit held partial / multiline records now.
    tailer.receiver.flush(true);
    this.deps.positions.touch(tailer.key);
    this.deps.log.info({ file: tailer.path, reason, offset: tailer.offset }, 'closed file');
  }

  private sourceInfo(path: string): SourceInfo {
    const info: SourceInfo = { type: this.cfg.type, name: this.name, file: path, host: this.deps.host };
    if (this.cfg.type !== 'file') Object.assign(info, containerFields(this.cfg.type, path));
    // Shared by every record of the file; frozen so sinks may cache per object (Loki stream plans).
    return Object.freeze(info);
  }

  /** Files and directories the globs name that cannot be opened or read now. */
  fileErrors(): FileErrorStatus[] {
    return this.errors.list();
  }

  files(): FileStatus[] {
    return [...this.tailers.values()].map((t) => ({ path: t.path, key: t.key, offset: t.offset, committed: t.committedOffset, size: t.size, state: t.state }));
  }

  /**
   * Stop reading (after reading to EOF if a deadline is given). Each file's chain is flushed
   * with force as its tailer closes; emitted lines still settle through the sinks.
   */
  async stop(deadline = 0): Promise<void> {
    this.stopped = true;
    if (this.rescanTimer) clearTimeout(this.rescanTimer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.watcher.close().catch(() => {});
    await Promise.all([...this.tailers.values()].map((t) => t.stop(deadline)));
    for (const remove of this.unregisterGauges) remove();
    this.unregisterGauges = [];
  }
}
