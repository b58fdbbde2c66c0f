import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { DocumentMapper, MappingError, mergeMappings, type RootMapping } from './es-mapping.ts';
import { prng } from '../support/seeded-lines.ts';

/**
 * An Elasticsearch-compatible test server (the parts a log shipper touches), faithful to ES's
 * protocol: `_bulk` NDJSON parsed as BulkRequestParser does (final newline required, unknown
 * actions and malformed action lines refused with ES's messages), gzip/deflate bodies, per-item
 * results in ES's shape, `create` semantics (409 on an existing `_id`), data streams (create
 * only), composable index + component templates applied to new indices, mappings enforced
 * (a string into a `long` → 400 mapper_parsing_exception), `filter_path`, and injectable faults
 * (per-item 429/503, whole-request failures). Runs in-process or via es-server-main.ts.
 */

export interface EsServerOptions {
  port?: number;
  /** http.max_content_length (decompressed bytes); over it → 413. ES's default is 100mb. */
  maxContentLength?: number;
  /** Required Authorization header value (e.g. "ApiKey …", "Basic …", "Bearer …"); none = open. */
  authorization?: string;
  /** Keep document sources (tests reading documents); off = only ids (benchmarks with millions). */
  storeSource?: boolean;
  /** ES ships a built-in `logs` template (logs-*-*, priority 100, data_stream). */
  builtinLogsTemplate?: boolean;
  /** Seed of the fault-injection PRNG. */
  seed?: number;
}

export interface ItemFault {
  status: 429 | 500 | 503;
  /** Fraction of items that fail while active. */
  rate: number;
  /** Epoch ms after which the fault stops (undefined: until cleared). */
  until?: number;
}

export interface RequestFault {
  status: number;
  until?: number;
  /** Fail this many requests, then stop. */
  count?: number;
}

interface StoredIndex {
  name: string;
  dataStream: boolean;
  /** For data streams, the backing index reported in item results. */
  writeIndex: string;
  mapper: DocumentMapper;
  ids: Set<string>;
  sources: Map<string, Record<string, unknown>> | null;
  seq: number;
}

interface Template {
  index_patterns?: string[];
  priority?: number;
  composed_of?: string[];
  data_stream?: Record<string, unknown>;
  template?: { mappings?: Partial<RootMapping>; settings?: Record<string, unknown> };
  _meta?: Record<string, unknown>;
}

export interface EsServerStats {
  bulkRequests: number;
  gzipRequests: number;
  items: number;
  created: number;
  conflicts: number;
  mappingRejections: number;
  injectedItemFailures: number;
  injectedRequestFailures: number;
  requestsTooLarge: number;
  unauthorized: number;
  templatePuts: number;
  maxItemsPerRequest: number;
  bytesReceived: number;
}

const ACTIONS = new Set(['create', 'delete', 'index', 'update']);
const ACTION_PARAMS = new Set(['_index', '_id', 'routing', 'op_type', 'version', 'version_type', 'if_seq_no', 'if_primary_term', 'retry_on_conflict', 'pipeline', 'require_alias', 'require_data_stream', 'list_executed_pipelines', '_source', 'dynamic_templates']);

class RequestError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(status: number, type: string, reason: string) {
    super(reason);
    this.status = status;
    this.type = type;
  }
}

function esError(status: number, type: string, reason: string): { error: unknown; status: number } {
  return { error: { root_cause: [{ type, reason }], type, reason }, status };
}

function globToRegExp(p: string): RegExp {
  return new RegExp('^' + p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
}

/** ES's index-name rules (MetadataCreateIndexService.validateIndexOrAliasName). */
export function invalidIndexName(name: string): string | null {
  if (name !== name.toLowerCase()) return 'must be lowercase';
  const bad = /[\\/*?"<>| ,#:]/.exec(name);
  if (bad) return `must not contain the following characters [' ', '"', '*', ',', '/', ':', '<', '>', '?', '\\', '|']`;
  if (/^[-_+]/.test(name)) return "must not start with '_', '-', or '+'";
  if (name === '.' || name === '..') return "must not be '.' or '..'";
  if (Buffer.byteLength(name) > 255) return 'index name is too long, (' + Buffer.byteLength(name) + ' > 255)';
  return null;
}

const globs = new Map<string, RegExp>();
const filterSpecs = new Map<string, string[][]>();

/** Whether a filter_path segment (`name`, `*`, `na*e`) selects key `k`. */
function segmentMatches(seg: string, k: string): boolean {
  if (seg === '*' || seg === k) return true;
  if (!seg.includes('*')) return false;
  let re = globs.get(seg);
  if (re === undefined) globs.set(seg, (re = globToRegExp(seg)));
  return re.test(k);
}

/**
 * ES's filter_path: dotted paths with `*` segments, transparent through arrays; empty objects
 * dropped. A pattern is matched from segment `depth` on (no copies per key: this runs on every
 * item of every bulk response).
 */
export function filterPath(value: unknown, spec: string): unknown {
  let patterns = filterSpecs.get(spec);
  if (patterns === undefined) {
    patterns = spec.split(',').map((p) => p.trim()).filter(Boolean).map((p) => p.split('.'));
    filterSpecs.set(spec, patterns);
  }
  const walk = (v: unknown, pats: string[][], depth: number): unknown => {
    for (const p of pats) if (p.length === depth) return v;
    if (Array.isArray(v)) {
      const out = v.map((x) => walk(x, pats, depth)).filter((x) => x !== undefined);
      return out.length > 0 ? out : undefined;
    }
    if (v === null || typeof v !== 'object') return undefined;
    const out: Record<string, unknown> = {};
    let any = false;
    for (const k in v as Record<string, unknown>) {
      let next: string[][] | undefined;
      for (const p of pats) if (segmentMatches(p[depth], k)) (next ??= []).push(p);
      if (next === undefined) continue;
      const r = walk((v as Record<string, unknown>)[k], next, depth + 1);
      if (r !== undefined) {
        out[k] = r;
        any = true;
      }
    }
    return any ? out : undefined;
  };
  return walk(value, patterns, 0) ?? {};
}


/**
 * JSON.parse of one bulk line, read as the second element of a two-byte array: V8 interns short
 * string values of a one-byte source (one string-table miss per distinct id), which made this
 * server cost as much CPU as the shipper it measures. Same result and errors as JSON.parse.
 */
function parseOneValue(text: string): unknown {
  let wrapped: unknown[] | undefined;
  try {
    wrapped = JSON.parse('["\u0100",' + text + ']') as unknown[];
  } catch {
    // not one JSON value: JSON.parse below throws the error ES reports
  }
  return wrapped !== undefined && wrapped.length === 2 ? wrapped[1] : JSON.parse(text);
}

export class EsServer {
  readonly opts: Required<Omit<EsServerOptions, 'authorization'>> & { authorization?: string };
  readonly indices = new Map<string, StoredIndex>();
  readonly indexTemplates = new Map<string, Template>();
  readonly componentTemplates = new Map<string, { template?: Template['template']; _meta?: Record<string, unknown> }>();
  itemFault: ItemFault | null = null;
  requestFaults: RequestFault[] = [];
  stats: EsServerStats = { bulkRequests: 0, gzipRequests: 0, items: 0, created: 0, conflicts: 0, mappingRejections: 0, injectedItemFailures: 0, injectedRequestFailures: 0, requestsTooLarge: 0, unauthorized: 0, templatePuts: 0, maxItemsPerRequest: 0, bytesReceived: 0 };
  /** Every status code answered to /_bulk, with counts. */
  readonly bulkStatuses = new Map<number, number>();
  private server: Server | null = null;
  private random: () => number;
  private autoId = 0;
  port = 0;

  constructor(opts: EsServerOptions = {}) {
    this.opts = { port: 0, maxContentLength: 100 * 1024 * 1024, storeSource: true, builtinLogsTemplate: true, seed: 1, ...opts };
    this.random = prng(this.opts.seed);
    if (this.opts.builtinLogsTemplate) {
      this.indexTemplates.set('logs', { index_patterns: ['logs-*-*'], priority: 100, data_stream: {}, template: { mappings: { properties: { '@timestamp': { type: 'date' } } } }, _meta: { managed: true, description: 'built-in logs template' } });
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<number> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) this.json(res, 500, esError(500, 'exception', err.message));
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(this.opts.port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = null;
  }

  /** Fail `rate` of items with `status` for `forMs` (or until cleared). */
  failItems(status: ItemFault['status'], rate: number, forMs?: number): void {
    this.itemFault = { status, rate, ...(forMs !== undefined ? { until: Date.now() + forMs } : {}) };
  }

  /** Fail whole `_bulk` requests with `status`, for `forMs` or `count` requests. */
  failRequests(status: number, opts: { forMs?: number; count?: number } = {}): void {
    this.requestFaults.push({ status, ...(opts.forMs !== undefined ? { until: Date.now() + opts.forMs } : {}), ...(opts.count !== undefined ? { count: opts.count } : {}) });
  }

  clearFaults(): void {
    this.itemFault = null;
    this.requestFaults = [];
  }

  /** Documents in indices (or data streams) matching a comma-separated pattern list. */
  count(pattern = '*'): number {
    let n = 0;
    for (const idx of this.match(pattern)) n += idx.ids.size;
    return n;
  }

  ids(pattern = '*'): string[] {
    const out: string[] = [];
    for (const idx of this.match(pattern)) for (const id of idx.ids) out.push(id);
    return out;
  }

  docs(pattern = '*'): Array<{ _index: string; _id: string; _source: Record<string, unknown> }> {
    const out: Array<{ _index: string; _id: string; _source: Record<string, unknown> }> = [];
    for (const idx of this.match(pattern)) if (idx.sources) for (const [id, s] of idx.sources) out.push({ _index: idx.name, _id: id, _source: s });
    return out;
  }

  mapping(index: string): RootMapping | undefined {
    return this.indices.get(index)?.mapper.mapping;
  }

  private match(pattern: string): StoredIndex[] {
    const res = pattern.split(',').map(globToRegExp);
    return [...this.indices.values()].filter((i) => res.some((r) => r.test(i.name)));
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch', ...headers });
    res.end(text);
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private authorized(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (!this.opts.authorization || req.headers.authorization === this.opts.authorization) return true;
    this.stats.unauthorized++;
    const reason = req.headers.authorization ? `unable to authenticate with provided credentials for REST request [${path}]` : `missing authentication credentials for REST request [${path}]`;
    this.json(res, 401, esError(401, 'security_exception', reason), { 'www-authenticate': 'ApiKey, Basic realm="security" charset="UTF-8"' });
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (segs[0] === '_logship_test') return this.control(req, res, segs[1], method);
    if (!this.authorized(req, res, path)) {
      await this.readBody(req);
      return;
    }
    if (segs.length === 0 && (method === 'GET' || method === 'HEAD')) {
      return this.json(res, 200, { name: 'es-test', cluster_name: 'logship-test', version: { number: '8.15.0', build_flavor: 'default', lucene_version: '9.11.1', minimum_wire_compatibility_version: '7.17.0' }, tagline: 'You Know, for Search' });
    }
    if ((segs[0] === '_bulk' && segs.length === 1) || (segs[1] === '_bulk' && segs.length === 2)) {
      if (method !== 'POST' && method !== 'PUT') return this.json(res, 405, esError(405, 'method_not_allowed', `Incorrect HTTP method for uri [${path}] and method [${method}], allowed: [POST, PUT]`));
      return this.bulk(req, res, segs.length === 2 ? segs[0] : undefined, url.searchParams);
    }
    if ((segs[0] === '_index_template' || segs[0] === '_component_template') && segs.length === 2) return this.template(req, res, segs[0], segs[1], method);
    if (segs[segs.length - 1] === '_count') {
      await this.readBody(req);
      return this.json(res, 200, { count: this.count(segs.length === 2 ? segs[0] : '*'), _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } });
    }
    if (segs.length === 2 && segs[1] === '_mapping') {
      const idx = this.match(segs[0]);
      if (idx.length === 0) return this.json(res, 404, esError(404, 'index_not_found_exception', `no such index [${segs[0]}]`));
      return this.json(res, 200, Object.fromEntries(idx.map((i) => [i.writeIndex, { mappings: i.mapper.mapping }])));
    }
    if (segs.length === 3 && segs[1] === '_doc' && method === 'GET') {
      const idx = this.indices.get(segs[0]);
      const src = idx?.sources?.get(segs[2]);
      const found = idx?.ids.has(segs[2]) ?? false;
      return this.json(res, found ? 200 : 404, { _index: idx?.writeIndex ?? segs[0], _id: segs[2], found, ...(src ? { _source: src } : {}) });
    }
    await this.readBody(req);
    this.json(res, 400, esError(400, 'illegal_argument_exception', `request [${path}] contains unrecognized parameter or path (test server)`));
  }

  /** Out-of-process control: GET stats, POST faults, GET ids. */
  private async control(req: IncomingMessage, res: ServerResponse, what: string | undefined, method: string): Promise<void> {
    const body = await this.readBody(req);
    if (what === 'stats') {
      const indices = Object.fromEntries([...this.indices.values()].map((i) => [i.name, i.ids.size]));
      return this.json(res, 200, { ...this.stats, count: this.count(), indices, statuses: Object.fromEntries(this.bulkStatuses) });
    }
    if (what === 'faults' && method === 'POST') {
      const f = JSON.parse(body.toString('utf8') || '{}') as { items?: { status: ItemFault['status']; rate: number; for_ms?: number }; requests?: { status: number; for_ms?: number; count?: number }; clear?: boolean };
      if (f.clear) this.clearFaults();
      if (f.items) this.failItems(f.items.status, f.items.rate, f.items.for_ms);
      if (f.requests) this.failRequests(f.requests.status, { forMs: f.requests.for_ms, count: f.requests.count });
      return this.json(res, 200, { acknowledged: true });
    }
    if (what === 'ids') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(this.ids().join('\n'));
      return;
    }
    this.json(res, 404, { error: 'unknown control endpoint' });
  }

  private async template(req: IncomingMessage, res: ServerResponse, kind: string, name: string, method: string): Promise<void> {
    const body = await this.readBody(req);
    const store = kind === '_index_template' ? this.indexTemplates : this.componentTemplates;
    if (method === 'GET') {
      const t = store.get(name);
      if (!t) return this.json(res, 404, esError(404, 'resource_not_found_exception', `${kind === '_index_template' ? 'index template' : 'component template'} matching [${name}] not found`));
      return this.json(res, 200, kind === '_index_template' ? { index_templates: [{ name, index_template: t }] } : { component_templates: [{ name, component_template: t }] });
    }
    if (method === 'DELETE') {
      store.delete(name);
      return this.json(res, 200, { acknowledged: true });
    }
    if (method !== 'PUT' && method !== 'POST') return this.json(res, 405, esError(405, 'method_not_allowed', `Incorrect HTTP method [${method}]`));
    let t: Template;
    try {
      t = JSON.parse(body.toString('utf8')) as Template;
    } catch (e) {
      return this.json(res, 400, esError(400, 'x_content_parse_exception', (e as Error).message));
    }
    if (kind === '_index_template') {
      if (!Array.isArray(t.index_patterns) || t.index_patterns.length === 0) return this.json(res, 400, esError(400, 'action_request_validation_exception', 'Validation Failed: 1: index patterns are missing;'));
      for (const c of t.composed_of ?? []) {
        if (!this.componentTemplates.has(c)) return this.json(res, 400, esError(400, 'invalid_index_template_exception', `index_template [${name}] invalid, cause [index template [${name}] specifies component templates [${c}] that do not exist]`));
      }
      const prio = t.priority ?? 0;
      for (const [other, o] of this.indexTemplates) {
        if (other === name || (o.priority ?? 0) !== prio) continue;
        const overlap = o.index_patterns?.some((a) => t.index_patterns!.some((b) => globToRegExp(a).test(b.replace(/\*/g, 'x')) || globToRegExp(b).test(a.replace(/\*/g, 'x'))));
        if (overlap) return this.json(res, 400, esError(400, 'illegal_argument_exception', `index template [${name}] has index patterns ${JSON.stringify(t.index_patterns)} matching patterns from existing templates [${other}] with patterns (${other} => ${JSON.stringify(o.index_patterns)}) that have the same priority [${prio}], multiple index templates may not match during index creation, please use a different priority`));
      }
    }
    this.stats.templatePuts++;
    store.set(name, t);
    this.json(res, 200, { acknowledged: true });
  }

  /** Highest-priority composable template whose patterns match (ES's template resolution). */
  private findTemplate(index: string): Template | undefined {
    let best: Template | undefined;
    for (const t of this.indexTemplates.values()) {
      if (!t.index_patterns?.some((p) => globToRegExp(p).test(index))) continue;
      if (!best || (t.priority ?? 0) > (best.priority ?? 0)) best = t;
    }
    return best;
  }

  private createIndex(name: string): StoredIndex {
    const t = this.findTemplate(name);
    const mapping: RootMapping = { properties: {} };
    let limit = 1000;
    const settingsOf = (s: Record<string, unknown> | undefined) => {
      const v = (s?.['index.mapping.total_fields.limit'] ?? (s as { index?: { mapping?: { total_fields?: { limit?: unknown } } } } | undefined)?.index?.mapping?.total_fields?.limit);
      if (v !== undefined) limit = Number(v);
    };
    if (t) {
      for (const c of t.composed_of ?? []) {
        const ct = this.componentTemplates.get(c);
        mergeMappings(mapping, ct?.template?.mappings);
        settingsOf(ct?.template?.settings);
      }
      mergeMappings(mapping, t.template?.mappings);
      settingsOf(t.template?.settings);
    }
    const dataStream = t?.data_stream !== undefined;
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '.');
    const idx: StoredIndex = { name, dataStream, writeIndex: dataStream ? `.ds-${name}-${today}-000001` : name, mapper: new DocumentMapper(mapping, limit), ids: new Set(), sources: this.opts.storeSource ? new Map() : null, seq: 0 };
    this.indices.set(name, idx);
    return idx;
  }

  private activeRequestFault(): RequestFault | undefined {
    const now = Date.now();
    this.requestFaults = this.requestFaults.filter((f) => (f.until === undefined || f.until > now) && (f.count === undefined || f.count > 0));
    const f = this.requestFaults[0];
    if (f?.count !== undefined) f.count--;
    return f;
  }

  private async bulk(req: IncomingMessage, res: ServerResponse, defaultIndex: string | undefined, params: URLSearchParams): Promise<void> {
    const started = Date.now();
    this.stats.bulkRequests++;
    const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
      this.bulkStatuses.set(status, (this.bulkStatuses.get(status) ?? 0) + 1);
      this.json(res, status, body, headers);
    };
    let raw = await this.readBody(req);
    this.stats.bytesReceived += raw.length;
    const fault = this.activeRequestFault();
    if (fault) {
      this.stats.injectedRequestFailures++;
      const type = fault.status === 429 ? 'es_rejected_execution_exception' : fault.status === 503 ? 'unavailable_shards_exception' : fault.status === 401 ? 'security_exception' : fault.status === 403 ? 'security_exception' : 'exception';
      return answer(fault.status, esError(fault.status, type, `injected ${fault.status} (${type})`));
    }
    const ctype = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (ctype !== 'application/x-ndjson' && ctype !== 'application/json' && ctype !== 'application/vnd.elasticsearch+x-ndjson' && ctype !== 'application/vnd.elasticsearch+json') {
      return answer(406, { error: `Content-Type header [${req.headers['content-type'] ?? ''}] is not supported`, status: 406 });
    }
    const enc = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    try {
      if (enc === 'gzip') {
        raw = gunzipSync(raw);
        this.stats.gzipRequests++;
      } else if (enc === 'deflate') raw = inflateSync(raw);
      else if (enc !== 'identity') return answer(400, esError(400, 'illegal_argument_exception', `unsupported content encoding [${enc}]`));
    } catch (e) {
      return answer(400, esError(400, 'zip_exception', (e as Error).message));
    }
    if (raw.length > this.opts.maxContentLength) {
      this.stats.requestsTooLarge++;
      res.writeHead(413, { 'content-length': '0' });
      this.bulkStatuses.set(413, (this.bulkStatuses.get(413) ?? 0) + 1);
      res.end();
      return;
    }
    let ops: Array<{ action: string; meta: Record<string, unknown>; source: string | null; line: number }>;
    try {
      ops = this.parseBulk(raw.toString('utf8'), defaultIndex);
    } catch (e) {
      if (e instanceof RequestError) return answer(e.status, esError(e.status, e.type, e.message));
      throw e;
    }
    this.stats.maxItemsPerRequest = Math.max(this.stats.maxItemsPerRequest, ops.length);
    const items: unknown[] = [];
    let errors = false;
    const itemFault = this.itemFault && (this.itemFault.until === undefined || this.itemFault.until > Date.now()) ? this.itemFault : null;
    for (const op of ops) {
      this.stats.items++;
      const r = this.applyOp(op, itemFault);
      if (r.status >= 300) errors = true;
      items.push({ [op.action]: r });
    }
    let body: unknown = { took: Date.now() - started, errors, items };
    const fp = params.get('filter_path');
    if (fp) body = filterPath(body, fp);
    answer(200, body);
  }

  /** BulkRequestParser, line by line. Throws RequestError for what ES refuses as a whole. */
  private parseBulk(text: string, defaultIndex: string | undefined): Array<{ action: string; meta: Record<string, unknown>; source: string | null; line: number }> {
    const ops: Array<{ action: string; meta: Record<string, unknown>; source: string | null; line: number }> = [];
    let from = 0;
    let line = 0;
    const next = (): number => {
      const nl = text.indexOf('\n', from);
      if (nl === -1 && from !== text.length) throw new RequestError(400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]');
      return nl;
    };
    const missingIndex: number[] = [];
    for (;;) {
      let nl = next();
      if (nl === -1) break;
      line++;
      let actionText = text.slice(from, nl);
      if (actionText.endsWith('\r')) actionText = actionText.slice(0, -1);
      from = nl + 1;
      if (actionText.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(actionText);
      } catch (e) {
        throw new RequestError(400, 'x_content_parse_exception', `[${line}:1] Unexpected character in action/metadata line: ${(e as Error).message}`);
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        const token = Array.isArray(parsed) ? 'START_ARRAY' : typeof parsed === 'string' ? 'VALUE_STRING' : typeof parsed === 'number' ? 'VALUE_NUMBER' : typeof parsed === 'boolean' ? 'VALUE_BOOLEAN' : 'VALUE_NULL';
        throw new RequestError(400, 'illegal_argument_exception', `Malformed action/metadata line [${line}], expected START_OBJECT but found [${token}]`);
      }
      const keys = Object.keys(parsed);
      if (keys.length === 0) throw new RequestError(400, 'illegal_argument_exception', `Malformed action/metadata line [${line}], expected FIELD_NAME but found [END_OBJECT]`);
      const action = keys[0];
      if (!ACTIONS.has(action)) throw new RequestError(400, 'illegal_argument_exception', `Malformed action/metadata line [${line}], expected field [create], [delete], [index] or [update] but found [${action}]`);
      if (keys.length > 1) throw new RequestError(400, 'illegal_argument_exception', `Malformed action/metadata line [${line}], expected END_OBJECT but found [FIELD_NAME]`);
      const meta = (parsed as Record<string, unknown>)[action];
      if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
        throw new RequestError(400, 'illegal_argument_exception', `Malformed action/metadata line [${line}], expected START_OBJECT or END_OBJECT but found [${Array.isArray(meta) ? 'START_ARRAY' : 'VALUE_STRING'}]`);
      }
      for (const [k, v] of Object.entries(meta)) {
        if (!ACTION_PARAMS.has(k)) throw new RequestError(400, 'illegal_argument_exception', `Action/metadata line [${line}] contains an unknown parameter [${k}]`);
        if (Array.isArray(v)) throw new RequestError(400, 'illegal_argument_exception', `Malformed action/metadata line [${line}], expected a simple value for field [${k}] but found [START_ARRAY]`);
      }
      const m = { ...(meta as Record<string, unknown>) };
      if (m._index === undefined) {
        if (defaultIndex === undefined) missingIndex.push(ops.length);
        else m._index = defaultIndex;
      }
      const actionLine = line;
      if (action === 'delete') {
        ops.push({ action, meta: m, source: null, line: actionLine });
        continue;
      }
      nl = next();
      if (nl === -1) break; // an action without its source line is dropped, as ES does
      line++;
      let source = text.slice(from, nl);
      if (source.endsWith('\r')) source = source.slice(0, -1);
      from = nl + 1;
      ops.push({ action, meta: m, source, line: actionLine });
    }
    if (ops.length === 0) throw new RequestError(400, 'action_request_validation_exception', 'Validation Failed: 1: no requests added;');
    if (missingIndex.length > 0) throw new RequestError(400, 'action_request_validation_exception', `Validation Failed: ${missingIndex.map((_, i) => `${i + 1}: index is missing;`).join('')}`);
    return ops;
  }

  private applyOp(op: { action: string; meta: Record<string, unknown>; source: string | null }, fault: ItemFault | null): { status: number; [k: string]: unknown } {
    const index = String(op.meta._index);
    const fail = (status: number, type: string, reason: string, id?: string, caused?: { type: string; reason: string }) => ({ _index: index, ...(id !== undefined ? { _id: id } : {}), status, error: { type, reason, index, ...(caused ? { caused_by: caused } : {}) } });
    const invalid = invalidIndexName(index);
    if (invalid) return fail(400, 'invalid_index_name_exception', `Invalid index name [${index}], ${invalid}`);
    if (op.action === 'update') return fail(400, 'illegal_argument_exception', 'the logship test server does not implement update');
    const givenId = op.meta._id === undefined || op.meta._id === null ? undefined : String(op.meta._id);
    if (fault && this.random() < fault.rate) {
      this.stats.injectedItemFailures++;
      return fault.status === 429
        ? fail(429, 'es_rejected_execution_exception', `rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=0] (injected)`, givenId)
        : fail(fault.status, 'unavailable_shards_exception', `[${index}][0] primary shard is not active Timeout: [1m] (injected)`, givenId);
    }
    let idx = this.indices.get(index);
    if (op.action === 'delete') {
      if (!idx || givenId === undefined || !idx.ids.delete(givenId)) return { _index: index, _id: givenId, result: 'not_found', status: 404 };
      idx.sources?.delete(givenId);
      return { _index: idx.writeIndex, _id: givenId, result: 'deleted', status: 200 };
    }
    const isCreate = op.action === 'create' || op.meta.op_type === 'create';
    const dsTemplate = idx ? idx.dataStream : this.findTemplate(index)?.data_stream !== undefined;
    if (dsTemplate && !isCreate) return fail(400, 'illegal_argument_exception', `only write ops with an op_type of create are allowed in data streams`, givenId);
    let doc: unknown;
    try {
      doc = parseOneValue(op.source!);
    } catch (e) {
      this.stats.mappingRejections++;
      return fail(400, 'mapper_parsing_exception', 'failed to parse', givenId, { type: 'json_parse_exception', reason: (e as Error).message });
    }
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
      this.stats.mappingRejections++;
      return fail(400, 'mapper_parsing_exception', 'failed to parse', givenId, { type: 'mapper_parsing_exception', reason: 'Malformed content, must start with an object' });
    }
    const id = givenId ?? `auto${(++this.autoId).toString(36)}`;
    if (idx && isCreate && idx.ids.has(id)) {
      this.stats.conflicts++;
      return fail(409, 'version_conflict_engine_exception', `[${id}]: version conflict, document already exists (current version [1])`, id);
    }
    if (dsTemplate && (doc as Record<string, unknown>)['@timestamp'] === undefined) {
      this.stats.mappingRejections++;
      return fail(400, 'mapper_parsing_exception', `data stream timestamp field [@timestamp] is missing`, id);
    }
    idx ??= this.createIndex(index);
    try {
      idx.mapper.apply(doc as Record<string, unknown>, id);
    } catch (e) {
      if (!(e instanceof MappingError)) throw e;
      this.stats.mappingRejections++;
      return fail(400, e.type, e.message, id, e.causedBy);
    }
    const existed = idx.ids.has(id);
    idx.ids.add(id);
    idx.sources?.set(id, doc as Record<string, unknown>);
    if (!existed) this.stats.created++;
    return { _index: idx.writeIndex, _id: id, _version: 1, result: existed ? 'updated' : 'created', _shards: { total: 2, successful: 1, failed: 0 }, _seq_no: idx.seq++, _primary_term: 1, status: existed ? 200 : 201 };
  }
}
