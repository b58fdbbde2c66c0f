import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { LineReceiver, SourceLine } from '../core/line.ts';
import { NO_ACK, type Ack, type LogEvent, type LogRecord, type SourceInfo } from '../core/record.ts';
import { VerbatimLine } from '../core/verbatim-line.ts';
import type { RecordFaults } from '../self-metrics/faults.ts';
import type { MetricsRegistry } from '../self-metrics/registry.ts';
import { SlimFields } from './slim-record.ts';
import type { BatchResults, CounterDeltas, LineBatch, WorkerInit, WorkerMessage } from './protocol.ts';

/** Lines per message at most (a read of 256 KiB of short lines is a few thousand). */
const MAX_BATCH_LINES = 2048;
/** A worker slot that crashes more often than this within CRASH_WINDOW_MS stops the daemon. */
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 60_000;

/** Where a worker's records continue on the main thread: the source's LineProcessor. */
export interface ResumeTarget {
  resume(from: number, event: LogEvent): void;
}

export interface PoolOptions {
  threads: number;
  init: Omit<WorkerInit, 'incarnation'>;
  metrics: MetricsRegistry;
  log: Logger;
  faults: RecordFaults;
  /** A worker kept crashing (MAX_CRASHES within a minute): the pipeline cannot go on. */
  onFatal(err: Error): void;
  /** The worker's module; default pipeline-worker next to this one (see workerEntry). */
  entry?: URL;
}

/**
 * The worker's module: `pipeline-worker.js` next to this file in a build, `.ts` when the sources
 * run directly. A bundled build must emit it as its own entry point beside this module.
 */
export function workerEntry(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './pipeline-worker.ts' : './pipeline-worker.js', import.meta.url);
}

interface PendingBatch {
  id: number;
  feed: WorkerFeed;
  /** The feed's own order of its batches (WorkerFeed.arrived). */
  seq: number;
  batch: OutBatch;
}

/**
 * One read of a feed as posted (and posted again if its worker dies) and kept until answered:
 * the message and the lines' acks, not the SourceLines.
 */
interface OutBatch {
  msg: LineBatch;
  acks: Ack[];
  results: BatchResults | null;
}

/**
 * The pipeline workers (config `workers.threads`) and what is in flight to them. Every file (every
 * LineReceiver from feed()) posts to one worker, so its lines come back in the order read; the
 * lines stay here with their acks until their records return, so acks, the byte budget and
 * positions work exactly as on one thread (a position moves only when every sink acknowledged
 * everything before it). A worker that dies is logged, counted and started again, and the batches
 * it had not answered are sent to the new one; one that keeps dying stops the daemon (onFatal).
 */
export class PipelinePool {
  private readonly slots: WorkerSlot[];
  private readonly o: PoolOptions;
  /** The worker where the next feed's search for the least busy one starts. */
  private nextSlot = 0;
  /** Runs once every line posted so far is answered (see whenAnswered). */
  private answered: (() => void) | null = null;

  constructor(o: PoolOptions) {
    this.o = o;
    const crashes = o.metrics.counter('logship_pipeline_worker_crashes_total', 'Pipeline worker threads that died (error or exit); each is started again and its unanswered lines re-sent.', ['worker']);
    o.metrics.counter('logship_pipeline_worker_batches_total', 'Reads (batches of lines) posted to each pipeline worker: the least busy one takes the next, whichever file it is from.', ['worker']);
    const slots: WorkerSlot[] = [];
    for (let i = 0; i < o.threads; i++) {
      const batches = o.metrics.count('logship_pipeline_worker_batches_total', [String(i)]);
      slots.push(new WorkerSlot(i, o, { crashed: () => crashes.inc({ worker: String(i) }), idle: () => this.slotIdle(), posted: () => batches.inc() }));
    }
    this.slots = slots;
    o.metrics.gauge('logship_pipeline_worker_lines_in_flight', 'Lines posted to the pipeline workers and not yet back (charged to the buffer budget like any line read).', [], function () {
      this.set(slots.reduce((n, s) => n + s.linesInFlight, 0));
    });
  }

  /** Starts every worker; rejects (naming the worker and why) when one cannot start. */
  async start(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.start()));
    // which path the records take back (README "Pipeline workers": the Loki-only fast path or whole records)
    this.o.log.info({ threads: this.slots.length, records: this.o.init.slimFields === null ? 'whole' : 'fields and line' }, 'pipeline workers started');
  }

  /**
   * The receiver of one file's lines (or one journal or syslog source's): its lines go to one
   * worker (round robin over the feeds), its records to `target` from stage `resumeAt` on.
   */
  feed(o: { source: number; target: ResumeTarget; resumeAt: number; labels: Record<string, string> }): LineReceiver {
    const slim = this.o.init.slimFields === null ? null : new SlimFields(this.o.init.slimFields);
    return new WorkerFeed(this.slots, this.nextSlot++ % this.slots.length, { ...o, slim });
  }

  /**
   * Runs `fn` once every line posted so far has come back (now, when none is out): a reader that
   * caught up has the sinks send their open batches then, not before the workers' records arrive.
   * A later call replaces an earlier one still waiting.
   */
  whenAnswered(fn: () => void): void {
    if (this.slots.every((s) => s.linesInFlight === 0)) fn();
    else this.answered = fn;
  }

  private slotIdle(): void {
    const fn = this.answered;
    if (fn === null || !this.slots.every((s) => s.linesInFlight === 0)) return;
    this.answered = null;
    fn();
  }

  /** Waits until every line posted so far came back (and the workers' counts), or `deadline`. */
  async drain(deadline: number): Promise<boolean> {
    const all = Promise.all(this.slots.map((s) => s.drain())).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now()));
    });
    const ok = await Promise.race([all, late]);
    clearTimeout(timer);
    if (!ok) this.o.log.warn({ linesInFlight: this.slots.reduce((n, s) => n + s.linesInFlight, 0) }, 'pipeline workers did not answer every line before the deadline; those lines are re-read at the next start');
    return ok;
  }

  async stop(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.stop()));
  }
}

/** One worker thread (restarted in place when it dies) and its batches in flight, oldest first. */
class WorkerSlot {
  private worker: Worker | null = null;
  private readonly pending: PendingBatch[] = [];
  private head = 0;
  private seq = 0;
  private incarnation = 0;
  private stopping = false;
  private lastError: Error | null = null;
  private readonly crashTimes: number[] = [];
  private drainWaiters: Array<() => void> = [];
  linesInFlight = 0;
  private readonly index: number;
  private readonly o: PoolOptions;
  private readonly on: { crashed(): void; idle(): void; posted(): void };

  constructor(index: number, o: PoolOptions, on: { crashed(): void; idle(): void; posted(): void }) {
    this.index = index;
    this.o = o;
    this.on = on;
  }

  start(): Promise<void> {
    const w = new Worker(this.o.entry ?? workerEntry(), { workerData: { ...this.o.init, incarnation: this.incarnation } satisfies WorkerInit, name: `logship-pipeline-${this.index}` });
    this.worker = w;
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      w.on('message', (m: WorkerMessage) => {
        // a dead worker's late answer: its batches were sent again to the one that replaced it
        if (w !== this.worker) return;
        if (ready) this.onMessage(m);
        else if (m.t === 'ready') {
          ready = true;
          resolve();
        }
      });
      w.on('error', (err) => {
        if (ready) this.lastError = err as Error;
        else reject(new Error(`pipeline worker ${this.index} could not start: ${(err as Error).message}`));
      });
      // an answer that cannot be read would leave its batch unanswered: start the worker again
      w.on('messageerror', (err) => {
        this.lastError = err;
        void w.terminate();
      });
      w.on('exit', (code) => {
        if (ready) this.onExit(w, code);
        else reject(new Error(`pipeline worker ${this.index} exited with code ${code} before it was ready`));
      });
    });
  }

  /** Posts `batch` (one read of one feed) to the worker; kept until its results are back. */
  send(feed: WorkerFeed, seq: number, batch: OutBatch): void {
    const b: PendingBatch = { id: ++this.seq, feed, seq, batch };
    batch.msg.id = b.id;
    this.pending.push(b);
    this.linesInFlight += batch.acks.length;
    this.on.posted();
    this.post(b);
  }

  private post(b: PendingBatch): void {
    this.worker?.postMessage(b.batch.msg);
  }

  private onMessage(m: WorkerMessage): void {
    switch (m.t) {
      case 'results': {
        const b = this.pending[this.head];
        if (b === undefined || b.id !== m.id) throw new Error(`pipeline worker ${this.index} answered batch ${m.id}, expected ${b?.id}`);
        this.pending[this.head++] = undefined as unknown as PendingBatch;
        if (this.head === this.pending.length) {
          this.pending.length = 0;
          this.head = 0;
        } else if (this.head > 1024) {
          this.pending.splice(0, this.head);
          this.head = 0;
        }
        this.linesInFlight -= b.batch.acks.length;
        b.feed.arrived(b.seq, m);
        if (this.linesInFlight === 0) this.on.idle();
        return;
      }
      case 'counts':
        applyCounts(this.o.metrics, m);
        return;
      case 'fault':
        this.o.faults.note(m.fault);
        return;
      case 'drained': {
        const w = this.drainWaiters;
        this.drainWaiters = [];
        for (const r of w) r();
        return;
      }
      case 'ready':
        return;
    }
  }

  private onExit(w: Worker, code: number): void {
    if (w !== this.worker || this.stopping) return;
    this.worker = null;
    const now = Date.now();
    this.crashTimes.push(now);
    while (this.crashTimes.length > 0 && now - this.crashTimes[0] > CRASH_WINDOW_MS) this.crashTimes.shift();
    this.on.crashed();
    const why = this.lastError ? `${this.lastError.name}: ${this.lastError.message}` : `exit code ${code}`;
    this.lastError = null;
    const unanswered = this.pending.length - this.head;
    if (this.crashTimes.length > MAX_CRASHES) {
      this.o.log.fatal({ worker: this.index, error: why, crashes: this.crashTimes.length, linesInFlight: this.linesInFlight }, `pipeline worker ${this.index} died ${this.crashTimes.length} times within ${CRASH_WINDOW_MS / 1000}s; stopping (unacknowledged lines keep their positions and are read again at the next start)`);
      this.o.onFatal(new Error(`pipeline worker ${this.index} keeps dying: ${why}`));
      return;
    }
    this.o.log.error({ worker: this.index, error: why, batchesResent: unanswered, linesResent: this.linesInFlight }, `pipeline worker ${this.index} died (${why}); starting it again and re-sending the lines it had not answered`);
    this.incarnation++;
    this.start().then(() => {}, (err: Error) => {
      this.o.log.fatal({ worker: this.index, error: err.message }, 'pipeline worker could not be started again; stopping');
      this.o.onFatal(err);
    });
    for (let i = this.head; i < this.pending.length; i++) this.post(this.pending[i]);
    if (this.drainWaiters.length > 0) (this.worker as Worker | null)?.postMessage({ t: 'drain' });
  }

  drain(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.drainWaiters.push(resolve);
      if (this.worker === null) return;
      this.worker.postMessage({ t: 'drain' });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const w = this.worker;
    this.worker = null;
    if (w !== null) await w.terminate();
  }
}

/** One read's lines as the message to a worker, and their acks (the SourceLines are not kept). */
function outBatch(source: number, lines: SourceLine[]): OutBatch {
  const n = lines.length;
  const texts = new Array<string>(n);
  const acks = new Array<Ack>(n);
  const readTimes = new Float64Array(n);
  const offsets = new Float64Array(n);
  const truncated = new Uint8Array(n);
  let runtimeTimestamps: Array<string | undefined> | null = null;
  let transports: LineBatch['transports'] = null;
  const info = lines[0].source;
  let shared = true;
  for (let i = 0; i < n; i++) {
    const l = lines[i];
    texts[i] = l.text;
    acks[i] = l.ack;
    readTimes[i] = l.readTime;
    offsets[i] = l.offset ?? NaN;
    truncated[i] = l.truncated ? 1 : 0;
    if (l.source !== info) shared = false;
    if (l.runtimeTimestamp !== undefined) (runtimeTimestamps ??= new Array<string | undefined>(n))[i] = l.runtimeTimestamp;
    if (l.transport !== undefined) (transports ??= new Array(n))[i] = l.transport;
  }
  const msg: LineBatch = { t: 'lines', id: 0, source, info: shared ? info : null, infos: shared ? null : lines.map((l) => l.source), texts, readTimes, offsets, truncated, runtimeTimestamps, transports };
  return { msg, acks, results: null };
}

function applyCounts(metrics: MetricsRegistry, m: CounterDeltas): void {
  for (const f of m.families) {
    const c = metrics.counter(f.name, f.help, f.labelNames);
    for (const s of f.series) c.inc(s.labels, s.delta);
  }
}

/**
 * One file's (or one source's) lines on their way to the workers: the lines of one read
 * (everything received before the reader yields) go as one message, each to the worker with the
 * fewest lines in flight (so one busy file keeps every worker busy); the records come back in
 * any order across workers and are handed on in the order read (arrived() holds a batch until
 * every earlier one of this feed was handed on).
 */
class WorkerFeed implements LineReceiver {
  readonly source: number;
  private lines: SourceLine[] = [];
  private scheduled = false;
  private readonly slots: WorkerSlot[];
  /** Where the search for the least busy worker starts (feeds spread their ties). */
  private readonly home: number;
  private readonly target: ResumeTarget;
  private readonly resumeAt: number;
  private readonly labels: Record<string, string>;
  /** The fields of WorkerInit.slimFields, when the workers send records as those and their JSON. */
  private readonly slim: SlimFields | null;
  /** Batches sent and not yet handed on, oldest first; `sent[0]` has seq `firstSeq`. */
  private readonly sent: OutBatch[] = [];
  private firstSeq = 0;
  private readonly postLater = () => this.post();

  constructor(slots: WorkerSlot[], home: number, o: { source: number; target: ResumeTarget; resumeAt: number; labels: Record<string, string>; slim: SlimFields | null }) {
    this.slots = slots;
    this.home = home;
    this.source = o.source;
    this.target = o.target;
    this.resumeAt = o.resumeAt;
    this.labels = o.labels;
    this.slim = o.slim;
  }

  receive(line: SourceLine): void {
    this.lines.push(line);
    if (this.lines.length >= MAX_BATCH_LINES) this.post();
    else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.postLater);
    }
  }

  flush(): void {
    this.post();
  }

  private post(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const batch = outBatch(this.source, this.lines);
    this.lines = [];
    const seq = this.firstSeq + this.sent.length;
    this.sent.push(batch);
    this.leastBusy().send(this, seq, batch);
  }

  private leastBusy(): WorkerSlot {
    const slots = this.slots;
    let best = slots[this.home];
    for (let i = 1; i < slots.length; i++) {
      const s = slots[(this.home + i) % slots.length];
      if (s.linesInFlight < best.linesInFlight) best = s;
    }
    return best;
  }

  /** The results of this feed's batch `seq`: handed on with every batch before it that waited. */
  arrived(seq: number, r: BatchResults): void {
    const sent = this.sent;
    sent[seq - this.firstSeq].results = r;
    while (sent.length > 0 && sent[0].results !== null) {
      const b = sent.shift()!;
      this.firstSeq++;
      this.deliver(b, b.results!);
    }
  }

  /** The records of `b`'s lines, back from the worker, in order: acks re-attached, on to the main-thread stages. */
  private deliver(b: OutBatch, r: BatchResults): void {
    const n = r.line.length;
    const acks = b.acks;
    const msg = b.msg;
    let o = 0;
    for (let i = 0; i < acks.length; i++) {
      const ack = acks[i];
      const first = o;
      let own = 0;
      while (o < n && r.line[o] === i) {
        own += r.own[o];
        o++;
      }
      // no record of its own: a stage dropped it (counted there); else one reference per record
      if (own === 0) ack.release();
      else if (own > 1) ack.retain(own - 1);
      if (first === o) continue;
      const source = msg.info ?? msg.infos![i];
      const truncated = msg.truncated[i] === 1;
      for (let k = first; k < o; k++) this.target.resume(this.resumeAt, this.event(r, k, ack, source, truncated));
    }
  }

  /**
   * Output k as an event: with its slim record (the fields the main thread reads) and its JSON as
   * the line the sinks ship when the worker sent one, else its record parsed from that JSON.
   */
  private event(r: BatchResults, k: number, ack: Ack, source: SourceInfo, truncated: boolean): LogEvent {
    // a slice of one of the batch's strings: no copy
    const json = r.json[r.jsonSeg[k]].slice(r.jsonStart[k], r.jsonEnd[k]);
    let record: LogRecord;
    let verbatim: VerbatimLine | undefined;
    if (this.slim !== null && r.whole[k] === 0) {
      // the slim record is the record as far as this thread reads it; the JSON is what ships
      record = this.slim.build(r.slim, k) as unknown as LogRecord;
      record.source = source;
      verbatim = VerbatimLine.rendered(json);
    } else {
      record = JSON.parse(json) as LogRecord;
      if (r.sourceStripped[k] === 1) {
        record.source = source;
        // the text is exactly the record without `source`: sinks ship it as it is
        verbatim = VerbatimLine.capture(json, record);
      }
    }
    const own = r.own[k] === 1;
    const offset = r.offset[k];
    const ptText = r.parsedTimeText[k];
    return {
      record,
      labels: r.labels[k] ?? { ...this.labels },
      ack: own ? ack : NO_ACK,
      verbatim,
      truncated: own ? truncated : undefined,
      size: r.size[k],
      offset: Number.isNaN(offset) ? undefined : offset,
      parsedTimeMs: r.parsedTimeMs[k],
      parsedTimeText: ptText === null ? record.timestamp : ptText,
    };
  }
}
