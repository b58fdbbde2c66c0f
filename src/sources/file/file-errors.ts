import type { Logger } from 'pino';
import type { Counter, Gauge } from 'prom-client';
import type { MetricsRegistry } from '../../self-metrics/registry.ts';
import type { FileErrorStatus } from '../../core/status.ts';
import type { PathProblem } from './discovery.ts';

/**
 * The files one source cannot read, each logged once (when it first fails, or fails differently)
 * with its path and errno, counted by reason (logship_file_errors_total{source,reason}, one per
 * episode; logship_files_unreadable{source,reason} now) and listed on the status page until it
 * is readable again. Retrying is the rescan's: every rescan tries each matching path again, so a
 * fixed permission starts the file without a restart.
 */
export class FileErrors {
  private readonly source: string;
  private readonly log: Logger;
  private readonly total: Counter<'source' | 'reason'>;
  private readonly now: Gauge<'source' | 'reason'>;
  /** Problems the last directory scan saw (replaced by each scan). */
  private scanned = new Map<string, FileErrorStatus>();
  /** Files that matched but could not be opened (cleared when they open or vanish). */
  private readonly opening = new Map<string, FileErrorStatus>();
  private readonly reasonsSeen = new Set<string>();

  constructor(source: string, deps: { metrics: MetricsRegistry; log: Logger }) {
    this.source = source;
    this.log = deps.log;
    this.total = deps.metrics.counter('logship_file_errors_total', 'Files or directories named by a source\'s globs that could not be opened or read, by source and errno code (one per episode: counted when it starts failing).', ['source', 'reason']);
    this.now = deps.metrics.gauge('logship_files_unreadable', 'Files or directories named by a source\'s globs that cannot be opened or read now, by source and errno code (retried at every rescan).', ['source', 'reason']);
  }

  /** The problems of a complete scan: new ones are logged and counted, the others are over. */
  scanDone(problems: PathProblem[]): void {
    const next = new Map<string, FileErrorStatus>();
    for (const p of problems) next.set(p.path, this.update(this.scanned.get(p.path), p));
    for (const [path, old] of this.scanned) if (!next.has(path)) this.resolved(path, old);
    this.scanned = next;
    this.publish();
  }

  /** Opening (or reading the head of) a matching file failed. */
  openFailed(path: string, err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    const p: PathProblem = { path, code: e.code ?? (err instanceof Error ? err.name : 'EUNKNOWN'), message: e.message ?? String(err) };
    this.opening.set(path, this.update(this.opening.get(path), p));
    this.publish();
  }

  /** The file opened, or is gone (a vanished file is no error). */
  cleared(path: string): void {
    const old = this.opening.get(path);
    if (old === undefined) return;
    this.opening.delete(path);
    this.resolved(path, old);
    this.publish();
  }

  list(): FileErrorStatus[] {
    return [...this.scanned.values(), ...this.opening.values()].map((f) => ({ ...f }));
  }

  private update(old: FileErrorStatus | undefined, p: PathProblem): FileErrorStatus {
    if (old !== undefined && old.code === p.code) {
      old.attempts++;
      old.message = p.message;
      return old;
    }
    this.total.inc({ source: this.source, reason: p.code });
    this.log.error({ source: this.source, file: p.path, code: p.code, err: p.message }, `cannot read ${p.path} (${p.code}); retrying at every rescan, listed on the status page until it is readable (logged once)`);
    return { path: p.path, code: p.code, message: p.message, since: Date.now(), attempts: 1 };
  }

  private resolved(path: string, old: FileErrorStatus): void {
    this.log.info({ source: this.source, file: path, code: old.code, failed_for_ms: Date.now() - old.since }, 'file is readable again (or gone)');
  }

  private publish(): void {
    const by = new Map<string, number>();
    for (const f of this.scanned.values()) by.set(f.code, (by.get(f.code) ?? 0) + 1);
    for (const f of this.opening.values()) by.set(f.code, (by.get(f.code) ?? 0) + 1);
    for (const r of by.keys()) this.reasonsSeen.add(r);
    for (const r of this.reasonsSeen) this.now.set({ source: this.source, reason: r }, by.get(r) ?? 0);
  }
}
