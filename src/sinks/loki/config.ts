import { z } from 'zod';
import { duration, retrySchema, secretFile, size, tlsSchema, url } from '../../config/types.ts';

export const DEFAULT_LOKI_LABELS = ['job', 'service', 'level', 'host', 'namespace', 'pod', 'container', 'stream'];
export const DEFAULT_STRUCTURED_METADATA = ['trace_id', 'span_id', 'user_id', 'request_id', 'ip_address'];

export const lokiSinkSchema = z.strictObject({
  type: z.literal('loki'),
  name: z.string().optional(),
  url: url(),
  tenant_id: z.string().optional(),
  encoding: z.enum(['protobuf', 'json']).default('protobuf'),
  /** gzip for the JSON encoding (protobuf is always snappy). */
  gzip: z.boolean().default(false),
  /** Record fields (and source labels) that become stream labels; at most 15. */
  labels: z.array(z.string()).max(15).default(DEFAULT_LOKI_LABELS),
  /** Record fields sent as structured metadata (high cardinality, not labels). */
  structured_metadata: z.array(z.string()).default(DEFAULT_STRUCTURED_METADATA),
  line_format: z.enum(['json', 'message']).default('json'),
  batch: z.strictObject({
    max_bytes: size().default(1024 * 1024),
    max_wait: duration().default(1000),
  }).default({ max_bytes: 1024 * 1024, max_wait: 1000 }),
  max_inflight: z.number().int().min(1).max(64).default(2),
  timeout: duration().default(10_000),
  retry: retrySchema,
  /** Loki's max_line_size; longer lines are truncated before sending. 0 = unlimited. */
  max_line_size: size().default(256 * 1024),
  /** Loki's reject_old_samples_max_age; older entries are dropped (counted) before sending. 0 = off. */
  reject_old_samples_max_age: duration().default(7 * 86_400_000),
  cardinality: z.strictObject({
    max_values_per_label: z.number().int().min(1).default(100),
    max_streams: z.number().int().min(1).default(1000),
  }).default({ max_values_per_label: 100, max_streams: 1000 }),
  basic_auth: z.strictObject({
    username: z.string(),
    password: z.string().optional(),
    password_file: secretFile().optional(),
  }).optional(),
  bearer_token: z.string().optional(),
  bearer_token_file: secretFile().optional(),
  headers: z.record(z.string(), z.string()).default({}),
  tls: tlsSchema,
  dead_letter_path: z.string().optional(),
});
export type LokiSinkConfig = z.infer<typeof lokiSinkSchema>;
