import { z } from 'zod';
import { duration, size, url } from '../../core/config-fields.ts';
import { httpClientFields, retrySchema } from '../http-config.ts';
import { LOKI_MAX_LABEL_NAMES, LOKI_MAX_STRUCTURED_METADATA_ENTRIES, sanitizeLabelName } from './labels.ts';

export const DEFAULT_LOKI_LABELS = ['job', 'service', 'level', 'host', 'namespace', 'pod', 'container', 'stream'];
export const DEFAULT_STRUCTURED_METADATA = ['trace_id', 'span_id', 'user_id', 'request_id', 'ip_address'];

/**
 * The `type: loki` sink, built at its first use (z.lazy): a config without a Loki sink never
 * constructs its ~100 zod objects (bench/RESULTS.md, "Start-up").
 */
export const lokiSinkSchema = z.lazy(() => z.strictObject({
  type: z.literal('loki'),
  name: z.string().optional(),
  url: url(),
  tenant_id: z.string().optional(),
  encoding: z.enum(['protobuf', 'json']).default('protobuf'),
  /** gzip for the JSON encoding (protobuf is always snappy). */
  gzip: z.boolean().default(false),
  /**
   * Fields that become stream labels, at most 15: event labels (source `labels`, stages) first,
   * then record fields (dotted paths like `http.method`, `source.*`, `metadata.*`). Names are
   * sanitized to Prometheus label syntax (`http.method` → `http_method`).
   */
  labels: z.array(z.string().min(1)).min(1).max(LOKI_MAX_LABEL_NAMES, { message: `Loki accepts at most ${LOKI_MAX_LABEL_NAMES} labels per stream` }).default(DEFAULT_LOKI_LABELS),
  /** Fields sent as structured metadata (high cardinality, not labels); same lookup as labels. */
  structured_metadata: z.array(z.string().min(1)).max(LOKI_MAX_STRUCTURED_METADATA_ENTRIES).default(DEFAULT_STRUCTURED_METADATA),
  line_format: z.enum(['json', 'message']).default('json'),
  /**
   * Where the file path goes, under Promtail's name `filename`: a stream label (as Promtail does;
   * one stream per file), structured metadata (queryable as `| filename="…"`, no stream per file)
   * or nowhere. Never into the line.
   */
  filename: z.enum(['label', 'structured_metadata', 'none']).default('structured_metadata'),
  batch: z.strictObject({
    max_bytes: size().default(1024 * 1024),
    max_wait: duration().default(1000),
  }).default({ max_bytes: 1024 * 1024, max_wait: 1000 }),
  max_inflight: z.number().int().min(1).max(64).default(2),
  timeout: duration().default(10_000),
  retry: retrySchema(),
  /** Loki's max_line_size; longer lines are truncated before sending. 0 = unlimited. */
  max_line_size: size().default(256 * 1024),
  /** Loki's reject_old_samples_max_age; older entries are dropped (counted) before sending. 0 = off. */
  reject_old_samples_max_age: duration().default(7 * 86_400_000),
  cardinality: z.strictObject({
    max_values_per_label: z.number().int().min(1).default(100),
    max_streams: z.number().int().min(1).default(1000),
    /** A value or stream unseen this long no longer counts against the caps. */
    idle_timeout: duration().default(3_600_000),
  }).default({ max_values_per_label: 100, max_streams: 1000, idle_timeout: 3_600_000 }),
  /** Wait between retries while Loki rejects our credentials (401/403). */
  auth_retry_interval: duration().default(30_000),
  ...httpClientFields(),
  /** NDJSON file for batches that exhausted retry.max_retry_duration (required with it). */
  dead_letter_path: z.string().optional(),
}).superRefine((cfg, ctx) => {
  const seen = new Map<string, number>();
  cfg.labels.forEach((field, i) => {
    const name = sanitizeLabelName(field);
    if (name.startsWith('__')) ctx.addIssue({ code: 'custom', path: ['labels', i], message: `label name "${name}" is reserved (names starting with "__" are internal to Loki)` });
    const prev = seen.get(name);
    if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['labels', i], message: `label "${field}" becomes "${name}", the same label name as labels[${prev}]` });
    seen.set(name, i);
  });
  const sm = new Map<string, number>();
  cfg.structured_metadata.forEach((field, i) => {
    const name = sanitizeLabelName(field);
    const prev = sm.get(name);
    if (prev !== undefined) ctx.addIssue({ code: 'custom', path: ['structured_metadata', i], message: `"${field}" becomes "${name}", the same name as structured_metadata[${prev}]` });
    sm.set(name, i);
  });
  if (cfg.retry.max_retry_duration > 0 && cfg.dead_letter_path === undefined) {
    ctx.addIssue({ code: 'custom', path: ['dead_letter_path'], message: 'required when retry.max_retry_duration is set: batches that exhaust their retries are written there, never dropped silently' });
  }
}));
export type LokiSinkConfig = z.infer<typeof lokiSinkSchema>;
