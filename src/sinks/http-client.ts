import { readFileSync } from 'node:fs';
import type { Agent as HttpAgent, ClientRequest, IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { LogshipError } from '../core/errors.ts';
import type { TlsConfig } from './http-config.ts';

// node:http and node:https, required rather than imported: an ESM import builds the module's
// facade, whose lazy WebSocket/EventSource exports load Node's bundled undici (src/server/http.ts).
// And node:http rather than the undici package: the sinks send a few requests a second, and
// undici's client (its JavaScript and its llhttp parser compiled from WebAssembly) held ~14 MiB
// of RSS in every daemon with a Loki or Elasticsearch sink (bench/RESULTS.md, "Memory: the HTTP
// client"); node:http parses with the llhttp already in the node binary.
const nodeRequire = createRequire(import.meta.url);

/** A request that saw no byte for `timeout` ms (connecting, waiting for the answer, reading it). */
export class HttpTimeoutError extends LogshipError {
  constructor(url: string, timeoutMs: number) {
    super('http_timeout', `no answer from ${url} within ${timeoutMs} ms`, { url, timeoutMs });
  }
}

export interface HttpAuthConfig {
  basic_auth?: { username: string; password?: string; password_file?: string };
  bearer_token?: string;
  bearer_token_file?: string;
  api_key?: string;
  api_key_file?: string;
  headers?: Record<string, string>;
}

export interface HttpClientOptions {
  tls: TlsConfig;
  connections: number;
  timeout: number;
  log: Logger;
  sink: string;
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as UTF-8 text. */
  text(): Promise<string>;
  /** Reads the body and throws it away (so the connection can be reused). */
  dump(): Promise<void>;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  /** Path and query, appended to the client's origin. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  signal?: AbortSignal;
}

/**
 * One keep-alive connection pool per sink, with the sink's TLS options, on node:http / node:https.
 * `insecure_skip_verify` is honoured only when asked for, and logged as a warning every start.
 * `timeout` bounds each wait for a byte (connect, headers, body); idle pooled connections close
 * after 30 s.
 */
export class HttpClient {
  readonly origin: string;
  private readonly timeout: number;
  private readonly agent: HttpAgent;
  private readonly transport: { request(url: string, opts: RequestOptions, cb: (res: IncomingMessage) => void): ClientRequest };

  constructor(origin: string, opts: HttpClientOptions) {
    this.origin = origin;
    this.timeout = opts.timeout;
    const { tls } = opts;
    if (tls.insecure_skip_verify) opts.log.warn({ sink: opts.sink }, 'TLS certificate verification is disabled (tls.insecure_skip_verify: true)');
    const secure = new URL(origin).protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: opts.connections, timeout: 30_000 };
    if (secure) {
      const https = nodeRequire('node:https') as typeof import('node:https');
      this.transport = https;
      this.agent = new https.Agent({
        ...agentOptions,
        rejectUnauthorized: !tls.insecure_skip_verify,
        ...(tls.ca_file ? { ca: readFileSync(tls.ca_file) } : {}),
        ...(tls.cert_file ? { cert: readFileSync(tls.cert_file) } : {}),
        ...(tls.key_file ? { key: readFileSync(tls.key_file) } : {}),
        ...(tls.server_name ? { servername: tls.server_name } : {}),
      });
    } else {
      const http = nodeRequire('node:http') as typeof import('node:http');
      this.transport = http;
      this.agent = new http.Agent(agentOptions);
    }
  }

  request(r: HttpRequest): Promise<HttpResponse> {
    const url = this.origin + r.path;
    const headers: Record<string, string | number> = { ...r.headers };
    if (r.body !== undefined) headers['content-length'] = typeof r.body === 'string' ? Buffer.byteLength(r.body) : r.body.length;
    return new Promise<HttpResponse>((resolve, reject) => {
      const req = this.transport.request(url, { method: r.method, headers, agent: this.agent, signal: r.signal }, (res) => resolve(response(res, req)));
      req.setTimeout(this.timeout, () => req.destroy(new HttpTimeoutError(url, this.timeout)));
      // a listener for the request's whole life: an error after the answer began (a timeout
      // while its body is read) goes to that read, never to an unhandled 'error' event
      req.on('error', reject);
      req.end(r.body);
    });
  }

  /** Closes every pooled connection. */
  destroy(): void {
    this.agent.destroy();
  }
}

/** The body is read only when asked for; an error while reading it (the timeout too) rejects that read. */
function response(res: IncomingMessage, req: ClientRequest): HttpResponse {
  const finished = (consume: (chunk: Buffer) => void) =>
    new Promise<void>((resolve, reject) => {
      res.on('data', consume);
      res.once('end', resolve);
      res.once('error', reject);
      // the connection closed before the whole answer: node:http also emits an error then; the
      // check makes sure the read never waits forever
      res.once('close', () => {
        if (!res.complete) reject(new Error('the connection closed before the whole answer arrived'));
      });
      req.on('error', reject);
    });
  return {
    statusCode: res.statusCode ?? 0,
    headers: res.headers,
    text: async () => {
      const chunks: Buffer[] = [];
      await finished((c) => chunks.push(c));
      return Buffer.concat(chunks).toString('utf8');
    },
    dump: () => finished(() => {}),
  };
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
