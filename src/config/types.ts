import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration, parseSize } from './units.ts';

/** Reusable zod field types. Every message names what was expected and what was found. */

export const size = () =>
  z.union([z.number(), z.string()], { error: (iss) => `expected a size like "1MiB", got ${describe(iss.input)}` })
    .transform((v, ctx) => {
      const n = parseSize(v);
      if (n === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a size like "1MiB", got ${describe(v)}` });
        return z.NEVER;
      }
      return n;
    });

export const duration = () =>
  z.union([z.number(), z.string()], { error: (iss) => `expected a duration like "1s" or "500ms", got ${describe(iss.input)}` })
    .transform((v, ctx) => {
      const n = parseDuration(v);
      if (n === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like "1s" or "500ms", got ${describe(v)}` });
        return z.NEVER;
      }
      return n;
    });

/** A regular expression given as text; compiled at load so a bad one fails `validate`. */
export const regex = (flags = '') =>
  z.string().transform((v, ctx) => {
    try {
      return new RegExp(v, flags);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(e as Error).message}` });
      return z.NEVER;
    }
  });

export const url = () =>
  z.string().transform((v, ctx) => {
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme must be http or https');
      return v.replace(/\/+$/, '');
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `expected an http(s) URL, got ${describe(v)} (${(e as Error).message})` });
      return z.NEVER;
    }
  });

/** Reads a secret file at load time (trimmed), so a missing file fails at start with its key. */
export const secretFile = () =>
  z.string().transform((path, ctx) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `cannot read secret file ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      return z.NEVER;
    }
  });

export const labelMap = () => z.record(z.string(), z.string()).default({});

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

/** TLS options shared by the HTTP sinks. */
export const tlsSchema = z.strictObject({
  ca_file: z.string().optional(),
  cert_file: z.string().optional(),
  key_file: z.string().optional(),
  server_name: z.string().optional(),
  insecure_skip_verify: z.boolean().default(false),
}).default({ insecure_skip_verify: false });
export type TlsConfig = z.infer<typeof tlsSchema>;

/** Batching and retry options shared by the HTTP sinks. */
export const retrySchema = z.strictObject({
  min_backoff: duration().default(500),
  max_backoff: duration().default(300_000),
  /** 0 = retry forever (the batch stays unacknowledged and backpressure holds the files). */
  max_retry_duration: duration().default(0),
}).default({ min_backoff: 500, max_backoff: 300_000, max_retry_duration: 0 });
export type RetryConfig = z.infer<typeof retrySchema>;

/** Authentication, headers and TLS: the same keys on every HTTP sink (see sinks/http-client.ts). */
export const httpClientFields = {
  basic_auth: z.strictObject({
    username: z.string(),
    password: z.string().optional(),
    password_file: secretFile().optional(),
  }).optional(),
  bearer_token: z.string().optional(),
  bearer_token_file: secretFile().optional(),
  headers: z.record(z.string(), z.string()).default({}),
  tls: tlsSchema,
};
