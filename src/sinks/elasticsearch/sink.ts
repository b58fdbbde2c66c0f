import type { Logger } from 'pino';
import type { MetricsRegistry } from '../../self-metrics/registry.ts';
import type { Ack, LogEvent } from '../../core/record.ts';
import { describeError, fallbackEvent } from '../../core/fallback-record.ts';
import type { RecordFaults } from '../../self-metrics/faults.ts';
import { VERSION } from '../../core/version.ts';
import { authHeaders, HttpClient } from '../http-client.ts';
import { Backoff, parseRetryAfter, sleep } from '../retry.ts';
import { DeliveryLoop, type GiveUp, type Verdict } from '../delivery-loop.ts';
import type { Sink, SinkState, SinkStatus } from '../../core/sink.ts';
import { BatchQueue } from '../batcher.ts';
import { SinkMetrics } from '../sink-metrics.ts';
import { BULK_FILTER_PATH, BulkResponseError, bulkAction, decodeBulkItem, parseBulkResponse, parseRequestError, type ItemError } from './bulk.ts';
import { BulkBatchBuilder, BulkBody, type BulkItems } from './bulk-batch.ts';
import type { ElasticsearchSinkConfig } from './config.ts';
import { DeadLetterFile } from '../dead-letter.ts';
import { DocumentEncoder, documentId } from './document.ts';
import { compileDataStreamName, compileIndexName, type TargetNamer } from './target.ts';
import { buildTemplates } from './template.ts';

/** One batch: the documents' bytes while it is open, then its body (compressing from the cut on). */
interface EsBatch {
  builder: BulkBatchBuilder;
  body: Promise<BulkBody> | null;
}

/** One refused document as written to the dead-letter file. */
interface DeadLetter {
  /** ISO time of the rejection. */
  time: string;
  sink: string;
  index: string;
  _id?: string;
  /** Item (or request) status from Elasticsearch. */
  status: number;
  /** ES error type, e.g. mapper_parsing_exception; the metric's `reason` label. */
  reason: string;
  /** ES's explanation, e.g. "failed to parse field [x] of type [long] ...". */
  error: string;
  /** The document exactly as it was sent. */
  document: unknown;
}

/** What one HTTP attempt returned. */
type Attempt =
  | { kind: 'response'; status: number; text: string; retryAfter: number | undefined }
  | { kind: 'network'; error: string };

/** An item Elasticsearch refused for good, by its index in the request. */
interface Refused {
  i: number;
  status: number;
  error: ItemError;
}

/** A request Elasticsearch refused for good (one document still too large, or malformed). */
interface EsTerminal {
  status: number;
  error: ItemError;
}

/** Settles forever: after the shutdown deadline a batch must neither be acknowledged nor retried. */
const NEVER = new Promise<never>(() => {});

/** Spare batch buffers kept for reuse (the open batch's plus the ones being compressed). */
const SPARE_BUFFERS = 2;

/**
 * Ships events to Elasticsearch with `_bulk` (NDJSON, gzip) as `create` actions with idempotent
 * ids. A batch is final only when every item is: 2xx or 409 (duplicate) delivered, 429/5xx
 * items resent alone with backoff, other 4xx dead-lettered; whole-request 413 (and 400) split,
 * 401/403 held as `auth_error`, 5xx and connection errors retried. See README "Elasticsearch sink".
 *
 * Each document is encoded into the open batch's buffer as it arrives; a closed batch is
 * compressed at once (on the threadpool) and waits for a request slot as its gzip bytes plus
 * one ack per item. Retries of some items, splits and dead letters decompress it again.
 */
export class ElasticsearchSink implements Sink {
  readonly type = 'elasticsearch';
  readonly name: string;
  private readonly cfg: ElasticsearchSinkConfig;
  private readonly log: Logger;
  private readonly m: SinkMetrics;
  private readonly namer: TargetNamer;
  private readonly documents: DocumentEncoder;
  private readonly deadLetters: DeadLetterFile<DeadLetter>;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly maxBytes: number;
  private readonly gzipLevel: number | null;
  private client: HttpClient | null = null;
  private templateReady: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private state: SinkState = 'ok';
  private lastWarnAt = 0;
  private lastWarnState: SinkState = 'ok';
  private stats = { sent: 0, dropped: 0, retries: 0, lastSuccess: null as number | null, lastError: null as string | null, failingSince: null as number | null };
  private readonly queue: BatchQueue<EsBatch>;
  private readonly delivery: DeliveryLoop<Attempt, BulkBody, EsTerminal>;
  private readonly spare: Buffer[] = [];

  private readonly faults: RecordFaults | undefined;

  constructor(name: string, cfg: ElasticsearchSinkConfig, log: Logger, metrics: MetricsRegistry, faults?: RecordFaults) {
    this.name = name;
    this.faults = faults;
    this.cfg = cfg;
    this.log = log.child({ sink: name });
    this.m = new SinkMetrics(metrics);
    this.namer = cfg.mode === 'data_stream' ? compileDataStreamName(cfg.data_stream) : compileIndexName(cfg.index);
    this.documents = new DocumentEncoder({ schema: cfg.schema, metadataMaxDepth: cfg.metadata_max_depth });
    this.deadLetters = new DeadLetterFile<DeadLetter>({ path: cfg.dead_letter_path, idField: '_id' });
    this.maxBytes = Math.max(1, cfg.batch.max_bytes);
    this.gzipLevel = cfg.gzip ? cfg.gzip_level : null;
    this.queue = new BatchQueue<EsBatch>({
      maxBytes: this.maxBytes,
      maxWait: cfg.batch.max_wait,
      maxInflight: cfg.max_inflight,
      open: () => ({ builder: new BulkBatchBuilder(this.spare.pop() ?? Buffer.allocUnsafeSlow(this.maxBytes)), body: null }),
      // Compression starts at the cut (on the threadpool); the request when a slot is free.
      seal: (batch) => {
        const buf = batch.builder.buf;
        const give = () => this.giveBuffer(buf);
        batch.body = BulkBody.of(batch.builder.items(), this.gzipLevel);
        batch.body.then(give, give);
      },
      send: (batch) => this.sendBatch(batch),
      settle: (batch) => {
        const acks = batch.builder.acks;
        for (let i = 0; i < acks.length; i++) acks[i].release();
      },
      onBug: (err) => this.log.error({ err }, 'elasticsearch sink send failed unexpectedly; retrying the batch'),
    });
    this.delivery = new DeliveryLoop<Attempt, BulkBody, EsTerminal>({
      attempt: (body) => this.request(body),
      classify: (body, attempt) => this.classify(body, attempt),
      giveUp: (body, why) => this.giveUp(body, why),
      onRetry: (n) => this.failing(n.authError ? 'auth_error' : 'retrying', n.reason, n.status),
      maxRetryDurationMs: cfg.retry.max_retry_duration,
      signal: this.abort.signal,
    });
    const u = new URL(cfg.url);
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, '');
    this.headers = {
      ...authHeaders(cfg),
      'content-type': 'application/x-ndjson',
      accept: 'application/json',
      'user-agent': `logship/${VERSION}`,
      ...(cfg.gzip ? { 'content-encoding': 'gzip' } : {}),
    };
  }

  async start(): Promise<void> {
    await this.deadLetters.open();
    this.client = new HttpClient(this.origin, { tls: this.cfg.tls, connections: this.cfg.max_inflight + 1, timeout: this.cfg.timeout, log: this.log, sink: this.name });
    this.m.inflight.set({ sink: this.name }, 0);
    // Installed in the background (ES may be down at start); sends wait for it so no document
    // lands in an index created without the mappings.
    if (this.cfg.manage_template) this.templateReady = this.installTemplates();
  }

  write(event: LogEvent): void {
    let source: string;
    let action: string;
    try {
      source = this.documents.encode(event);
      action = bulkAction(this.namer(event), this.cfg.document_id === 'auto' ? documentId(event, source) : undefined);
    } catch (err) {
      this.encodeFailed(event, err);
      return;
    }
    this.append(action, source, event.ack);
  }

  /** Writes one item into the open batch (the queue closes it at batch.max_bytes or max_wait). */
  private append(action: string, source: string, ack: Ack): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; the exact size is computed only near the end.
    let bytes = (action.length + source.length) * 3 + 1;
    if (this.queue.openBytes + bytes > this.maxBytes) bytes = Buffer.byteLength(action) + Buffer.byteLength(source) + 1;
    const b = this.queue.reserve(bytes).builder;
    b.reserve(bytes);
    const before = b.length;
    b.append(action, source, ack);
    this.queue.added(b.length - before);
  }

  /**
   * Batch buffers are reused: a fresh multi-MiB buffer per batch left large-object garbage for the
   * GC, and filled-then-dropped buffers kept RSS high between collections.
   */
  private giveBuffer(buf: Buffer): void {
    if (buf.length === this.maxBytes && this.spare.length < SPARE_BUFFERS) this.spare.push(buf);
  }

  /** Sends one batch until every item is final; after the shutdown deadline it never settles. */
  private async sendBatch(batch: EsBatch): Promise<void> {
    try {
      await this.templateReady;
      const body = await (batch.body ??= BulkBody.of(batch.builder.items(), this.gzipLevel));
      await this.delivery.deliver(body, { backoff: new Backoff(this.cfg.retry) });
    } catch (err) {
      if (this.abort.signal.aborted) return NEVER;
      throw err;
    }
  }

  /**
   * What a `_bulk` answer means for the request. Items are settled here: delivered and duplicate
   * ones counted, refused ones dead-lettered, and only the items to retry stay in the request.
   */
  private async classify(body: BulkBody, attempt: Attempt): Promise<Verdict<BulkBody, EsTerminal>> {
    if (attempt.kind === 'network') return this.retry('network', `connection error: ${attempt.error}`);
    const { status, text } = attempt;
    const retryAfter = attempt.retryAfter !== undefined ? { retryAfterMs: attempt.retryAfter } : {};
    if (status === 200) {
      let parsed;
      try {
        parsed = parseBulkResponse(text, body.count);
      } catch (err) {
        if (!(err instanceof BulkResponseError)) throw err;
        return this.retry('bad_response', err.message);
      }
      if (!parsed.errors) {
        this.delivered(body.count);
        this.healthy();
        return { kind: 'delivered' };
      }
      const retry: number[] = [];
      const refused: Refused[] = [];
      let ok = 0;
      let retryStatus = 0;
      let retryError: ItemError | undefined;
      for (let i = 0; i < body.count; i++) {
        const r = parsed.items![i];
        if (r.verdict === 'ok' || r.verdict === 'duplicate') ok++;
        else if (r.verdict === 'retry') {
          retry.push(i);
          if (retryStatus === 0) {
            retryStatus = r.status;
            retryError = r.error;
          }
        } else refused.push({ i, status: r.status, error: r.error ?? { type: `http_${r.status}`, reason: '' } });
      }
      if (ok > 0) this.delivered(ok);
      if (retry.length === 0 && refused.length === 0) {
        // errors: true from 409s alone (a resend after a restart): all final.
        this.healthy();
        return { kind: 'delivered' };
      }
      const items = await body.items();
      if (refused.length > 0) await this.deadLetter(items, refused);
      if (retry.length === 0) {
        this.healthy();
        return { kind: 'delivered' };
      }
      const auth = retryStatus === 401 || (retryStatus === 403 && retryError?.type === 'security_exception');
      const reason = `${retry.length} of ${body.count} items refused with ${retryStatus} ${retryError?.type ?? ''}: ${retryError?.reason ?? ''}`.trim();
      // Exactly the refused items' bytes, unchanged: same ids, so a resend is never a copy.
      const rest = await BulkBody.of(items.pick(retry), this.gzipLevel);
      return { ...this.retry(String(retryStatus), reason, { authError: auth }), ...retryAfter, request: rest };
    }
    const err = parseRequestError(text);
    if (status === 413 || status === 400) {
      // 413: over http.max_content_length. 400: the request as a whole was refused (malformed
      // for ES); halving finds the offending documents instead of holding everything.
      if (body.count === 1) {
        return { kind: 'terminal', status: String(status), terminal: { status, error: err ?? { type: status === 413 ? 'request_too_large' : `http_${status}`, reason: text.slice(0, 500) } } };
      }
      this.log.warn({ status, items: body.count, error: err }, status === 413 ? 'request too large; splitting the batch' : 'request refused as a whole; splitting the batch to isolate the refused documents');
      const items = await body.items();
      const half = Math.ceil(body.count / 2);
      const lo = await BulkBody.of(items.slice(0, half), this.gzipLevel);
      const hi = await BulkBody.of(items.slice(half, items.count), this.gzipLevel);
      return { kind: 'split', parts: [lo, hi] };
    }
    const reason = `HTTP ${status}${err ? ` ${err.type}: ${err.reason}` : text ? `: ${text.slice(0, 200)}` : ''}`;
    if (status === 401 || status === 403) return { ...this.retry(String(status), `credentials rejected: ${reason}`, { authError: true }), ...retryAfter };
    return { ...this.retry(String(status), reason), ...retryAfter };
  }

  /** A retry verdict; `authError` (credentials refused) makes the sink's state `auth_error` while it retries. */
  private retry(status: string, reason: string, opts: { authError?: boolean } = {}): Verdict<BulkBody, EsTerminal> & { kind: 'retry' } {
    return { kind: 'retry', status, reason, ...(opts.authError ? { authError: true } : {}) };
  }

  private async giveUp(body: BulkBody, why: GiveUp<EsTerminal>): Promise<boolean> {
    if (why.cause === 'terminal') await this.rejectAll(body, why.terminal.status, why.terminal.error);
    else await this.rejectAll(body, 0, { type: 'retry_timeout', reason: `not accepted within retry.max_retry_duration (${why.lastReason})` });
    return true;
  }

  private async request(body: BulkBody): Promise<Attempt> {
    const started = process.hrtime.bigint();
    this.m.inflight.inc({ sink: this.name });
    try {
      const res = await this.client!.request({
        path: `${this.basePath}/_bulk?filter_path=${BULK_FILTER_PATH}`,
        method: 'POST',
        headers: this.headers,
        body: body.wire,
        signal: this.abort.signal,
      });
      const text = await res.text();
      this.m.duration.observe({ sink: this.name, status_code: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
      if (res.statusCode === 200) {
        this.m.sentBytes.inc({ sink: this.name }, body.rawBytes);
        this.m.sentBytesCompressed.inc({ sink: this.name }, body.wire.length);
        this.m.batchEntries.observe({ sink: this.name }, body.count);
      }
      return { kind: 'response', status: res.statusCode, text, retryAfter: parseRetryAfter(res.headers['retry-after']) };
    } catch (err) {
      this.m.duration.observe({ sink: this.name, status_code: 'network' }, Number(process.hrtime.bigint() - started) / 1e9);
      return { kind: 'network', error: (err as Error).message };
    } finally {
      this.m.inflight.dec({ sink: this.name });
    }
  }

  private async rejectAll(body: BulkBody, status: number, error: ItemError): Promise<void> {
    const refused: Refused[] = [];
    for (let i = 0; i < body.count; i++) refused.push({ i, status, error });
    await this.deadLetter(await body.items(), refused);
  }

  /**
   * A record that cannot be made a document (an encoder threw: a cycle, a BigInt, nesting beyond
   * the stack) goes to the dead-letter file with the reason, as its bounded fallback rendering;
   * acknowledged once the letter is on disk, like a document Elasticsearch refused.
   */
  private encodeFailed(event: LogEvent, err: unknown): void {
    const fallback = fallbackEvent(event, err);
    let index = '';
    try {
      index = this.namer(fallback);
    } catch {
      // the index name came from the record too; the letter says none
    }
    const letter: DeadLetter = { time: new Date().toISOString(), sink: this.name, index, status: 0, reason: 'encode_error', error: describeError(err), document: JSON.parse(JSON.stringify(fallback.record)) as unknown };
    this.faults?.note({ kind: 'encode', where: this.name, reason: err instanceof Error ? err.name : 'exception', outcome: 'dead_lettered', file: event.record.source?.file, offset: event.offset }, err);
    void this.persistLetters([letter]).then((fresh) => {
      if (fresh.length > 0) {
        this.stats.dropped++;
        this.m.dropped.inc({ sink: this.name, reason: 'encode_error' });
      }
      event.ack.release();
    });
  }

  /** Appends letters not written before, retrying while the disk refuses; resolves with those written. */
  private async persistLetters(letters: DeadLetter[]): Promise<DeadLetter[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deadLetters.write(letters);
      } catch (err) {
        if (this.abort.signal.aborted) return NEVER;
        this.log.error({ err: (err as Error).message, file: this.deadLetters.path, attempt }, 'writing the dead-letter file failed; retrying');
        await sleep(Math.min(30_000, 500 * 2 ** attempt), this.abort.signal);
      }
    }
  }

  /** Appends to the dead-letter file (retrying while the disk refuses), then counts the drops. */
  private async deadLetter(items: BulkItems, refused: Refused[]): Promise<void> {
    const time = new Date().toISOString();
    const letters: DeadLetter[] = refused.map(({ i, status, error }) => {
      const { index, id, source } = decodeBulkItem(items.item(i));
      let document: unknown = source;
      try {
        document = JSON.parse(source);
      } catch {
        // keep the text
      }
      const caused = error.caused_by?.reason ? ` (caused by ${error.caused_by.type ?? 'error'}: ${error.caused_by.reason})` : '';
      return { time, sink: this.name, index, ...(id ? { _id: id } : {}), status, reason: error.type, error: `${error.reason}${caused}`, document };
    });
    const fresh = await this.persistLetters(letters);
    if (fresh.length === 0) {
      this.log.info({ count: letters.length }, 'refused documents were already in the dead-letter file (resent after a restart)');
      return;
    }
    const byReason = new Map<string, number>();
    for (const l of fresh) byReason.set(l.reason, (byReason.get(l.reason) ?? 0) + 1);
    for (const [reason, n] of byReason) this.m.dropped.inc({ sink: this.name, reason }, n);
    this.stats.dropped += fresh.length;
    this.log.warn({ count: fresh.length, reasons: Object.fromEntries(byReason), first: fresh[0].error.slice(0, 300), file: this.deadLetters.path }, 'elasticsearch rejected documents; written to the dead-letter file');
  }

  private delivered(n: number): void {
    const now = Date.now();
    this.stats.sent += n;
    this.stats.lastSuccess = now;
    this.m.sent.inc({ sink: this.name }, n);
    this.m.lastSuccess.set({ sink: this.name }, now / 1000);
  }

  private healthy(): void {
    this.state = 'ok';
    this.stats.failingSince = null;
  }

  private failing(state: SinkState, reason: string, status: string): void {
    this.state = state;
    this.stats.retries++;
    this.stats.lastError = reason;
    this.stats.failingSince ??= Date.now();
    this.m.retries.inc({ sink: this.name, status });
    // Under a long outage every batch retries; one line per 10 s (or state change) is enough.
    const now = Date.now();
    if (state !== this.lastWarnState || now - this.lastWarnAt > 10_000) {
      this.lastWarnAt = now;
      this.lastWarnState = state;
      this.log.warn({ state, status, err: reason, retries: this.stats.retries }, 'elasticsearch request not accepted; retrying with backoff');
    }
  }

  private async installTemplates(): Promise<void> {
    const t = buildTemplates(this.cfg);
    const backoff = new Backoff(this.cfg.retry);
    for (;;) {
      if (this.abort.signal.aborted) return;
      try {
        const c = await this.ensureTemplate(`/_component_template/${t.component.name}`, t.component.body, (b) => (b as { component_templates?: Array<{ component_template?: { _meta?: { logship_hash?: string } } }> }).component_templates?.[0]?.component_template?._meta?.logship_hash);
        const i = await this.ensureTemplate(`/_index_template/${t.index.name}`, t.index.body, (b) => (b as { index_templates?: Array<{ index_template?: { _meta?: { logship_hash?: string } } }> }).index_templates?.[0]?.index_template?._meta?.logship_hash);
        this.log.info({ component_template: `${t.component.name} (${c})`, index_template: `${t.index.name} (${i})`, pattern: (t.index.body.index_patterns as string[])[0] }, 'elasticsearch templates in place');
        this.healthy();
        return;
      } catch (err) {
        const status = (err as { status?: number }).status;
        this.failing(status === 401 || status === 403 ? 'auth_error' : 'retrying', `installing the index template: ${(err as Error).message}`, status ? String(status) : 'network');
        await sleep(backoff.next(), this.abort.signal);
      }
    }
  }

  /** GET, and PUT only when missing or different (by `_meta.logship_hash`): idempotent across restarts. */
  private async ensureTemplate(path: string, body: Record<string, unknown>, hashOf: (b: unknown) => string | undefined): Promise<'unchanged' | 'installed'> {
    const want = (body._meta as { logship_hash: string }).logship_hash;
    const get = await this.client!.request({ path: this.basePath + path, method: 'GET', headers: { ...authHeaders(this.cfg), accept: 'application/json' }, signal: this.abort.signal });
    const getText = await get.text();
    if (get.statusCode === 200) {
      let have: string | undefined;
      try {
        have = hashOf(JSON.parse(getText));
      } catch {
        have = undefined;
      }
      if (have === want) return 'unchanged';
    } else if (get.statusCode !== 404) {
      throw Object.assign(new Error(`GET ${path}: HTTP ${get.statusCode} ${getText.slice(0, 300)}`), { status: get.statusCode });
    }
    const put = await this.client!.request({ path: this.basePath + path, method: 'PUT', headers: { ...authHeaders(this.cfg), 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body), signal: this.abort.signal });
    const putText = await put.text();
    if (put.statusCode !== 200) throw Object.assign(new Error(`PUT ${path}: HTTP ${put.statusCode} ${putText.slice(0, 300)}`), { status: put.statusCode });
    return 'installed';
  }

  flush(): void {
    this.queue.cut();
  }

  async stop(deadline: number): Promise<void> {
    const drained = await this.queue.drain(deadline);
    if (!drained) this.log.warn({ queued: this.queue.queued }, 'elasticsearch sink did not drain before the grace period ended; the rest is resent after restart (ids make it idempotent)');
    this.abort.abort();
    await this.deadLetters.close().catch(() => {});
    this.client?.destroy();
    this.client = null;
  }

  status(): SinkStatus {
    return {
      name: this.name, type: this.type, state: this.state,
      lastSuccess: this.stats.lastSuccess, lastError: this.stats.lastError, failingSince: this.stats.failingSince,
      retries: this.stats.retries, queued: this.queue.queued, inflight: this.queue.inflightRequests,
      sent: this.stats.sent, dropped: this.stats.dropped,
    };
  }
}
