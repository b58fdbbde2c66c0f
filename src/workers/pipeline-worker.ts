/**
 * A pipeline worker thread (started by PipelinePool): parses the lines the main thread posts and
 * runs the stages that may run off the main thread, then posts each batch's records back as JSON
 * text, in order. It holds no ack and no position: those never leave the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createParser } from '../../parsers/index.ts';
import { createLogger } from '../core/log.ts';
import { describeError, fallbackEvent } from '../core/fallback-record.ts';
import { NO_ACK, type Ack, type LogEvent, type SourceInfo } from '../core/record.ts';
import type { RecordFault } from '../core/status.ts';
import { LineProcessor } from '../pipeline/processor.ts';
import { createBuiltinStages, createStage } from '../pipeline/registry.ts';
import { RecordFaults } from '../self-metrics/faults.ts';
import { MetricsRegistry } from '../self-metrics/registry.ts';
import { SEGMENT_CHARS, type BatchResults, type CounterDeltas, type LineBatch, type MainMessage, type WorkerInit, type WorkerMessage } from './protocol.ts';
import { SlimFields } from './slim-record.ts';
import { revivedStage } from './stage-split.ts';

/** Counter deltas go to the main thread at most this often while lines flow (and on drain). */
const COUNTS_EVERY_MS = 200;

/** Record faults are counted, logged and listed by the main thread's RecordFaults. */
class ForwardedFaults extends RecordFaults {
  private readonly post: (m: WorkerMessage) => void;
  constructor(deps: ConstructorParameters<typeof RecordFaults>[0], post: (m: WorkerMessage) => void) {
    super(deps);
    this.post = post;
  }
  override note(f: Omit<RecordFault, 'at'>, err?: unknown): void {
    this.post({ t: 'fault', fault: { ...f, error: f.error ?? (err === undefined ? undefined : describeError(err)) } });
  }
}

/** The outputs of the batch being processed, filled by the processors' router. */
class Collector {
  private readonly staticLabels: Array<Record<string, string>>;
  /** The ack every line of a batch carries here: an output with it is its line's own record. */
  readonly lineAck: Ack = { retain() {}, release() {}, absorb(other) { other.release(); } };
  lineIndex = 0;
  lineSource: SourceInfo | null = null;
  source = 0;
  private r: BatchResults = Collector.empty(0);
  private n = 0;
  /** The JSON texts of the segment being filled (joined when it is full or at finish()), its length. */
  private readonly texts: string[] = [];
  private chars = 0;
  private readonly slim: SlimFields | null;
  /** json() shipped the record's fallback instead of the record. */
  private fellBack = false;
  private readonly faults: RecordFaults;

  constructor(init: WorkerInit, faults: RecordFaults) {
    this.staticLabels = init.sources.map((s) => ({ job: s.name, ...s.labels }));
    this.faults = faults;
    this.slim = init.slimFields === null ? null : new SlimFields(init.slimFields);
  }

  private static empty(id: number): BatchResults {
    return { t: 'results', id, line: new Int32Array(16), own: new Uint8Array(16), json: [], jsonSeg: new Int32Array(16), jsonStart: new Int32Array(16), jsonEnd: new Int32Array(16), sourceStripped: new Uint8Array(16), slim: [], whole: new Uint8Array(16), labels: [], size: new Float64Array(16), offset: new Float64Array(16), parsedTimeMs: new Float64Array(16), parsedTimeText: [] };
  }

  begin(id: number, lines: number): void {
    this.r = Collector.empty(id);
    this.grow(lines);
    this.n = 0;
    this.texts.length = 0;
    this.chars = 0;
    if (this.slim !== null) this.r.slim = this.slim.columns();
  }

  private grow(min: number): void {
    const r = this.r;
    if (r.line.length >= min) return;
    const cap = Math.max(min, r.line.length * 2);
    const g = <T extends Int32Array | Uint8Array | Float64Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(cap);
      b.set(a);
      return b;
    };
    r.line = g(r.line, Int32Array);
    r.own = g(r.own, Uint8Array);
    r.jsonSeg = g(r.jsonSeg, Int32Array);
    r.jsonStart = g(r.jsonStart, Int32Array);
    r.jsonEnd = g(r.jsonEnd, Int32Array);
    r.sourceStripped = g(r.sourceStripped, Uint8Array);
    r.whole = g(r.whole, Uint8Array);
    r.size = g(r.size, Float64Array);
    r.offset = g(r.offset, Float64Array);
    r.parsedTimeMs = g(r.parsedTimeMs, Float64Array);
  }

  route(event: LogEvent): void {
    const k = this.n++;
    this.grow(k + 1);
    const r = this.r;
    const record = event.record;
    const strip = record.source === this.lineSource;
    r.line[k] = this.lineIndex;
    r.own[k] = event.ack === this.lineAck ? 1 : 0;
    r.sourceStripped[k] = strip ? 1 : 0;
    const json = this.json(event, strip);
    if (this.chars > 0 && this.chars + json.length > SEGMENT_CHARS) this.closeSegment();
    r.jsonSeg[k] = r.json.length;
    r.jsonStart[k] = this.chars;
    this.texts.push(json);
    this.chars += json.length;
    r.jsonEnd[k] = this.chars;
    // a record that shipped its fallback (or keeps its own `source`) is parsed whole on the main thread
    if (this.slim !== null) {
      if (strip && !this.fellBack) this.slim.pick(record, k, r.slim);
      else r.whole[k] = 1;
    }
    r.labels.push(sameLabels(event.labels, this.staticLabels[this.source]) ? null : event.labels);
    r.size[k] = event.size;
    r.offset[k] = event.offset ?? NaN;
    r.parsedTimeMs[k] = event.parsedTimeMs ?? NaN;
    r.parsedTimeText.push(event.parsedTimeText !== undefined && event.parsedTimeText === record.timestamp ? null : event.parsedTimeText);
  }

  /** The record's JSON (without `source` when `strip`): the line's own bytes while it still is the record. */
  private json(event: LogEvent, strip: boolean): string {
    this.fellBack = false;
    const record = event.record as { source: SourceInfo | undefined };
    // the stages are done with the record here, as at the router: seal() compares once and gives
    // the snapshot array back to the processor's pool for the next line
    if (strip) event.verbatim?.seal(event.record);
    const added = strip && event.verbatim !== undefined ? event.verbatim.additions(event.record) : null;
    if (added !== null) {
      const text = event.verbatim!.text;
      return added === '' ? text : text.slice(0, text.length - 1) + added + '}';
    }
    const source = record.source;
    if (strip) record.source = undefined;
    try {
      return JSON.stringify(event.record);
    } catch (err) {
      // as a sink would: one record's encoding failure ships its fallback, noted
      this.fellBack = true;
      this.faults.note({ kind: 'encode', where: 'pipeline_worker', reason: err instanceof Error ? err.name : 'exception', outcome: 'shipped_fallback', file: source?.file, offset: event.offset }, err);
      const fb = fallbackEvent(event, err).record as { source: SourceInfo | undefined };
      fb.source = strip ? undefined : source;
      return JSON.stringify(fb);
    } finally {
      record.source = source;
    }
  }

  private closeSegment(): void {
    this.r.json.push(this.texts.join(''));
    this.texts.length = 0;
    this.chars = 0;
  }

  finish(): BatchResults {
    const r = this.r;
    const n = this.n;
    r.line = r.line.slice(0, n);
    r.own = r.own.slice(0, n);
    r.jsonSeg = r.jsonSeg.slice(0, n);
    r.jsonStart = r.jsonStart.slice(0, n);
    r.jsonEnd = r.jsonEnd.slice(0, n);
    if (this.chars > 0) this.closeSegment();
    r.sourceStripped = r.sourceStripped.slice(0, n);
    r.whole = r.whole.slice(0, n);
    r.size = r.size.slice(0, n);
    r.offset = r.offset.slice(0, n);
    r.parsedTimeMs = r.parsedTimeMs.slice(0, n);
    return r;
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/** Counter increments since the last call, read from the worker's registry. */
class CounterDeltaReader {
  private readonly last = new Map<string, number>();
  private readonly metrics: MetricsRegistry;
  constructor(metrics: MetricsRegistry) {
    this.metrics = metrics;
  }

  async deltas(): Promise<CounterDeltas | null> {
    const out: CounterDeltas = { t: 'counts', families: [] };
    for (const m of await this.metrics.registry.getMetricsAsJSON()) {
      if (String(m.type) !== 'counter') continue;
      const fam = { name: m.name, help: m.help, labelNames: Object.keys(m.values[0]?.labels ?? {}), series: [] as CounterDeltas['families'][number]['series'] };
      for (const v of m.values) {
        const labels = v.labels as Record<string, string>;
        const key = m.name + '\u0000' + JSON.stringify(labels);
        const delta = v.value - (this.last.get(key) ?? 0);
        // (a reading older than the last one sent, from a concurrent call, adds nothing)
        if (delta <= 0) continue;
        this.last.set(key, v.value);
        fam.series.push({ labels, delta });
      }
      if (fam.series.length > 0) out.families.push(fam);
    }
    return out.families.length > 0 ? out : null;
  }
}

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('pipeline-worker.ts runs as a worker thread (see src/workers/pool.ts)');
  const init = workerData as WorkerInit;
  const post = (m: WorkerMessage): void => port.postMessage(m);
  const log = createLogger(init.logLevel).child({ thread: 'pipeline-worker' });
  const metrics = new MetricsRegistry({ defaultMetrics: false });
  const faults = new ForwardedFaults({ metrics, log }, post);
  const ctx = { log, metrics };
  const stages = [...createBuiltinStages(init, ctx), ...init.stages.map((s) => createStage(revivedStage(s), ctx))];
  const collector = new Collector(init, faults);
  const processors = init.sources.map((s) => new LineProcessor({
    sourceName: s.name, service: s.service, parserName: s.parser,
    parser: createParser(s.parser, s.parserOptions as Parameters<typeof createParser>[1]),
    stages, router: collector, labels: { job: s.name, ...s.labels }, metrics, log, faults,
  }));
  const counts = new CounterDeltaReader(metrics);
  let lastCounts = 0;
  let countsTimer: NodeJS.Timeout | null = null;
  const sendCounts = async (): Promise<void> => {
    countsTimer = null;
    lastCounts = Date.now();
    const d = await counts.deltas();
    if (d !== null) post(d);
  };

  const run = (b: LineBatch): void => {
    const p = processors[b.source];
    const texts = b.texts;
    const n = texts.length;
    collector.begin(b.id, n);
    collector.source = b.source;
    if (b.info !== null) Object.freeze(b.info);
    if (b.infos !== null) for (const i of b.infos) Object.freeze(i);
    if (n > 1) p.upcoming(texts);
    for (let i = 0; i < n; i++) {
      const source = b.info ?? b.infos![i];
      const offset = b.offsets[i];
      collector.lineIndex = i;
      collector.lineSource = source;
      p.receive({
        text: texts[i], ack: collector.lineAck, truncated: b.truncated[i] === 1, source, readTime: b.readTimes[i],
        offset: Number.isNaN(offset) ? undefined : offset,
        runtimeTimestamp: b.runtimeTimestamps?.[i], transport: b.transports?.[i],
      });
    }
    const r = collector.finish();
    port.postMessage(r);
    if (countsTimer === null) countsTimer = setTimeout(() => void sendCounts(), Math.max(0, COUNTS_EVERY_MS - (Date.now() - lastCounts)));
  };

  port.on('message', (m: MainMessage) => {
    if (m.t === 'lines') run(m);
    else if (m.t === 'drain') {
      if (countsTimer !== null) clearTimeout(countsTimer);
      void sendCounts().then(() => post({ t: 'drained' }));
    }
  });
  log.debug({ incarnation: init.incarnation, sources: init.sources.length, stages: stages.map((s) => s.name) }, 'pipeline worker ready');
  post({ t: 'ready' });
}

main();
