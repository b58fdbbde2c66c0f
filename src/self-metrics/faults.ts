import type { Logger } from 'pino';
import { describeError } from '../core/fallback-record.ts';
import type { FaultsSnapshot, RecordFault } from '../core/status.ts';
import type { MetricsRegistry } from './registry.ts';

/** How many of the most recent faults the status page lists. */
const RECENT = 10;
/** A kind + place is logged at most this often (a poison stream must not flood the log). */
const LOG_EVERY_MS = 10_000;

/**
 * The record faults of the running daemon: every record a parser, stage or encoder failed on is
 * counted here (logship_record_faults_total{kind,where,reason,outcome}), logged (rate-limited per
 * kind and place) and the last few are listed on the status page, so "ok" never hides a record
 * that did not ship as it should.
 */
export class RecordFaults {
  private readonly counts = new Map<string, FaultsSnapshot['counts'][number]>();
  private readonly recent: RecordFault[] = [];
  private readonly lastLog = new Map<string, number>();
  private readonly metrics: MetricsRegistry;
  private readonly log: Logger;

  constructor(deps: { metrics: MetricsRegistry; log: Logger }) {
    this.metrics = deps.metrics;
    this.log = deps.log;
    deps.metrics.counter('logship_record_faults_total', 'Records a parser, stage or sink encoder failed on, isolated from the others: by kind (parse, stage, encode, line), where, reason and outcome (shipped_as_text, shipped_without_stage, shipped_fallback, dead_lettered, dropped).', ['kind', 'where', 'reason', 'outcome']);
  }

  note(f: Omit<RecordFault, 'at'>, err?: unknown): void {
    const fault: RecordFault = { ...f, error: f.error ?? (err === undefined ? undefined : describeError(err)), at: new Date().toISOString() };
    const key = `${f.kind}\u0000${f.where}\u0000${f.reason}\u0000${f.outcome}`;
    const c = this.counts.get(key);
    if (c) c.count++;
    else this.counts.set(key, { kind: f.kind, where: f.where, reason: f.reason, outcome: f.outcome, count: 1 });
    this.metrics.count('logship_record_faults_total', [f.kind, f.where, f.reason, f.outcome]).inc();
    this.recent.push(fault);
    if (this.recent.length > RECENT) this.recent.shift();
    const logKey = `${f.kind}\u0000${f.where}`;
    const now = Date.now();
    if (now - (this.lastLog.get(logKey) ?? 0) >= LOG_EVERY_MS) {
      this.lastLog.set(logKey, now);
      this.log.error({ ...fault }, `record fault (${f.kind} in ${f.where}): ${f.outcome.replace(/_/g, ' ')}; the lines around it are not affected (logged at most every 10s per place)`);
    }
  }

  /** For the status page: totals by kind/where/reason/outcome and the most recent faults. */
  snapshot(): FaultsSnapshot {
    const counts = [...this.counts.values()].map((c) => ({ ...c }));
    return { total: counts.reduce((n, c) => n + c.count, 0), counts, recent: [...this.recent] };
  }
}
