import { gunzipSync, gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import { compressSync, uncompressSync } from 'snappy';
import type { MetricsRegistry } from '../../self-metrics/registry.ts';
import { parsedTimestampMs, type LogEvent } from '../../core/record.ts';
import { VERSION } from '../../core/version.ts';
import { BatchQueue } from '../batcher.ts';
import { authHeaders, HttpClient } from '../http-client.ts';
import { Backoff, parseRetryAfter } from '../retry.ts';
import { DeliveryLoop, type GiveUp, type RetryNotice, type Verdict } from '../delivery-loop.ts';
import type { Sink, SinkStatus } from '../../core/sink.ts';
import { SinkMetrics } from '../sink-metrics.ts';
import type { LokiSinkConfig } from './config.ts';
import { DeadLetterFile } from '../dead-letter.ts';
import { ChunkPool, encodeStreams, JsonEntryEncoder, LokiBatch, ProtobufEntryEncoder, type EntryEncoder } from './batch.ts';
import { formatLabels, StreamLabeler, StructuredMetadataPicker } from './labels.ts';
import { decodeJsonPush, decodePushRequest, nanosString, splitStreams, type LokiStream } from './push-request.ts';
import { countRejections } from './rejections.ts';
import { EntryTimestamps } from './timestamp.ts';
import { RecordJson } from '../record-json.ts';

/** A tenant from a stage (`labels: { values: { __tenant_id__: team-a } }`) overrides tenant_id. */
export const TENANT_LABEL = '__tenant_id__';

/** A lower bound of an entry's bytes beyond its line (timestamp and framing), to place it in a batch. */
const ENTRY_OVERHEAD = 12;

/** Entries between two clock readings of LokiSink.coarseNow(). */
const CLOCK_LINES = 64;

/** One push request, ready to send (and re-send). */
interface RequestBody {
  tenant: string;
  body: Buffer;
  /** Uncompressed size (protobuf or JSON text). */
  rawBytes: number;
  headers: Record<string, string>;
  entries: number;
  /** Entries per stream label string (to count stream-level 400 rejections). */
  streamCounts: Map<string, number>;
  /** The streams (a 413 split half), or null: decoded back from the body when needed. */
  streams: LokiStream[] | null;
}

type Batch = LokiBatch<RequestBody>;

const SNAPPY_COPY = { copyOutputData: true };

function allocBody(size: number): Buffer {
  return Buffer.allocUnsafe(size);
}

/** One entry given up on, as written to the dead-letter file. */
interface LokiDeadLetter {
  /** ISO time it was given up. */
  time: string;
  sink: string;
  tenant: string;
  reason: string;
  /** The stream's label string. */
  labels: string;
  /** Unix nanoseconds. */
  timestamp: string;
  line: string;
  structured_metadata?: Record<string, string>;
}

/** What one push returned. */
type PushResponse =
  | { kind: 'response'; status: number; body: string; retryAfter: number | undefined }
  | { kind: 'network'; reason: string };

/** A request Loki refused for good (a single entry still too large). */
interface LokiTerminal {
  reason: string;
  /** The `logship_sink_dropped_total` reason when there is no dead-letter file. */
  metricReason: string;
}

/**
 * Ships events to Loki's push API (`POST {url}/loki/api/v1/push`): protobuf + raw snappy block
 * by default, JSON (optionally gzip) as an option; one batcher per tenant so a throttled tenant
 * does not hold the others. Entries are encoded into their batch's per-stream byte chunks as they
 * arrive (batch.ts) and a closed batch is compressed at once, so a waiting batch costs its
 * compressed size plus one ack reference per line.
 *
 * Delivery: an event's ack is released only once its entry is final — Loki answered 2xx, or a
 * terminal 400 (Loki stored the valid streams; the rejected entries are counted per reason), or
 * it was written to the dead-letter file. Connection errors, 429 and 5xx retry with backoff and
 * jitter without a count limit (the unacknowledged batch holds the files via the budget); 413
 * splits the batch; 401/403 retry slowly and flag the sink `auth_error` so /ready fails.
 */
export class LokiSink implements Sink {
  readonly type = 'loki';
  readonly name: string;
  private readonly cfg: LokiSinkConfig;
  private readonly log: Logger;
  private readonly m: SinkMetrics;
  private readonly overflow;
  private readonly truncatedLines;
  private readonly labeler: StreamLabeler;
  private readonly metadata: StructuredMetadataPicker;
  private readonly batchers = new Map<string, BatchQueue<Batch>>();
  private readonly encoder: EntryEncoder;
  /** The JSON line of the entry being written, in its two pieces (line_format: json). */
  private readonly json = new RecordJson();
  private readonly timestamps = new EntryTimestamps();
  private readonly pool: ChunkPool;
  private scratchBuf = Buffer.alloc(0);
  /** coarseNow()'s reading and the entries left before it reads the clock again. */
  private clockMs = 0;
  private clockLines = 0;
  private lastTenant = '';
  private lastQueue: BatchQueue<Batch> | null = null;
  /**
   * One backoff per tenant, shared by its in-flight batches and reset by any success: a tenant
   * paced by 429s keeps retrying at the short end (so it runs near its rate limit), while an
   * outage with no success at all backs off exponentially.
   */
  private readonly backoffs = new Map<string, Backoff>();
  private readonly deadLetter: DeadLetterFile<LokiDeadLetter> | null;
  private readonly pushUrl: string;
  /** pushUrl split for the client: its origin, and the path with the query. */
  private readonly pushOrigin: string;
  private readonly pushPath: string;
  private readonly baseHeaders: Record<string, string>;
  private readonly abort = new AbortController();
  /** Requests are tagged with their tenant (the header), so one loop serves every tenant. */
  private readonly delivery: DeliveryLoop<PushResponse, RequestBody, LokiTerminal>;
  private client: HttpClient | null = null;
  private inflight = 0;
  private droppedOld = { count: 0, lastLog: 0 };
  private stats = {
    sent: 0, dropped: 0, retries: 0,
    lastSuccess: null as number | null, lastError: null as string | null, failingSince: null as number | null,
    authError: false,
  };

  constructor(name: string, cfg: LokiSinkConfig, log: Logger, metrics: MetricsRegistry) {
    this.name = name;
    this.cfg = cfg;
    this.log = log.child({ sink: name });
    this.m = new SinkMetrics(metrics);
    this.overflow = metrics.counter('logship_sink_cardinality_overflow_total', 'Label values (label) or streams (label="__stream__") replaced by the cardinality guard.', ['sink', 'label']);
    this.truncatedLines = metrics.counter('logship_sink_truncated_entries_total', 'Entries changed before sending to fit the destination limits, by reason.', ['sink', 'reason']);
    this.labeler = new StreamLabeler({
      labels: cfg.labels,
      maxValuesPerLabel: cfg.cardinality.max_values_per_label,
      maxStreams: cfg.cardinality.max_streams,
      idleTtlMs: cfg.cardinality.idle_timeout,
      onOverflow: (label) => this.overflow.inc({ sink: name, label }),
    });
    this.metadata = new StructuredMetadataPicker(cfg.structured_metadata, () => this.truncatedLines.inc({ sink: name, reason: 'structured_metadata_too_large' }));
    this.encoder = cfg.encoding === 'json' ? new JsonEntryEncoder() : new ProtobufEntryEncoder();
    // Enough idle chunk memory for the next batch of each tenant to start without allocating.
    this.pool = new ChunkPool(2 * cfg.batch.max_bytes + 256 * 1024);
    this.deadLetter = cfg.dead_letter_path ? new DeadLetterFile<LokiDeadLetter>({ path: cfg.dead_letter_path }) : null;
    this.pushUrl = `${cfg.url}/loki/api/v1/push`;
    const u = new URL(this.pushUrl);
    this.pushOrigin = u.origin;
    this.pushPath = u.pathname + u.search;
    const headers: Record<string, string> = {
      'user-agent': `logship/${VERSION}`,
      'content-type': cfg.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      ...authHeaders(cfg),
    };
    if (cfg.encoding === 'json' && cfg.gzip) headers['content-encoding'] = 'gzip';
    this.baseHeaders = headers;
    this.m.streamsActive.set({ sink: name }, 0);
    this.delivery = new DeliveryLoop<PushResponse, RequestBody, LokiTerminal>({
      attempt: (req) => this.send(req),
      classify: (req, res) => this.classify(req.tenant, req, res),
      giveUp: (req, why) => this.giveUp(req.tenant, req, why),
      onRetry: (notice) => this.retrying(notice.request.tenant, notice),
      maxRetryDurationMs: cfg.retry.max_retry_duration,
      signal: this.abort.signal,
    });
  }

  async start(): Promise<void> {
    this.client = new HttpClient(this.pushOrigin, { tls: this.cfg.tls, connections: this.cfg.max_inflight + 2, timeout: this.cfg.timeout, log: this.log, sink: this.name });
    this.log.info({ url: this.pushUrl, encoding: this.cfg.encoding, labels: this.labeler.labelNames, tenant: this.cfg.tenant_id ?? null }, 'loki sink ready');
  }

  write(event: LogEvent): void {
    const record = event.record;
    const now = this.coarseNow();
    const knownMs = parsedTimestampMs(event);
    // The read-time fallback (a timestamp the parser did not read) gets the exact clock.
    const ts = this.timestamps.entry(record.timestamp, Number.isNaN(knownMs) ? Date.now() : now, knownMs);
    const maxAge = this.cfg.reject_old_samples_max_age;
    if (maxAge > 0 && ts.sec * 1000 < now - maxAge) {
      this.dropTooOld(now);
      event.ack.release();
      return;
    }
    let line = record.message;
    let lineAdded = '';
    let lineTail = '';
    if (this.cfg.line_format === 'json') {
      // The line is the record and nothing else: where it was read (source.*) goes to labels or
      // structured metadata (`filename`), not into every line's bytes against Loki's rate limits.
      const json = this.json.ofWithoutSource(event);
      lineTail = json.tail;
      line = json.head;
      lineAdded = json.added;
    }
    const stream = this.labeler.resolve(event, now);
    const metadata = this.metadata.collect(event);
    const queue = this.queueFor(event.labels[TENANT_LABEL] ?? this.cfg.tenant_id ?? '');
    const batch = queue.reserve(line.length + lineAdded.length + lineTail.length + ENTRY_OVERHEAD);
    const encoder = this.encoder;
    const size = encoder.append(batch.chunkFor(stream, this.pool), ts.sec, ts.nanos, line, metadata, this.cfg.max_line_size, lineAdded, lineTail);
    if (encoder.truncated) this.truncatedLines.inc({ sink: this.name, reason: 'line_too_long' });
    batch.addAck(event.ack);
    queue.added(size);
  }

  /**
   * The clock for the age check and the labeler's idle accounting (days and an hour by default),
   * read once per CLOCK_LINES entries and again after each batch is cut, so it is at most
   * batch.max_wait (or CLOCK_LINES lines) behind: Date.now() costs ~70 ns here (kvm-clock), about
   * 2% of a line's time in this sink.
   */
  private coarseNow(): number {
    if (--this.clockLines < 0) {
      this.clockMs = Date.now();
      this.clockLines = CLOCK_LINES - 1;
    }
    return this.clockMs;
  }

  private dropTooOld(now: number): void {
    this.stats.dropped++;
    this.m.dropped.inc({ sink: this.name, reason: 'greater_than_max_sample_age' });
    this.droppedOld.count++;
    if (now - this.droppedOld.lastLog >= 10_000) {
      this.log.warn({ dropped: this.droppedOld.count, max_age_ms: this.cfg.reject_old_samples_max_age }, 'dropped entries older than reject_old_samples_max_age (Loki would reject them)');
      this.droppedOld = { count: 0, lastLog: now };
    }
  }

  private queueFor(tenant: string): BatchQueue<Batch> {
    // Consecutive lines mostly share their tenant.
    if (tenant === this.lastTenant && this.lastQueue !== null) return this.lastQueue;
    let q = this.batchers.get(tenant);
    if (q === undefined) {
      q = this.newQueue(tenant);
      this.batchers.set(tenant, q);
    }
    this.lastTenant = tenant;
    this.lastQueue = q;
    return q;
  }

  /** Apart from queueFor: its closures over `tenant` would allocate a context on every call of queueFor (every line). */
  private newQueue(tenant: string): BatchQueue<Batch> {
    return new BatchQueue<Batch>({
      maxBytes: this.cfg.batch.max_bytes,
      maxWait: this.cfg.batch.max_wait,
      maxInflight: this.cfg.max_inflight,
      open: () => new LokiBatch<RequestBody>(),
      seal: (batch) => this.seal(tenant, batch),
      send: (batch) => this.sendBatch(tenant, batch),
      settle: (batch) => batch.releaseAcks(),
      onBug: (err) => this.log.error({ err, tenant }, 'loki sink send failed unexpectedly; retrying the batch'),
    });
  }

  /** A closed batch: build and compress its body now, and give its chunk buffers back. */
  private seal(tenant: string, batch: Batch): void {
    // A cut batch (size or max_wait) bounds how stale coarseNow() can get between sparse lines.
    this.clockLines = 0;
    if (batch.sealed !== null) return;
    // The raw body only lives until it is compressed: protobuf (and gzip'd JSON) reuse one buffer.
    const compressed = this.cfg.encoding === 'protobuf' || this.cfg.gzip;
    const raw = this.encoder.body(batch.chunks, compressed ? this.scratch : allocBody);
    batch.sealed = this.request(tenant, raw, batch.entries, batch.streamCounts(), null);
    batch.release(this.pool);
  }

  /** Resolves once every entry of the batch is final (delivered, rejected-and-counted, dead-lettered). */
  private async sendBatch(tenant: string, batch: Batch): Promise<void> {
    this.m.streamsActive.set({ sink: this.name }, this.labeler.activeStreams);
    // Not sealed when sealing threw: try again (a throw here makes the queue retry later).
    this.seal(tenant, batch);
    await this.deliver(tenant, batch.sealed!);
  }

  /**
   * A scratch buffer of at least `size` bytes for a raw body that is compressed right away.
   * Compression runs here on the main thread on purpose: snappy's async variant allocates its
   * output on threadpool threads, and in the benchmark that raised peak RSS from ~210 to ~400 MiB
   * (malloc arenas) for no CPU saving.
   */
  private readonly scratch = (size: number): Buffer => {
    if (this.scratchBuf.length < size) {
      const buf = Buffer.allocUnsafe(Math.max(size, this.cfg.batch.max_bytes + 64 * 1024));
      // A one-off giant body (one huge line) is not kept around.
      if (buf.length > 4 * this.cfg.batch.max_bytes) return buf;
      this.scratchBuf = buf;
    }
    return this.scratchBuf;
  };

  private request(tenant: string, raw: Buffer, entries: number, streamCounts: Map<string, number>, streams: LokiStream[] | null): RequestBody {
    const headers = tenant ? { ...this.baseHeaders, 'x-scope-orgid': tenant } : this.baseHeaders;
    let body = raw;
    // copyOutputData: a body that waits (Loki down, batches queued) then holds its compressed
    // size; without it the native output buffer keeps snappy's worst-case allocation (more than
    // the raw size) alive until the body is collected, measured as 2-5x the RSS in a backlog.
    if (this.cfg.encoding === 'protobuf') body = compressSync(raw, SNAPPY_COPY);
    else if (this.cfg.gzip) body = gzipSync(raw, { level: 1 });
    return { tenant, body, rawBytes: raw.length, headers, entries, streamCounts, streams };
  }

  /** A request for streams decoded back from a body (a 413 split half). */
  private encode(tenant: string, streams: LokiStream[]): RequestBody {
    const streamCounts = new Map<string, number>();
    let entries = 0;
    for (const s of streams) {
      streamCounts.set(s.labels, (streamCounts.get(s.labels) ?? 0) + s.entries.length);
      entries += s.entries.length;
    }
    const raw = encodeStreams(this.encoder, streams);
    return this.request(tenant, raw, entries, streamCounts, streams);
  }

  /** The request's streams, decoded back from the body when they were dropped at seal time. */
  private streamsOf(req: RequestBody): LokiStream[] {
    if (req.streams !== null) return req.streams;
    if (this.cfg.encoding === 'json') return decodeJsonPush((this.cfg.gzip ? gunzipSync(req.body) : req.body).toString('utf8'), formatLabels);
    return decodePushRequest(uncompressSync(req.body, { asBuffer: true, copyOutputData: true }) as Buffer);
  }

  private deliver(tenant: string, req: RequestBody): Promise<void> {
    let backoff = this.backoffs.get(tenant);
    if (backoff === undefined) {
      backoff = new Backoff(this.cfg.retry);
      this.backoffs.set(tenant, backoff);
    }
    return this.delivery.deliver(req, { backoff });
  }

  /** One push; a connection error is an answer too (aborts are seen by the loop). */
  private async send(req: RequestBody): Promise<PushResponse> {
    this.inflight++;
    this.m.inflight.inc({ sink: this.name });
    const started = performance.now();
    try {
      const res = await this.client!.request({ method: 'POST', path: this.pushPath, headers: req.headers, body: req.body, signal: this.abort.signal });
      const status = res.statusCode;
      const retryAfter = parseRetryAfter(res.headers['retry-after']);
      let body = '';
      if (status >= 200 && status < 300) await res.dump();
      else body = (await res.text()).slice(0, 64 * 1024);
      this.m.duration.observe({ sink: this.name, status_code: String(status) }, (performance.now() - started) / 1000);
      return { kind: 'response', status, body, retryAfter };
    } catch (err) {
      this.m.duration.observe({ sink: this.name, status_code: 'network' }, (performance.now() - started) / 1000);
      const code = (err as { code?: string }).code;
      return { kind: 'network', reason: `connection error: ${(err as Error).message}${code ? ` (${code})` : ''}` };
    } finally {
      this.inflight--;
      this.m.inflight.dec({ sink: this.name });
    }
  }

  private classify(tenant: string, req: RequestBody, res: PushResponse): Verdict<RequestBody, LokiTerminal> {
    if (res.kind === 'network') return { kind: 'retry', status: 'network', reason: res.reason };
    const { status, body, retryAfter } = res;
    if (status >= 200 && status < 300) {
      this.succeeded(req.entries, req);
      return { kind: 'delivered' };
    }
    if (status === 400) {
      this.rejected(tenant, req, body);
      return { kind: 'delivered' };
    }
    if (status === 413) {
      if (req.entries > 1) {
        this.log.warn({ tenant, entries: req.entries, bytes: req.body.length }, 'Loki answered 413 (request too large); splitting the batch');
        this.m.retries.inc({ sink: this.name, status: '413' });
        return { kind: 'split', parts: splitStreams(this.streamsOf(req)).map((half) => this.encode(tenant, half)) };
      }
      return { kind: 'terminal', status: '413', terminal: { reason: `Loki refused a single entry as too large (413): ${firstLine(body)}`, metricReason: 'request_too_large' } };
    }
    if (status === 401 || status === 403) {
      const waitMs = Math.max(this.cfg.auth_retry_interval, retryAfter ?? 0);
      return { kind: 'retry', status: String(status), reason: `${status} ${firstLine(body) || 'unauthorized'}`, waitMs, authError: true };
    }
    // 429, 5xx, and anything unexpected (404 from a wrong URL, 3xx from a proxy): hold and retry.
    return { kind: 'retry', status: String(status), reason: `${status} ${firstLine(body)}`.trim(), ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
  }

  private giveUp(tenant: string, req: RequestBody, why: GiveUp<LokiTerminal>): Promise<boolean> {
    if (why.cause === 'terminal') return this.toDeadLetter(tenant, req, why.terminal.reason, why.terminal.metricReason);
    return this.toDeadLetter(tenant, req, `retries exhausted after ${Math.round(why.failingForMs / 1000)}s: ${why.lastReason}`, 'retries_exhausted');
  }

  private retrying(tenant: string, n: RetryNotice<RequestBody>): void {
    this.stats.retries++;
    this.stats.lastError = n.reason;
    this.stats.failingSince ??= Date.now();
    this.stats.authError = n.authError;
    this.m.retries.inc({ sink: this.name, status: n.status });
    const fields = { tenant, status: n.status, attempt: n.attempt, entries: n.request.entries, retry_in_ms: n.waitMs, reason: n.reason };
    if (n.authError) this.log.error(fields, 'Loki rejected our credentials; fix basic_auth/bearer_token/tenant_id — retrying slowly, the batch is held');
    else this.log.warn(fields, 'Loki push failed; retrying (the batch is held, nothing acknowledged)');
  }

  private succeeded(entries: number, req: RequestBody): void {
    const now = Date.now();
    this.stats.sent += entries;
    this.stats.lastSuccess = now;
    this.stats.failingSince = null;
    this.stats.authError = false;
    this.m.sent.inc({ sink: this.name }, entries);
    this.m.sentBytes.inc({ sink: this.name }, req.rawBytes);
    this.m.sentBytesCompressed.inc({ sink: this.name }, req.body.length);
    this.m.batchEntries.observe({ sink: this.name }, entries);
    this.m.lastSuccess.set({ sink: this.name }, now / 1000);
  }

  /** 400: Loki stored the valid streams and reports the rest; retrying would duplicate. */
  private rejected(tenant: string, req: RequestBody, body: string): void {
    const r = countRejections(body, req.entries, (labels) => req.streamCounts.get(labels));
    const reasons: Record<string, number> = {};
    for (const [reason, n] of r.byReason) {
      this.m.dropped.inc({ sink: this.name, reason }, n);
      reasons[reason] = n;
    }
    this.stats.dropped += r.total;
    this.succeeded(req.entries - r.total, req);
    this.log.warn({ tenant, entries: req.entries, rejected: r.total, reasons, body: body.slice(0, 2048) }, 'Loki rejected entries (400, terminal: the valid ones were stored, the rejected ones are counted and acknowledged)');
  }

  /** Writes the items to the dead-letter file; false when that failed (the caller keeps retrying). */
  private async toDeadLetter(tenant: string, req: RequestBody, reason: string, metricReason: string): Promise<boolean> {
    const n = req.entries;
    const streams = this.streamsOf(req);
    if (this.deadLetter === null) {
      this.m.dropped.inc({ sink: this.name, reason: metricReason }, n);
      this.stats.dropped += n;
      this.log.error({ tenant, entries: n, reason, first: streams[0]?.entries[0]?.line.slice(0, 512) }, 'entries dropped: no dead_letter_path configured');
      return true;
    }
    const now = new Date().toISOString();
    const records: LokiDeadLetter[] = [];
    for (const s of streams) {
      for (const e of s.entries) {
        records.push({
          time: now, sink: this.name, tenant, reason,
          labels: s.labels, timestamp: nanosString(e.sec, e.nanos), line: e.line,
          ...(e.metadata ? { structured_metadata: Object.fromEntries(e.metadata) } : {}),
        });
      }
    }
    try {
      await this.deadLetter.write(records);
    } catch (err) {
      this.log.error({ err: (err as Error).message, path: this.deadLetter.path }, 'cannot write the dead-letter file; the batch stays held');
      return false;
    }
    this.m.dropped.inc({ sink: this.name, reason: 'dead_lettered' }, n);
    this.stats.dropped += n;
    this.log.error({ tenant, entries: n, reason, path: this.deadLetter.path }, 'entries written to the dead-letter file');
    return true;
  }

  flush(): void {
    for (const q of this.batchers.values()) q.cut();
  }

  async stop(deadline: number): Promise<void> {
    const results = await Promise.all([...this.batchers.values()].map((b) => b.drain(deadline)));
    if (results.some((ok) => !ok)) {
      this.log.warn({ queued: this.status().queued }, 'loki sink did not drain before the grace period ended; unacknowledged lines will be re-read on the next start');
    }
    this.abort.abort();
    this.client?.destroy();
    this.client = null;
    await this.deadLetter?.close().catch(() => {});
  }

  status(): SinkStatus {
    let queued = 0;
    for (const b of this.batchers.values()) queued += b.queued;
    const s = this.stats;
    return {
      name: this.name, type: this.type,
      state: s.authError ? 'auth_error' : s.failingSince !== null ? 'retrying' : 'ok',
      lastSuccess: s.lastSuccess, lastError: s.lastError, failingSince: s.failingSince,
      retries: s.retries, queued, inflight: this.inflight, sent: s.sent, dropped: s.dropped,
    };
  }
}

function firstLine(body: string): string {
  const nl = body.indexOf('\n');
  return (nl >= 0 ? body.slice(0, nl) : body).slice(0, 512);
}
