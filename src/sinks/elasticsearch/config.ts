import { z } from 'zod';
import { duration, retrySchema, secretFile, size, tlsSchema, url } from '../../config/types.ts';

export const elasticsearchSinkSchema = z.strictObject({
  type: z.literal('elasticsearch'),
  name: z.string().optional(),
  url: url(),
  mode: z.enum(['index', 'data_stream']).default('index'),
  /** Index name template: {field} from the record, %Y %m %d from the record's timestamp (UTC). */
  index: z.string().default('logstash-{service}-%Y.%m.%d'),
  data_stream: z.strictObject({
    type: z.string().default('logs'),
    dataset: z.string().default('{service}'),
    namespace: z.string().default('default'),
  }).default({ type: 'logs', dataset: '{service}', namespace: 'default' }),
  schema: z.enum(['logship', 'ecs']).default('logship'),
  gzip: z.boolean().default(true),
  batch: z.strictObject({
    max_bytes: size().default(5 * 1024 * 1024),
    max_wait: duration().default(1000),
  }).default({ max_bytes: 5 * 1024 * 1024, max_wait: 1000 }),
  max_inflight: z.number().int().min(1).max(64).default(2),
  timeout: duration().default(30_000),
  retry: retrySchema,
  manage_template: z.boolean().default(false),
  api_key: z.string().optional(),
  api_key_file: secretFile().optional(),
  basic_auth: z.strictObject({
    username: z.string(),
    password: z.string().optional(),
    password_file: secretFile().optional(),
  }).optional(),
  bearer_token: z.string().optional(),
  bearer_token_file: secretFile().optional(),
  headers: z.record(z.string(), z.string()).default({}),
  tls: tlsSchema,
  dead_letter_path: z.string().default('./data/dead-letter-elasticsearch.ndjson'),
});
export type ElasticsearchSinkConfig = z.infer<typeof elasticsearchSinkSchema>;
