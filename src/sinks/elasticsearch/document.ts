import { hash } from 'node:crypto';
import type { LogEvent, LogRecord } from '../../core/record.ts';
import { LabelsCopy } from '../../core/labels-copy.ts';
import { SourceJson } from '../record-json.ts';

/** Field names in the document: logship's own schema or Elastic Common Schema (ECS). */
export type DocumentSchema = 'logship' | 'ecs';

export interface DocumentOptions {
  schema: DocumentSchema;
  /** Objects in metadata nested deeper than this become JSON strings. */
  metadataMaxDepth: number;
}

export const ECS_VERSION = '8.11.0';

/**
 * Keys are sanitized so that no record can break the mapping: ES expands "a.b" into an object
 * path (which collides with a scalar "a"), and refuses empty names and names of only dots.
 */
function cleanKey(k: string): string {
  if (k.length === 0) return '_';
  return k.indexOf('.') >= 0 ? k.replace(/\./g, '_') : k;
}

function needsCleaning(v: unknown, depth: number, max: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  if (depth >= max) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (needsCleaning(v[i], depth + 1, max)) return true;
    return false;
  }
  for (const k in v as Record<string, unknown>) {
    if (k.length === 0 || k.indexOf('.') >= 0) return true;
    if (needsCleaning((v as Record<string, unknown>)[k], depth + 1, max)) return true;
  }
  return false;
}

function clean(v: unknown, depth: number, max: number): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (depth >= max) return JSON.stringify(v);
  if (Array.isArray(v)) return v.map((x) => clean(x, depth + 1, max));
  // No prototype: a record's `__proto__` key (an own key after JSON.parse) stays a field of the
  // copy; on a plain object the assignment would set the copy's prototype and drop the field.
  const out = Object.create(null) as Record<string, unknown>;
  for (const k in v as Record<string, unknown>) out[cleanKey(k)] = clean((v as Record<string, unknown>)[k], depth + 1, max);
  return out;
}

/** Metadata without mapping explosions: dotted keys sanitized, deep objects stringified. Copies only when needed. */
export function cleanMetadata(meta: Record<string, unknown>, maxDepth: number): Record<string, unknown> {
  return needsCleaning(meta, 0, maxDepth) ? (clean(meta, 0, maxDepth) as Record<string, unknown>) : meta;
}

function cleanLabels(labels: Record<string, string>): Record<string, string> | undefined {
  let any = false;
  let dirty = false;
  for (const k in labels) {
    any = true;
    if (k.length === 0 || k.indexOf('.') >= 0) dirty = true;
  }
  if (!any) return undefined;
  if (!dirty) return labels;
  const out = Object.create(null) as Record<string, string>;
  for (const k in labels) out[cleanKey(k)] = labels[k];
  return out;
}

/** The logship-schema document: the normalized record, `@timestamp`, and the Kibana-friendly extras. */
function logshipDocument(event: LogEvent, opts: DocumentOptions): Record<string, unknown> {
  const r = event.record;
  const doc: Record<string, unknown> = { '@timestamp': r.timestamp, level: r.level, service: r.service, message: r.message };
  if (r.trace_id !== undefined) doc.trace_id = r.trace_id;
  if (r.span_id !== undefined) doc.span_id = r.span_id;
  if (r.user_id !== undefined) doc.user_id = r.user_id;
  if (r.request_id !== undefined) doc.request_id = r.request_id;
  if (r.duration !== undefined) doc.duration = r.duration;
  if (r.event_type !== undefined) doc.event_type = r.event_type;
  if (r.action !== undefined) doc.action = r.action;
  if (r.ip_address !== undefined) doc.ip_address = r.ip_address;
  if (r.user_agent !== undefined) doc.user_agent = r.user_agent;
  if (r.http !== undefined) {
    doc.http = r.http;
    // Kibana runbooks query `response_time:>5000` (milliseconds) at the top level.
    if (typeof r.http.response_time === 'number' && Number.isFinite(r.http.response_time)) doc.response_time = r.http.response_time;
  }
  if (r.metadata !== undefined) doc.metadata = cleanMetadata(r.metadata, opts.metadataMaxDepth);
  const labels = cleanLabels(event.labels);
  if (labels) doc.labels = labels;
  doc.source = r.source;
  if (event.truncated) doc.truncated = true;
  return doc;
}

function set(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  if (value === undefined) return;
  let o = obj;
  for (let i = 0; i < path.length - 1; i++) o = (o[path[i]] ??= {}) as Record<string, unknown>;
  o[path[path.length - 1]] = value;
}

/**
 * Elastic Common Schema names (ecs 8.x). Fields ECS has no name for go under `logship.*`
 * (ECS reserves custom namespaces for exactly that).
 */
/** ECS field paths, allocated once (not per document). */
const ECS_LOG_LEVEL = ['log', 'level'];
const ECS_SERVICE_NAME = ['service', 'name'];
const ECS_ECS_VERSION = ['ecs', 'version'];
const ECS_TRACE_ID = ['trace', 'id'];
const ECS_SPAN_ID = ['span', 'id'];
const ECS_USER_ID = ['user', 'id'];
const ECS_HTTP_REQUEST_ID = ['http', 'request', 'id'];
const ECS_EVENT_DURATION = ['event', 'duration'];
const ECS_EVENT_ACTION = ['event', 'action'];
const ECS_LOGSHIP_EVENT_TYPE = ['logship', 'event_type'];
const ECS_CLIENT_IP = ['client', 'ip'];
const ECS_USER_AGENT_ORIGINAL = ['user_agent', 'original'];
const ECS_HTTP_REQUEST_METHOD = ['http', 'request', 'method'];
const ECS_HTTP_REQUEST_REFERRER = ['http', 'request', 'referrer'];
const ECS_HTTP_RESPONSE_STATUS_CODE = ['http', 'response', 'status_code'];
const ECS_HTTP_RESPONSE_BODY_BYTES = ['http', 'response', 'body', 'bytes'];
const ECS_HTTP_VERSION = ['http', 'version'];
const ECS_URL_PATH = ['url', 'path'];
const ECS_LOGSHIP_HTTP_ROUTE = ['logship', 'http_route'];
const ECS_LOGSHIP_RESPONSE_TIME = ['logship', 'response_time'];
const ECS_HOST_NAME = ['host', 'name'];
const ECS_LOG_FILE_PATH = ['log', 'file', 'path'];
const ECS_INPUT_TYPE = ['input', 'type'];
const ECS_LOGSHIP_SOURCE = ['logship', 'source'];
const ECS_LOGSHIP_STREAM = ['logship', 'stream'];
const ECS_CONTAINER_ID = ['container', 'id'];
const ECS_CONTAINER_NAME = ['container', 'name'];
const ECS_CONTAINER_IMAGE_NAME = ['container', 'image', 'name'];
const ECS_KUBERNETES_NAMESPACE = ['kubernetes', 'namespace'];
const ECS_KUBERNETES_POD_NAME = ['kubernetes', 'pod', 'name'];
const ECS_KUBERNETES_POD_UID = ['kubernetes', 'pod', 'uid'];
const ECS_KUBERNETES_CONTAINER_NAME = ['kubernetes', 'container', 'name'];
const ECS_LOGSHIP_METADATA = ['logship', 'metadata'];
const ECS_LOG_TRUNCATED = ['log', 'truncated'];

function ecsDocument(event: LogEvent, opts: DocumentOptions): Record<string, unknown> {
  const r: LogRecord = event.record;
  const s = r.source;
  const d: Record<string, unknown> = { '@timestamp': r.timestamp, message: r.message };
  set(d, ECS_LOG_LEVEL, r.level);
  set(d, ECS_SERVICE_NAME, r.service);
  set(d, ECS_ECS_VERSION, ECS_VERSION);
  set(d, ECS_TRACE_ID, r.trace_id);
  set(d, ECS_SPAN_ID, r.span_id);
  set(d, ECS_USER_ID, r.user_id);
  set(d, ECS_HTTP_REQUEST_ID, r.request_id);
  // event.duration is nanoseconds in ECS; ours are seconds.
  if (typeof r.duration === 'number') set(d, ECS_EVENT_DURATION, Math.round(r.duration * 1e9));
  set(d, ECS_EVENT_ACTION, r.action);
  set(d, ECS_LOGSHIP_EVENT_TYPE, r.event_type);
  set(d, ECS_CLIENT_IP, r.ip_address);
  set(d, ECS_USER_AGENT_ORIGINAL, r.user_agent);
  const h = r.http;
  if (h) {
    set(d, ECS_HTTP_REQUEST_METHOD, h.method);
    set(d, ECS_HTTP_REQUEST_REFERRER, h.referrer);
    set(d, ECS_HTTP_RESPONSE_STATUS_CODE, h.status_code);
    set(d, ECS_HTTP_RESPONSE_BODY_BYTES, h.bytes);
    set(d, ECS_HTTP_VERSION, h.protocol?.replace(/^HTTP\//i, ''));
    set(d, ECS_URL_PATH, h.path);
    set(d, ECS_LOGSHIP_HTTP_ROUTE, h.route);
    if (typeof h.response_time === 'number' && Number.isFinite(h.response_time)) {
      set(d, ECS_LOGSHIP_RESPONSE_TIME, h.response_time);
      if (r.duration === undefined) set(d, ECS_EVENT_DURATION, Math.round(h.response_time * 1e6));
    }
  }
  set(d, ECS_HOST_NAME, s.host);
  set(d, ECS_LOG_FILE_PATH, s.file);
  set(d, ECS_INPUT_TYPE, s.type);
  set(d, ECS_LOGSHIP_SOURCE, s.name);
  set(d, ECS_LOGSHIP_STREAM, s.stream);
  set(d, ECS_CONTAINER_ID, s.container_id);
  set(d, ECS_CONTAINER_NAME, s.container_name ?? s.container);
  set(d, ECS_CONTAINER_IMAGE_NAME, s.image);
  set(d, ECS_KUBERNETES_NAMESPACE, s.namespace);
  set(d, ECS_KUBERNETES_POD_NAME, s.pod);
  set(d, ECS_KUBERNETES_POD_UID, s.pod_uid);
  set(d, ECS_KUBERNETES_CONTAINER_NAME, s.container);
  if (r.metadata !== undefined) set(d, ECS_LOGSHIP_METADATA, cleanMetadata(r.metadata, opts.metadataMaxDepth));
  const labels = cleanLabels(event.labels);
  if (labels) d.labels = labels;
  if (event.truncated) set(d, ECS_LOG_TRUNCATED, true);
  return d;
}

const TIMESTAMP_FIRST = '{"timestamp":';

/**
 * Encodes events as documents (one per sink: it keeps the JSON of the labels and source it last
 * saw, which consecutive events mostly share).
 */
export class DocumentEncoder {
  private readonly opts: DocumentOptions;
  private readonly source = new SourceJson();
  private labels: LabelsCopy | null = null;
  private labelsTail = '';

  constructor(opts: DocumentOptions) {
    this.opts = opts;
  }

  /** The JSON source line of one event (without newline). */
  encode(event: LogEvent): string {
    const opts = this.opts;
    if (opts.schema === 'logship' && event.verbatim !== undefined) {
      const doc = this.verbatimDocument(event);
      if (doc !== undefined) return doc;
    }
    return JSON.stringify(opts.schema === 'ecs' ? ecsDocument(event, opts) : logshipDocument(event, opts));
  }

  /**
   * The logship document of a record that still is its line (LogEvent.verbatim) without building
   * it again: the line with its first key renamed `@timestamp`, then the keys stages appended,
   * labels and source. Undefined when the document is more than that: a record changed since
   * the line was read, an http group (its response_time is copied to the top), metadata to
   * clean, or a line whose first key is not `timestamp`. Same object as logshipDocument's; the
   * key order differs.
   */
  private verbatimDocument(event: LogEvent): string | undefined {
    const r = event.record;
    const line = event.verbatim!;
    const json = line.text;
    if (r.http !== undefined || event.truncated || !json.startsWith(TIMESTAMP_FIRST)) return undefined;
    if (r.metadata !== undefined && needsCleaning(r.metadata, 0, this.opts.metadataMaxDepth)) return undefined;
    const added = line.additions(r);
    if (added === null) return undefined;
    return '{"@timestamp":' + json.slice(TIMESTAMP_FIRST.length, json.length - 1) + added + this.labelsJson(event.labels) + this.source.tail(r.source);
  }

  /** `,"labels":{…}` ('' for none), made again only when the labels differ from the last event's. */
  private labelsJson(labels: Record<string, string>): string {
    if (this.labels === null || !this.labels.matches(labels)) {
      const clean = cleanLabels(labels);
      this.labelsTail = clean === undefined ? '' : ',"labels":' + JSON.stringify(clean);
      this.labels = new LabelsCopy(labels);
    }
    return this.labelsTail;
  }
}

/** The JSON source line of one event (without newline); a sink keeps one DocumentEncoder instead. */
export function encodeDocument(event: LogEvent, opts: DocumentOptions): string {
  return new DocumentEncoder(opts).encode(event);
}

/** base64url digits, for trimming a digest's text to its first 128 bits. */
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The idempotent `_id`: file records are named by where their bytes are (file identity + start
 * offset, stable across restarts) plus the message (so a copytruncate'd file writing different
 * lines at the same offsets is not mistaken for a resend); other records by their document.
 * 128 bits of SHA-1, base64url (22 characters).
 *
 * One-shot crypto.hash straight to text is ~5x cheaper per line than createHash().digest(); the
 * ids are the same as before, so a backlog resent across an upgrade still meets its 409s.
 */
export function documentId(event: LogEvent, source: string): string {
  const identity = event.ack.identity;
  const offset = event.offset;
  const key = identity !== undefined && offset !== undefined ? `${identity}@${offset}` : undefined;
  const b64 = hash('sha1', key !== undefined ? key + '\n' + event.record.message : source, 'base64url');
  // 16 bytes are 21 full digits plus 2 bits: keep the top two bits of the 22nd digit.
  return b64.slice(0, 21) + B64URL[B64URL.indexOf(b64[21]) & 0x30];
}
