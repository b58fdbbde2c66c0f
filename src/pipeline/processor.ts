import type { Logger } from 'pino';
import { CounterTable, type MetricsRegistry } from '../self-metrics/registry.ts';
import { plainRecord } from '../parse/normalize.ts';
import { TimeReader } from '../parse/time.ts';
import type { ParseContext, Parser } from '../parse/types.ts';
import type { LogEvent, LogRecord, SourceInfo } from '../core/record.ts';
import { SnapshotPool, VerbatimLine } from '../core/verbatim-line.ts';
import type { LineReceiver, SourceLine, TransportFields } from '../core/line.ts';
import type { Stage } from '../core/stage.ts';
import { RecordFaults } from '../self-metrics/faults.ts';
import { exceedsDepth, MAX_RECORD_DEPTH, mayNestDeeperThan } from './record-depth.ts';

/**
 * Lines shorter than this cannot nest deeper than MAX_RECORD_DEPTH (each level costs at least
 * two characters), so only longer ones pay the depth check.
 */
const DEPTH_CHECK_MIN_CHARS = 2 * MAX_RECORD_DEPTH;

/** Hands finished events to every sink; see Sink.write for the ack contract. */
export interface EventRouter {
  route(event: LogEvent): void;
}

/**
 * The end of a source's line chain: parse → normalize → stages → router.
 * One per source; it reuses one ParseContext for every line.
 */
export class LineProcessor implements LineReceiver {
  private readonly parser: Parser;
  private readonly parserName: string;
  private readonly stages: Stage[];
  /** emitters[i] continues an event emitted by stage i at stage i + 1 (bound once, not per line). */
  private readonly emitters: Array<(event: LogEvent) => void>;
  private readonly router: EventRouter;
  /** The source's static labels: each event gets its own copy, which stages may write into. */
  private readonly staticLabels: Readonly<Record<string, string>>;
  private readonly ctx: ParseContext;
  /** For the records this processor makes itself (a line nested too deep ships as its text). */
  private readonly time = new TimeReader();
  /** Snapshot arrays of verbatim lines, given back when the router seals them (VerbatimLine). */
  private readonly snapshots = new SnapshotPool();
  /** The source's service (config `service`, else its name); a line's transport may name its own. */
  private readonly service: string;
  private readonly linesProcessed;
  /** logship_records_dropped_total{source,stage} (counted locally). */
  private readonly dropped: CounterTable;
  /** logship_parse_errors_total{parser,reason} (counted locally: no label object per line). */
  private readonly parseErrors: CounterTable;
  /** logship_parse_fallback_total{parser,reason} (counted locally). */
  private readonly parseFallbacks: CounterTable;
  private readonly faults: RecordFaults;
  private readonly log: Logger;

  constructor(opts: {
    sourceName: string;
    service: string;
    parserName: string;
    parser: Parser;
    stages: Stage[];
    router: EventRouter;
    labels: Record<string, string>;
    metrics: MetricsRegistry;
    log: Logger;
    /** Where isolated record failures are counted and listed (the daemon's; else one of its own). */
    faults?: RecordFaults;
  }) {
    this.parser = opts.parser;
    this.parserName = opts.parserName;
    this.stages = opts.stages;
    this.emitters = opts.stages.map((_, i) => (event: LogEvent) => {
      // its own labels, even when the emitting stage passed its trigger's object along
      event.labels = { ...event.labels };
      this.runStages(i + 1, event);
    });
    this.router = opts.router;
    this.staticLabels = { ...opts.labels };
    this.log = opts.log;
    opts.metrics.counter('logship_records_total', 'Records produced by parsing, by source.', ['source']);
    this.linesProcessed = opts.metrics.count('logship_records_total', [opts.sourceName]);
    opts.metrics.counter('logship_records_dropped_total', 'Records dropped by a pipeline stage, by source and stage.', ['source', 'stage']);
    this.dropped = new CounterTable(opts.metrics, 'logship_records_dropped_total');
    opts.metrics.counter('logship_parse_errors_total', 'Lines a parser could not parse (shipped with the raw text as message), by parser and reason.', ['parser', 'reason']);
    this.parseErrors = new CounterTable(opts.metrics, 'logship_parse_errors_total');
    opts.metrics.counter('logship_parse_fallback_total', 'Lines no parser understood, shipped as their raw text with the read time, by parser and reason (a parse error\'s reason, or unrecognized / no_time_or_level).', ['parser', 'reason']);
    this.parseFallbacks = new CounterTable(opts.metrics, 'logship_parse_fallback_total');
    this.service = opts.service;
    this.faults = opts.faults ?? new RecordFaults({ metrics: opts.metrics, log: opts.log });
    const placeholder: SourceInfo = { type: 'file', name: opts.sourceName };
    this.ctx = {
      source: placeholder,
      service: opts.service,
      readTime: 0,
      runtimeTimestamp: undefined,
      parseError: (parser, reason) => this.countParseError(parser, reason),
      verbatim: false,
      timestampText: undefined,
      timestampMs: NaN,
      parseFallback: (parser, reason) => this.parseFallbacks.get(parser, reason).inc(),
    };
  }

  upcoming(texts: readonly string[]): void {
    this.parser.prepare?.(texts);
  }

  receive(line: SourceLine): void {
    const ctx = this.ctx;
    ctx.source = line.source;
    ctx.readTime = line.readTime;
    ctx.runtimeTimestamp = line.runtimeTimestamp;
    ctx.verbatim = false;
    const transport = line.transport;
    ctx.service = transport?.service ?? this.service;
    let event: LogEvent | null;
    try {
      let record = this.parser(line.text, ctx);
      if (line.text.length > DEPTH_CHECK_MIN_CHARS && mayNestDeeperThan(line.text, MAX_RECORD_DEPTH) && exceedsDepth(record, MAX_RECORD_DEPTH)) {
        // JSON.parse nests without limit, but every encoder after it (JSON.stringify, the ES
        // document builder, redaction) recurses: a 240 KB `{"a":{"a":…}}` line overflowed the
        // stack in the sinks and stopped its file. It ships as the text it was instead.
        this.countParseError(this.parserName, 'too_deep');
        this.faults.note({ kind: 'parse', where: this.parserName, reason: 'too_deep', outcome: 'shipped_as_text', error: `nested deeper than ${MAX_RECORD_DEPTH} levels`, file: line.source.file, offset: line.offset });
        ctx.verbatim = false;
        record = plainRecord(line.text, ctx, this.time);
      }
      let verbatim: VerbatimLine | undefined;
      if (transport !== undefined) applyTransportFields(record, transport);
      if (line.truncated) (record.metadata ??= {}).truncated = true;
      else if (ctx.verbatim && transport === undefined) verbatim = VerbatimLine.capture(line.text, record, this.snapshots);
      event = { record, labels: { ...this.staticLabels }, ack: line.ack, verbatim, truncated: line.truncated, size: line.text.length, offset: line.offset, parsedTimeMs: ctx.timestampMs, parsedTimeText: ctx.timestampText };
    } catch (err) {
      // Parsers must not throw; if one does, the line still ships as plain text.
      this.countParseError(this.parserName, 'exception');
      this.faults.note({ kind: 'parse', where: this.parserName, reason: err instanceof Error ? err.name : 'exception', outcome: 'shipped_as_text', file: line.source.file, offset: line.offset }, err);
      event = {
        record: { timestamp: new Date(line.readTime).toISOString(), level: 'INFO', service: ctx.service, message: line.text, source: line.source, metadata: { timestamp_source: 'read_time' } },
        labels: { ...this.staticLabels }, ack: line.ack, verbatim: undefined, truncated: line.truncated, size: line.text.length, offset: line.offset, parsedTimeMs: NaN, parsedTimeText: undefined,
      };
    }
    this.linesProcessed.inc();
    this.runStages(0, event);
  }

  /**
   * Continues an event parsed and staged elsewhere (a pipeline worker ran the stages before
   * `from`) through the stages from `from` on, then to the router.
   */
  resume(from: number, event: LogEvent): void {
    this.runStages(from, event);
  }

  /** Runs `event` through the stages from index `from` on, then to the router. */
  private runStages(from: number, event: LogEvent | null): void {
    for (let i = from; i < this.stages.length && event !== null; i++) {
      const stage = this.stages[i];
      let out: LogEvent | null;
      try {
        out = stage.process(event, this.emitters[i]);
      } catch (err) {
        // One record's failure in a stage affects that record only: it goes on as it was.
        this.stageFailed(i, event, err);
        out = event;
      }
      if (out === null) {
        this.countDrop(i, event.record.source.name);
        event.ack.release();
      }
      event = out;
    }
    if (event !== null) this.router.route(event);
  }

  private stageFailed(stageIndex: number, event: LogEvent, err: unknown): void {
    const where = this.stages[stageIndex].name;
    this.faults.note({ kind: 'stage', where, reason: err instanceof Error ? err.name : 'exception', outcome: 'shipped_without_stage', file: event.record.source.file, offset: event.offset }, err);
  }

  private countParseError(parser: string, reason: string): void {
    this.parseErrors.get(parser, reason).inc();
  }

  private countDrop(stageIndex: number, source: string): void {
    this.dropped.get(source, this.stages[stageIndex].name).inc();
  }

  flush(): void {}
}

/**
 * Merges what the transport said about a line into its parsed record. The level: a line that
 * names a level other than the default INFO keeps it (an app logging JSON to stdout gets
 * journal PRIORITY 6 whatever its own level); otherwise the transport's level wins (syslog()
 * callers such as sshd put the severity only in PRIORITY). Metadata: the line's own keys win.
 */
export function applyTransportFields(record: LogRecord, t: TransportFields): void {
  if (t.level !== undefined && record.level === 'INFO') record.level = t.level;
  if (t.metadata !== undefined) record.metadata = record.metadata === undefined ? { ...t.metadata } : { ...t.metadata, ...record.metadata };
}
