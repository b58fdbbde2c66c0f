import type { Logger } from 'pino';
import type { MetricsRegistry } from '../metrics/registry.ts';
import { LEVELS, type Level, type LogEvent, type LogRecord } from '../record.ts';
import { recordJson } from '../record-json.ts';

/** Where a record failed: the parser, a stage, a sink's encoder, or the line chain before parsing. */
export type FaultKind = 'parse' | 'stage' | 'encode' | 'line';

/** One record that failed somewhere and was isolated (shipped as text, dead-lettered or dropped). */
export interface RecordFault {
  kind: FaultKind;
  /** Why: too_deep, exception, RangeError, … (the metric's `reason`). */
  reason: string;
  /** The parser, stage or sink it failed in. */
  where: string;
  /** What happened to the record. */
  outcome: 'shipped_as_text' | 'shipped_without_stage' | 'shipped_fallback' | 'dead_lettered' | 'dropped';
  error?: string;
  file?: string;
  offset?: number;
  /** ISO time. */
  at: string;
}

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
  private readonly counts = new Map<string, { kind: FaultKind; where: string; reason: string; outcome: RecordFault['outcome']; count: number }>();
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
  snapshot(): { total: number; counts: Array<{ kind: FaultKind; where: string; reason: string; outcome: string; count: number }>; recent: RecordFault[] } {
    const counts = [...this.counts.values()].map((c) => ({ ...c }));
    return { total: counts.reduce((n, c) => n + c.count, 0), counts, recent: [...this.recent] };
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** Nesting kept in a fallback record's `unencoded` rendering. */
const FALLBACK_DEPTH = 20;
/** Characters kept of a fallback record's `unencoded` rendering. */
const FALLBACK_CHARS = 1 << 20;

/**
 * `event` with a record every encoder can write, for a record an encoder failed on (a cycle,
 * a BigInt, a getter that throws, nesting beyond the stack): the required fields as strings,
 * the message kept, and what the record held besides as a bounded best-effort rendering in
 * `metadata.unencoded`, with the failure in `metadata.encode_error`. The ack is the event's.
 */
export function fallbackEvent(event: LogEvent, err: unknown): LogEvent {
  const r = event.record as Partial<LogRecord> & Record<string, unknown>;
  const rest: Record<string, unknown> = {};
  for (const k in r) if (k !== 'timestamp' && k !== 'level' && k !== 'service' && k !== 'message' && k !== 'source') rest[k] = r[k];
  const record: LogRecord = {
    timestamp: typeof r.timestamp === 'string' ? r.timestamp : new Date().toISOString(),
    level: (LEVELS as readonly unknown[]).includes(r.level) ? (r.level as Level) : 'INFO',
    service: typeof r.service === 'string' ? r.service : String(r.service),
    message: typeof r.message === 'string' ? r.message : boundedJson(r.message),
    source: event.record.source,
    metadata: { encode_error: describeError(err), unencoded: boundedJson(rest).slice(0, FALLBACK_CHARS) },
  };
  return { record, labels: event.labels, ack: event.ack, json: undefined, jsonAdded: undefined, truncated: event.truncated, size: event.size, offset: event.offset };
}

/** JSON of `v` that cannot throw: deep levels, cycles, BigInts and throwing getters become strings. */
export function boundedJson(v: unknown): string {
  const seen = new Set<object>();
  const parts: string[] = [];
  let chars = 0;
  const put = (s: string) => {
    parts.push(s);
    chars += s.length;
  };
  const walk = (x: unknown, depth: number): void => {
    if (chars > FALLBACK_CHARS) return put('null');
    if (x === null || x === undefined) return put('null');
    switch (typeof x) {
      case 'string':
        return put(JSON.stringify(x));
      case 'number':
        return put(Number.isFinite(x) ? String(x) : 'null');
      case 'boolean':
        return put(x ? 'true' : 'false');
      case 'bigint':
        return put(JSON.stringify(x.toString()));
      case 'object':
        break;
      default:
        return put(JSON.stringify(String(x)));
    }
    const o = x as object;
    if (depth >= FALLBACK_DEPTH) return put('"[nested deeper than ' + FALLBACK_DEPTH + ' levels]"');
    if (seen.has(o)) return put('"[cycle]"');
    seen.add(o);
    if (Array.isArray(o)) {
      put('[');
      for (let i = 0; i < o.length; i++) {
        if (i > 0) put(',');
        walk(o[i], depth + 1);
      }
      put(']');
    } else {
      put('{');
      let first = true;
      for (const k of Object.keys(o)) {
        let val: unknown;
        try {
          val = (o as Record<string, unknown>)[k];
        } catch (e) {
          val = `[${describeError(e)}]`;
        }
        if (val === undefined || typeof val === 'function') continue;
        put((first ? '' : ',') + JSON.stringify(k) + ':');
        first = false;
        walk(val, depth + 1);
      }
      put('}');
    }
    seen.delete(o);
  };
  walk(v, 0);
  return parts.join('');
}

/**
 * The record's JSON (recordJson), or, when encoding it throws, the JSON of its fallback
 * (fallbackEvent) with the fault noted: one record's encoding failure never fails its batch.
 */
export function recordJsonIsolated(event: LogEvent, sink: string, faults: RecordFaults | undefined): string {
  try {
    return recordJson(event);
  } catch (err) {
    faults?.note({ kind: 'encode', where: sink, reason: err instanceof Error ? err.name : 'exception', outcome: 'shipped_fallback', file: event.record.source?.file, offset: event.offset }, err);
    return recordJson(fallbackEvent(event, err));
  }
}
