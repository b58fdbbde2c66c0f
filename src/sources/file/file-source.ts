import { open, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { ByteBudget } from '../../budget.ts';
import type { MetricsRegistry } from '../../metrics/registry.ts';
import type { LineReceiver } from '../../pipeline/line.ts';
import type { PositionStore } from '../../positions/store.ts';
import type { SourceInfo } from '../../record.ts';
import type { FileSourceConfig } from '../config.ts';
import { GlobMatcher } from './discovery.ts';
import { FINGERPRINT_MAX, fingerprint, identityKey } from './identity.ts';
import { TailMetrics } from './tail-metrics.ts';
import { Tailer } from './tailer.ts';

export interface FileSourceDeps {
  host: string;
  /** The line chain for a newly opened file (per-file state such as container joins lives there). */
  receiverFor: (source: SourceInfo) => LineReceiver;
  budget: ByteBudget;
  positions: PositionStore;
  metrics: MetricsRegistry;
  log: Logger;
}

export interface FileStatus {
  path: string;
  key: string;
  offset: number;
  committed: number;
  size: number;
  state: string;
}

/**
 * One configured file source: finds files (periodic rescan of the globs), keeps one Tailer per
 * file identity, and decides where each file starts.
 */
export class FileSource {
  readonly name: string;
  private readonly cfg: FileSourceConfig;
  private readonly matcher: GlobMatcher;
  private readonly tailers = new Map<string, Tailer>();
  private readonly opening = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly tailMetrics: TailMetrics;
  private readonly fileSize;
  private readonly fileOffset;

  private readonly deps: FileSourceDeps;

  constructor(cfg: FileSourceConfig, deps: FileSourceDeps) {
    this.deps = deps;
    this.name = cfg.name;
    this.cfg = cfg;
    this.matcher = new GlobMatcher(cfg.paths, cfg.exclude);
    this.tailMetrics = new TailMetrics(deps.metrics, cfg.name);
    const self = this;
    this.fileSize = deps.metrics.gauge('logship_file_size_bytes', 'Size of each tailed file.', ['source', 'path'], function () {
      self.collectFileGauges();
    });
    this.fileOffset = deps.metrics.gauge('logship_file_offset_bytes', 'Acknowledged offset of each tailed file (lag = size - offset).', ['source', 'path']);
    deps.metrics.gauge('logship_files_active', 'Files currently tailed.', ['source'], function () {
      this.set({ source: cfg.name }, self.tailers.size);
    });
  }

  private collectFileGauges(): void {
    this.fileSize.reset();
    this.fileOffset.reset();
    for (const t of this.tailers.values()) {
      this.fileSize.set({ source: this.name, path: t.path }, t.size);
      this.fileOffset.set({ source: this.name, path: t.path }, t.committedOffset);
    }
  }

  async start(): Promise<void> {
    await this.rescan(true);
    const tick = () => {
      if (this.stopped) return;
      this.rescan(false).catch((err: Error) => this.deps.log.error({ err: err.message, source: this.name }, 'rescan failed')).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, Math.min(this.cfg.rescan_interval, 1000));
      });
    };
    this.timer = setTimeout(tick, Math.min(this.cfg.rescan_interval, 1000));
  }

  private async rescan(initial: boolean): Promise<void> {
    const paths = await this.matcher.scan();
    for (const path of paths) {
      if (this.stopped) return;
      let st;
      try {
        st = await stat(path);
      } catch {
        continue;
      }
      const key = identityKey(st);
      const existing = this.tailers.get(key);
      if (existing) {
        if (existing.path !== path) existing.path = path; // renamed but still matching: same file, no re-read
        existing.size = st.size;
        continue;
      }
      if (this.opening.has(key)) continue;
      this.opening.add(key);
      try {
        await this.openFile(path, key, st.dev, st.ino, st.size, initial);
      } catch (err) {
        this.deps.log.warn({ err: (err as Error).message, file: path }, 'cannot open file');
      } finally {
        this.opening.delete(key);
      }
    }
  }

  private async openFile(path: string, key: string, dev: number, ino: number, size: number, initial: boolean): Promise<void> {
    const { positions, log } = this.deps;
    const fpLen = Math.min(size, FINGERPRINT_MAX);
    const fh = await open(path, 'r');
    let fp: string;
    try {
      fp = await fingerprint(fh.fd, fpLen);
    } finally {
      await fh.close();
    }
    const known = positions.get(key);
    let start = 0;
    if (known) {
      const sameContent = known.fp_len <= size && (known.fp_len === fpLen ? known.fingerprint === fp : await this.prefixMatches(path, known.fp_len, known.fingerprint));
      if (sameContent && known.offset <= size) start = known.offset;
      else log.info({ file: path, known: known.path }, 'inode reused or file rewritten; reading from the start');
    } else if (initial && positions.firstStart && this.cfg.start_at === 'end') {
      start = size;
    }
    positions.set(key, { path, offset: start, dev, ino, fingerprint: fp, fp_len: fpLen, source: this.name, updated: Date.now() });
    const info: SourceInfo = { type: 'file', name: this.name, file: path, host: this.deps.host };
    const tailer = new Tailer({
      path, key, startOffset: start,
      maxLineBytes: this.cfg.max_line_bytes,
      partialLineTimeout: this.cfg.partial_line_timeout,
      rotateWait: this.cfg.rotate_wait,
      readChunkBytes: 256 * 1024,
      pollInterval: 250,
      source: info,
      receiver: this.deps.receiverFor(info),
      budget: this.deps.budget,
      metrics: this.tailMetrics,
      log,
      onCommit: (off) => positions.advance(key, off),
      onClose: () => {
        this.tailers.delete(key);
      },
    });
    tailer.size = size;
    this.tailers.set(key, tailer);
    log.info({ file: path, offset: start, source: this.name }, 'tailing file');
    await tailer.start();
  }

  private async prefixMatches(path: string, len: number, expected: string): Promise<boolean> {
    const fh = await open(path, 'r');
    try {
      return (await fingerprint(fh.fd, len)) === expected;
    } finally {
      await fh.close();
    }
  }

  files(): FileStatus[] {
    return [...this.tailers.values()].map((t) => ({ path: t.path, key: t.key, offset: t.offset, committed: t.committedOffset, size: t.size, state: t.state }));
  }

  /** Stop reading (after reading to EOF if a deadline is given); emitted lines still settle through the sinks. */
  async stop(deadline = 0): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([...this.tailers.values()].map((t) => t.stop(deadline)));
  }
}
