import { z } from 'zod';
import { duration, secretFile } from '../core/config-fields.ts';

/*
 * Factories, not module-level schemas: only the Loki and Elasticsearch sink schemas use them, and
 * those are built at the first sink of their type a config has (src/sinks/registry.ts).
 */

/** TLS options shared by the HTTP sinks. */
const tlsSchema = () => z.strictObject({
  ca_file: z.string().optional(),
  cert_file: z.string().optional(),
  key_file: z.string().optional(),
  server_name: z.string().optional(),
  insecure_skip_verify: z.boolean().default(false),
}).default({ insecure_skip_verify: false });
export type TlsConfig = z.infer<ReturnType<typeof tlsSchema>>;

/** Batching and retry options shared by the HTTP sinks. */
export const retrySchema = () => z.strictObject({
  min_backoff: duration().default(500),
  max_backoff: duration().default(300_000),
  /** 0 = retry forever (the batch stays unacknowledged and backpressure holds the files). */
  max_retry_duration: duration().default(0),
}).default({ min_backoff: 500, max_backoff: 300_000, max_retry_duration: 0 });
export type RetryConfig = z.infer<ReturnType<typeof retrySchema>>;

/** Authentication, headers and TLS: the same keys on every HTTP sink (see sinks/http-client.ts). */
export const httpClientFields = () => ({
  basic_auth: z.strictObject({
    username: z.string(),
    password: z.string().optional(),
    password_file: secretFile().optional(),
  }).optional(),
  bearer_token: z.string().optional(),
  bearer_token_file: secretFile().optional(),
  headers: z.record(z.string(), z.string()).default({}),
  tls: tlsSchema(),
});
