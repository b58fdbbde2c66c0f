import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { LogshipError } from '../core/errors.ts';
import type { Ack, LogEvent } from '../core/record.ts';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import { LocalHistogram } from './local-histogram.ts';
import { PERFORMANCE_METRIC_NAMES } from './performance.ts';
import { SECURITY_METRIC_NAMES } from './security.ts';

/** The derived counter families a checkpoint keeps (the gauges are recomputed, the overflow self-metric restarts). */
const COUNTER_FAMILIES: readonly string[] = [
  SECURITY_METRIC_NAMES.authAttempts, SECURITY_METRIC_NAMES.authFailures, SECURITY_METRIC_NAMES.deniedResponses,
  SECURITY_METRIC_NAMES.securityEvents, SECURITY_METRIC_NAMES.suspiciousRequests, SECURITY_METRIC_NAMES.rateLimitEvents,
  SECURITY_METRIC_NAMES.uploadRejected, SECURITY_METRIC_NAMES.bruteForceDetections,
  PERFORMANCE_METRIC_NAMES.httpRequests, PERFORMANCE_METRIC_NAMES.httpErrors, PERFORMANCE_METRIC_NAMES.slowOperations,
  PERFORMANCE_METRIC_NAMES.logLines,
];
const HISTOGRAM_FAMILIES: readonly string[] = [PERFORMANCE_METRIC_NAMES.httpDuration];

interface CheckpointFile {
  version: 1;
  saved_at: string;
  /** Per file identity (dev:ino): the start offset of the last record counted. */
  counted: Record<string, number>;
  counters: Record<string, Array<{ values: string[]; total: number }>>;
  histograms: Record<string, { bounds: number[]; series: Array<{ values: string[]; buckets: number[]; sum: number; count: number }> }>;
}

export class CheckpointError extends LogshipError {}

/**
 * The derived counters and what they have counted, kept across restarts and reloads, so that
 * Prometheus sees each log line counted exactly once: counters never go back (no counter reset
 * for `increase()` to misread when the restarted process's totals overtake the old ones) and a
 * line re-read after a restart (the positions file lags what was counted: a position moves only
 * when every sink acknowledged) is not counted again.
 *
 * What was counted is named by file identity and record start offset. After a (re)start, a
 * file's records from its committed position up to the last counted offset were counted by the
 * earlier run: they are skipped (shipped, not counted) until the first record past that offset,
 * or one before the committed position (the file was truncated and is read from 0 again).
 *
 * The file is written synchronously (tmp + rename) whenever the positions file takes its
 * snapshot (so the counted offsets on disk are never behind the positions on disk) and on
 * every /metrics scrape before the response (so a restarted logship never exports less than
 * Prometheus has seen). The brute-force windows and the gauges are not kept.
 */
export class DerivedMetricsCheckpoint {
  readonly path: string;
  private readonly metrics: MetricsRegistry;
  private readonly log: Logger;
  private readonly counted = new Map<string, number>();
  /** The identity counted most recently and its offset, not yet in `counted` (no Map write per record). */
  private lastId: string | undefined = undefined;
  private lastOffset = 0;
  /** The ack of the record counted most recently (its identity is lastId). */
  private lastAck: Ack | undefined = undefined;
  /** Per identity: the offsets [from, to] of records an earlier run (or the pipeline before a reload) counted. */
  private readonly armed = new Map<string, { from: number; to: number }>();
  private restored = false;

  constructor(opts: { path: string; metrics: MetricsRegistry; log: Logger }) {
    this.path = opts.path;
    this.metrics = opts.metrics;
    this.log = opts.log;
  }

  /**
   * Once per process, after the derived families are registered: adds the saved totals to the
   * counters and histograms and loads the counted offsets. A missing file is a first start; an
   * unreadable one is logged and ignored (counting restarts at 0, a counter reset).
   */
  restore(): void {
    if (this.restored) return;
    this.restored = true;
    let saved: CheckpointFile;
    try {
      saved = JSON.parse(readFileSync(this.path, 'utf8')) as CheckpointFile;
      if (saved.version !== 1) throw new CheckpointError('checkpoint_version', `unknown checkpoint version ${String(saved.version)}`, { file: this.path });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ err: (e as Error).message, file: this.path }, 'derived metrics checkpoint unreadable: derived counters restart at 0');
      return;
    }
    for (const [id, off] of Object.entries(saved.counted ?? {})) this.counted.set(id, off);
    for (const name of COUNTER_FAMILIES) {
      for (const s of saved.counters?.[name] ?? []) {
        // a family the config turned off since (security/performance disabled) stays unregistered
        if (this.metrics.registry.getSingleMetric(name) !== undefined && s.total > 0) this.metrics.count(name, s.values).inc(s.total);
      }
    }
    for (const name of HISTOGRAM_FAMILIES) {
      const h = saved.histograms?.[name];
      const family: unknown = this.metrics.registry.getSingleMetric(name);
      if (h === undefined || !(family instanceof LocalHistogram)) continue;
      if (h.bounds.length !== family.bounds.length || h.bounds.some((b, i) => b !== family.bounds[i])) {
        this.log.warn({ metric: name }, 'histogram buckets changed since the checkpoint: its series restart at 0');
        continue;
      }
      for (const s of h.series) family.restore(s);
    }
    this.log.info({ file: this.path, saved_at: saved.saved_at }, 'derived metrics restored from checkpoint');
  }

  /**
   * At each pipeline start: records of a file between its committed position and its last
   * counted offset were counted already. `committed` gives a file identity's position.
   */
  arm(positions: { committed: (identity: string) => number | undefined; firstStart: boolean }): void {
    this.settleLast();
    this.armed.clear();
    for (const [id, to] of this.counted) {
      // No positions file at all: every file is read from its start_at again. A file the
      // positions forgot (gone, expired) is forgotten here too, which bounds the map.
      const from = positions.committed(id) ?? (positions.firstStart ? 0 : undefined);
      if (from === undefined) this.counted.delete(id);
      else if (from <= to) this.armed.set(id, { from, to });
    }
  }

  /** True when `event` was counted before (ship it, do not count it); else notes it as counted. */
  alreadyCounted(event: LogEvent): boolean {
    const off = event.offset;
    if (off === undefined) return false;
    // The lines of one read share their ack: the common case is one comparison.
    if (event.ack === this.lastAck && this.armed.size === 0) {
      this.lastOffset = off;
      return false;
    }
    const id = event.ack.identity;
    if (id === undefined) return false;
    if (this.armed.size !== 0) {
      const range = this.armed.get(id);
      if (range !== undefined) {
        if (off >= range.from && off <= range.to) return true;
        this.armed.delete(id);
      }
    }
    if (id !== this.lastId) {
      this.settleLast();
      this.lastId = id;
    }
    this.lastAck = event.ack;
    this.lastOffset = off;
    return false;
  }

  private settleLast(): void {
    if (this.lastId !== undefined) this.counted.set(this.lastId, this.lastOffset);
    this.lastId = undefined;
    this.lastAck = undefined;
  }

  /** Writes the checkpoint now (synchronously: the counters and offsets of one instant). */
  save(): void {
    this.settleLast();
    const file: CheckpointFile = { version: 1, saved_at: new Date().toISOString(), counted: Object.fromEntries(this.counted), counters: {}, histograms: {} };
    for (const name of COUNTER_FAMILIES) {
      const series = this.metrics.countedSeries(name).filter((s) => s.total > 0);
      if (series.length > 0) file.counters[name] = series;
    }
    for (const name of HISTOGRAM_FAMILIES) {
      const family: unknown = this.metrics.registry.getSingleMetric(name);
      if (family instanceof LocalHistogram) file.histograms[name] = { bounds: [...family.bounds], series: family.snapshot() };
    }
    const tmp = `${this.path}.tmp`;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      writeFileSync(tmp, JSON.stringify(file));
      renameSync(tmp, this.path);
    } catch (e) {
      this.log.error({ err: (e as Error).message, file: this.path }, 'failed to write the derived metrics checkpoint');
    }
  }
}

/** Where the checkpoint lives: beside the positions file it must stay in step with. */
export function checkpointPath(positionsPath: string): string {
  return positionsPath.replace(/\.json$/, '') + '.derived-metrics.json';
}
