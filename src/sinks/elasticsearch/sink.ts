import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { MetricsRegistry } from '../../metrics/registry.ts';
import type { Ack, LogEvent } from '../../record.ts';
import { VERSION } from '../../version.ts';
import { Batcher } from '../batcher.ts';
import { authHeaders, createDispatcher } from '../http-client.ts';
import { Backoff, parseRetryAfter, sleep } from '../retry.ts';
import type { Sink, SinkState, SinkStatus } from '../sink.ts';
import { SinkMetrics } from '../sink-metrics.ts';
import { BULK_FILTER_PATH, BulkResponseError, encodeBulkItem, parseBulkResponse, parseRequestError, type BulkItem, type ItemError } from './bulk.ts';
import type { ElasticsearchSinkConfig } from './config.ts';
import { DeadLetterFile, type DeadLetter } from './dead-letter.ts';
import { documentId, encodeDocument, type DocumentOptions } from './document.ts';
import { compileDataStreamName, compileIndexName, type TargetNamer } from './target.ts';
import { buildTemplates } from './template.ts';

const gzip = promisify(gzipCb);

/** An event's ack with its bulk lines, encoded once at write() and resent unchanged. */
interface EsEvent {
  ack: Ack;
  item: BulkItem;
}

/** What one HTTP attempt returned. */
type Attempt =
  | { kind: 'response'; status: number; text: string; retryAfter: number | undefined }
  | { kind: 'network'; error: string };

/** Settles forever: after the shutdown deadline a batch must neither be acknowledged nor retried. */
const NEVER = new Promise<never>(() => {});

/**
 * Ships events to Elasticsearch with `_bulk` (NDJSON, gzip) as `create` actions with idempotent
 * ids. A batch is final only when every item is: 2xx or 409 (duplicate) delivered, 429/5xx
 * items resent alone with backoff, other 4xx dead-lettered; whole-request 413 (and 400) split,
 * 401/403 held as `auth_error`, 5xx and connection errors retried. See README "Elasticsearch sink".
 */
export class ElasticsearchSink implements Sink {
  readonly type = 'elasticsearch';
  readonly name: string;
  private readonly cfg: ElasticsearchSinkConfig;
  private readonly log: Logger;
  private readonly m: SinkMetrics;
  private readonly batcher: Batcher<EsEvent>;
  private readonly namer: TargetNamer;
  private readonly docOpts: DocumentOptions;
  private readonly deadLetters: DeadLetterFile;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private dispatcher: Dispatcher | null = null;
  private readonly bodyPool: Buffer[] = [];
  private templateReady: Promise<void> = Promise.resolve();
  private readonly abort = new AbortController();
  private state: SinkState = 'ok';
  private lastWarnAt = 0;
  private lastWarnState: SinkState = 'ok';
  private stats = { sent: 0, dropped: 0, retries: 0, lastSuccess: null as number | null, lastError: null as string | null, failingSince: null as number | null };

  constructor(name: string, cfg: ElasticsearchSinkConfig, log: Logger, metrics: MetricsRegistry) {
    this.name = name;
    this.cfg = cfg;
    this.log = log.child({ sink: name });
    this.m = new SinkMetrics(metrics);
    this.namer = cfg.mode === 'data_stream' ? compileDataStreamName(cfg.data_stream) : compileIndexName(cfg.index);
    this.docOpts = { schema: cfg.schema, metadataMaxDepth: cfg.metadata_max_depth };
    this.deadLetters = new DeadLetterFile(cfg.dead_letter_path);
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
    this.batcher = new Batcher<EsEvent>({
      maxBytes: cfg.batch.max_bytes,
      maxWait: cfg.batch.max_wait,
      maxInflight: cfg.max_inflight,
      sizeOf: (e) => e.item.bytes,
      send: (batch) => this.send(batch),
      onBug: (err) => this.log.error({ err }, 'elasticsearch sink send failed unexpectedly; retrying the batch'),
    });
  }

  async start(): Promise<void> {
    await this.deadLetters.open();
    this.dispatcher = createDispatcher({ tls: this.cfg.tls, connections: this.cfg.max_inflight + 1, timeout: this.cfg.timeout, log: this.log, sink: this.name });
    this.m.inflight.set({ sink: this.name }, 0);
    // Installed in the background (ES may be down at start); sends wait for it so no document
    // lands in an index created without the mappings.
    if (this.cfg.manage_template) this.templateReady = this.installTemplates();
  }

  write(event: LogEvent): void {
    let item: BulkItem;
    try {
      const source = encodeDocument(event, this.docOpts);
      item = encodeBulkItem(this.namer(event), this.cfg.document_id === 'auto' ? documentId(event, source) : undefined, source);
    } catch (err) {
      // Not representable as JSON (cannot happen for parsed records; guards hand-built ones).
      this.stats.dropped++;
      this.m.dropped.inc({ sink: this.name, reason: 'encode_error' });
      this.log.error({ err: (err as Error).message }, 'cannot encode a record as a document; dropped');
      event.ack.release();
      return;
    }
    this.batcher.add({ ack: event.ack, item });
  }

  private async send(batch: EsEvent[]): Promise<void> {
    await this.templateReady;
    await this.deliver(batch, Date.now());
  }

  /** Resolves when every event of `events` is final (delivered, duplicate or dead-lettered). */
  private async deliver(events: EsEvent[], firstTry: number): Promise<void> {
    let pending = events;
    const backoff = new Backoff(this.cfg.retry);
    while (pending.length > 0) {
      if (this.abort.signal.aborted) return NEVER;
      const maxRetry = this.cfg.retry.max_retry_duration;
      if (maxRetry > 0 && Date.now() - firstTry > maxRetry && backoff.attempts > 0) {
        await this.reject(pending, 0, { type: 'retry_timeout', reason: `not accepted within retry.max_retry_duration (${this.stats.lastError ?? ''})` });
        return;
      }
      const attempt = await this.post(pending);
      if (this.abort.signal.aborted) return NEVER;
      if (attempt.kind === 'network') {
        this.failing('retrying', `connection error: ${attempt.error}`, 'network');
        await sleep(backoff.next(), this.abort.signal);
        continue;
      }
      const { status, text } = attempt;
      if (status === 200) {
        let parsed;
        try {
          parsed = parseBulkResponse(text, pending.length);
        } catch (err) {
          if (!(err instanceof BulkResponseError)) throw err;
          this.failing('retrying', err.message, 'bad_response');
          await sleep(backoff.next(), this.abort.signal);
          continue;
        }
        if (!parsed.errors) {
          this.delivered(pending.length);
          this.healthy();
          return;
        }
        const retry: EsEvent[] = [];
        const rejected: Array<{ e: EsEvent; status: number; error: ItemError }> = [];
        let ok = 0;
        let retryStatus = 0;
        let retryError: ItemError | undefined;
        for (let i = 0; i < pending.length; i++) {
          const r = parsed.items![i];
          if (r.verdict === 'ok' || r.verdict === 'duplicate') ok++;
          else if (r.verdict === 'retry') {
            retry.push(pending[i]);
            if (retryStatus === 0) {
              retryStatus = r.status;
              retryError = r.error;
            }
          } else rejected.push({ e: pending[i], status: r.status, error: r.error ?? { type: `http_${r.status}`, reason: '' } });
        }
        if (ok > 0) this.delivered(ok);
        if (rejected.length > 0) await this.deadLetter(rejected);
        if (retry.length === 0) {
          this.healthy();
          return;
        }
        const auth = retryStatus === 401 || (retryStatus === 403 && retryError?.type === 'security_exception');
        this.failing(auth ? 'auth_error' : 'retrying', `${retry.length} of ${pending.length} items refused with ${retryStatus} ${retryError?.type ?? ''}: ${retryError?.reason ?? ''}`.trim(), String(retryStatus));
        pending = retry;
        await sleep(backoff.next(attempt.retryAfter), this.abort.signal);
        continue;
      }
      const err = parseRequestError(text);
      if (status === 413 || status === 400) {
        // 413: over http.max_content_length. 400: the request as a whole was refused (malformed
        // for ES); halving finds the offending documents instead of holding everything.
        if (pending.length === 1) {
          await this.reject(pending, status, err ?? { type: status === 413 ? 'request_too_large' : `http_${status}`, reason: text.slice(0, 500) });
          return;
        }
        this.log.warn({ status, items: pending.length, error: err }, status === 413 ? 'request too large; splitting the batch' : 'request refused as a whole; splitting the batch to isolate the refused documents');
        const half = Math.ceil(pending.length / 2);
        await this.deliver(pending.slice(0, half), firstTry);
        await this.deliver(pending.slice(half), firstTry);
        return;
      }
      const reason = `HTTP ${status}${err ? ` ${err.type}: ${err.reason}` : text ? `: ${text.slice(0, 200)}` : ''}`;
      if (status === 401 || status === 403) this.failing('auth_error', `credentials rejected: ${reason}`, String(status));
      else this.failing('retrying', reason, String(status));
      await sleep(backoff.next(attempt.retryAfter), this.abort.signal);
    }
  }

  /**
   * Request bodies are written into reused buffers: concatenating a 5 MiB string per request and
   * copying it into a fresh Buffer left hundreds of MiB of large-object garbage between major GCs.
   */
  private acquireBody(bytes: number): Buffer {
    const i = this.bodyPool.findIndex((b) => b.length >= bytes);
    if (i >= 0) return this.bodyPool.splice(i, 1)[0];
    return Buffer.allocUnsafe(Math.max(bytes, Math.min(this.cfg.batch.max_bytes, 64 * 1024 * 1024)));
  }

  private releaseBody(buf: Buffer): void {
    // Keep one per request slot; a body bigger than a batch (one huge document) is not kept.
    if (this.bodyPool.length < this.cfg.max_inflight && buf.length <= Math.max(this.cfg.batch.max_bytes, 1 << 20) * 2) this.bodyPool.push(buf);
  }

  private async post(events: EsEvent[]): Promise<Attempt> {
    let rawBytes = 0;
    for (let i = 0; i < events.length; i++) rawBytes += events[i].item.bytes;
    const buf = this.acquireBody(rawBytes);
    try {
      let off = 0;
      for (let i = 0; i < events.length; i++) off += buf.write(events[i].item.lines, off, 'utf8');
      const plain = buf.subarray(0, off);
      const body = this.cfg.gzip ? await gzip(plain, { level: this.cfg.gzip_level }) : plain;
      return await this.request(body, rawBytes, events.length);
    } finally {
      this.releaseBody(buf);
    }
  }

  private async request(body: Buffer, rawBytes: number, count: number): Promise<Attempt> {
    const started = process.hrtime.bigint();
    this.m.inflight.inc({ sink: this.name });
    try {
      const res = await this.dispatcher!.request({
        origin: this.origin,
        path: `${this.basePath}/_bulk?filter_path=${BULK_FILTER_PATH}`,
        method: 'POST',
        headers: this.headers,
        body,
        signal: this.abort.signal,
      });
      const text = await res.body.text();
      this.m.duration.observe({ sink: this.name, status_code: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
      if (res.statusCode === 200) {
        this.m.sentBytes.inc({ sink: this.name }, rawBytes);
        this.m.sentBytesCompressed.inc({ sink: this.name }, body.length);
        this.m.batchEntries.observe({ sink: this.name }, count);
      }
      return { kind: 'response', status: res.statusCode, text, retryAfter: parseRetryAfter(res.headers['retry-after']) };
    } catch (err) {
      this.m.duration.observe({ sink: this.name, status_code: 'network' }, Number(process.hrtime.bigint() - started) / 1e9);
      return { kind: 'network', error: (err as Error).message };
    } finally {
      this.m.inflight.dec({ sink: this.name });
    }
  }

  private async reject(events: EsEvent[], status: number, error: ItemError): Promise<void> {
    await this.deadLetter(events.map((e) => ({ e, status, error })));
  }

  /** Appends to the dead-letter file (retrying while the disk refuses), then counts the drops. */
  private async deadLetter(rejected: Array<{ e: EsEvent; status: number; error: ItemError }>): Promise<void> {
    const time = new Date().toISOString();
    const letters: DeadLetter[] = rejected.map(({ e, status, error }) => {
      const nl = e.item.lines.indexOf('\n');
      const source = e.item.lines.slice(nl + 1, -1);
      let document: unknown = source;
      try {
        document = JSON.parse(source);
      } catch {
        // keep the text
      }
      const caused = error.caused_by?.reason ? ` (caused by ${error.caused_by.type ?? 'error'}: ${error.caused_by.reason})` : '';
      return { time, sink: this.name, index: e.item.index, ...(e.item.id ? { _id: e.item.id } : {}), status, reason: error.type, error: `${error.reason}${caused}`, document };
    });
    let fresh: DeadLetter[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        fresh = await this.deadLetters.write(letters);
        break;
      } catch (err) {
        if (this.abort.signal.aborted) return NEVER;
        this.log.error({ err: (err as Error).message, file: this.deadLetters.path, attempt }, 'writing the dead-letter file failed; retrying');
        await sleep(Math.min(30_000, 500 * 2 ** attempt), this.abort.signal);
      }
    }
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
    const get = await this.dispatcher!.request({ origin: this.origin, path: this.basePath + path, method: 'GET', headers: { ...authHeaders(this.cfg), accept: 'application/json' }, signal: this.abort.signal });
    const getText = await get.body.text();
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
    const put = await this.dispatcher!.request({ origin: this.origin, path: this.basePath + path, method: 'PUT', headers: { ...authHeaders(this.cfg), 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body), signal: this.abort.signal });
    const putText = await put.body.text();
    if (put.statusCode !== 200) throw Object.assign(new Error(`PUT ${path}: HTTP ${put.statusCode} ${putText.slice(0, 300)}`), { status: put.statusCode });
    return 'installed';
  }

  async stop(deadline: number): Promise<void> {
    const drained = await this.batcher.drain(deadline);
    if (!drained) this.log.warn({ queued: this.batcher.queued }, 'elasticsearch sink did not drain before the grace period ended; the rest is resent after restart (ids make it idempotent)');
    this.abort.abort();
    await this.deadLetters.close().catch(() => {});
    await this.dispatcher?.destroy().catch(() => {});
    this.dispatcher = null;
  }

  status(): SinkStatus {
    return {
      name: this.name, type: this.type, state: this.state,
      lastSuccess: this.stats.lastSuccess, lastError: this.stats.lastError, failingSince: this.stats.failingSince,
      retries: this.stats.retries, queued: this.batcher.queued, inflight: this.batcher.inflightRequests,
      sent: this.stats.sent, dropped: this.stats.dropped,
    };
  }
}
