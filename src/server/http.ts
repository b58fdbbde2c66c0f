import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { MetricsRegistry } from '../self-metrics/registry.ts';

// Required, not imported: an ESM import of node:http builds its ESM facade, which reads every
// export, and the lazy WebSocket/EventSource ones load Node's bundled undici: ~45 ms of CPU at
// every start for classes we never use (measured: import 54 ms, require 10 ms, Node 24).
const { createServer } = createRequire(import.meta.url)('node:http') as typeof import('node:http');

export interface StatusProvider {
  /** Whether the daemon can do its job (config loaded, positions open, sinks not failing too long). */
  ready(): { ready: boolean; reasons: string[] };
  status(): unknown;
}

export type PageRenderer = (status: unknown) => string;

/** Loads the status page's renderer on the first request for `/` (a 40 KB module most daemons never serve). */
export type PageLoader = () => Promise<PageRenderer>;

/** Inline style and script only; data from this origin only; no frames, forms or other origins. */
const STATUS_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The daemon's HTTP endpoints: /metrics, /healthz, /ready, /api/status and the status page at /.
 * Bound to 127.0.0.1 by default: the status data names files and hosts.
 */
export class HttpServer {
  private server: Server | null = null;
  private readonly listen: string;
  /** afterMetricsRender: runs once a /metrics body is rendered, before it is sent (the derived metrics checkpoint). */
  private readonly deps: { metrics: MetricsRegistry; status: StatusProvider; log: Logger; page?: PageLoader; afterMetricsRender?: () => void };
  private page: Promise<PageRenderer> | null = null;

  constructor(listen: string, deps: { metrics: MetricsRegistry; status: StatusProvider; log: Logger; page?: PageLoader; afterMetricsRender?: () => void }) {
    this.listen = listen;
    this.deps = deps;
  }

  async start(): Promise<AddressInfo> {
    const { host, port } = splitHostPort(this.listen);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.deps.log.error({ err: err.message, url: req.url }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.deps.log.info({ address: `${addr.address}:${addr.port}` }, 'http server listening');
    return addr;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/metrics': {
        const body = await this.deps.metrics.metrics();
        // Saved after the body is rendered: a restarted logship never exports less than this scrape showed.
        this.deps.afterMetricsRender?.();
        res.writeHead(200, { 'content-type': this.deps.metrics.contentType }).end(body);
        return;
      }
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      case '/ready': {
        const r = this.deps.status.ready();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(r.ready ? 'ready\n' : `not ready: ${r.reasons.join('; ')}\n`);
        return;
      }
      case '/api/status':
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(this.deps.status.status()));
        return;
      case '/':
        if (this.deps.page) {
          this.page ??= this.deps.page();
          const render = await this.page;
          // The page is self-contained by design; the CSP makes the browser enforce it.
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': STATUS_PAGE_CSP, 'x-content-type-options': 'nosniff' }).end(render(this.deps.status.status()));
          return;
        }
        break;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

export function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(listen.slice(i + 1)) };
}
