import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import type { TlsConfig } from './http-config.ts';

export interface HttpAuthConfig {
  basic_auth?: { username: string; password?: string; password_file?: string };
  bearer_token?: string;
  bearer_token_file?: string;
  api_key?: string;
  api_key_file?: string;
  headers?: Record<string, string>;
}

/**
 * One keep-alive connection pool per sink (undici Agent), with the sink's TLS options.
 * `insecure_skip_verify` is honoured only when asked for, and logged as a warning every start.
 */
export function createDispatcher(opts: { tls: TlsConfig; connections: number; timeout: number; log: Logger; sink: string }): Dispatcher {
  const { tls } = opts;
  if (tls.insecure_skip_verify) opts.log.warn({ sink: opts.sink }, 'TLS certificate verification is disabled (tls.insecure_skip_verify: true)');
  return new Agent({
    connections: opts.connections,
    keepAliveTimeout: 30_000,
    headersTimeout: opts.timeout,
    bodyTimeout: opts.timeout,
    connect: {
      timeout: Math.min(opts.timeout, 10_000),
      rejectUnauthorized: !tls.insecure_skip_verify,
      ...(tls.ca_file ? { ca: readFileSync(tls.ca_file) } : {}),
      ...(tls.cert_file ? { cert: readFileSync(tls.cert_file) } : {}),
      ...(tls.key_file ? { key: readFileSync(tls.key_file) } : {}),
      ...(tls.server_name ? { servername: tls.server_name } : {}),
    },
  });
}

/**
 * Request headers for the configured authentication. Secrets given as *_file were already
 * read (and validated) when the config was loaded.
 */
export function authHeaders(cfg: HttpAuthConfig): Record<string, string> {
  const h: Record<string, string> = { ...(cfg.headers ?? {}) };
  if (cfg.basic_auth) {
    const password = cfg.basic_auth.password_file ?? cfg.basic_auth.password ?? '';
    h.authorization = `Basic ${Buffer.from(`${cfg.basic_auth.username}:${password}`).toString('base64')}`;
  }
  const bearer = cfg.bearer_token_file ?? cfg.bearer_token;
  if (bearer) h.authorization = `Bearer ${bearer}`;
  const apiKey = cfg.api_key_file ?? cfg.api_key;
  if (apiKey) {
    // Accept both "id:key" and the already-encoded base64 form.
    h.authorization = `ApiKey ${apiKey.includes(':') ? Buffer.from(apiKey).toString('base64') : apiKey}`;
  }
  return h;
}
