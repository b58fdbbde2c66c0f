import { z } from 'zod';
import { duration, secretFile, size, url } from '../../core/config-fields.ts';
import { httpClientFields, retrySchema } from '../http-config.ts';
import { compileDataStreamName, compileIndexName, IndexNameError } from './target.ts';

/**
 * The `type: elasticsearch` sink, built at its first use (z.lazy): a config without one never
 * constructs its ~95 zod objects (bench/RESULTS.md, "Start-up").
 */
export const elasticsearchSinkSchema = z.lazy(() => z.strictObject({
  type: z.literal('elasticsearch'),
  name: z.string().optional(),
  url: url(),
  /** `index`: date-named indices from `index`; `data_stream`: `{type}-{dataset}-{namespace}` (create only). */
  mode: z.enum(['index', 'data_stream']).default('index'),
  /** Index name template: {field} from the record (or {labels.NAME}), %Y %m %d %H from the record's timestamp (UTC). */
  index: z.string().default('logstash-{service}-%Y.%m.%d'),
  data_stream: z.strictObject({
    type: z.string().default('logs'),
    dataset: z.string().default('{service}'),
    namespace: z.string().default('default'),
  }).default({ type: 'logs', dataset: '{service}', namespace: 'default' }),
  /** Document field names: logship's own schema, or Elastic Common Schema. */
  schema: z.enum(['logship', 'ecs']).default('logship'),
  /**
   * `_id` of each document: `auto` = a hash of (file identity, byte offset, message) for file
   * records, of the document otherwise, sent with `create` so a resend is a 409 (duplicate);
   * `none` = let Elasticsearch generate ids (a resend after a crash can duplicate).
   */
  document_id: z.enum(['auto', 'none']).default('auto'),
  /** `metadata` objects nested deeper than this are stored as JSON strings. */
  metadata_max_depth: z.number().int().min(1).max(20).default(5),
  gzip: z.boolean().default(true),
  /** 1 is Filebeat's default: most of the ratio for a fraction of the CPU. */
  gzip_level: z.number().int().min(1).max(9).default(1),
  batch: z.strictObject({
    // Elastic suggests bulk requests of a few MiB; 2 MiB (Filebeat sends ~1,600 events) keeps the
    // open, sealed and in-flight batches ~10 MiB smaller than 5 MiB did at the same throughput.
    max_bytes: size().default(2 * 1024 * 1024),
    max_wait: duration().default(1000),
  }).default({ max_bytes: 2 * 1024 * 1024, max_wait: 1000 }),
  max_inflight: z.number().int().min(1).max(64).default(2),
  timeout: duration().default(30_000),
  retry: retrySchema(),
  /** Install the component + composable index template (`logship es-template`) on start, when missing or different. */
  manage_template: z.boolean().default(false),
  /** Name of the index template; the component template is `<name>-mappings`. */
  template_name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'lower-case letters, digits, "_", "-", "."').default('logship'),
  /** Priority of the index template (ES's built-in `logs` template has 100). */
  template_priority: z.number().int().min(0).default(200),
  api_key: z.string().optional(),
  api_key_file: secretFile().optional(),
  ...httpClientFields(),
  /** Items Elasticsearch rejected for good (mapping errors, ...) are appended here with the reason. */
  dead_letter_path: z.string().default('./data/dead-letter-elasticsearch.ndjson'),
}).superRefine((cfg, ctx) => {
  try {
    compileIndexName(cfg.index);
  } catch (e) {
    if (!(e instanceof IndexNameError)) throw e;
    ctx.addIssue({ code: 'custom', path: ['index'], message: e.message });
  }
  try {
    compileDataStreamName(cfg.data_stream);
  } catch (e) {
    if (!(e instanceof IndexNameError)) throw e;
    ctx.addIssue({ code: 'custom', path: ['data_stream', e.context.part as string], message: e.message });
  }
  const auth = [cfg.api_key ?? cfg.api_key_file, cfg.basic_auth, cfg.bearer_token ?? cfg.bearer_token_file].filter((a) => a !== undefined);
  if (auth.length > 1) ctx.addIssue({ code: 'custom', path: ['api_key'], message: 'choose one of api_key(_file), basic_auth, bearer_token(_file)' });
}));
export type ElasticsearchSinkConfig = z.infer<typeof elasticsearchSinkSchema>;
