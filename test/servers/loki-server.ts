/**
 * A Loki-compatible push endpoint for tests and benchmarks, faithful to what Loki's distributor
 * does with `POST /loki/api/v1/push` (pkg/loghttp/push/push.go, pkg/distributor, pkg/validation):
 *
 * - protobuf `logproto.PushRequest` in a raw snappy block (decoded by an independent snappy
 *   decoder and protobufjs loading push.proto), or JSON (optionally gzip/deflate);
 * - label strings parsed like Loki (syntax errors → 400), ≤ 15 names, name/value lengths,
 *   duplicate names, line size, structured metadata limits, too old / too new entries: each a
 *   400 with Loki's message while the valid streams of the same request are still stored;
 * - the per-tenant ingestion rate limit with burst (429 with Loki's message, nothing stored),
 *   the active stream limit (429), 413 for bodies over the size limit;
 * - exact duplicates (same stream, timestamp and line) are counted and not stored twice, as
 *   Loki's ingester does;
 * - failure injection for a period or a number of requests: a status (5xx, 429, 401, ...),
 *   dropping the connection, or hanging without an answer.
 *
 * It stores everything it accepted, either in full (entries, for small tests) or as a summary
 * (counts, stream label sets, structured metadata names, and optionally sequence numbers taken
 * from the lines, for million-line runs). With a journal file it survives a kill and restart.
 * Control and query endpoints live under /test/ so the server can run in its own process.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { Hash52Set } from './hash52-set.ts';
import { canonicalLabels, LabelParseError, parseLabelString } from './loki-labels.ts';
import { decodeSnappyBlock, SnappyFormatError, SnappyTooLargeError } from './loki-snappy-block.ts';

export interface LokiLimits {
  maxLabelNamesPerSeries: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  /** Bytes; 0 = unlimited. */
  maxLineSize: number;
  /** 0 = accept any age. */
  rejectOldSamplesMaxAgeMs: number;
  creationGracePeriodMs: number;
  /** Bytes per second per tenant; 0 = no limit. */
  ingestionRateBytes: number;
  ingestionBurstBytes: number;
  maxStructuredMetadataBytes: number;
  maxStructuredMetadataEntries: number;
  allowStructuredMetadata: boolean;
  maxStreamsPerTenant: number;
  /** Compressed body limit (distributor.max_recv_msg_size). */
  maxRecvMsgSize: number;
}

export const DEFAULT_LOKI_LIMITS: LokiLimits = {
  maxLabelNamesPerSeries: 15,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 2048,
  maxLineSize: 256 * 1000,
  rejectOldSamplesMaxAgeMs: 7 * 86_400_000,
  creationGracePeriodMs: 10 * 60_000,
  ingestionRateBytes: 0,
  ingestionBurstBytes: 6 * 1000 * 1000,
  maxStructuredMetadataBytes: 64 * 1000,
  maxStructuredMetadataEntries: 128,
  allowStructuredMetadata: true,
  maxStreamsPerTenant: 5000,
  maxRecvMsgSize: 100 * 1024 * 1024,
};

export type FailureMode =
  | { mode: 'status'; status: number; body?: string; retryAfter?: string }
  | { mode: 'drop' }
  | { mode: 'hang' }
  /** Store the request normally, then drop the connection instead of answering (a lost response). */
  | { mode: 'store-then-drop' };

export type Failure = FailureMode & { forMs?: number; times?: number };

export interface StoredEntry {
  /** Unix nanoseconds as a decimal string. */
  ts: string;
  sec: number;
  nanos: number;
  line: string;
  metadata: Record<string, string>;
}

export interface StoredStream {
  tenant: string;
  labels: string;
  pairs: Record<string, string>;
  /** Entries stored (full mode; empty in summary mode). */
  entries: StoredEntry[];
  count: number;
  bytes: number;
  /** Structured metadata name → entries carrying it. */
  metadataKeys: Record<string, number>;
}

export interface LokiServerOptions {
  port?: number;
  limits?: Partial<LokiLimits>;
  /** 'full' keeps every entry; 'summary' keeps counts and hashes (million-line runs). */
  store?: 'full' | 'summary';
  /** Append what is accepted here and replay it on start (survives kill -9 and restart). */
  journalPath?: string;
  /** A regex with one numeric capture group: count how often each sequence number arrived. */
  trackSeq?: RegExp;
  /** Required Authorization header value; anything else gets 401. */
  authorization?: string;
  /** Answer success with this status (Loki: 204). */
  successStatus?: number;
  /** Serve HTTPS; with `ca`, require a client certificate signed by it. */
  tls?: { key: string | Buffer; cert: string | Buffer; ca?: string | Buffer };
}

const PROTO = join(import.meta.dirname, 'push.proto');

interface DecodedEntry {
  sec: number;
  nanos: number;
  line: string;
  metadata: Array<[string, string]>;
  /** UTF-8 bytes of line: set by ingest's validation (0 before). */
  lineBytes: number;
}

interface DecodedStream {
  labels: string;
  entries: DecodedEntry[];
}

/** One accepted request, as journaled and replayed. */
interface Delta {
  t: string;
  s: Array<{ l: string; n: number; b: number; d: number; md: Record<string, number>; e?: Array<[number, number, string, Record<string, string>]>; h?: number[] }>;
  q?: number[];
}

/** x/time/rate's token bucket: AllowN fails for n > burst, otherwise when tokens run short. */
class TokenBucket {
  private tokens: number;
  private last = performance.now();
  rate: number;
  burst: number;
  constructor(rate: number, burst: number) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
  }
  allowN(n: number): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (n > this.burst || this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

/** Two FNV-1a states; `seed` starts a stream's entries from the hash of its identity. */
type Fnv2 = [number, number];

function fnv2(s: string, from: Fnv2 = [0x811c9dc5, 0x01000193 ^ 0x9e3779b9]): Fnv2 {
  let [a, b] = from;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return [a, b];
}

/**
 * 52 bits of two FNV-1a hashes of (stream, timestamp, line): a compact identity of an entry. The
 * stream's state is hashed once per push and the parts are folded in without building a string
 * (this server must stay cheaper than the shipper it measures).
 */
function entryHash52(stream: Fnv2, sec: number, nanos: number, line: string): number {
  let a = stream[0];
  let b = stream[1];
  for (const c of [sec >>> 0, Math.floor(sec / 0x100000000) >>> 0, nanos >>> 0, line.length]) {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  // Two UTF-16 units per round (the length is folded in above, so a last lone unit is unambiguous).
  const n = line.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const c = line.charCodeAt(i) | (line.charCodeAt(i + 1) << 16);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  if (i < n) {
    a = Math.imul(a ^ line.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ line.charCodeAt(i), 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

/** Go's `%v` of a time.Time in UTC: `2024-01-15 10:00:00.5 +0000 UTC`. */
function goTime(sec: number, nanos: number): string {
  const iso = new Date(sec * 1000).toISOString();
  const frac = nanos > 0 ? '.' + String(nanos).padStart(9, '0').replace(/0+$/, '') : '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac} +0000 UTC`;
}

export class LokiTestServer {
  readonly limits: LokiLimits;
  private readonly opts: LokiServerOptions;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly hung = new Set<ServerResponse>();
  private readonly dropAfterStore = new WeakSet<ServerResponse>();
  private failure: (Failure & { until: number; left: number }) | null = null;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly pushRequest: protobuf.Type;
  private readonly streamMap = new Map<string, StoredStream>();
  private readonly seen = new Hash52Set();
  private readonly fullSeen = new Map<string, Set<string>>();
  private seqCounts = new Uint8Array(1 << 16);
  private seqMax = -1;
  port = 0;

  entries = 0;
  bytes = 0;
  duplicates = 0;
  requests = 0;
  readonly statuses: Record<string, number> = {};
  readonly rejected: Record<string, number> = {};
  readonly headersSeen: Array<Record<string, string | string[] | undefined>> = [];
  readonly bodies: Array<{ contentType: string; contentEncoding: string; bytes: number; streams: number }> = [];

  constructor(opts: LokiServerOptions = {}) {
    this.opts = opts;
    this.limits = { ...DEFAULT_LOKI_LIMITS, ...opts.limits };
    this.pushRequest = protobuf.loadSync(PROTO).lookupType('logproto.PushRequest');
    if (opts.journalPath && existsSync(opts.journalPath)) {
      for (const line of readFileSync(opts.journalPath, 'utf8').split('\n')) {
        if (line.length > 0) this.apply(JSON.parse(line) as Delta);
      }
    }
  }

  get url(): string {
    return `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** Client certificate subjects seen on authorized TLS connections. */
  readonly clientCerts: string[] = [];

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const sock = req.socket as TLSSocket;
      if (this.opts.tls?.ca && sock.authorized) this.clientCerts.push(String(sock.getPeerCertificate().subject?.CN ?? ''));
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) this.reply(res, 500, `internal test server error: ${err.message}`);
      });
    };
    const tls = this.opts.tls;
    const server: Server = tls
      ? createHttpsServer({ keepAliveTimeout: 60_000, key: tls.key, cert: tls.cert, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, handler)
      : createServer({ keepAliveTimeout: 60_000 }, handler);
    server.on(tls ? 'secureConnection' : 'connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? this.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const r of this.hung) r.destroy();
    this.hung.clear();
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      for (const sock of this.sockets) sock.destroy();
    });
  }

  /** Fail requests as described, for `forMs` milliseconds and/or `times` requests (both: whichever ends first). */
  fail(f: Failure): void {
    this.failure = { ...f, until: f.forMs !== undefined ? Date.now() + f.forMs : Infinity, left: f.times ?? Infinity };
  }

  /** Requests held open by a `hang` failure right now. */
  get hanging(): number {
    return this.hung.size;
  }

  clearFailure(): void {
    this.failure = null;
    for (const r of this.hung) r.destroy();
    this.hung.clear();
  }

  setLimits(l: Partial<LokiLimits>): void {
    Object.assign(this.limits, l);
    this.buckets.clear();
  }

  /** Stored streams (all tenants). */
  streams(tenant?: string): StoredStream[] {
    return [...this.streamMap.values()].filter((s) => tenant === undefined || s.tenant === tenant);
  }

  /** All stored entries with their stream (full mode), in stream order. */
  allEntries(): Array<StoredEntry & { stream: StoredStream }> {
    const out: Array<StoredEntry & { stream: StoredStream }> = [];
    for (const s of this.streamMap.values()) for (const e of s.entries) out.push({ ...e, stream: s });
    return out;
  }

  /** Sequence numbers (trackSeq) in [0, n): how many never arrived, how many arrived more than once. */
  seqReport(n: number): { distinct: number; missing: number; missingSample: number[]; duplicated: number; extraCopies: number; max: number } {
    let missing = 0;
    let duplicated = 0;
    let extra = 0;
    let distinct = 0;
    const sample: number[] = [];
    for (let i = 0; i < Math.max(n, this.seqMax + 1); i++) {
      const c = i < this.seqCounts.length ? this.seqCounts[i] : 0;
      if (c > 0) distinct++;
      if (i < n && c === 0) {
        missing++;
        if (sample.length < 20) sample.push(i);
      }
      if (c > 1) {
        duplicated++;
        extra += c - 1;
      }
    }
    return { distinct, missing, missingSample: sample, duplicated, extraCopies: extra, max: this.seqMax };
  }

  summary(): Record<string, unknown> {
    return {
      entries: this.entries, bytes: this.bytes, duplicates: this.duplicates, requests: this.requests,
      statuses: this.statuses, rejected: this.rejected,
      streams: this.streams().map((s) => ({ tenant: s.tenant, labels: s.labels, pairs: s.pairs, count: s.count, bytes: s.bytes, metadataKeys: s.metadataKeys })),
    };
  }

  private reply(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    if (this.dropAfterStore.has(res)) {
      res.socket?.destroy();
      return;
    }
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(body.length > 0 ? body + '\n' : '');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/test/')) return this.control(url, req, res);
    if (url.pathname === '/ready') return this.reply(res, 200, 'ready');
    if (url.pathname !== '/loki/api/v1/push' || req.method !== 'POST') return this.reply(res, 404, '404 page not found');

    const f = this.failure;
    if (f !== null) {
      if (Date.now() >= f.until || f.left <= 0) this.failure = null;
      else {
        f.left--;
        if (f.mode === 'drop') {
          req.socket.destroy();
          return;
        }
        if (f.mode === 'hang') {
          this.hung.add(res);
          req.resume();
          return;
        }
        if (f.mode === 'store-then-drop') this.dropAfterStore.add(res);
        else {
          await readBody(req, this.limits.maxRecvMsgSize).catch(() => null);
          return this.reply(res, f.status, f.body ?? defaultFailureBody(f.status), f.retryAfter ? { 'retry-after': f.retryAfter } : {});
        }
      }
    }

    this.requests++;
    if (this.opts.authorization !== undefined && req.headers.authorization !== this.opts.authorization) {
      await readBody(req, this.limits.maxRecvMsgSize).catch(() => null);
      return this.reply(res, 401, 'Unauthorized');
    }
    this.headersSeen.push({ ...req.headers });
    if (this.headersSeen.length > 100) this.headersSeen.shift();
    const tenant = (req.headers['x-scope-orgid'] as string | undefined) ?? 'fake';

    const body = await readBody(req, this.limits.maxRecvMsgSize);
    if (body === null) return this.reply(res, 413, `request body too large: limit: ${this.limits.maxRecvMsgSize} bytes`);

    let streams: DecodedStream[];
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim();
    const encoding = (req.headers['content-encoding'] ?? '').trim();
    try {
      streams = contentType === 'application/json' ? this.decodeJson(body, encoding) : this.decodeProtobuf(body, encoding);
    } catch (err) {
      if (err instanceof BodyTooLarge) return this.reply(res, 413, err.message);
      return this.reply(res, 400, (err as Error).message);
    }
    this.bodies.push({ contentType, contentEncoding: encoding, bytes: body.length, streams: streams.length });
    if (this.bodies.length > 100) this.bodies.shift();
    return this.ingest(tenant, streams, res);
  }

  private decodeProtobuf(body: Buffer, encoding: string): DecodedStream[] {
    if (encoding !== '' && encoding !== 'snappy') throw new Error(`Content-Encoding "${encoding}" not supported`);
    let raw: Buffer;
    try {
      raw = decodeSnappyBlock(body, this.limits.maxRecvMsgSize * 50);
    } catch (err) {
      if (err instanceof SnappyTooLargeError) throw new BodyTooLarge(err.message);
      if (err instanceof SnappyFormatError) throw new Error(err.message);
      throw err;
    }
    const msg = this.pushRequest.decode(raw) as unknown as {
      streams: Array<{ labels: string; entries: Array<{ timestamp?: { seconds?: number | { toNumber(): number }; nanos?: number }; line: string; structuredMetadata?: Array<{ name: string; value: string }> }> }>;
    };
    return msg.streams.map((s) => ({
      labels: s.labels,
      entries: s.entries.map((e) => {
        const secs = e.timestamp?.seconds ?? 0;
        return {
          sec: typeof secs === 'number' ? secs : secs.toNumber(),
          nanos: e.timestamp?.nanos ?? 0,
          line: e.line,
          metadata: (e.structuredMetadata ?? []).map((p) => [p.name, p.value] as [string, string]),
          lineBytes: 0,
        };
      }),
    }));
  }

  private decodeJson(body: Buffer, encoding: string): DecodedStream[] {
    let raw = body;
    if (encoding === 'gzip') raw = gunzipSync(body);
    else if (encoding === 'deflate') raw = inflateSync(body);
    else if (encoding !== '') throw new Error(`Content-Encoding "${encoding}" not supported`);
    const doc = JSON.parse(raw.toString('utf8')) as { streams: Array<{ stream: Record<string, string>; values: Array<[string, string, Record<string, string>?]> }> };
    if (!Array.isArray(doc.streams)) throw new Error('JSON body: "streams" must be an array');
    return doc.streams.map((s) => {
      const pairs = Object.entries(s.stream ?? {}).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      return {
        labels: canonicalLabels(pairs),
        entries: s.values.map(([ts, line, md]) => {
          if (!/^\d+$/.test(ts)) throw new Error(`JSON body: timestamp ${JSON.stringify(ts)} is not unix nanoseconds`);
          const big = BigInt(ts);
          return { sec: Number(big / 1_000_000_000n), nanos: Number(big % 1_000_000_000n), line, metadata: Object.entries(md ?? {}), lineBytes: 0 };
        }),
      };
    });
  }

  private ingest(tenant: string, streams: DecodedStream[], res: ServerResponse): void {
    const L = this.limits;
    const errors: string[] = [];
    const reject = (reason: string, n: number, msg: string) => {
      this.rejected[reason] = (this.rejected[reason] ?? 0) + n;
      errors.push(msg);
    };
    const now = Date.now();
    const oldest = L.rejectOldSamplesMaxAgeMs > 0 ? now - L.rejectOldSamplesMaxAgeMs : -Infinity;
    const newest = now + L.creationGracePeriodMs;
    const valid: Array<{ labels: string; pairs: Array<[string, string]>; entries: DecodedEntry[] }> = [];
    let validBytes = 0;
    let validLines = 0;
    for (const s of streams) {
      let pairs: Array<[string, string]>;
      try {
        pairs = parseLabelString(s.labels);
      } catch (err) {
        if (!(err instanceof LabelParseError)) throw err;
        reject('invalid_labels', s.entries.length, `Error parsing labels '${s.labels}' with error: ${err.message}`);
        continue;
      }
      const key = canonicalLabels(pairs);
      const labelErr = this.validateLabels(key, pairs);
      if (labelErr !== null) {
        reject(labelErr[0], s.entries.length, labelErr[1]);
        continue;
      }
      const ok: DecodedEntry[] = [];
      for (const e of s.entries) {
        const ms = e.sec * 1000 + e.nanos / 1e6;
        if (ms < oldest) {
          reject('greater_than_max_sample_age', 1, `entry for stream '${key}' has timestamp too old: ${goTime(e.sec, e.nanos)}, oldest acceptable timestamp is: ${goTime(Math.floor(oldest / 1000), (oldest % 1000) * 1e6)}`);
          continue;
        }
        if (ms > newest) {
          reject('too_far_in_future', 1, `entry for stream '${key}' has timestamp too new: ${goTime(e.sec, e.nanos)}`);
          continue;
        }
        const lineBytes = Buffer.byteLength(e.line);
        e.lineBytes = lineBytes;
        if (L.maxLineSize > 0 && lineBytes > L.maxLineSize) {
          reject('line_too_long', 1, `Max entry size '${L.maxLineSize}' bytes exceeded for stream '${key}' while adding an entry with length '${lineBytes}' bytes`);
          continue;
        }
        let mdBytes = 0;
        for (const [k, v] of e.metadata) mdBytes += Buffer.byteLength(k) + Buffer.byteLength(v);
        if (e.metadata.length > 0 && !L.allowStructuredMetadata) {
          reject('disallowed_structured_metadata', 1, `stream '${key}' includes structured metadata, but this feature is disallowed. Please see \`limits_config.allow_structured_metadata\` or contact your Loki administrator to enable it.`);
          continue;
        }
        if (mdBytes > L.maxStructuredMetadataBytes) {
          reject('structured_metadata_too_large', 1, `stream '${key}' has structured metadata too large: '${mdBytes}' bytes, limit: '${L.maxStructuredMetadataBytes}' bytes. Please see \`limits_config.max_structured_metadata_size\` or contact your Loki administrator to increase it.`);
          continue;
        }
        if (e.metadata.length > L.maxStructuredMetadataEntries) {
          reject('structured_metadata_too_many', 1, `stream '${key}' has too many structured metadata labels: '${e.metadata.length}', limit: '${L.maxStructuredMetadataEntries}'. Please see \`limits_config.max_structured_metadata_entries_count\` or contact your Loki administrator to increase it.`);
          continue;
        }
        ok.push(e);
        validBytes += lineBytes + mdBytes;
        validLines++;
      }
      if (ok.length > 0) valid.push({ labels: key, pairs, entries: ok });
    }
    const validationError = errors.length === 0 ? null : errors.length === 1 ? errors[0] : `${errors.length} errors: ${errors.join('; ')}`;

    if (valid.length > 0 && L.ingestionRateBytes > 0) {
      let b = this.buckets.get(tenant);
      if (b === undefined) {
        b = new TokenBucket(L.ingestionRateBytes, L.ingestionBurstBytes);
        this.buckets.set(tenant, b);
      }
      if (!b.allowN(validBytes)) {
        this.rejected.rate_limited = (this.rejected.rate_limited ?? 0) + validLines;
        return this.reply(res, 429, `Ingestion rate limit exceeded for user ${tenant} (limit: ${L.ingestionRateBytes} bytes/sec) while attempting to ingest '${validLines}' lines totaling '${validBytes}' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased`);
      }
    }

    const delta: Delta = { t: tenant, s: [] };
    const streamErrors: string[] = [];
    let active = this.streams(tenant).length;
    for (const v of valid) {
      const id = `${tenant}\u0000${v.labels}`;
      const isNew = !this.streamMap.has(id) && !delta.s.some((d) => d.l === v.labels);
      if (isNew && active >= L.maxStreamsPerTenant) {
        this.rejected.stream_limit = (this.rejected.stream_limit ?? 0) + v.entries.length;
        streamErrors.push(`Maximum active stream limit exceeded when trying to create stream ${v.labels}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '${tenant}'`);
        continue;
      }
      if (isNew) active++;
      delta.s.push(this.deltaFor(tenant, v.labels, v.entries, delta));
    }
    this.apply(delta);
    if (this.opts.journalPath && delta.s.length > 0) appendFileSync(this.opts.journalPath, JSON.stringify(delta) + '\n');
    if (streamErrors.length > 0) return this.reply(res, 429, streamErrors.join('\n'));
    if (validationError !== null) return this.reply(res, 400, validationError);
    return this.reply(res, this.opts.successStatus ?? 204, '');
  }

  private validateLabels(key: string, pairs: Array<[string, string]>): [string, string] | null {
    const L = this.limits;
    if (pairs.length === 0) return ['missing_labels', 'error at least one label pair is required per stream'];
    if (pairs.length > L.maxLabelNamesPerSeries) return ['max_label_names_per_series', `entry for stream '${key}' has ${pairs.length} label names; limit ${L.maxLabelNamesPerSeries}`];
    let last = '';
    for (const [name, value] of pairs) {
      if (name.length > L.maxLabelNameLength) return ['label_name_too_long', `stream '${key}' has label name too long: '${name}'`];
      if (Buffer.byteLength(value) > L.maxLabelValueLength) return ['label_value_too_long', `stream '${key}' has label value too long: '${value}'`];
      if (name === last) return ['duplicate_label_names', `stream '${key}' has duplicate label name: '${name}'`];
      last = name;
    }
    return null;
  }

  /** Decides what of a stream's valid entries is new (duplicates are counted, not stored). */
  private deltaFor(tenant: string, labels: string, entries: DecodedEntry[], delta: Delta): Delta['s'][number] {
    const full = (this.opts.store ?? 'full') === 'full';
    const d: Delta['s'][number] = { l: labels, n: 0, b: 0, d: 0, md: {} };
    if (full) d.e = [];
    else d.h = [];
    const id = `${tenant}\u0000${labels}`;
    let fullSeen = this.fullSeen.get(id);
    if (full && fullSeen === undefined) {
      fullSeen = new Set();
      this.fullSeen.set(id, fullSeen);
    }
    const streamHash = full ? null : fnv2(id);
    // Counted in two arrays (a stream has a handful of metadata names): `d.md[k]` with a different
    // name per entry deoptimized this loop ("unexpected name in keyed access") hundreds of times per
    // run, so it never left baseline code, and a Map cost two hash lookups per pair.
    const mdNames: string[] = [];
    const mdCounts: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (full) {
        const k = `${e.sec}.${e.nanos}\u0000${e.line}`;
        if (fullSeen!.has(k)) {
          d.d++;
          continue;
        }
        fullSeen!.add(k);
        d.e!.push([e.sec, e.nanos, e.line, Object.fromEntries(e.metadata)]);
      } else {
        const h = entryHash52(streamHash!, e.sec, e.nanos, e.line);
        // Added now, not in apply (which follows at once and adds again, a no-op): a repeat
        // within this push is a duplicate too.
        if (!this.seen.add(h)) {
          d.d++;
          continue;
        }
        d.h!.push(h);
      }
      d.n++;
      d.b += e.lineBytes;
      const md = e.metadata;
      for (let j = 0; j < md.length; j++) {
        const name = md[j][0];
        let k = 0;
        while (k < mdNames.length && mdNames[k] !== name) k++;
        if (k === mdNames.length) {
          mdNames.push(name);
          mdCounts.push(1);
        } else mdCounts[k]++;
      }
      if (this.opts.trackSeq) {
        const m = this.opts.trackSeq.exec(e.line);
        if (m) (delta.q ??= []).push(Number(m[1]));
      }
    }
    for (let k = 0; k < mdNames.length; k++) d.md[mdNames[k]] = mdCounts[k];
    return d;
  }

  private apply(delta: Delta): void {
    for (const s of delta.s) {
      const id = `${delta.t}\u0000${s.l}`;
      let st = this.streamMap.get(id);
      if (st === undefined) {
        st = { tenant: delta.t, labels: s.l, pairs: Object.fromEntries(parseLabelString(s.l)), entries: [], count: 0, bytes: 0, metadataKeys: {} };
        this.streamMap.set(id, st);
      }
      st.count += s.n;
      st.bytes += s.b;
      this.entries += s.n;
      this.bytes += s.b;
      this.duplicates += s.d;
      for (const [k, n] of Object.entries(s.md)) st.metadataKeys[k] = (st.metadataKeys[k] ?? 0) + n;
      if (s.e) {
        let seen = this.fullSeen.get(id);
        if (seen === undefined) {
          seen = new Set();
          this.fullSeen.set(id, seen);
        }
        for (const [sec, nanos, line, md] of s.e) {
          st.entries.push({ ts: nanosString(sec, nanos), sec, nanos, line, metadata: md });
          seen.add(`${sec}.${nanos}\u0000${line}`);
        }
      }
      if (s.h) for (const h of s.h) this.seen.add(h);
    }
    if (delta.q) for (const q of delta.q) this.countSeq(q);
  }

  private countSeq(q: number): void {
    if (q >= this.seqCounts.length) {
      let size = this.seqCounts.length;
      while (size <= q) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.seqCounts);
      this.seqCounts = next;
    }
    if (this.seqCounts[q] < 255) this.seqCounts[q]++;
    if (q > this.seqMax) this.seqMax = q;
  }

  private async control(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, v: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(v));
    };
    const body = req.method === 'POST' ? (await readBody(req, 1 << 20))?.toString('utf8') ?? '' : '';
    switch (url.pathname) {
      case '/test/summary': return json(200, this.summary());
      case '/test/count': return json(200, { entries: this.entries, duplicates: this.duplicates, requests: this.requests });
      case '/test/seq': return json(200, this.seqReport(Number(url.searchParams.get('n') ?? '0')));
      case '/test/fail': this.fail(JSON.parse(body) as Failure); return json(200, { ok: true });
      case '/test/clear-failure': this.clearFailure(); return json(200, { ok: true });
      case '/test/limits': this.setLimits(JSON.parse(body) as Partial<LokiLimits>); return json(200, this.limits);
      case '/test/entries': return json(200, this.allEntries().map((e) => ({ labels: e.stream.labels, ts: e.ts, line: e.line, metadata: e.metadata })));
      default: return json(404, { error: 'unknown control endpoint' });
    }
  }
}

class BodyTooLarge extends Error {}

function defaultFailureBody(status: number): string {
  if (status === 429) return 'Ingestion rate limit exceeded for user fake (limit: 4194304 bytes/sec) while attempting to ingest \'1\' lines totaling \'1\' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased';
  if (status >= 500) return 'rpc error: code = Unavailable desc = at least 1 live replicas required, could only find 0';
  if (status === 401) return 'no org id';
  return `injected failure ${status}`;
}

/** Reads a request body; null when it exceeds `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function nanosString(sec: number, nanos: number): string {
  return (BigInt(sec) * 1_000_000_000n + BigInt(nanos)).toString();
}

