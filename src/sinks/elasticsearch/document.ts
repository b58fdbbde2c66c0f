import { hash } from 'node:crypto';
import type { LogEvent, LogRecord } from '../../record.ts';

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
  const out: Record<string, unknown> = {};
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
  const out: Record<string, string> = {};
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

function set(obj: Record<string, unknown>, path: string[], value: unknown): void {
  if (value === undefined) return;
  let o = obj;
  for (let i = 0; i < path.length - 1; i++) o = (o[path[i]] ??= {}) as Record<string, unknown>;
  o[path[path.length - 1]] = value;
}

/**
 * Elastic Common Schema names (ecs 8.x). Fields ECS has no name for go under `logship.*`
 * (ECS reserves custom namespaces for exactly that).
 */
function ecsDocument(event: LogEvent, opts: DocumentOptions): Record<string, unknown> {
  const r: LogRecord = event.record;
  const s = r.source;
  const d: Record<string, unknown> = { '@timestamp': r.timestamp, message: r.message };
  set(d, ['log', 'level'], r.level);
  set(d, ['service', 'name'], r.service);
  set(d, ['ecs', 'version'], ECS_VERSION);
  set(d, ['trace', 'id'], r.trace_id);
  set(d, ['span', 'id'], r.span_id);
  set(d, ['user', 'id'], r.user_id);
  set(d, ['http', 'request', 'id'], r.request_id);
  // event.duration is nanoseconds in ECS; ours are seconds.
  if (typeof r.duration === 'number') set(d, ['event', 'duration'], Math.round(r.duration * 1e9));
  set(d, ['event', 'action'], r.action);
  set(d, ['logship', 'event_type'], r.event_type);
  set(d, ['client', 'ip'], r.ip_address);
  set(d, ['user_agent', 'original'], r.user_agent);
  const h = r.http;
  if (h) {
    set(d, ['http', 'request', 'method'], h.method);
    set(d, ['http', 'request', 'referrer'], h.referrer);
    set(d, ['http', 'response', 'status_code'], h.status_code);
    set(d, ['http', 'response', 'body', 'bytes'], h.bytes);
    set(d, ['http', 'version'], h.protocol?.replace(/^HTTP\//i, ''));
    set(d, ['url', 'path'], h.path);
    set(d, ['logship', 'http_route'], h.route);
    if (typeof h.response_time === 'number' && Number.isFinite(h.response_time)) {
      set(d, ['logship', 'response_time'], h.response_time);
      if (r.duration === undefined) set(d, ['event', 'duration'], Math.round(h.response_time * 1e6));
    }
  }
  set(d, ['host', 'name'], s.host);
  set(d, ['log', 'file', 'path'], s.file);
  set(d, ['input', 'type'], s.type);
  set(d, ['logship', 'source'], s.name);
  set(d, ['logship', 'stream'], s.stream);
  set(d, ['container', 'id'], s.container_id);
  set(d, ['container', 'name'], s.container_name ?? s.container);
  set(d, ['container', 'image', 'name'], s.image);
  set(d, ['kubernetes', 'namespace'], s.namespace);
  set(d, ['kubernetes', 'pod', 'name'], s.pod);
  set(d, ['kubernetes', 'pod', 'uid'], s.pod_uid);
  set(d, ['kubernetes', 'container', 'name'], s.container);
  if (r.metadata !== undefined) set(d, ['logship', 'metadata'], cleanMetadata(r.metadata, opts.metadataMaxDepth));
  const labels = cleanLabels(event.labels);
  if (labels) d.labels = labels;
  if (event.truncated) set(d, ['log', 'truncated'], true);
  return d;
}

/** The JSON source line of one event (without newline). */
export function encodeDocument(event: LogEvent, opts: DocumentOptions): string {
  return JSON.stringify(opts.schema === 'ecs' ? ecsDocument(event, opts) : logshipDocument(event, opts));
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
  const key = event.ack.id;
  const b64 = hash('sha1', key !== undefined ? key + '\n' + event.record.message : source, 'base64url');
  // 16 bytes are 21 full digits plus 2 bits: keep the top two bits of the 22nd digit.
  return b64.slice(0, 21) + B64URL[B64URL.indexOf(b64[21]) & 0x30];
}
